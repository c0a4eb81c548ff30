"""Domain-based authentication against a loopback DNS server: SPF, DKIM signatures made here
with dkimpy, DMARC (each subtype, p/sp/pct, alignment), sender IP match; then what stage 2
does with them — rules of their own before the policy rules, and the Authentication-Results
field on the delivered message."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from functions.scan.evidence.auth import dkim as dkim_check
from functions.scan.evidence.auth import spf
from functions.scan.evidence.auth.producer import DomainAuthProducer
from functions.scan.evidence.mime.parse import parse
from functions.scan.evidence.verdicts import Envelope, Verdict
from mailgate.catalog import Direction, Status, ThreatType
from mailgate.dns import resolver
from mailgate.domain_auth import Dkim, Dmarc, DomainAuth, SenderIpMatch, SendingDomain, Spf
from mailgate.policy import rules as r
from tests.support.dns_server import LoopbackDns
from tests.unit.test_scan_stage import BOB, KEY, TENANT, World

GATEWAY = "mx.gateway.example"
SENDING_IP = "192.0.2.1"
OTHER_IP = "198.51.100.7"

_KEY = rsa.generate_private_key(public_exponent=65537, key_size=1024)
PRIVATE = _KEY.private_bytes(
    serialization.Encoding.PEM,
    serialization.PrivateFormat.TraditionalOpenSSL,
    serialization.NoEncryption(),
)
PUBLIC = base64.b64encode(
    _KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode()


def _txt(text: str) -> list[str]:
    return [f'"{text}"']


ZONE: dict[tuple[str, str], list[str]] = {
    ("sender.example", "TXT"): _txt(f"v=spf1 ip4:{SENDING_IP} -all"),
    ("_dmarc.sender.example", "TXT"): _txt("v=DMARC1; p=reject"),
    ("sel._domainkey.sender.example", "TXT"): _txt(f"v=DKIM1; k=rsa; p={PUBLIC}"),
    ("sel._domainkey.mail.sender.example", "TXT"): _txt(f"v=DKIM1; k=rsa; p={PUBLIC}"),
    ("sel._domainkey.other.example", "TXT"): _txt(f"v=DKIM1; k=rsa; p={PUBLIC}"),
    ("soft.example", "TXT"): _txt("v=spf1 ~all"),
    ("other.example", "TXT"): _txt("v=spf1 +all"),
    ("quarantine.example", "TXT"): _txt("v=spf1 -all"),
    ("_dmarc.quarantine.example", "TXT"): _txt("v=DMARC1; p=quarantine"),
    ("pct.example", "TXT"): _txt("v=spf1 -all"),
    ("_dmarc.pct.example", "TXT"): _txt("v=DMARC1; p=quarantine; pct=0"),
    ("monitor.example", "TXT"): _txt("v=spf1 -all"),
    ("_dmarc.monitor.example", "TXT"): _txt("v=DMARC1; p=none"),
    ("_dmarc.org.example", "TXT"): _txt("v=DMARC1; p=none; sp=reject"),
    ("_dmarc.strict.example", "TXT"): _txt("v=DMARC1; p=reject; adkim=s; aspf=s"),
    ("sel._domainkey.mail.strict.example", "TXT"): _txt(f"v=DKIM1; k=rsa; p={PUBLIC}"),
    ("helo.example", "TXT"): _txt(f"v=spf1 ip4:{SENDING_IP} -all"),
    ("nodmarc.example", "TXT"): _txt(f"v=spf1 ip4:{SENDING_IP} -all"),
    ("_dmarc.broken.example", "TXT"): _txt("v=DMARC1; p=maybe"),
}
SILENT = ["slow.example", "sel._domainkey.slow.example", "_dmarc.slowdmarc.example"]


@pytest.fixture(scope="module")
def dns_server() -> Iterator[LoopbackDns]:
    with LoopbackDns(ZONE, silent=SILENT) as server:
        yield server


@pytest.fixture
def res(dns_server: LoopbackDns) -> Any:
    return resolver([dns_server.address], timeout=0.5)


def message(from_: str = "alice@sender.example", subject: str = "Quarterly report") -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Alice <{from_}>"
    mail["To"] = BOB
    mail["Subject"] = subject
    mail["Message-ID"] = "<m1@sender.example>"
    mail.set_content("The figures are attached.\n")
    return mail.as_bytes(policy=default.clone(linesep="\r\n"))


def signed(raw: bytes, domain: str = "sender.example", selector: str = "sel") -> bytes:
    signature = dkim.sign(raw, selector.encode(), domain.encode(), PRIVATE)
    return signature + raw


# DKIM


def test_a_valid_signature_passes(res: Any) -> None:
    (result,) = dkim_check.check(signed(message()), res)
    assert (result.result, result.domain, result.selector) == ("pass", "sender.example", "sel")


def test_an_altered_body_fails(res: Any) -> None:
    raw = signed(message()).replace(b"The figures", b"The invoice")
    (result,) = dkim_check.check(raw, res)
    assert result.result == "fail"


def test_an_altered_signed_header_fails(res: Any) -> None:
    raw = signed(message()).replace(b"Quarterly report", b"Pay this invoice")
    (result,) = dkim_check.check(raw, res)
    assert result.result == "fail"


def test_an_expired_signature_fails(res: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    signed_at = int(time.time()) - 7 * 86400
    original = dkim.DKIM.gen_header

    def with_expiry(self: Any, fields: list[tuple[bytes, bytes]], *args: Any, **kw: Any) -> Any:
        fields = [f for f in fields if f[0] != b"t"]
        at = next(i for i, f in enumerate(fields) if f[0] == b"bh")
        fields[at:at] = [(b"t", str(signed_at).encode()), (b"x", str(signed_at + 3600).encode())]
        return original(self, fields, *args, **kw)

    monkeypatch.setattr(dkim.DKIM, "gen_header", with_expiry)
    raw = signed(message())
    monkeypatch.undo()
    assert b"x=" in raw.split(b"\r\n\r\n")[0]
    (result,) = dkim_check.check(raw, res)
    assert result.result == "fail"
    assert "past" in result.reason


def test_a_signature_whose_key_is_not_published_is_a_permanent_error(res: Any) -> None:
    (result,) = dkim_check.check(signed(message(), selector="gone"), res)
    assert result.result == "permerror"


def test_a_key_that_cannot_be_looked_up_now_is_a_temporary_error_not_a_failure(res: Any) -> None:
    (result,) = dkim_check.check(signed(message(), domain="slow.example"), res)
    assert result.result == "temperror"


def test_every_signature_is_verified(res: Any) -> None:
    raw = signed(signed(message(), domain="other.example"), selector="gone")
    results = dkim_check.check(raw, res)
    assert [(s.domain, s.selector, s.result) for s in results] == [
        ("sender.example", "gone", "permerror"),
        ("other.example", "sel", "pass"),
    ]


def test_a_garbage_signature_is_a_permanent_error(res: Any) -> None:
    raw = b"DKIM-Signature: v=1; a=rsa-sha256; d=\x00; b==\r\n" + message()
    (result,) = dkim_check.check(raw, res)
    assert result.result == "permerror"


# SPF


@pytest.mark.parametrize(
    ("ip", "sender", "helo", "expected"),
    [
        (SENDING_IP, "alice@sender.example", "mx.sender.example", ("pass", "mailfrom")),
        (OTHER_IP, "alice@sender.example", "mx.sender.example", ("fail", "mailfrom")),
        (OTHER_IP, "bob@soft.example", "mx.soft.example", ("softfail", "mailfrom")),
        (OTHER_IP, "bob@unknown.example", "x", ("none", "mailfrom")),
        (SENDING_IP, "", "helo.example", ("pass", "helo")),
        (OTHER_IP, "", "helo.example", ("fail", "helo")),
        (SENDING_IP, "bob@slow.example", "x", ("temperror", "mailfrom")),
    ],
)
def test_spf_checks_the_envelope_sender_or_the_helo_name_of_a_null_sender(
    res: Any, ip: str, sender: str, helo: str, expected: tuple[str, str]
) -> None:
    result = spf.check(ip, sender, helo, res, timeout=2)
    assert (result.result, result.identity) == expected


def test_spf_on_a_hostile_sender_is_an_error_not_a_crash(res: Any) -> None:
    result = spf.check("not an ip", "a@b@c\x00", "\r\n", res, timeout=1)
    assert result.result == "permerror"


# The producer: findings per check


def examine(
    res: Any,
    settings: DomainAuth,
    raw: bytes,
    sender: str = "alice@sender.example",
    ip: str = SENDING_IP,
    direction: Direction = Direction.INBOUND,
) -> Verdict:
    producer = DomainAuthProducer(lambda _: settings, res, GATEWAY, timeout=2)
    envelope = Envelope(TENANT, direction, sender, (BOB,), ip, "mx.client.example")
    return producer.examine(raw, parse(raw), envelope)


def findings(verdict: Verdict) -> list[tuple[str, str]]:
    return [(f.subtype, f.details.get("result", "")) for f in verdict.findings]


ALL_ON = DomainAuth(
    sender_ip_match=SenderIpMatch(
        enabled=True, domains=[SendingDomain(domain="sender.example", networks=["192.0.2.0/28"])]
    ),
    spf=Spf(enabled=True),
    dkim=Dkim(enabled=True),
    dmarc=Dmarc(enabled=True),
)
DMARC_ONLY = DomainAuth(dmarc=Dmarc(enabled=True))


def test_nothing_is_looked_up_for_outbound_mail_or_when_every_rule_is_off(
    res: Any, dns_server: LoopbackDns
) -> None:
    before = len(dns_server.queries)
    assert examine(res, ALL_ON, message(), direction=Direction.OUTBOUND).findings == ()
    off = examine(res, DomainAuth(), message())
    assert (off.findings, off.headers) == ((), ())
    assert len(dns_server.queries) == before


def test_mail_that_passes_everything_reports_only_its_spf_pass(res: Any) -> None:
    verdict = examine(res, ALL_ON, signed(message()))
    assert findings(verdict) == [("spf", "pass")]
    ((name, value),) = verdict.headers
    assert name == "Authentication-Results"
    assert value.startswith(f"{GATEWAY};")
    assert "spf=pass smtp.mailfrom=sender.example" in value
    assert "dkim=pass header.d=sender.example header.s=sel" in value
    assert "dmarc=pass header.from=sender.example" in value


def test_a_sending_address_not_registered_for_the_from_domain_is_a_sender_ip_match_finding(
    res: Any,
) -> None:
    settings = DomainAuth(sender_ip_match=ALL_ON.sender_ip_match)
    assert findings(examine(res, settings, message(), ip=OTHER_IP)) == [("sender_ip_match", "fail")]
    assert findings(examine(res, settings, message(), ip="192.0.2.14")) == []
    assert findings(examine(res, settings, message("x@unlisted.example"), ip=OTHER_IP)) == []


def test_signed_mail_whose_signatures_all_fail_is_a_dkim_finding(res: Any) -> None:
    settings = DomainAuth(dkim=Dkim(enabled=True))
    raw = signed(message()).replace(b"The figures", b"The invoice")
    ((finding),) = examine(res, settings, raw).findings
    assert finding.subtype == "dkim"
    assert "sender.example (sel): fail" in finding.details["signatures"]
    assert examine(res, settings, message()).findings == ()  # unsigned, nothing required


def test_an_enforced_domain_must_carry_its_own_valid_signature(res: Any) -> None:
    settings = DomainAuth(dkim=Dkim(enabled=True, enforced_domains=["sender.example"]))
    (unsigned,) = examine(res, settings, message()).findings
    assert "must carry a valid signature of sender.example" in unsigned.details["reason"]
    (foreign,) = examine(res, settings, signed(message(), domain="other.example")).findings
    assert foreign.subtype == "dkim"
    subdomain = signed(message(), domain="mail.sender.example")
    assert examine(res, settings, subdomain).findings == ()
    assert examine(res, settings, signed(message(), domain="slow.example")).findings != ()


def test_an_enforced_domain_whose_key_cannot_be_read_now_is_not_failed(res: Any) -> None:
    settings = DomainAuth(dkim=Dkim(enabled=True, enforced_domains=["slow.example"]))
    raw = signed(message("a@slow.example"), domain="slow.example")
    assert examine(res, settings, raw, sender="a@slow.example").findings == ()


def test_dmarc_alignment_when_spf_passes_for_another_domain(res: Any) -> None:
    verdict = examine(res, DMARC_ONLY, message(), sender="bounce@other.example", ip=OTHER_IP)
    assert [f.subtype for f in verdict.findings] == ["dmarc_alignment", "dmarc_dkim"]
    assert verdict.findings[0].details["policy"] == "reject"


def test_dmarc_alignment_when_only_an_unaligned_signature_passes(res: Any) -> None:
    raw = signed(message(), domain="other.example")
    verdict = examine(res, DMARC_ONLY, raw, ip=OTHER_IP)
    assert [f.subtype for f in verdict.findings] == ["dmarc_alignment", "dmarc_spf"]


def test_dmarc_spf_and_dkim_when_neither_passes_under_a_quarantine_policy(res: Any) -> None:
    raw = message("alice@quarantine.example")
    verdict = examine(res, DMARC_ONLY, raw, sender="alice@quarantine.example")
    assert findings(verdict) == [("dmarc_spf", "fail"), ("dmarc_dkim", "fail")]
    assert "dmarc=fail (p=quarantine) header.from=quarantine.example" in verdict.headers[0][1]


def test_an_aligned_signature_passes_dmarc_though_spf_fails(res: Any) -> None:
    raw = signed(message(), domain="mail.sender.example")  # relaxed: same organization
    assert examine(res, DMARC_ONLY, raw, ip=OTHER_IP).findings == ()


def test_strict_alignment_needs_the_very_from_domain(res: Any) -> None:
    raw = signed(message("a@strict.example"), domain="mail.strict.example")
    verdict = examine(res, DMARC_ONLY, raw, sender="a@strict.example", ip=OTHER_IP)
    assert [f.subtype for f in verdict.findings] == ["dmarc_alignment", "dmarc_spf"]


@pytest.mark.parametrize("domain", ["monitor.example", "pct.example"])
def test_a_none_policy_or_a_message_outside_pct_is_not_acted_on(res: Any, domain: str) -> None:
    verdict = examine(res, DMARC_ONLY, message(f"a@{domain}"), sender=f"a@{domain}")
    assert verdict.findings == ()
    assert "dmarc=fail (p=none)" in verdict.headers[0][1]


def test_a_subdomain_gets_the_organizational_domain_sp_policy(res: Any) -> None:
    verdict = examine(res, DMARC_ONLY, message("a@sub.org.example"), sender="a@sub.org.example")
    assert {f.details["policy"] for f in verdict.findings} == {"reject"}
    assert {f.details["record_domain"] for f in verdict.findings} == {"org.example"}


@pytest.mark.parametrize("domain", ["nodmarc.example", "broken.example"])
def test_no_usable_record_is_a_dmarc_availability_finding(res: Any, domain: str) -> None:
    verdict = examine(res, DMARC_ONLY, message(f"a@{domain}"), sender=f"a@{domain}")
    assert findings(verdict) == [("dmarc_availability", "none")]


def test_a_dmarc_record_that_cannot_be_read_now_is_a_temporary_error(res: Any) -> None:
    raw = message("a@slowdmarc.example")
    verdict = examine(res, DMARC_ONLY, raw, sender="a@slowdmarc.example")
    assert verdict.findings == ()
    assert "dmarc=temperror" in verdict.headers[0][1]


# Stage 2: the four rules run first, each with its own actions


def world(raw: bytes, res: Any, settings: DomainAuth, *rules: r.Rule) -> World:
    box: dict[str, World] = {}
    producer = DomainAuthProducer(lambda _: box["w"].config.domain_auth, res, GATEWAY, 2)
    box["w"] = World(list(rules), raw, producers=[producer], domain_auth=settings)
    return box["w"]


def test_spf_results_each_get_their_own_action_before_the_policy_rules(res: Any) -> None:
    settings = DomainAuth(
        spf=Spf(
            enabled=True,
            actions={
                "fail": r.Actions(intercept=r.QuarantineIt()),
                "softfail": r.Actions(tag_subject="[SPF softfail]"),
            },
        )
    )
    hold_all = r.Rule(
        id="hold-all", name="Hold all", category=r.RuleCategory.CONTENT,
        conditions=[r.BodyKeywords(keywords=r.Keywords(values=["figures"]))],
        actions=r.Actions(intercept=r.QuarantineIt()),
    )  # fmt: skip
    failing = world(message(), res, settings, hold_all)
    failing.stage.run(failing.job(sender_ip=OTHER_IP))
    assert failing.status() is Status.QUARANTINED
    assert failing.quarantine.entries[TENANT, "m1"].rule_name == "SPF (fail)"
    (event,) = failing.events.events.values()
    assert (event.threat_type, event.subtype, event.details["result"]) == (
        ThreatType.DOMAIN_AUTH,
        "spf",
        "fail",
    )

    soft = world(message(), res, settings)
    soft.stage.run(soft.job(sender="bob@soft.example", sender_ip=OTHER_IP))
    (job,) = soft.jobs()
    delivered = message_from_bytes(soft.mail.objects[job.mail_key], policy=default)
    assert delivered["Subject"] == "[SPF softfail] Quarterly report"
    assert "spf=softfail" in delivered["Authentication-Results"]


def test_a_disabled_rule_or_an_excepted_sender_is_not_acted_on(res: Any) -> None:
    quarantine = r.Actions(intercept=r.QuarantineIt())
    off = world(message(), res, DomainAuth(spf=Spf(actions={"fail": quarantine})))
    off.stage.run(off.job(sender_ip=OTHER_IP))
    excepted = world(
        message(),
        res,
        DomainAuth(
            spf=Spf(
                enabled=True,
                scope=r.Scope(except_senders=["*@sender.example"]),
                actions={"fail": quarantine},
            )
        ),
    )
    excepted.stage.run(excepted.job(sender_ip=OTHER_IP))
    assert off.status() is not Status.QUARANTINED
    assert excepted.status() is not Status.QUARANTINED


def test_the_delivered_message_carries_our_results_and_not_a_forged_copy(res: Any) -> None:
    forged = (
        f"Authentication-Results: {GATEWAY}; spf=pass smtp.mailfrom=sender.example\r\n"
        "Authentication-Results: upstream.example; spf=fail\r\n"
    ).encode()
    w = world(forged + message(), res, DomainAuth(dmarc=Dmarc(enabled=True)))
    w.stage.run(w.job(sender_ip=OTHER_IP))
    (job,) = w.jobs()
    assert job.mail_key != KEY and w.mail.objects[KEY].startswith(forged)
    delivered = message_from_bytes(w.mail.objects[job.mail_key], policy=default)
    ours, upstream = delivered.get_all("Authentication-Results")
    assert "spf=fail smtp.mailfrom=sender.example" in ours
    assert upstream == "upstream.example; spf=fail"
    assert "DMARC: none" in w.timeline()  # the rule matched; its intercept is "none"


def test_a_check_that_breaks_is_no_verdict_and_the_message_goes_on(res: Any) -> None:
    class Broken(DomainAuthProducer):
        def _examine(self, *args: Any) -> Verdict:
            raise RuntimeError("boom")

    settings = DomainAuth(dmarc=Dmarc(enabled=True, actions=r.Actions(intercept=r.Delete())))
    producer = Broken(lambda _: settings, res, GATEWAY)
    w = World([], message(), producers=[producer], domain_auth=settings)
    w.stage.run(w.job())
    assert w.status() is not Status.DELETED
    (event,) = w.events.events.values()
    assert (event.threat_type, event.subtype) == (ThreatType.SCAN_EXCLUSION, "other_exclusion")


def test_domain_auth_rules_cannot_be_written_as_policy_rules() -> None:
    with pytest.raises(ValueError, match="domain_auth section"):
        r.Policies(
            inbound=[r.Rule(id="x", name="x", category=r.RuleCategory.DOMAIN_AUTH)], outbound=[]
        )
    with pytest.raises(ValueError, match="not an SPF result"):
        r.ThreatCondition(threat=ThreatType.MALWARE, results=["fail"])
