"""What a tracking row is indexed by, and which index a search reads: the other party's exact
field before the tenant's own side, Message-ID first of all, ``*@domain`` and
``*@*.domain`` by the registrable domain's key, and every other wildcard by the time
buckets."""

from __future__ import annotations

from datetime import UTC, datetime

from mailgate.catalog import Direction
from mailgate.records import TrackingRow
from mailgate.search.index_keys import Indexed, IndexKey, index_for, keys_of, message_id_key
from mailgate.search.matching import RowFilter


def _row(**fields: object) -> TrackingRow:
    values: dict[str, object] = {
        "tenant_id": "t",
        "message_uuid": "m-1",
        "recipient": "Bob@Corp.Example",
        "time": datetime(2025, 6, 15, tzinfo=UTC),
        "direction": Direction.INBOUND,
        "sender": "Alice@Shop.Example.com",
        "sender_ip": "192.0.2.1",
        "header_from": ['"Shop" <news@shop.example.com>'],
        "message_id": "<ABC@shop.example.com>",
    }
    values.update(fields)
    return TrackingRow.model_validate(values)


def test_a_row_is_indexed_by_its_addresses_registrable_domains_and_message_id() -> None:
    keys = keys_of(_row())

    assert keys == [  # the header From shares the sender's keys, and its domain key here
        IndexKey(Indexed.SENDER, "alice@shop.example.com"),
        IndexKey(Indexed.SENDER_DOMAIN, "example.com"),
        IndexKey(Indexed.SENDER, "news@shop.example.com"),
        IndexKey(Indexed.RECIPIENT, "bob@corp.example"),
        IndexKey(Indexed.RECIPIENT_DOMAIN, "corp.example"),
        IndexKey(Indexed.MESSAGE_ID, "<abc@shop.example.com>"),
    ]


def test_most_mail_has_five_keys_as_its_header_from_is_its_envelope_sender() -> None:
    keys = keys_of(_row(header_from=["Alice <alice@shop.example.com>"]))

    assert [k.field for k in keys] == [
        Indexed.SENDER,
        Indexed.SENDER_DOMAIN,
        Indexed.RECIPIENT,
        Indexed.RECIPIENT_DOMAIN,
        Indexed.MESSAGE_ID,
    ]


def test_a_row_is_found_by_its_message_id_and_the_one_it_refers_to_case_blind() -> None:
    keys = keys_of(_row(message_id=" <DSN@gw> ", refers_to="<Orig@X>"))

    assert [k for k in keys if k.field is Indexed.MESSAGE_ID] == [
        message_id_key("<dsn@gw>"),
        message_id_key("<orig@x>"),
    ]
    same = keys_of(_row(message_id="<A@x>", refers_to="<a@X>"))
    assert len([k for k in same if k.field is Indexed.MESSAGE_ID]) == 1
    assert not [k for k in keys_of(_row(message_id="")) if k.field is Indexed.MESSAGE_ID]


def test_a_domain_key_is_the_registrable_domain_and_the_null_sender_has_none() -> None:
    keys = keys_of(_row(sender="", recipient="x@a.b.example.co.jp", header_from=[]))

    assert IndexKey(Indexed.SENDER, "<>") in keys
    assert not [k for k in keys if k.field is Indexed.SENDER_DOMAIN]
    assert IndexKey(Indexed.RECIPIENT_DOMAIN, "example.co.jp") in keys
    assert len(keys) == 4  # one domain key per address whatever the depth of its domain


def test_hostile_headers_give_a_bounded_number_of_keys_of_bounded_size() -> None:
    many = [f"<a{n}@x{n}.example>" for n in range(500)]
    keys = keys_of(_row(header_from=many, message_id="<" + "m" * 5000 + ">"))

    assert len([k for k in keys if k.field is Indexed.SENDER]) == 1 + 3  # envelope, 3 From
    assert all(len(k.value.encode()) <= 512 for k in keys)
    assert message_id_key("<" + "\udcff\u0000#X#" * 500 + ">").value.startswith("sha256:")
    # and a search for the long Message-ID names the same key
    assert index_for(RowFilter(message_id="<" + "M" * 5000 + ">"), Direction.INBOUND) == [
        k for k in keys if k.field is Indexed.MESSAGE_ID
    ]


def test_a_search_reads_the_most_selective_index_it_can() -> None:
    inbound = Direction.INBOUND
    # Message-ID beats everything
    assert index_for(RowFilter(senders=("a@x.example",), message_id=" <ID@X> "), inbound) == [
        IndexKey(Indexed.MESSAGE_ID, "<id@x>")
    ]
    # an address beats a domain, whatever its side
    assert index_for(
        RowFilter(senders=("*@x.example",), recipients=("Bob@corp.example",)), inbound
    ) == [IndexKey(Indexed.RECIPIENT, "bob@corp.example")]
    # between equals, the other party's side: the sender inbound, the recipient outbound
    both = RowFilter(senders=("*@x.example",), recipients=("*@corp.example",))
    assert index_for(both, inbound) == [IndexKey(Indexed.SENDER_DOMAIN, "x.example")]
    assert index_for(both, Direction.OUTBOUND) == [
        IndexKey(Indexed.RECIPIENT_DOMAIN, "corp.example")
    ]
    # several values are read together; a domain, a sub-domain and *@*.domain all read the
    # registrable domain's key
    assert index_for(RowFilter(senders=("a@x.example", "*@*.Example.com")), inbound) == [
        IndexKey(Indexed.SENDER, "a@x.example"),
        IndexKey(Indexed.SENDER_DOMAIN, "example.com"),
    ]
    assert index_for(RowFilter(senders=("*@mail.example.com",)), inbound) == [
        IndexKey(Indexed.SENDER_DOMAIN, "example.com")
    ]
    assert index_for(RowFilter(header_from=("*@shop.example",)), inbound) == [
        IndexKey(Indexed.SENDER_DOMAIN, "shop.example")
    ]


def test_other_wildcards_read_the_time_buckets() -> None:
    for pattern in ("al*@x.example", "*@x*.example", "*", "*@*.co.jp", "*@*"):
        assert index_for(RowFilter(senders=(pattern,)), Direction.INBOUND) is None, pattern
    # one value without a key is enough: the field cannot be read by index
    assert index_for(RowFilter(senders=("a@x.example", "b*@x.example")), Direction.INBOUND) is None
    assert index_for(RowFilter(subject="invoice"), Direction.INBOUND) is None
