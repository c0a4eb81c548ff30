"""The pure parts of DANE and MTA-STS: TLSA matching, the TXT record and policy file of
MTA-STS, and its MX patterns."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from functions.deliver.dane import Tlsa, authenticate
from functions.deliver.mta_sts import PolicyError, mx_matches, parse, txt_id
from tests.support.certificates import LocalCa


@pytest.fixture
def chain(tmp_path: Path) -> tuple[list[bytes], LocalCa]:
    ca = LocalCa(tmp_path)
    certificate, _context = ca.issue("mx.example.test")
    return [certificate.public_bytes(Encoding.DER), ca.certificate.public_bytes(Encoding.DER)], ca


def spki(der_chain: list[bytes]) -> bytes:
    leaf = x509.load_der_x509_certificate(der_chain[0])
    return leaf.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def test_dane_ee_matches_the_servers_key_by_sha256_sha512_or_in_full(
    chain: tuple[list[bytes], LocalCa],
) -> None:
    der, _ca = chain
    key = spki(der)
    for record in (
        Tlsa(3, 1, 1, hashlib.sha256(key).digest()),
        Tlsa(3, 1, 2, hashlib.sha512(key).digest()),
        Tlsa(3, 1, 0, key),
        Tlsa(3, 0, 1, hashlib.sha256(der[0]).digest()),
    ):
        assert authenticate((record,), der, "mx.example.test") == record
    assert authenticate((Tlsa(3, 1, 1, b"\0" * 32),), der, "mx.example.test") is None


def test_dane_ee_ignores_the_name_but_dane_ta_checks_it(
    chain: tuple[list[bytes], LocalCa],
) -> None:
    der, _ca = chain
    ee = Tlsa(3, 1, 1, hashlib.sha256(spki(der)).digest())
    ta = Tlsa(2, 0, 1, hashlib.sha256(der[1]).digest())
    assert authenticate((ee,), der, "other.test") == ee
    assert authenticate((ta,), der, "mx.example.test") == ta
    assert authenticate((ta,), der, "other.test") is None
    # A TA record naming the server's own certificate is no trust anchor
    assert authenticate((Tlsa(2, 0, 1, hashlib.sha256(der[0]).digest()),), der[:1], "x") is None


def test_a_garbled_chain_authenticates_nothing() -> None:
    assert authenticate((Tlsa(3, 0, 0, b"junk"),), [b"junk"], "mx.example.test") is None
    assert authenticate((Tlsa(3, 0, 0, b""),), [], "mx.example.test") is None


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        ([b"v=STSv1; id=20260101T0000"], "20260101T0000"),
        ([b"v=STSv1;id=abc;"], "abc"),
        ([b"v=spf1 -all", b"v=STSv1; id=x1"], "x1"),
        ([b"v=STSv1; id=a", b"v=STSv1; id=b"], None),  # two: no policy (RFC 8461 3.1)
        ([b"v=STSv1; id=bad-id!"], None),
        ([b"v=STSv1; id=" + b"a" * 33], None),
        ([b"v=STSv1"], None),
        ([], None),
    ],
)
def test_the_txt_record_gives_the_policy_id(records: list[bytes], expected: str | None) -> None:
    assert txt_id(records) == expected


def test_a_policy_file_is_parsed() -> None:
    policy = parse(
        "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.test\r\nmx: *.example.net\r\n"
        "max_age: 604800\r\n",
        "id1",
    )
    assert (policy.mode, policy.max_age, policy.mx) == (
        "enforce",
        604800,
        ("mx1.example.test", "*.example.net"),
    )
    assert policy.allows("MX1.example.test.") and policy.allows("a.example.net")
    assert not policy.allows("a.b.example.net")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("version: STSv2\nmode: enforce\nmx: a\nmax_age: 1\n", "version"),
        ("version: STSv1\nmode: strict\nmx: a\nmax_age: 1\n", "mode"),
        ("version: STSv1\nmode: enforce\nmx: a\nmax_age: -1\n", "max_age"),
        ("version: STSv1\nmode: enforce\nmx: a\nmax_age: 99999999999\n", "max_age"),
        ("version: STSv1\nmode: enforce\nmax_age: 60\n", "no mx"),
        ("<html>not a policy</html>", "version"),
    ],
)
def test_an_invalid_policy_file_is_refused(text: str, why: str) -> None:
    with pytest.raises(PolicyError, match=why):
        parse(text, "id1")


def test_a_none_policy_needs_no_mx() -> None:
    assert parse("version: STSv1\nmode: none\nmax_age: 0\n", "i").mode == "none"


@pytest.mark.parametrize(
    ("pattern", "host", "expected"),
    [
        ("mx.example.com", "mx.example.com", True),
        ("mx.example.com", "MX.Example.COM.", True),
        ("*.example.com", "mx1.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "a.b.example.com", False),
        ("*.example.com", ".example.com", False),
        ("mx.example.com", "mx.example.com.evil.test", False),
    ],
)
def test_mx_patterns(pattern: str, host: str, expected: bool) -> None:
    assert mx_matches(pattern, host) is expected
