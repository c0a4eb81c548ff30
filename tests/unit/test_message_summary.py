"""The header fields tracking shows, read from untrusted bytes: decoded for people, cut to the
RFC 5322 line limit, and never an exception, whatever the sender put in the headers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailgate.message_summary import MAX_FIELD, Summary, summarize
from tests.support.fixtures import eml


def message(*headers: bytes, body: bytes = b"Hello.\r\n") -> bytes:
    return b"".join(header + b"\r\n" for header in headers) + b"\r\n" + body


def test_a_plain_message_gives_every_field() -> None:
    summary = summarize(eml("plain"))

    assert summary == Summary(
        subject="Quarterly report",
        header_from=["alice@example.com"],
        header_to=["bob@example.org"],
        reply_to=["replies@example.com"],
        message_id="<20250615.1@mail.example.com>",
    )


@pytest.mark.parametrize(
    ("header", "subject"),
    [
        (b"Subject: =?utf-8?q?R=C3=A9union_du_lundi?=", "Réunion du lundi"),
        (b"Subject: =?UTF-8?B?5pel5pys6Kqe44Gu5Lu25ZCN?=", "日本語の件名"),
        (b"Subject: =?iso-2022-jp?B?GyRCRnxLXDhsGyhC?=", "日本語"),
        (b"Subject: =?iso-8859-1?q?caf=E9?= au lait", "café au lait"),
    ],
    ids=["utf8-q", "utf8-b", "iso-2022-jp", "latin1-mixed"],
)
def test_an_encoded_subject_is_decoded(header: bytes, subject: str) -> None:
    assert summarize(message(header)).subject == subject


def test_encoded_display_names_are_decoded_and_shown_with_the_address() -> None:
    summary = summarize(eml("encoded-display-names"))

    assert summary.header_from == ["Jörg Müller <jorg@example.de>"]
    assert summary.header_to == ["日本語 <taro@example.jp>"]


def test_to_and_cc_are_both_recipients_in_header_order() -> None:
    summary = summarize(eml("to-and-cc"))

    assert summary.header_to == [
        "Bob <bob@example.org>",
        "carol@example.org",
        "Doe, Jane <jane@example.net>",
    ]


def test_reply_to_and_message_id_are_kept() -> None:
    summary = summarize(
        message(
            b"Reply-To: Help Desk <help@example.com>, billing@example.com",
            b"Message-ID: <abc.123@mail.example.com>",
        )
    )

    assert summary.reply_to == ["Help Desk <help@example.com>", "billing@example.com"]
    assert summary.message_id == "<abc.123@mail.example.com>"


def test_a_folded_subject_reads_as_one_line() -> None:
    summary = summarize(message(b"Subject: a long\r\n  subject\r\n\tfolded"))

    assert summary.subject == "a long subject folded"


@pytest.mark.parametrize(
    "raw",
    [b"", b"\r\n", b"\r\nJust a body, no header at all.\r\n", b"not a header line\r\n\r\n"],
    ids=["empty", "blank-line", "body-only", "no-colon"],
)
def test_a_message_without_headers_gives_an_empty_summary(raw: bytes) -> None:
    assert summarize(raw) == Summary()


def test_a_5000_character_subject_is_cut_to_998() -> None:
    summary = summarize(message(b"Subject: " + b"x" * 5000))

    assert MAX_FIELD == 998
    assert summary.subject == "x" * 998


@pytest.mark.parametrize(
    "header",
    [
        b"Message-ID: <" + b"a" * 5000 + b"@example.com>",
        b"Message-ID: <" + b"[" * 5000,
        b"Reply-To: :\t>;b?" + b"x" * 5000,
    ],
    ids=["message-id", "unparsable-message-id", "unparsable-reply-to"],
)
def test_other_long_values_are_cut_to_998_too(header: bytes) -> None:
    summary = summarize(message(header))

    assert [len(value) for value in (summary.message_id, *summary.reply_to) if value] == [998]


@pytest.mark.parametrize(
    "raw",
    [
        message(b"\xff\xfe\x00garbage: \x80\x81"),
        message(b"To: <unbalanced@example.com", b"Cc: >x@example.com<"),
        message(b"From: Name <<a@example.com>>"),
        message(b'From: "unterminated <a@example.com>'),
        message(b"Message-ID: <["),
        message(b"Message-ID: <>a  b=<"),
        message(b"From: :\t>;b?"),
        message(b"To: bb\x80 :\xe9;>"),
        message(b"Subject: caf\xe9 cr\xe8me"),
        message(b"From: J\xe9r\xf4me <jerome@example.fr>"),
        message(b"To: undisclosed-recipients:;"),
        message(b"Subject: =?utf-8?q?broken=ZZ?= =?bogus-charset?b?AAAA?="),
        message(b"Subject: =?utf-8?b?!!!not-base64!!!?="),
        message(b"From: " + b"<" * 2000),
        message(b"To: " + b"a@b, " * 2000),
    ],
    ids=[
        "binary-header-name",
        "unbalanced-angles",
        "double-angles",
        "unterminated-quote",
        "message-id-bracket",
        "message-id-angles",
        "group-garbage",
        "group-8bit",
        "subject-8bit",
        "display-name-8bit",
        "empty-group",
        "bad-encoded-words",
        "bad-base64-word",
        "many-angles",
        "many-addresses",
    ],
)
def test_malformed_headers_never_raise(raw: bytes) -> None:
    summary = summarize(raw)

    assert isinstance(summary, Summary)
    for field in (summary.subject, summary.message_id, *summary.header_to):
        assert len(field) <= MAX_FIELD


def test_an_unreadable_address_header_is_kept_as_its_raw_text() -> None:
    # Given a Reply-To the address parser fails on
    summary = summarize(message(b"Reply-To: :\t>;b?"))

    # Then its text is kept (whitespace collapsed) rather than dropped
    assert summary.reply_to == [": >;b?"]


def test_8bit_subject_bytes_become_replacement_characters() -> None:
    summary = summarize(message(b"Subject: caf\xe9"))

    assert summary.subject == "caf\ufffd"


@pytest.mark.parametrize(
    "header",
    [
        b"From: J\xe9r\xf4me <jerome@example.fr>",
        b"To: Fran\xe7ois <francois@example.fr>",
        b"Reply-To: a\xe9",
    ],
    ids=["from", "to", "reply-to"],
)
def test_8bit_address_headers_give_valid_text(header: bytes) -> None:
    summary = summarize(message(header))

    summary.model_dump_json()  # raises on a lone surrogate
    for value in (*summary.header_from, *summary.header_to, *summary.reply_to):
        value.encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_are_summarized_without_raising(raw: bytes) -> None:
    assert isinstance(summarize(raw), Summary)


HEADER_NAMES = st.sampled_from([b"From", b"To", b"Cc", b"Reply-To", b"Subject", b"Message-ID"])
HEADER_BYTES = st.binary(max_size=60).map(lambda value: value.replace(b"\n", b" "))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(HEADER_NAMES, HEADER_BYTES), max_size=8))
def test_any_values_of_the_summarized_headers_never_raise(
    headers: list[tuple[bytes, bytes]],
) -> None:
    # Random bytes rarely look like headers: these put garbage where the parser reads it.
    raw = message(*(name + b": " + value for name, value in headers))

    assert isinstance(summarize(raw), Summary)
