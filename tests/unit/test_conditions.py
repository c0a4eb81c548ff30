"""Each condition unit on a message that has what it looks for and on one that does not."""

from __future__ import annotations

from dataclasses import replace

import pytest

from functions.scan.evidence.mime.model import ArchiveEntry, Attachment, Html, Mailbox, Message
from functions.scan.evidence.verdicts import Envelope, Evidence
from functions.scan.policy.conditions import Hit, evaluate
from mailgate.catalog import Direction, ThreatType
from mailgate.policy import rules as r
from mailgate.policy.dlp import DlpTemplate

PLAIN = Message(
    headers=(("Subject", "Lunch"), ("X-Priority", "3")),
    from_=(Mailbox("Alice", "alice@example.com"),),
    to=(Mailbox("", "bob@example.jp"),),
    cc=(),
    reply_to=(),
    subject="Lunch",
    message_id="<1@example.com>",
    date="",
    text="See you at noon.",
    html=Html(),
    attachments=(),
    size=1000,
    exclusions=(),
)
ZIP = Attachment(
    index=2,
    name="report.zip",
    size=6 * 1024 * 1024,
    sha256="cd" * 32,
    declared_type="application/zip",
    true_type="application/zip",
    true_extension="zip",
    archive_entries=(ArchiveEntry("setup.js", 100, encrypted=True),),
    password_protected=True,
    active_content=True,
    text="",
)
NOTES = replace(ZIP, index=3, name="notes.txt", size=10, declared_type="text/plain",
                true_type="", true_extension="", archive_entries=(), password_protected=False,
                active_content=False, text="the secret project codename")  # fmt: skip
RICH = replace(
    PLAIN,
    headers=(("Subject", ""), ("X-Mailer", "MassMail 2.0")),
    from_=(Mailbox("CEO", "ceo@examp1e.com"),),
    reply_to=(Mailbox("", "attacker@evil.example"),),
    subject="",
    text="",
    html=Html(),
    attachments=(ZIP, NOTES),
    size=20 * 1024 * 1024,
)
ENVELOPE = Envelope("t", Direction.INBOUND, "alice@example.com", ("bob@example.jp",), "192.0.2.1")


def words(*values: str) -> r.Keywords:
    return r.Keywords(values=list(values))


CASES: list[tuple[r.Condition, ThreatType]] = [
    (r.FromDiffersFromSender(), ThreatType.CONTENT),
    (r.FromDiffersFromReplyTo(), ThreatType.CONTENT),
    (r.HeaderKeywords(header="x-mailer", keywords=words("massmail")), ThreatType.CONTENT),
    (r.SubjectEmpty(), ThreatType.CONTENT),
    (r.BodyEmpty(), ThreatType.CONTENT),
    (r.AttachmentKeywords(keywords=words("codename")), ThreatType.ATTACHMENT),
    (r.AttachmentActiveContent(), ThreatType.ATTACHMENT),
    (r.MessageSize(), ThreatType.CONTENT),
    (r.AttachmentName(names=["js"]), ThreatType.ATTACHMENT),  # inside the archive
    (r.AttachmentName(names=["report*.zip"]), ThreatType.ATTACHMENT),
    (r.AttachmentMimeType(mime_types=["application/*"]), ThreatType.ATTACHMENT),
    (r.AttachmentTrueType(extensions=["zip"]), ThreatType.ATTACHMENT),
    (r.AttachmentSize(), ThreatType.ATTACHMENT),
    (r.AttachmentCount(over=1), ThreatType.ATTACHMENT),
    (r.AttachmentPasswordProtected(), ThreatType.ATTACHMENT),
]


@pytest.mark.parametrize(("condition", "threat"), CASES, ids=lambda c: getattr(c, "type", ""))
def test_a_condition_sees_what_it_looks_for_and_only_that(
    condition: r.Condition, threat: ThreatType
) -> None:
    hit = evaluate(condition, Evidence(RICH, ENVELOPE))
    assert isinstance(hit, Hit) and hit.threat is threat and hit.what
    assert evaluate(condition, Evidence(PLAIN, ENVELOPE)) is None


def test_keywords_match_subject_and_body_case_insensitively() -> None:
    evidence = Evidence(PLAIN, ENVELOPE)
    assert evaluate(r.SubjectKeywords(keywords=words("LUNCH")), evidence) is not None
    assert evaluate(r.BodyKeywords(keywords=words("NOON")), evidence) is not None
    assert evaluate(r.BodyKeywords(keywords=words("midnight")), evidence) is None


def test_sender_empty_and_recipient_count_read_the_envelope() -> None:
    bounce = Envelope("t", Direction.INBOUND, "", tuple(f"u{i}@example.jp" for i in range(51)), "")
    assert evaluate(r.SenderEmpty(), Evidence(PLAIN, bounce)) is not None
    assert evaluate(r.RecipientCount(), Evidence(PLAIN, bounce)) is not None
    assert evaluate(r.SenderEmpty(), Evidence(PLAIN, ENVELOPE)) is None
    assert evaluate(r.RecipientCount(), Evidence(PLAIN, ENVELOPE)) is None


def test_attachment_hits_name_the_attachments_a_strip_removes() -> None:
    hit = evaluate(r.AttachmentTrueType(extensions=["zip"]), Evidence(RICH, ENVELOPE))
    assert hit is not None and hit.attachments == frozenset({2}) and hit.file == "report.zip"


def test_dlp_counts_validated_numbers_and_shows_counts_not_the_data() -> None:
    cards = "Card 4111 1111 1111 1111 and 5500 0000 0000 0004, not 4111 1111 1111 1112."
    evidence = Evidence(replace(PLAIN, text=cards), ENVELOPE)
    two = r.Dlp(templates=[DlpTemplate.CREDIT_CARD], threshold=2)
    three = r.Dlp(templates=[DlpTemplate.CREDIT_CARD], threshold=3)
    hit = evaluate(two, evidence)
    assert hit is not None and hit.threat is ThreatType.DLP
    assert "4111" not in hit.what and "credit_card: 2" in hit.what
    assert evaluate(three, evidence) is None


def test_dlp_counts_a_number_in_the_plain_and_html_versions_once() -> None:
    body = "Card 4111 1111 1111 1111 and 5500 0000 0000 0004."
    both = Evidence(replace(PLAIN, text=body + "\n", html=Html((body,))), ENVELOPE)
    assert evaluate(r.Dlp(templates=[DlpTemplate.CREDIT_CARD], threshold=3), both) is None
    hit = evaluate(r.Dlp(templates=[DlpTemplate.CREDIT_CARD], threshold=2), both)
    assert hit is not None and "credit_card: 2" in hit.what
