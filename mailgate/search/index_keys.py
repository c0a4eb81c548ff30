"""What a tracking row is found by without reading a day's rows: its exact-match keys
(the sending side's addresses, envelope sender and header From, and the recipient, each as an
address and as a registrable domain; the Message-IDs), and which of them a search can read
instead of the time buckets.

The envelope sender and the header From share one key: they are the same address (or domain)
on most mail, so one item serves a search by either, and the search's filters drop the rows
that have the value in the other field only. The tenant's own side keeps keys of its own, so a
search for mail claiming to come from the tenant's domain does not read all its mail.

A domain key is the registrable domain (``mail.example.com`` → ``example.com``): one key
serves ``*@example.com``, ``*@mail.example.com`` and ``*@*.example.com`` alike (the filters
then keep the rows of the domain asked for), so a row has one domain item per address
whatever the depth of its domain. Values are lower-cased; a value too long for a key is
replaced by its digest, the same on write and on read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from publicsuffixlist import PublicSuffixList

from mailgate.catalog import Direction
from mailgate.records import TrackingRow
from mailgate.search.matching import NULL_SENDER, RowFilter, header_address

# Header From addresses of one row given keys; a header naming more is found by its first ones.
MAX_FROM_ADDRESSES = 3
_MAX_VALUE_BYTES = 512  # DynamoDB allows 2,048 bytes of partition key


class Indexed(StrEnum):
    SENDER = "sender"  # the envelope sender or a header From address
    SENDER_DOMAIN = "sender_domain"
    RECIPIENT = "recipient"
    RECIPIENT_DOMAIN = "recipient_domain"
    MESSAGE_ID = "message_id"  # the row's own, or the one it was written about


@dataclass(frozen=True)
class IndexKey:
    field: Indexed
    value: str


def _value(text: str) -> str:
    text = text.strip().lower()
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= _MAX_VALUE_BYTES:
        return text
    return "sha256:" + hashlib.sha256(encoded).hexdigest()


@cache
def _suffixes() -> PublicSuffixList:
    return PublicSuffixList()


def registrable(domain: str) -> str:
    """The domain a registrant holds (``mail.example.co.jp`` → ``example.co.jp``); a domain
    that is itself a public suffix stands for itself."""
    return _suffixes().privatesuffix(domain) or domain


def _address_keys(address: str, fields: tuple[Indexed, Indexed]) -> list[IndexKey]:
    address = address.strip().lower()
    exact, by_domain = fields
    keys = [IndexKey(exact, _value(address))]
    local, at, domain = address.rpartition("@")
    if at and local and domain:
        keys.append(IndexKey(by_domain, _value(registrable(domain))))
    return keys


_SENDER = (Indexed.SENDER, Indexed.SENDER_DOMAIN)
_RECIPIENT = (Indexed.RECIPIENT, Indexed.RECIPIENT_DOMAIN)


def message_ids(row: TrackingRow) -> list[str]:
    """The Message-IDs a row is found by: its own and the one it refers to."""
    found = (row.message_id.strip().lower(), row.refers_to.strip().lower())
    return [message_id for message_id in dict.fromkeys(found) if message_id]


def message_id_key(message_id: str) -> IndexKey:
    return IndexKey(Indexed.MESSAGE_ID, _value(message_id))


def keys_of(row: TrackingRow) -> list[IndexKey]:
    """Every key ``row`` is found by, each once."""
    keys = _address_keys(row.sender or NULL_SENDER, _SENDER)
    shown = dict.fromkeys(header_address(value).strip().lower() for value in row.header_from)
    for address in list(shown)[:MAX_FROM_ADDRESSES]:
        if address:
            keys += _address_keys(address, _SENDER)
    keys += _address_keys(row.recipient, _RECIPIENT)
    keys += [message_id_key(message_id) for message_id in message_ids(row)]
    return list(dict.fromkeys(keys))


def _pattern_key(pattern: str, fields: tuple[Indexed, Indexed]) -> IndexKey | None:
    """The key whose items include every address ``pattern`` matches, if one is kept: an
    address, ``*@<domain>`` or ``*@*.<domain>`` (not of a public suffix)."""
    pattern = pattern.strip().lower()
    exact, by_domain = fields
    if "*" not in pattern:
        return IndexKey(exact, _value(pattern))
    local, at, domain = pattern.rpartition("@")
    subdomains = domain.startswith("*.")
    domain = domain.removeprefix("*.")
    if not at or local != "*" or "*" in domain or not domain:
        return None
    held = registrable("x." + domain if subdomains else domain)
    if subdomains and held == "x." + domain:  # "*@*.co.jp": no one domain holds them all
        return None
    return IndexKey(by_domain, _value(held))


def _field_keys(patterns: Iterable[str], fields: tuple[Indexed, Indexed]) -> list[IndexKey] | None:
    keys = [_pattern_key(pattern, fields) for pattern in patterns]
    if not keys or any(key is None for key in keys):
        return None
    return list(dict.fromkeys(key for key in keys if key is not None))


# How many items a key usually holds, fewest first: a Message-ID, an address, a domain.
_BREADTH = {
    Indexed.MESSAGE_ID: 0,
    Indexed.SENDER: 1,
    Indexed.RECIPIENT: 1,
    Indexed.SENDER_DOMAIN: 2,
    Indexed.RECIPIENT_DOMAIN: 2,
}


def index_for(filter: RowFilter, direction: Direction) -> list[IndexKey] | None:
    """The keys to read for a search (one field's values, OR-ed), the most selective the filter
    allows; None when no field of it has keys for all its values (read the time buckets).

    The tenant's own side is the broadest: its domains receive every inbound message and send
    every outbound one, so between equals the other party's field is read."""
    if filter.message_id and filter.message_id.strip():
        return [message_id_key(filter.message_id)]
    other_party, own = (
        (filter.senders, filter.recipients)
        if direction is Direction.INBOUND
        else (filter.recipients, filter.senders)
    )
    own_fields, other_fields = (
        (_RECIPIENT, _SENDER) if direction is Direction.INBOUND else (_SENDER, _RECIPIENT)
    )
    candidates = [
        keys
        for keys in (
            _field_keys(other_party, other_fields),
            _field_keys(filter.header_from, _SENDER),
            _field_keys(own, own_fields),
        )
        if keys
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda keys: (max(_BREADTH[k.field] for k in keys), len(keys)))
