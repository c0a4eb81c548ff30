"""Paging cursors: a cursor continues only the tenant's own query; anything else a client sends
back is refused as ``invalid_cursor`` (a 400), never as a server error."""

from __future__ import annotations

import base64
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailgate.api.errors import BadRequest
from mailgate.search.cursor import CursorSigner, query_digest

KEY = b"cursor-key-for-tests-0123456789ab"
TENANT = "tenant-a"
QUERY: dict[str, Any] = {"direction": "inbound", "period": "24h", "subject": "invoice"}
DIGEST = query_digest(QUERY)
STATE: dict[str, Any] = {"bucket": "2025-06-15", "after": "2025-06-15T10:00:00Z#m-1#a@x"}

signer = CursorSigner(KEY)


def cursor_like(alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Any text, and text with a '.' in it (the shape of a cursor) more often than chance."""
    text = st.text(alphabet=alphabet)
    return st.one_of(text, st.builds(lambda a, b: f"{a}.{b}", text, text))


def cursor() -> str:
    return signer.encode(TENANT, DIGEST, STATE)


def assert_invalid(text: str, tenant: str = TENANT, digest: str = DIGEST) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        signer.decode(text, tenant, digest)
    error = caught.value
    assert error.code == "invalid_cursor"
    assert error.status == 400
    assert error.message
    return error


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def flip_char(text: str, index: int) -> str:
    """Replace one base64 character with another one of the alphabet."""
    replacement = "B" if text[index] == "A" else "A"
    return text[:index] + replacement + text[index + 1 :]


def test_a_cursor_continues_the_query_it_was_made_for() -> None:
    assert signer.decode(cursor(), TENANT, DIGEST) == STATE


def test_the_query_digest_ignores_key_order_but_not_values() -> None:
    reordered = dict(reversed(list(QUERY.items())))

    assert query_digest(reordered) == DIGEST
    assert query_digest({**QUERY, "subject": "invoices"}) != DIGEST


def test_a_cursor_is_url_safe_text() -> None:
    allowed = set(string.ascii_letters + string.digits + "-_.")

    assert set(cursor()) <= allowed


def test_another_tenants_cursor_is_refused() -> None:
    theirs = signer.encode("tenant-b", DIGEST, STATE)

    assert_invalid(theirs)


def test_a_cursor_of_another_query_is_refused() -> None:
    other = signer.encode(TENANT, query_digest({**QUERY, "subject": "other"}), STATE)

    assert_invalid(other)


def test_a_cursor_signed_with_another_key_is_refused() -> None:
    forged = CursorSigner(b"another-key").encode(TENANT, DIGEST, STATE)

    assert_invalid(forged)


@pytest.mark.parametrize("position", [0, 7, -1], ids=["first", "middle", "last"])
def test_a_cursor_with_a_changed_payload_byte_is_refused(position: int) -> None:
    # Given a genuine cursor whose payload has one byte changed, signature kept
    encoded, signature = cursor().split(".")
    payload = bytearray(unb64(encoded))
    payload[position] ^= 0x01
    tampered = f"{b64(bytes(payload))}.{signature}"

    # When / Then it is refused
    assert_invalid(tampered)


def test_a_cursor_claiming_another_tenant_with_the_old_signature_is_refused() -> None:
    encoded, signature = cursor().split(".")
    payload = unb64(encoded).replace(TENANT.encode(), b"tenant-b")

    assert_invalid(f"{b64(payload)}.{signature}")


@pytest.mark.parametrize("position", [0, 10, -1], ids=["first", "middle", "last"])
def test_a_cursor_with_a_changed_signature_character_is_refused(position: int) -> None:
    encoded, signature = cursor().split(".")

    assert_invalid(f"{encoded}.{flip_char(signature, position)}")


@pytest.mark.parametrize("keep", [1, 10, 0.5, -1, -10], ids=str)
def test_a_truncated_cursor_is_refused(keep: float) -> None:
    text = cursor()
    cut = int(len(text) * keep) if isinstance(keep, float) else keep

    assert_invalid(text[:cut])


@pytest.mark.parametrize(
    "text",
    ["", ".", "..", "no-dot-at-all", "!!!!.????", "a.b.c", "%00%ff.zz", " ", "=.="],
    ids=repr,
)
def test_garbage_is_refused(text: str) -> None:
    assert_invalid(text)


def test_a_cursor_with_the_signature_of_another_cursor_is_refused() -> None:
    mine, _ = cursor().split(".")
    _, other_signature = signer.encode(TENANT, DIGEST, {"after": "elsewhere"}).split(".")

    assert_invalid(f"{mine}.{other_signature}")


@given(cursor_like(st.characters(max_codepoint=127)))
def test_arbitrary_ascii_text_is_refused_with_bad_request_only(text: str) -> None:
    try:
        signer.decode(text, TENANT, DIGEST)
    except BadRequest as error:
        assert error.code == "invalid_cursor"


@pytest.mark.parametrize("text", ["abc.é", "eyJ0IjoxfQ.签名", "abc.\ud800"], ids=repr)
def test_a_non_ascii_signature_is_refused_as_invalid_cursor(text: str) -> None:
    assert_invalid(text)


@settings(derandomize=True)
@given(cursor_like(st.characters()))
def test_arbitrary_text_is_refused_with_bad_request_only(text: str) -> None:
    try:
        signer.decode(text, TENANT, DIGEST)
    except BadRequest as error:
        assert error.code == "invalid_cursor"


def test_each_refusal_tells_its_own_cause() -> None:
    # Given a refusal caused by a malformed cursor (no '.')
    first = assert_invalid("no-dot-at-all")
    assert isinstance(first.__cause__, ValueError)

    # When a well-formed cursor is refused only because its signature does not match
    encoded, signature = cursor().split(".")
    second = assert_invalid(f"{encoded}.{flip_char(signature, 0)}")

    # Then its error does not claim the earlier malformed cursor as its cause
    assert second.__cause__ is None
