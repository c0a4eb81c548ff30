"""Graymail: each category from the marks a bulk sender leaves, and the near misses that must
stay ordinary mail (seed 003 is an incident of graymail false positives)."""

from __future__ import annotations

import pytest

from functions.scan.evidence.graymail import Graymail
from functions.scan.evidence.mime.parse import parse
from functions.scan.evidence.verdicts import Envelope, Verdict
from mailgate.catalog import Direction, ThreatType
from tests.support.fixtures import eml


def verdict_of(raw: bytes, sender: str = "bounce@sender.example") -> Verdict:
    envelope = Envelope("acme", Direction.INBOUND, sender, ("bob@northwind.example",), "192.0.2.1")
    return Graymail().examine(raw, parse(raw), envelope)


@pytest.mark.parametrize(
    ("fixture", "subtype", "evidence"),
    [
        ("graymail-marketing", "marketing", "SendGrid (x-sg-eid)"),
        ("graymail-social", "social_network", "linkedin.com"),
        ("graymail-forum", "forum", "x-discourse-post-id"),
        ("graymail-bulk", "bulk", "Precedence: bulk"),
    ],
)
def test_each_category_is_named_with_the_marks_that_decided_it(
    fixture: str, subtype: str, evidence: str
) -> None:
    verdict = verdict_of(eml(fixture))
    assert verdict.threats == {ThreatType.GRAYMAIL} and not verdict.failure
    (finding,) = verdict.findings
    assert (finding.threat, finding.subtype) == (ThreatType.GRAYMAIL, subtype)
    assert evidence in finding.details["evidence"]


@pytest.mark.parametrize("fixture", ["graymail-near-miss-personal", "graymail-near-miss-autoreply"])
def test_one_mark_or_an_automatic_reply_is_not_graymail(fixture: str) -> None:
    assert verdict_of(eml(fixture)).findings == ()


def test_a_person_at_a_social_network_writing_directly_is_not_a_notification() -> None:
    raw = (
        b"From: Jane <jane@linkedin.com>\r\nTo: bob@northwind.example\r\nSubject: hi\r\n\r\nHi\r\n"
    )
    assert verdict_of(raw, sender="jane@linkedin.com").findings == ()


def test_the_envelope_sender_of_an_esp_with_an_unsubscribe_link_is_marketing() -> None:
    raw = (
        b"From: News <news@shop.example>\r\nTo: bob@northwind.example\r\nSubject: News\r\n"
        b"List-Unsubscribe: <https://shop.example/u>\r\n\r\nNews\r\n"
    )
    (finding,) = verdict_of(raw, sender="bounce-123@mcsv.net").findings
    assert finding.subtype == "marketing"
    assert "sent through mcsv.net" in finding.details["evidence"]
    # The same message sent by the shop itself has one mark only.
    assert verdict_of(raw, sender="news@shop.example").findings == ()


def test_an_unsubscribe_header_without_an_address_is_no_mark() -> None:
    raw = (
        b"From: a@b.example\r\nTo: bob@northwind.example\r\nSubject: x\r\n"
        b"List-Unsubscribe: please write to us\r\nPrecedence: list\r\n\r\nx\r\n"
    )
    assert verdict_of(raw).findings == ()
