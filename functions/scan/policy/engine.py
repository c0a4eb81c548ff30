"""The policy engine: a tenant's rules run in order over the evidence; the result is a
``Decision`` the stage applies. No I/O.

Seed 003 decides what each intercept does to the rules after it: delete and quarantine end
stage 2, deliver now skips the later rules, change recipient and "do not intercept" go on.
Modify and monitor actions of every matching rule apply, also of the one that ends stage 2.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from functions.scan.evidence.verdicts import Evidence
from functions.scan.policy.conditions import Hit, NoVerdict, evaluate
from mailgate.catalog import (
    ENGINE_FAILURE_ACTIONS,
    ENGINE_FAILURE_EVENT,
    Direction,
    PolicyAction,
    ThreatType,
)
from mailgate.config_fields import MailServer, pattern_matches
from mailgate.policy.rules import (
    ChangeRecipient,
    DeliverNow,
    Notification,
    Rule,
    RuleCategory,
    Scope,
    ThreatCondition,
)

NO_MATCH = "no_match"
NO_VERDICT = "no_verdict"
SKIPPED = "skipped"
# What ends stage 2 for the message.
ENDS_STAGE = frozenset({PolicyAction.DELETE, PolicyAction.QUARANTINE, PolicyAction.DELIVER_NOW})
OUTBOUND_GRAYMAIL = ThreatCondition(threat=ThreatType.GRAYMAIL)  # any category


@dataclass(frozen=True)
class Detection:
    """A policy event to write: which rule saw what, and the action taken."""

    rule: Rule | None  # None: a check before the rules (the message's own bounds)
    hit: Hit
    action: PolicyAction


class Outcome(NamedTuple):  # a tuple: one per rule evaluated, made at a third of the cost
    """One evaluated policy, as the tracking detail lists it."""

    rule: Rule
    result: str  # no_match, no_verdict, skipped, or the intercept action taken
    note: str = ""


@dataclass
class Decision:
    recipients: list[str]
    outcomes: list[Outcome] = field(default_factory=list)
    detections: list[Detection] = field(default_factory=list)
    final: PolicyAction = PolicyAction.NONE
    final_rule: Rule | None = None
    deliver_to: MailServer | None = None
    redirected_by: Rule | None = None
    tags: list[str] = field(default_factory=list)
    stamps: list[str] = field(default_factory=list)
    strip: set[int] = field(default_factory=set)
    notifications: list[tuple[Rule, Notification]] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)  # fields the engines add
    # The engine failures a rule met that asking again may cure (an engine down or slow, not
    # a message over its limit): while the job has attempts left, it is retried for them.
    retryable: list[str] = field(default_factory=list)


def in_scope(scope: Scope, sender: str, recipients: Sequence[str]) -> bool:
    if scope.senders and not _listed(scope.senders, sender):
        return False
    if scope.except_senders and _listed(scope.except_senders, sender):
        return False
    if not scope.recipients and not scope.except_recipients:  # most rules: no patterns to try
        return bool(recipients)
    return any(
        (not scope.recipients or _listed(scope.recipients, recipient))
        and not _listed(scope.except_recipients, recipient)
        for recipient in recipients
    )


def _listed(patterns: list[str], address: str) -> bool:
    return any(pattern_matches(pattern, address) for pattern in patterns)


def _hits(rule: Rule, evidence: Evidence) -> tuple[list[Hit], NoVerdict | None]:
    """The conditions' hits under the rule's any/all; a condition no engine could decide makes
    an "all" rule undecided, and an "any" rule undecided only when nothing else matched."""
    hits: list[Hit] = []
    undecided: NoVerdict | None = None
    for condition in rule.conditions:
        try:
            hit = evaluate(condition, evidence)
        except NoVerdict as no_verdict:
            # Kept without its traceback, which holds this frame and so the exception itself:
            # a cycle that only the garbage collector would free, with the evidence in it.
            undecided = undecided or no_verdict.with_traceback(None)
            if rule.match == "all":
                return [], undecided
            continue
        if hit is not None:
            hits.append(hit)
        elif rule.match == "all":
            return [], None
    return hits, (None if hits else undecided)


def _graymail(evidence: Evidence) -> Hit | None:
    try:
        return evaluate(OUTBOUND_GRAYMAIL, evidence)
    except NoVerdict:  # graymail looks at the message only: no engine to fail
        return None


def _engine_failure(no_verdict: NoVerdict) -> Hit:
    threat, subtype = ENGINE_FAILURE_EVENT
    return Hit(threat, no_verdict.reason, subtype=subtype, details={"engine": no_verdict.reason})


def _implies_graymail(rule: Rule, direction: Direction) -> bool:
    """Seed 003: outbound, any detection condition of a spam rule turns graymail detection on
    with it (inbound, only the rule's own graymail condition does)."""
    return (
        direction is Direction.OUTBOUND
        and rule.category is RuleCategory.SPAM
        and bool(rule.conditions)
    )


def threats_read(
    rules: Iterable[Rule], direction: Direction, spam_exempt: bool = False
) -> frozenset[ThreatType]:
    """The threats the enabled ``rules`` have conditions on (spam rules not at all when the
    message is exempt from them): only the engines looking for these are asked."""
    read: set[ThreatType] = set()
    for rule in rules:
        if not rule.enabled or (spam_exempt and rule.category is RuleCategory.SPAM):
            continue
        read.update(c.threat for c in rule.conditions if isinstance(c, ThreatCondition))
        if _implies_graymail(rule, direction):
            read.add(ThreatType.GRAYMAIL)
    return frozenset(read)


def decide(
    rules: Sequence[Rule],
    evidence: Evidence,
    resume_after: str | None = None,
    spam_exempt: str = "",
) -> Decision:
    """Run the enabled ``rules`` (in evaluation order). ``resume_after``: a release from
    quarantine goes on after that rule (none run when it no longer exists). ``spam_exempt``:
    why spam rules are skipped (an approved sender or IP), or empty."""
    envelope = evidence.envelope
    decision = Decision(recipients=list(envelope.recipients))
    if resume_after is None:  # a release goes on with the message as first modified
        verdicts = {id(v): v for v in evidence.verdicts.values()}.values()
        decision.headers = [header for verdict in verdicts for header in verdict.headers]
    started = resume_after is None
    for rule in rules:
        if not started:
            started = rule.id == resume_after
            continue
        if not rule.enabled:
            continue
        if not in_scope(rule.scope, envelope.sender, decision.recipients):
            continue
        if spam_exempt and rule.category is RuleCategory.SPAM:
            decision.outcomes.append(Outcome(rule, SKIPPED, spam_exempt))
            continue
        if _run(rule, evidence, decision):
            break
    message = evidence.message
    # After the rules: the text of HTML bodies is read when a rule or a detector first asks.
    exclusions = (*message.exclusions, *message.html.exclusions)
    if resume_after is None and exclusions:
        threat, subtype = ENGINE_FAILURE_EVENT
        what = " ".join(exclusions)
        decision.detections.insert(
            0, Detection(None, Hit(threat, what, subtype=subtype), PolicyAction.NONE)
        )
    return decision


def _run(rule: Rule, evidence: Evidence, decision: Decision) -> bool:
    """Evaluate one rule into ``decision``; True when it ends stage 2."""
    hits, undecided = _hits(rule, evidence) if rule.conditions else ([], None)
    if not hits and _implies_graymail(rule, evidence.envelope.direction):
        graymail = _graymail(evidence)
        if graymail is not None:
            hits, undecided = [graymail], None
    if undecided is not None:
        if not undecided.failed:
            decision.outcomes.append(Outcome(rule, NO_VERDICT, undecided.reason))
            return False
        if not undecided.lasting:
            decision.retryable.append(undecided.reason)
        action = ENGINE_FAILURE_ACTIONS.get(undecided.threat, PolicyAction.NONE)
        decision.detections.append(Detection(rule, _engine_failure(undecided), action))
        decision.outcomes.append(Outcome(rule, action.value, undecided.reason))
        if action in ENDS_STAGE:
            decision.final, decision.final_rule = action, rule
            return True
        return False
    if rule.conditions and not hits:
        decision.outcomes.append(Outcome(rule, NO_MATCH))
        return False
    actions = rule.actions
    intercept = actions.intercept
    decision.outcomes.append(Outcome(rule, intercept.action.value))
    # A rule without conditions matches every message in scope and writes no policy event.
    decision.detections.extend(Detection(rule, hit, intercept.action) for hit in hits)
    if actions.tag_subject:
        decision.tags.append(actions.tag_subject)
    if actions.stamp:
        decision.stamps.append(actions.stamp)
    if actions.strip_attachments:
        for hit in hits:
            decision.strip |= hit.attachments
    decision.notifications.extend((rule, notification) for notification in actions.notify)
    decision.bcc.extend(actions.bcc)
    if isinstance(intercept, ChangeRecipient):
        decision.recipients = list(dict.fromkeys(intercept.recipients))
        decision.redirected_by = rule
        return False
    if isinstance(intercept, DeliverNow):
        decision.deliver_to = intercept.server
    if intercept.action in ENDS_STAGE:
        decision.final, decision.final_rule = intercept.action, rule
        return True
    return False
