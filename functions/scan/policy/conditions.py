"""The conditions of stage-2 rules: each reads the message model and the evidence, does no
I/O, and returns what it saw (a ``Hit``) or None."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from functions.scan.evidence.mime.model import Attachment, Mailbox
from functions.scan.evidence.verdicts import Evidence, Finding
from mailgate.catalog import SPAM_LEVELS, ThreatType, spam_result_string
from mailgate.policy import dlp
from mailgate.policy import rules as r


@dataclass(frozen=True)
class Hit:
    """What a condition saw: enough for the policy event and the strip action."""

    threat: ThreatType
    what: str  # one line for the event's detail
    subtype: str = ""
    method: str = ""
    name: str = ""
    file: str = ""
    url: str = ""
    attachments: frozenset[int] = frozenset()  # indexes of the attachments concerned
    details: dict[str, str] = field(default_factory=dict)


class NoVerdict(Exception):
    """A threat condition could not be decided: no engine is configured for it, or the engine
    failed (``failed``); ``lasting``: asking the engine again would fail the same way."""

    def __init__(
        self, threat: ThreatType, reason: str, failed: bool, lasting: bool = False
    ) -> None:
        super().__init__(reason)
        self.threat = threat
        self.reason = reason
        self.failed = failed
        self.lasting = lasting


def _matched(keywords_: r.Keywords, text: str) -> str | None:
    return keywords_.matcher.first_match(text)


def _addresses(boxes: Iterable[Mailbox]) -> set[str]:
    return {box.address.lower() for box in boxes if box.address}


def _attachment_hit(
    threat: ThreatType, what: str, hits: list[Attachment], details: dict[str, str] | None = None
) -> Hit | None:
    if not hits:
        return None
    return Hit(
        threat,
        what,
        file=hits[0].name,
        attachments=frozenset(a.index for a in hits),
        details=details or {},
    )


def threat(condition: r.ThreatCondition, evidence: Evidence) -> Hit | None:
    verdict = evidence.verdict(condition.threat)
    if verdict is None:
        raise NoVerdict(
            condition.threat, f"no engine that detects {condition.threat} is configured", False
        )
    if verdict.failure:
        raise NoVerdict(
            condition.threat, f"{verdict.engine}: {verdict.failure}", True, verdict.lasting
        )
    for finding in verdict.findings:
        if _finding_matches(condition, finding):
            details = dict(finding.details)
            if condition.level is not None and finding.score is not None:
                # Seed 004: the result string compares the score with this rule's threshold.
                threshold = SPAM_LEVELS[condition.level].threshold
                details["spam_result"] = spam_result_string(finding.score, threshold)
            return Hit(
                finding.threat,
                f"{verdict.engine} detected {finding.name or finding.threat}",
                subtype=finding.subtype,
                method=finding.method,
                name=finding.name,
                file=finding.file,
                url=finding.url,
                attachments=frozenset(
                    a.index
                    for a in evidence.message.attachments
                    if finding.file and a.name == finding.file
                ),
                details=details,
            )
    return None


def _finding_matches(condition: r.ThreatCondition, finding: Finding) -> bool:
    if finding.threat is not condition.threat:
        return False
    if condition.subtypes and finding.subtype not in condition.subtypes:
        return False
    if condition.methods and finding.method not in condition.methods:
        return False
    if condition.results and finding.details.get("result") not in condition.results:
        return False
    if condition.level is not None:
        threshold = SPAM_LEVELS[condition.level].threshold
        return finding.score is not None and finding.score > threshold
    return True


def sender_empty(_: r.SenderEmpty, evidence: Evidence) -> Hit | None:
    if evidence.envelope.sender:
        return None
    return Hit(ThreatType.CONTENT, "the envelope sender is empty")


def from_differs_from_sender(_: r.FromDiffersFromSender, evidence: Evidence) -> Hit | None:
    sender = evidence.envelope.sender.lower()
    shown = _addresses(evidence.message.from_)
    if sender in shown:
        return None
    return Hit(
        ThreatType.CONTENT,
        f"header From {', '.join(sorted(shown)) or '(none)'} differs from the envelope sender "
        f"{sender or '<>'}",
    )


def from_differs_from_reply_to(_: r.FromDiffersFromReplyTo, evidence: Evidence) -> Hit | None:
    reply_to = _addresses(evidence.message.reply_to)
    if not reply_to or reply_to & _addresses(evidence.message.from_):
        return None
    return Hit(ThreatType.CONTENT, f"Reply-To {', '.join(sorted(reply_to))} differs from From")


def header_keywords(condition: r.HeaderKeywords, evidence: Evidence) -> Hit | None:
    for value in evidence.message.header_values(condition.header):
        found = _matched(condition.keywords, value)
        if found is not None:
            return Hit(ThreatType.CONTENT, f"header {condition.header} contains '{found}'")
    return None


def subject_keywords(condition: r.SubjectKeywords, evidence: Evidence) -> Hit | None:
    found = _matched(condition.keywords, evidence.message.subject)
    return None if found is None else Hit(ThreatType.CONTENT, f"the subject contains '{found}'")


def subject_empty(_: r.SubjectEmpty, evidence: Evidence) -> Hit | None:
    if evidence.message.subject.strip():
        return None
    return Hit(ThreatType.CONTENT, "the subject is empty")


def body_keywords(condition: r.BodyKeywords, evidence: Evidence) -> Hit | None:
    for text in (evidence.message.text, evidence.message.html_text):
        found = _matched(condition.keywords, text)
        if found is not None:
            return Hit(ThreatType.CONTENT, f"the body contains '{found}'")
    return None


def body_empty(_: r.BodyEmpty, evidence: Evidence) -> Hit | None:
    if evidence.message.text.strip() or evidence.message.html_text.strip():
        return None
    return Hit(ThreatType.CONTENT, "the body is empty")


def attachment_keywords(condition: r.AttachmentKeywords, evidence: Evidence) -> Hit | None:
    hits: list[Attachment] = []
    first = ""
    for attachment in evidence.message.attachments:
        found = _matched(condition.keywords, attachment.text)
        if found is not None:
            hits.append(attachment)
            first = first or found
    return _attachment_hit(ThreatType.ATTACHMENT, f"an attachment contains '{first}'", hits)


def attachment_active_content(_: r.AttachmentActiveContent, evidence: Evidence) -> Hit | None:
    hits = [a for a in evidence.message.attachments if a.active_content]
    return _attachment_hit(ThreatType.ATTACHMENT, "an attachment has active content", hits)


def recipient_count(condition: r.RecipientCount, evidence: Evidence) -> Hit | None:
    count = len(evidence.envelope.recipients)
    if count <= condition.over:
        return None
    return Hit(ThreatType.CONTENT, f"{count} recipients (more than {condition.over})")


def message_size(condition: r.MessageSize, evidence: Evidence) -> Hit | None:
    size = evidence.message.size
    if size <= condition.over_bytes:
        return None
    return Hit(ThreatType.CONTENT, f"the message is {size} bytes (over {condition.over_bytes})")


def _name_matches(name: str, wanted: list[str]) -> bool:
    name = name.lower()
    for pattern in wanted:
        pattern = pattern.lower()
        if "*" in pattern or "?" in pattern:
            if fnmatch.fnmatchcase(name, pattern):
                return True
        elif "." not in pattern.lstrip("."):  # an extension: "exe" or ".exe"
            if name.endswith("." + pattern.lstrip(".")):
                return True
        elif name == pattern:
            return True
    return False


def attachment_name(condition: r.AttachmentName, evidence: Evidence) -> Hit | None:
    hits = [
        a
        for a in evidence.message.attachments
        if _name_matches(a.name, condition.names)
        or any(_name_matches(entry.name, condition.names) for entry in a.archive_entries)
    ]
    return _attachment_hit(ThreatType.ATTACHMENT, "an attachment's name matches", hits)


def attachment_mime_type(condition: r.AttachmentMimeType, evidence: Evidence) -> Hit | None:
    def declared(attachment: Attachment) -> bool:
        return any(fnmatch.fnmatchcase(attachment.declared_type, t) for t in condition.mime_types)

    hits = [a for a in evidence.message.attachments if declared(a)]
    return _attachment_hit(ThreatType.ATTACHMENT, "an attachment's MIME type matches", hits)


def attachment_true_type(condition: r.AttachmentTrueType, evidence: Evidence) -> Hit | None:
    wanted = set(condition.extensions)
    hits = [a for a in evidence.message.attachments if a.true_extension in wanted]
    return _attachment_hit(ThreatType.ATTACHMENT, "an attachment's true file type matches", hits)


def attachment_size(condition: r.AttachmentSize, evidence: Evidence) -> Hit | None:
    hits = [a for a in evidence.message.attachments if a.size > condition.over_bytes]
    return _attachment_hit(
        ThreatType.ATTACHMENT, f"an attachment is over {condition.over_bytes} bytes", hits
    )


def attachment_count(condition: r.AttachmentCount, evidence: Evidence) -> Hit | None:
    count = len(evidence.message.attachments)
    if count <= condition.over:
        return None
    return Hit(ThreatType.ATTACHMENT, f"{count} attachments (more than {condition.over})")


def attachment_password_protected(
    _: r.AttachmentPasswordProtected, evidence: Evidence
) -> Hit | None:
    hits = [a for a in evidence.message.attachments if a.password_protected]
    return _attachment_hit(ThreatType.ATTACHMENT, "an attachment is password-protected", hits)


def sensitive_data(condition: r.Dlp, evidence: Evidence) -> Hit | None:
    """Counts the distinct validated matches of the subject, bodies and attachment texts
    together; the event shows the counts per template, never the data itself."""
    message = evidence.message
    texts = [message.subject, message.text, message.html_text]
    texts.extend(a.text for a in message.attachments)
    counts: dict[str, int] = {}
    total = 0
    for template in condition.templates:
        found = len(dlp.find(template, *texts, limit=condition.threshold))
        if found:
            counts[template.value] = found
            total += found
        if total >= condition.threshold:
            break
    if total < condition.threshold:
        return None
    summary = ", ".join(f"{name}: {count}" for name, count in counts.items())
    return Hit(
        ThreatType.DLP,
        f"sensitive data ({summary}), threshold {condition.threshold}",
        name=", ".join(counts),
        details={"dlp_matches": summary},
    )


_UNITS: dict[type[Any], Callable[[Any, Evidence], Hit | None]] = {
    r.ThreatCondition: threat,
    r.SenderEmpty: sender_empty,
    r.FromDiffersFromSender: from_differs_from_sender,
    r.FromDiffersFromReplyTo: from_differs_from_reply_to,
    r.HeaderKeywords: header_keywords,
    r.SubjectKeywords: subject_keywords,
    r.SubjectEmpty: subject_empty,
    r.BodyKeywords: body_keywords,
    r.BodyEmpty: body_empty,
    r.AttachmentKeywords: attachment_keywords,
    r.AttachmentActiveContent: attachment_active_content,
    r.RecipientCount: recipient_count,
    r.MessageSize: message_size,
    r.AttachmentName: attachment_name,
    r.AttachmentMimeType: attachment_mime_type,
    r.AttachmentTrueType: attachment_true_type,
    r.AttachmentSize: attachment_size,
    r.AttachmentCount: attachment_count,
    r.AttachmentPasswordProtected: attachment_password_protected,
    r.Dlp: sensitive_data,
}


def evaluate(condition: r.Condition, evidence: Evidence) -> Hit | None:
    """Raises ``NoVerdict`` for a threat condition no engine could decide."""
    return _UNITS[type(condition)](condition, evidence)
