"""Message-ID lookup items: one per row and Message-ID it is found by, keyed per tenant."""

from __future__ import annotations

from datetime import UTC, datetime

from mailgate.catalog import Direction
from mailgate.records import TrackingRow
from mailgate.storage.message_id_items import message_id_items, message_id_pk


def row(**fields: str) -> TrackingRow:
    return TrackingRow(
        tenant_id=fields.pop("tenant_id", "t1"),
        message_uuid="u1",
        recipient="Bob@Example.com",
        time=datetime(2026, 1, 1, tzinfo=UTC),
        direction=Direction.INBOUND,
        sender="",
        sender_ip="",
        **fields,
    )


def test_a_row_is_found_by_its_message_id_and_the_one_it_refers_to() -> None:
    items = message_id_items(row(message_id="<dsn@gw>", refers_to="<orig@x>"), 99)

    assert [item["pk"] for item in items] == [
        message_id_pk("t1", "<dsn@gw>"),
        message_id_pk("t1", "<orig@x>"),
    ]
    assert {item["sk"] for item in items} == {"u1#bob@example.com"}
    assert all(item["expires_at"] == 99 for item in items)


def test_the_key_ignores_case_and_surrounding_space_and_is_per_tenant() -> None:
    assert message_id_pk("t1", " <ABC@X> ") == message_id_pk("t1", "<abc@x>")
    assert message_id_pk("t1", "<abc@x>") != message_id_pk("t2", "<abc@x>")
    assert message_id_pk("t1", "<abc@x>").startswith("t1#MID#")


def test_one_item_when_both_ids_are_the_same_and_none_without_an_id() -> None:
    assert len(message_id_items(row(message_id="<A@x>", refers_to="<a@X>"), 1)) == 1
    assert message_id_items(row(), 1) == []


def test_a_hostile_message_id_gives_a_key_of_fixed_length() -> None:
    hostile = "<" + "\udcff\u0000#MID#" * 500 + ">"
    assert len(message_id_pk("t1", hostile)) == len(message_id_pk("t1", "<a@b>"))
