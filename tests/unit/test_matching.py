from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from mailgate.catalog import Direction, Status
from mailgate.config_fields import pattern_matches
from mailgate.records import AttachmentRecord, TrackingRow
from mailgate.search.matching import AttachmentFilter, MessageFilter, RowFilter, subject_matches


@pytest.mark.parametrize(
    ("subject", "words", "phrase"),
    [  # the table of catalog.md, "Search matching rules"
        ("Hello world", True, True),
        ("The Hello world.", True, True),
        ("Hello new world", True, False),
    ],
)
def test_subject_words_and_quoted_phrase(subject: str, words: bool, phrase: bool) -> None:
    assert subject_matches("Hello world", subject) is words
    assert subject_matches('"Hello world"', subject) is phrase


def test_subject_is_case_insensitive_and_star_is_literal() -> None:
    assert subject_matches("HELLO", "hello there")
    assert not subject_matches("hel*", "hello")
    assert subject_matches("50*", "50* off")


def row(**fields: object) -> TrackingRow:
    values: dict[str, object] = {
        "tenant_id": "t",
        "message_uuid": "u",
        "recipient": "john@example.com",
        "time": datetime.now(UTC),
        "direction": Direction.INBOUND,
        "sender": "alice@mail.sender.test",
        "sender_ip": "203.0.113.17",
        "status": Status.DELIVERED,
        "message_id": "<ABC@x>",
        "subject": "Quarterly report",
    }
    values.update(fields)
    return TrackingRow.model_validate(values)


@pytest.mark.parametrize(
    ("row_filter", "expected"),
    [
        (RowFilter(senders=("*@sender.test",)), False),
        (RowFilter(senders=("*@*.sender.test",)), True),
        (RowFilter(senders=("ALICE@MAIL.SENDER.TEST",)), True),
        (RowFilter(recipients=("nobody@example.com", "*@example.com")), True),
        (RowFilter(sender_ip="203.0.113."), True),
        (RowFilter(sender_ip="203.0.114."), False),
        (RowFilter(statuses=frozenset({"bounced"})), False),
        (RowFilter(message_id="<abc@X>"), True),
        (RowFilter(upstream_tls="TLSv1.3"), False),
        (RowFilter(upstream_tls="none"), True),
    ],
)
def test_row_filters(row_filter: RowFilter, expected: bool) -> None:
    assert row_filter.matches(row()) is expected


def test_null_sender_is_matched_as_angle_brackets() -> None:
    assert RowFilter(senders=("<>",)).matches(row(sender=""))
    assert not RowFilter(senders=("*@*",)).matches(row(sender=""))


DELIVERED_OVER_DANE = {
    "delivered_to": "2001:DB8::25",
    "downstream_tls": "TLSv1.3",
    "downstream_dane": "yes",
    "downstream_mta_sts": "no",
}


@pytest.mark.parametrize(
    ("row_filter", "expected"),
    [
        (RowFilter(delivered_to="2001:db8::"), True),
        (RowFilter(delivered_to="2001:db9"), False),
        (RowFilter(downstream_tls="TLSv1.3"), True),
        (RowFilter(downstream_tls="none"), False),
        (RowFilter(downstream_dane="yes"), True),
        (RowFilter(downstream_dane="no"), False),
        (RowFilter(downstream_mta_sts="no"), True),
        (RowFilter(downstream_mta_sts="yes"), False),
        (RowFilter(downstream_dane="yes", downstream_mta_sts="no", delivered_to="2001"), True),
    ],
)
def test_downstream_filters(row_filter: RowFilter, expected: bool) -> None:
    assert row_filter.matches(row(**DELIVERED_OVER_DANE)) is expected


def test_a_row_never_delivered_matches_no_downstream_value() -> None:
    waiting = row(status=Status.TEMPORARY_ERROR)

    assert not RowFilter(delivered_to="1").matches(waiting)
    assert not RowFilter(downstream_dane="no").matches(waiting)
    assert not RowFilter(downstream_tls="none").matches(waiting)
    assert RowFilter(downstream_dane="any", downstream_tls="any").matches(waiting)


HEADERS = {
    "header_from": ["Alice Example <Alice@Mail.Sender.test>"],
    "header_to": ["john@example.com", "Board <board@corp.example.com>"],  # To, then Cc
}


@pytest.mark.parametrize(
    ("row_filter", "expected"),
    [
        (RowFilter(header_from=("alice@mail.sender.test",)), True),
        (RowFilter(header_from=("*@*.sender.test",)), True),
        (RowFilter(header_from=("*@sender.test",)), False),  # needs a label before sender.test
        (RowFilter(header_from=("Alice Example",)), False),  # the address, not the display name
        (RowFilter(header_from=("john@example.com",)), False),  # a To address is not From
        (RowFilter(header_to=("BOARD@CORP.EXAMPLE.COM",)), True),  # a Cc address
        (RowFilter(header_to=("nobody@example.com", "*@example.com")), True),
        (RowFilter(header_to=("alice@mail.sender.test",)), False),
        (RowFilter(header_from=("*@*.sender.test",), header_to=("x@y.test",)), False),
    ],
)
def test_header_from_and_to_cc(row_filter: RowFilter, expected: bool) -> None:
    assert row_filter.matches(row(**HEADERS)) is expected


def test_header_filters_find_nothing_in_a_message_without_those_headers() -> None:
    assert not RowFilter(header_from=("*",)).matches(row())
    assert not RowFilter(header_to=("*",)).matches(row())


SHA = "ab" * 32


def attachments(*records: dict[str, object]) -> list[AttachmentRecord]:
    return [AttachmentRecord.model_validate({"sha256": SHA, **r}) for r in records]


ZIP_DELETED = {"name": "Invoice.ZIP", "status": "deleted"}
PDF_ENCRYPTED = {
    "name": "terms.pdf",
    "sha256": "cd" * 32,
    "password_protected": True,
    "password_analysis": "not_decrypted",
}


@pytest.mark.parametrize(
    ("attachment_filter", "expected"),
    [
        (AttachmentFilter(), True),
        (AttachmentFilter(required=True), True),
        (AttachmentFilter(sha256=SHA.upper()), True),
        (AttachmentFilter(sha256="ef" * 32), False),
        (AttachmentFilter(name="*.zip"), True),
        (AttachmentFilter(name="invoice.zip"), True),
        (AttachmentFilter(name="*.exe"), False),
        (AttachmentFilter(name="invoice"), False),  # the whole name, not a part of it
        (AttachmentFilter(status="deleted"), True),
        (AttachmentFilter(status="cleaned"), False),
        (AttachmentFilter(password_analysis="not_decrypted"), True),
        (AttachmentFilter(password_analysis="decrypted"), False),
        # One attachment must meet every condition: the deleted file is not the pdf.
        (AttachmentFilter(name="*.pdf", status="deleted"), False),
        (AttachmentFilter(name="*.zip", status="deleted", sha256=SHA), True),
        (AttachmentFilter(name="*.pdf", password_analysis="not_decrypted"), True),
    ],
)
def test_attachment_fields(attachment_filter: AttachmentFilter, expected: bool) -> None:
    with_files = row(attachments=attachments(ZIP_DELETED, PDF_ENCRYPTED))
    assert RowFilter(attachments=attachment_filter).matches(with_files) is expected


@pytest.mark.parametrize(
    "attachment_filter",
    [
        AttachmentFilter(required=True),
        AttachmentFilter(status="none"),
        AttachmentFilter(password_analysis="not_analyzed"),
        AttachmentFilter(name="*"),
    ],
)
def test_any_attachment_field_leaves_out_messages_without_attachments(
    attachment_filter: AttachmentFilter,
) -> None:
    assert not RowFilter(attachments=attachment_filter).matches(row())
    unchanged = row(attachments=attachments({"name": "a.txt"}))
    assert RowFilter(attachments=attachment_filter).matches(unchanged)


def test_attachment_name_wildcard_crosses_any_character() -> None:
    """A name with a line break or a path is still found by "*" (a hostile name cannot hide
    from "*.exe")."""
    hidden = row(attachments=attachments({"name": "report\n2026.pdf .exe"}))
    assert RowFilter(attachments=AttachmentFilter(name="*.exe")).matches(hidden)
    assert not RowFilter(attachments=AttachmentFilter(name="*.pdf")).matches(hidden)


def test_policy_events_match_any_of_several_header_patterns() -> None:
    """Each pattern is tried against every header address, not only the first pattern."""
    found = MessageFilter(header_to=("nobody@example.com", "*@corp.example.com"))
    assert found.matches(
        SimpleNamespace(**HEADERS, sender="", recipients=[], subject="", message_id="")
    )


def test_a_wildcard_pattern_built_to_backtrack_answers_at_once() -> None:
    """Many "*" against a long address: a backtracking regex would run for hours."""
    assert not pattern_matches("*a" * 150 + "b", "a" * 320)
    assert pattern_matches("*a" * 150, "a" * 320)
