from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailgate.catalog import Direction, Status
from mailgate.records import TrackingRow
from mailgate.search.matching import RowFilter, subject_matches


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
