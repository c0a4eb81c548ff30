"""BEC: executives' names worn by outside senders, look-alike domains of the tenant's own,
Reply-To diverted to free mail, and the BEC playbook's wording — and the near misses."""

from __future__ import annotations

import pytest

from functions.scan.evidence.bec import Bec
from functions.scan.evidence.lookalike import distance, skeleton
from functions.scan.evidence.mime.parse import parse
from functions.scan.evidence.verdicts import Envelope, Finding
from mailgate.catalog import Direction, ThreatType
from mailgate.tenant_config import (
    DomainConfig,
    Executive,
    MailServer,
    TenantConfig,
    ThreatProtection,
)
from tests.support.fixtures import eml

CONFIG = TenantConfig(
    domains=[DomainConfig(name="northwind.example", inbound_servers=[MailServer(host="mx")])],
    threat_protection=ThreatProtection(
        executives=[
            Executive(name="Taro Yamada", addresses=["taro.yamada@northwind.example"]),
            Executive(name="山田 花子", addresses=["hanako@northwind.example"]),
        ]
    ),
)


def findings(raw: bytes, direction: Direction = Direction.INBOUND) -> list[Finding]:
    envelope = Envelope("acme", direction, "x@y.example", ("bob@northwind.example",), "")
    verdict = Bec(lambda _: CONFIG).examine(raw, parse(raw), envelope)
    assert verdict.threats == {ThreatType.BEC} and not verdict.failure
    return list(verdict.findings)


def mail(from_: str, reply_to: str = "", body: str = "Hello.") -> bytes:
    reply = f"Reply-To: {reply_to}\r\n" if reply_to else ""
    head = f"From: {from_}\r\n{reply}To: bob@northwind.example\r\nSubject: x\r\n"
    return (head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n").encode()


def test_an_executives_name_from_outside_is_bec_with_the_writing_style_behind_it() -> None:
    first, style = findings(eml("bec-executive"))
    assert (first.method, first.details["executive"]) == ("antispam_engine", "Taro Yamada")
    assert style.method == "writing_style" and "gift cards" in style.details["phrases"]


@pytest.mark.parametrize(
    ("shown", "method"),
    [
        ("Yamada Taro", "antispam_engine"),  # the order reversed
        ("YAMADA, Taro", "antispam_engine"),
        ("T\u0430ro Y\u0430mada", "antispam_engine"),  # Cyrillic a
        ("Ta\u200bro Yama\u00adda", "antispam_engine"),  # invisible characters
        ("山田花子", "antispam_engine"),
        ("Taro Yamada (CEO)", "antispam_engine_probable"),
    ],
)
def test_the_name_is_recognised_however_it_is_written(shown: str, method: str) -> None:
    (finding,) = findings(mail(f'"{shown}" <boss@freemail.example>'))
    assert finding.method == method


def test_the_executive_from_a_real_address_or_an_own_domain_is_not_bec() -> None:
    assert findings(mail("Taro Yamada <taro.yamada@northwind.example>")) == []
    assert findings(mail("Taro Yamada <taro@sales.northwind.example>")) == []


def test_lookalike_domains_of_the_tenants_own() -> None:
    (homoglyph,) = findings(eml("bec-lookalike"))
    assert (homoglyph.method, homoglyph.details["lookalike_of"]) == (
        "antispam_engine",
        "northwind.example",
    )
    (slip,) = findings(mail("a@northwinds.example"))
    assert slip.method == "antispam_engine_probable"
    (swap,) = findings(mail("a@nortwhind.example"))
    assert swap.method == "antispam_engine_probable"


def test_a_reply_to_diverted_to_free_mail_with_the_playbooks_wording() -> None:
    got = findings(eml("bec-reply-to"))
    assert [f.method for f in got] == ["writing_style", "antispam_engine_probable"]
    assert got[1].details["reply_to"] == "hanako.sato.supplier@gmail.com"
    assert "至急" in got[0].details["phrases"]


def test_near_misses_are_not_bec() -> None:
    assert findings(eml("bec-near-miss")) == []
    # Free mail answering from itself, and a Reply-To to the sender's own provider.
    assert findings(mail("a@gmail.com", reply_to="b@gmail.com")) == []
    assert findings(mail("Taro Yamashita <t@gmail.com>")) == []
    # Wording alone, without any other sign, is no BEC.
    assert findings(mail("a@supplier.example", body="Urgent: wire transfer today")) == []


def test_outbound_mail_is_not_examined() -> None:
    assert findings(eml("bec-executive"), Direction.OUTBOUND) == []


def test_skeletons_and_distances() -> None:
    assert skeleton("xn--pypal-4ve.com") == skeleton("paypal.com")
    assert skeleton("exarnple.com") == skeleton("example.com")
    assert distance("northwind", "nortwhind", 1) == 1
    assert distance("northwind", "northwest", 2) == 3


def test_an_executive_needs_a_name_and_a_real_address() -> None:
    with pytest.raises(ValueError):
        Executive(name="  a ", addresses=["a@northwind.example"])
    with pytest.raises(ValueError):
        Executive(name="Taro Yamada", addresses=[])
    with pytest.raises(ValueError):
        Executive(name="Taro Yamada", addresses=["not an address"])
