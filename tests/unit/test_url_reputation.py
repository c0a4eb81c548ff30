"""Phishing and web reputation: links found however they are written, checked against the
DNS block lists and the tenant's blocked URLs, and links that show one site and go to another."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.scan.evidence.mime import model
from functions.scan.evidence.mime.html_text import tree
from functions.scan.evidence.mime.parse import parse
from functions.scan.evidence.urls import extract
from functions.scan.evidence.urls.extract import defang, links, normalize
from functions.scan.evidence.urls.reputation import UrlReputation, Zone, zones
from functions.scan.evidence.verdicts import Envelope, Verdict
from mailgate.catalog import Direction, ThreatType
from mailgate.dns import DnsUnavailable
from mailgate.tenant_config import TenantConfig, ThreatProtection
from tests.support.fixtures import eml

PHISH_ZONE = Zone(ThreatType.PHISHING, "phish.uribl.example")
WEB_ZONE = Zone(ThreatType.WEB_REPUTATION, "web.uribl.example")


class FakeDns:
    def __init__(self, records: dict[str, list[str]], down: bool = False) -> None:
        self.records = records
        self.down = down
        self.asked: list[str] = []

    def __call__(self, name: str) -> list[str]:
        self.asked.append(name)
        if self.down:
            raise DnsUnavailable(f"DNS lookup of {name} failed")
        return self.records.get(name, [])


def examine(raw: bytes, dns: FakeDns, blocked: list[str] | None = None) -> Verdict:
    config = TenantConfig(threat_protection=ThreatProtection(blocked_urls=blocked or []))
    producer = UrlReputation([PHISH_ZONE, WEB_ZONE], dns, lambda _: config)
    envelope = Envelope("acme", Direction.INBOUND, "a@b.example", ("bob@northwind.example",), "")
    return producer.examine(raw, parse(raw), envelope)


@pytest.mark.parametrize(
    ("written", "url"),
    [
        ("hxxps://evil[.]example/login", "https://evil.example/login"),
        ("http://bank.example@evil.example/x", "http://evil.example/x"),
        ("http://%65vil.example/", "http://evil.example/"),
        ("http://3232235777/a", "http://192.168.1.1/a"),
        ("http://0xC0.0250.1.1/", "http://192.168.1.1/"),
        ("HTTP://EVIL.example", "http://evil.example/"),
        ("www.evil.example/path", "http://www.evil.example/path"),
        ("http://b\u00fccher.example/", "http://xn--bcher-kva.example/"),
    ],
)
def test_obfuscated_addresses_come_to_one_form(written: str, url: str) -> None:
    link = normalize(defang(written))
    assert link is not None and link.url == url


@pytest.mark.parametrize(
    "written", ["mailto:a@b.example", "javascript:alert(1)", "http://", "http://a b/"]
)
def test_what_is_no_web_address_is_no_link(written: str) -> None:
    assert normalize(written) is None


def test_invisible_characters_and_spaces_inside_an_address_are_dropped() -> None:
    link = normalize(" http://evil\u200b.exam ple/x\t")
    assert link is not None and link.url == "http://evil.example/x"


@pytest.mark.parametrize(
    ("text", "url"),
    [
        (
            "詳細はhttps://mailbox-upgrade.example/owaをご確認ください",
            "https://mailbox-upgrade.example/owa",
        ),
        ("こちら\uff1ahttps://mailbox-upgrade.exampleまで。", "https://mailbox-upgrade.example/"),
        ("\uff08www.mailbox-upgrade.example\uff09", "http://www.mailbox-upgrade.example/"),
    ],
)
def test_a_link_written_right_against_japanese_text_is_found_and_listed(
    text: str, url: str
) -> None:
    raw = f"From: a@b.example\r\nSubject: x\r\n\r\n{text}\r\n".encode()
    dns = FakeDns({"mailbox-upgrade.example.phish.uribl.example": ["127.0.0.2"]})

    (finding,) = examine(raw, dns).findings

    assert (finding.threat, finding.url) == (ThreatType.PHISHING, url)


def test_a_host_name_in_other_than_ascii_letters_is_read_whole() -> None:
    raw = "From: a@b.example\r\nSubject: x\r\n\r\nhttps://bücher.example/neu\r\n".encode()
    assert [link.url for link in links(parse(raw))] == ["https://xn--bcher-kva.example/neu"]


def test_a_host_longer_than_any_name_is_no_link_and_is_not_remembered() -> None:
    remembered = extract._host_of.cache_info().currsize
    assert normalize("http://" + "a." * 3000 + "example/") is None
    assert extract._host_of.cache_info().currsize == remembered


OBFUSCATION_PIECES = st.sampled_from(
    [*"[](){}.:/ \t\xa0\u3000xXhHpPsS*", "dot", "DoT", "hxxp", "h**p", "://", "[.]", "évil"]
)


@given(st.lists(OBFUSCATION_PIECES, max_size=12).map("".join))
def test_obfuscations_are_undone_as_by_every_substitution_in_turn(text: str) -> None:
    expected = text
    for pattern, replacement in extract._DEFANGED:
        expected = pattern.sub(replacement, expected)
    assert defang(text) == expected


def mail_with_html_bodies(*bodies: str) -> bytes:
    parts = "".join(
        f"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{body}\r\n" for body in bodies
    )
    return (
        "From: a@b.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/mixed; boundary="b"\r\n\r\n{parts}--b--\r\n'
    ).encode()


def test_each_html_body_is_read_on_its_own_for_links_and_text() -> None:
    # An unclosed <script> in the first body hides nothing of the second, as a mail client
    # shows them.
    raw = mail_with_html_bodies(
        '<a href="https://one.example/">one</a><script>', '<a href="https://two.example/">two</a>'
    )
    message = parse(raw)
    assert [link.url for link in links(message)] == [
        "https://one.example/",
        "https://two.example/",
    ]
    assert message.html_text == "one\ntwo"


def test_the_tree_of_a_body_is_built_once_for_its_text_and_its_links(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[str] = []

    def counted(html: str) -> object:
        built.append(html)
        return tree(html)

    monkeypatch.setattr(model, "tree", counted)
    message = parse(mail_with_html_bodies('<p>Read <a href="https://news.example/1">this</a></p>'))
    assert message.html_text == "Read this"
    assert [link.url for link in links(message)] == ["https://news.example/1"]
    assert len(built) == 1


def test_a_listed_domain_in_obfuscated_text_is_phishing_with_its_url() -> None:
    dns = FakeDns({"mailbox-upgrade.example.phish.uribl.example": ["127.0.0.2"]})
    verdict = examine(eml("phishing-obfuscated"), dns)
    (finding,) = verdict.findings
    assert finding.threat is ThreatType.PHISHING
    assert finding.url == "https://mailbox-upgrade.example/owa"
    assert finding.details == {"list": "phish.uribl.example", "listed": "mailbox-upgrade.example"}
    # One detection per list; the other list is asked of every link, an IP host reversed.
    assert "1.1.168.192.phish.uribl.example" not in dns.asked
    assert "1.1.168.192.web.uribl.example" in dns.asked


def test_a_listed_ip_literal_host_is_found() -> None:
    dns = FakeDns({"1.1.168.192.web.uribl.example": ["127.0.0.4"]})
    (finding,) = examine(eml("phishing-obfuscated"), dns).findings
    assert (finding.threat, finding.url) == (ThreatType.WEB_REPUTATION, "http://192.168.1.1/owa")


def test_a_refused_query_answer_is_not_a_listing() -> None:
    dns = FakeDns({"mailbox-upgrade.example.phish.uribl.example": ["127.0.0.1"]})
    assert examine(eml("phishing-obfuscated"), dns).findings == ()


def test_a_link_that_shows_one_site_and_goes_to_another_is_phishing() -> None:
    (finding,) = examine(eml("phishing-mismatch"), FakeDns({})).findings
    assert finding.threat is ThreatType.PHISHING
    assert finding.url == "https://login-check.example/verify"
    assert finding.details == {"shown": "www.bank.example", "target": "login-check.example"}


def test_a_link_text_padded_with_white_space_still_shows_its_address() -> None:
    padding = "&nbsp; \r\n" * 200
    raw = (
        b"From: a@b.example\r\nTo: bob@northwind.example\r\nSubject: x\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        + f'<a href="https://login-check.example/verify">{padding}www.bank.example</a>'.encode()
    )

    (finding,) = examine(raw, FakeDns({})).findings
    assert finding.details == {"shown": "www.bank.example", "target": "login-check.example"}


def test_newsletter_links_through_click_tracking_or_with_plain_words_are_not_phishing() -> None:
    verdict = examine(eml("phishing-near-miss-newsletter"), FakeDns({}))
    assert verdict.findings == () and not verdict.failure


def test_the_tenants_blocked_domain_and_address_prefix_are_web_reputation() -> None:
    raw = eml("phishing-near-miss-newsletter")
    (by_domain,) = examine(raw, FakeDns({}), blocked=["shop.example"]).findings[:1]
    assert (by_domain.threat, by_domain.name) == (ThreatType.WEB_REPUTATION, "tenant block list")
    (by_prefix,) = examine(raw, FakeDns({}), blocked=["http://www.shop.example/new"]).findings
    assert by_prefix.url == "https://www.shop.example/new"
    assert examine(raw, FakeDns({}), blocked=["https://shop.example/old"]).findings == ()
    assert examine(raw, FakeDns({}), blocked=["hop.example"]).findings == ()


def test_a_list_that_does_not_answer_is_no_verdict_unless_something_was_found() -> None:
    down = FakeDns({}, down=True)
    verdict = examine(eml("phishing-obfuscated"), down)
    assert verdict.findings == () and "phish.uribl.example did not answer" in verdict.failure
    found = examine(eml("phishing-mismatch"), FakeDns({}, down=True))
    assert found.findings and not found.failure


def test_a_shortened_link_names_its_shortener() -> None:
    raw = b"From: a@b.example\r\nSubject: x\r\n\r\nSee https://bit.ly/3abc\r\n"
    (finding,) = examine(raw, FakeDns({"bit.ly.web.uribl.example": ["127.0.0.2"]})).findings
    assert finding.details["shortener"] == "bit.ly"


def test_links_are_bounded_and_asked_once_per_name() -> None:
    body = " ".join(f"http://h{i}.example/ http://h{i}.example/" for i in range(500))
    raw = f"From: a@b.example\r\nSubject: x\r\n\r\n{body}\r\n".encode()
    assert len(links(parse(raw))) == 200
    dns = FakeDns({})
    examine(raw, dns)
    assert len(dns.asked) == len(set(dns.asked)) == 2 * 50


def test_zone_settings_name_their_threat() -> None:
    assert zones(["phishing=Phish.Test.", "web_reputation=w.test"]) == (
        Zone(ThreatType.PHISHING, "phish.test"),
        Zone(ThreatType.WEB_REPUTATION, "w.test"),
    )
    with pytest.raises(ValueError, match="not threat=zone"):
        zones(["spam=x.test"])


@pytest.mark.parametrize(
    "entry", ["ftp://x.example/", "not a domain", "http://exa mple/", "http://h:port/"]
)
def test_a_blocked_url_that_is_neither_domain_nor_web_address_is_refused(entry: str) -> None:
    with pytest.raises(ValueError):
        ThreatProtection(blocked_urls=[entry])
