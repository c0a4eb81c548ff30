"""The policy engine: rule order, scope, any/all, every intercept's effect on later rules
(seed 003), modify and monitor actions, engine failures and "no verdict"."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from functions.scan.evidence.mime import model
from functions.scan.evidence.mime.model import Attachment, Html, Limits, Mailbox, Message
from functions.scan.evidence.mime.parse import parse
from functions.scan.evidence.verdicts import Envelope, Evidence, Finding, Verdict
from functions.scan.policy.engine import NO_MATCH, NO_VERDICT, SKIPPED, decide, threats_read
from mailgate.catalog import Direction, PolicyAction, SpamLevel, ThreatType
from mailgate.config_fields import MailServer
from mailgate.policy import rules as r

MESSAGE = Message(
    headers=(("Subject", "Quarterly invoice"), ("X-Campaign", "spring sale")),
    from_=(Mailbox("Alice", "alice@example.com"),),
    to=(Mailbox("", "bob@example.jp"),),
    cc=(),
    reply_to=(),
    subject="Quarterly invoice",
    message_id="<1@example.com>",
    date="",
    text="Please find the invoice attached.",
    html=Html(),
    attachments=(
        Attachment(
            index=1,
            name="invoice.pdf.exe",
            size=2048,
            sha256="ab" * 32,
            declared_type="application/pdf",
            true_type="application/x-dosexec",
            true_extension="exe",
            archive_entries=(),
            password_protected=False,
            active_content=False,
            text="",
        ),
    ),
    size=4096,
    exclusions=(),
)
ENVELOPE = Envelope("t1", Direction.INBOUND, "alice@example.com", ("bob@example.jp",), "192.0.2.1")


def evidence(message: Message = MESSAGE, **verdicts: Verdict) -> Evidence:
    return Evidence(message, ENVELOPE, {ThreatType(k): v for k, v in verdicts.items()})


def rule(name: str, *conditions: Any, category: str = "content", **actions: Any) -> r.Rule:
    return r.Rule(
        id=name.lower().replace(" ", "-").replace("_", "-"),
        name=name,
        category=r.RuleCategory(category),
        conditions=list(conditions),
        actions=r.Actions(**actions),
    )


SUBJECT_INVOICE = r.SubjectKeywords(keywords=r.Keywords(values=["invoice"]))
SUBJECT_OTHER = r.SubjectKeywords(keywords=r.Keywords(values=["lottery"]))
EXE = r.AttachmentTrueType(extensions=["exe"])
AUDIT = "audit@example.jp"


def results(decision: Any) -> list[tuple[str, str]]:
    return [(o.rule.name, o.result) for o in decision.outcomes]


def test_rules_run_in_order_and_no_match_is_recorded() -> None:
    decision = decide([rule("A", SUBJECT_OTHER), rule("B", SUBJECT_INVOICE)], evidence())
    assert results(decision) == [("A", NO_MATCH), ("B", "none")]
    assert decision.final is PolicyAction.NONE
    assert [d.hit.threat for d in decision.detections] == [ThreatType.CONTENT]


def test_quarantine_and_delete_end_stage_two() -> None:
    for action, intercept in (
        (PolicyAction.QUARANTINE, r.QuarantineIt()),
        (PolicyAction.DELETE, r.Delete()),
    ):
        decision = decide(
            [rule("Q", SUBJECT_INVOICE, intercept=intercept), rule("Later", SUBJECT_INVOICE)],
            evidence(),
        )
        assert results(decision) == [("Q", action.value)]
        assert decision.final is action and decision.final_rule is not None


def test_deliver_now_skips_later_rules_and_names_the_server() -> None:
    server = MailServer(host="mx.backup.example", port=2525)
    decision = decide(
        [
            rule("Now", SUBJECT_INVOICE, intercept=r.DeliverNow(server=server), tag_subject="[x]"),
            rule("Later", SUBJECT_INVOICE, intercept=r.QuarantineIt()),
        ],
        evidence(),
    )
    assert results(decision) == [("Now", "deliver_now")]
    assert decision.deliver_to == server and decision.tags == ["[x]"]


def test_change_recipient_goes_on_with_the_new_recipients() -> None:
    decision = decide(
        [
            rule(
                "Redirect",
                SUBJECT_INVOICE,
                intercept=r.ChangeRecipient(recipients=["audit@example.jp"]),
            ),
            rule("Only audit", SUBJECT_INVOICE, tag_subject="[audit]"),
        ],
        evidence(),
    )
    assert decision.recipients == ["audit@example.jp"]
    assert decision.redirected_by is not None and decision.tags == ["[audit]"]
    assert decision.final is PolicyAction.NONE


def test_scope_limits_a_rule_to_its_senders_and_recipients() -> None:
    scoped = r.Rule(
        id="scoped",
        name="Scoped",
        category=r.RuleCategory.CONTENT,
        scope=r.Scope(recipients=["*@other.example"]),
        conditions=[SUBJECT_INVOICE],
        actions=r.Actions(intercept=r.Delete()),
    )
    excepted = scoped.model_copy(
        update={
            "id": "excepted",
            "name": "Excepted",
            "scope": r.Scope(except_senders=["*@example.com"]),
        }
    )
    decision = decide([scoped, excepted], evidence())
    assert decision.outcomes == [] and decision.final is PolicyAction.NONE


def test_all_needs_every_condition_any_needs_one() -> None:
    any_rule = rule("Any", SUBJECT_OTHER, EXE)
    all_rule = rule("All", SUBJECT_OTHER, EXE).model_copy(update={"match": "all"})
    decision = decide([any_rule, all_rule], evidence())
    assert results(decision) == [("Any", "none"), ("All", NO_MATCH)]


def test_no_condition_matches_everything_and_writes_no_event() -> None:
    decision = decide([rule("Everything", tag_subject="[ext]")], evidence())
    assert results(decision) == [("Everything", "none")]
    assert decision.detections == [] and decision.tags == ["[ext]"]


def test_strip_removes_only_the_attachments_the_conditions_matched() -> None:
    decision = decide([rule("Exe", EXE, strip_attachments=True)], evidence())
    assert decision.strip == {1}
    assert decision.detections[0].hit.file == "invoice.pdf.exe"
    assert decision.detections[0].hit.threat is ThreatType.ATTACHMENT


def test_notify_and_bcc_are_collected_from_every_matching_rule() -> None:
    notice = r.Notification(to=["admin@example.jp"])
    decision = decide(
        [
            rule("N", SUBJECT_INVOICE, notify=[notice]),
            rule("B", EXE, bcc=["copy@example.jp"], intercept=r.QuarantineIt()),
        ],
        evidence(),
    )
    assert [n for _, n in decision.notifications] == [notice]
    assert decision.bcc == ["copy@example.jp"] and decision.final is PolicyAction.QUARANTINE


def spam_rule(level: SpamLevel) -> r.Rule:
    return rule(
        f"Spam {level}",
        r.ThreatCondition(threat=ThreatType.SPAM, level=level),
        category="spam",
        intercept=r.QuarantineIt(),
    )


def test_spam_is_detected_when_the_score_exceeds_the_level() -> None:
    verdict = Verdict(
        "rspamd", frozenset({ThreatType.SPAM}), (Finding(ThreatType.SPAM, score=7.0),)
    )
    at_threshold = decide([spam_rule(SpamLevel.MEDIUM_LOW)], evidence(spam=verdict))
    above = decide([spam_rule(SpamLevel.MEDIUM_HIGH)], evidence(spam=verdict))
    assert results(at_threshold) == [("Spam medium_low", NO_MATCH)]
    assert results(above) == [("Spam medium_high", "quarantine")]
    assert above.detections[0].hit.details["spam_result"] == "11-7.000000-5.000000"


def test_without_an_engine_a_threat_rule_says_no_verdict_and_the_message_goes_on() -> None:
    decision = decide([spam_rule(SpamLevel.HIGH)], evidence())
    assert results(decision) == [("Spam high", NO_VERDICT)]
    assert "no engine" in decision.outcomes[0].note
    assert decision.final is PolicyAction.NONE and decision.detections == []


def test_a_failed_virus_engine_quarantines_and_a_failed_spam_engine_lets_through() -> None:
    virus = rule(
        "Virus",
        r.ThreatCondition(threat=ThreatType.MALWARE),
        category="virus",
        intercept=r.QuarantineIt(),
    )
    down = {
        "malware": Verdict("clamd", frozenset({ThreatType.MALWARE}), failure="timed out"),
        "spam": Verdict("rspamd", frozenset({ThreatType.SPAM}), failure="connection refused"),
    }
    decision = decide([virus], evidence(**down))
    assert decision.final is PolicyAction.QUARANTINE
    event = decision.detections[0]
    assert (event.hit.threat, event.hit.subtype) == (ThreatType.SCAN_EXCLUSION, "other_exclusion")
    spam = decide([spam_rule(SpamLevel.HIGH)], evidence(**down))
    assert spam.final is PolicyAction.NONE
    assert spam.detections[0].action is PolicyAction.NONE


def test_approved_senders_skip_the_spam_rules_only() -> None:
    decision = decide(
        [spam_rule(SpamLevel.HIGH), rule("Content", SUBJECT_INVOICE)],
        evidence(),
        spam_exempt="approved sender",
    )
    assert results(decision) == [("Spam high", SKIPPED), ("Content", "none")]


def test_a_release_goes_on_after_the_quarantining_rule() -> None:
    rules = [
        rule("First", SUBJECT_INVOICE, tag_subject="[1]"),
        rule("Quarantining", SUBJECT_INVOICE, intercept=r.QuarantineIt()),
        rule("After", SUBJECT_INVOICE, tag_subject="[after]"),
    ]
    decision = decide(rules, evidence(), resume_after="quarantining")
    assert results(decision) == [("After", "none")] and decision.tags == ["[after]"]
    gone = decide(rules, evidence(), resume_after="deleted-since")
    assert gone.outcomes == [] and gone.final is PolicyAction.NONE


def test_disabled_rules_do_not_run() -> None:
    off = rule("Off", SUBJECT_INVOICE, intercept=r.Delete()).model_copy(update={"enabled": False})
    assert decide([off], evidence()).outcomes == []


def test_a_message_past_a_bound_gets_a_scan_exclusion_event() -> None:
    bounded = replace(
        MESSAGE, exclusions=("more than 1,000 MIME parts: the rest were not inspected",)
    )
    decision = decide([], evidence(bounded))
    (event,) = decision.detections
    assert event.hit.threat is ThreatType.SCAN_EXCLUSION and "1,000" in event.hit.what


def test_html_text_cut_when_a_rule_reads_it_gets_a_scan_exclusion_event() -> None:
    raw = b"Subject: News\r\nContent-Type: text/html\r\n\r\n<p>" + b"word " * 100 + b"</p>"
    message = parse(raw, Limits(max_text_chars=12))
    body = rule("Body", r.BodyKeywords(keywords=r.Keywords(values=["lottery"])))

    first, *_ = decide([body], evidence(message)).detections

    assert first.rule is None and first.hit.threat is ThreatType.SCAN_EXCLUSION
    assert first.hit.what == "more than 12 characters of HTML text: the rest was not read"


def test_rules_on_engine_verdicts_alone_leave_the_html_text_unread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    read: list[str] = []

    def reader(html: str, document: object, limit: int) -> tuple[str, bool]:
        read.append(html)
        return html, False

    monkeypatch.setattr(model, "text_of", reader)
    message = parse(b"Subject: News\r\nContent-Type: text/html\r\n\r\n<p>lottery</p>")
    clean = Verdict("rspamd", frozenset({ThreatType.SPAM}), (Finding(ThreatType.SPAM, score=1),))

    decision = decide([spam_rule(SpamLevel.MEDIUM_LOW)], evidence(message, spam=clean))

    assert read == [] and results(decision) == [("Spam medium_low", NO_MATCH)]
    decide(
        [rule("Body", r.BodyKeywords(keywords=r.Keywords(values=["lottery"])))], evidence(message)
    )
    assert read == ["<p>lottery</p>"]


# Seed 003: outbound, a spam rule with any detection condition detects graymail too.
NEWSLETTER = Verdict(
    "graymail",
    frozenset({ThreatType.GRAYMAIL}),
    findings=(Finding(ThreatType.GRAYMAIL, subtype="marketing", name="List-Unsubscribe"),),
)
LOW_SPAM = Verdict(
    "rspamd", frozenset({ThreatType.SPAM}), findings=(Finding(ThreatType.SPAM, score=1.0),)
)
SPAM_RULE = rule(
    "Outbound spam",
    r.ThreatCondition(threat=ThreatType.SPAM, level=SpamLevel.HIGH),
    category="spam",
    intercept=r.QuarantineIt(),
)


def outbound(**verdicts: Verdict) -> Evidence:
    return replace(evidence(**verdicts), envelope=replace(ENVELOPE, direction=Direction.OUTBOUND))


def test_an_outbound_spam_rule_detects_graymail_with_its_spam_condition() -> None:
    decision = decide([SPAM_RULE], outbound(spam=LOW_SPAM, graymail=NEWSLETTER))
    assert results(decision) == [("Outbound spam", "quarantine")]
    (detection,) = decision.detections
    assert (detection.hit.threat, detection.hit.subtype) == (ThreatType.GRAYMAIL, "marketing")


def test_graymail_needs_its_own_condition_inbound_and_a_detection_condition_outbound() -> None:
    inbound = replace(outbound(spam=LOW_SPAM, graymail=NEWSLETTER), envelope=ENVELOPE)
    assert results(decide([SPAM_RULE], inbound)) == [("Outbound spam", NO_MATCH)]
    no_condition = rule("Everything", category="spam", tag_subject="[out]")
    decision = decide([no_condition], outbound(graymail=NEWSLETTER))
    assert decision.detections == [] and decision.tags == ["[out]"]
    content = rule("Invoices", SUBJECT_OTHER, intercept=r.QuarantineIt())
    assert results(decide([content], outbound(graymail=NEWSLETTER))) == [("Invoices", NO_MATCH)]


def test_only_the_threats_an_enabled_rule_reads_are_asked_for() -> None:
    virus_off = rule(
        "Virus", r.ThreatCondition(threat=ThreatType.MALWARE), category="virus"
    ).model_copy(update={"enabled": False})
    rules = [SPAM_RULE, virus_off, rule("Invoices", SUBJECT_INVOICE)]
    assert threats_read(rules, Direction.INBOUND) == {ThreatType.SPAM}
    assert threats_read(rules, Direction.OUTBOUND) == {ThreatType.SPAM, ThreatType.GRAYMAIL}
    assert threats_read(rules, Direction.INBOUND, spam_exempt=True) == set()
