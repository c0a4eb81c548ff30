"""What a tracking row is found by without reading a day's rows: its exact-match keys
(envelope sender, recipient and header From, each as an address, its domain and the parents of
that domain; the Message-ID), and which of them a search can read instead of the time buckets.

Values are lower-cased; a value too long for a key is replaced by its digest, the same on
write and on read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
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
    SENDER = "sender"
    SENDER_DOMAIN = "sender_domain"
    SENDER_PARENT = "sender_parent"
    RECIPIENT = "recipient"
    RECIPIENT_DOMAIN = "recipient_domain"
    RECIPIENT_PARENT = "recipient_parent"
    FROM = "from"
    FROM_DOMAIN = "from_domain"
    FROM_PARENT = "from_parent"
    MESSAGE_ID = "message_id"


@dataclass(frozen=True)
class IndexKey:
    field: Indexed
    value: str


def _value(text: str) -> str:
    text = text.strip().lower()
    if len(text.encode()) <= _MAX_VALUE_BYTES:
        return text
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@cache
def _suffixes() -> PublicSuffixList:
    return PublicSuffixList()


def parents(domain: str) -> list[str]:
    """The parents of ``domain`` that ``*@*.<parent>`` names it by: every proper parent that is
    not a public suffix (``*@*.co.jp`` reads the time buckets instead)."""
    labels = domain.split(".")
    found = (".".join(labels[i:]) for i in range(1, len(labels)))
    return [parent for parent in found if not _suffixes().is_public(parent)]


def _address_keys(address: str, fields: tuple[Indexed, Indexed, Indexed]) -> list[IndexKey]:
    address = address.strip().lower()
    exact, by_domain, by_parent = fields
    keys = [IndexKey(exact, _value(address))]
    local, at, domain = address.rpartition("@")
    if at and local and domain:
        keys.append(IndexKey(by_domain, _value(domain)))
        keys.extend(IndexKey(by_parent, _value(parent)) for parent in parents(domain))
    return keys


_SENDER = (Indexed.SENDER, Indexed.SENDER_DOMAIN, Indexed.SENDER_PARENT)
_RECIPIENT = (Indexed.RECIPIENT, Indexed.RECIPIENT_DOMAIN, Indexed.RECIPIENT_PARENT)
_FROM = (Indexed.FROM, Indexed.FROM_DOMAIN, Indexed.FROM_PARENT)


def keys_of(row: TrackingRow) -> list[IndexKey]:
    """Every key ``row`` is found by, each once."""
    keys = _address_keys(row.sender or NULL_SENDER, _SENDER)
    keys += _address_keys(row.recipient, _RECIPIENT)
    shown = dict.fromkeys(header_address(value).strip().lower() for value in row.header_from)
    for address in list(shown)[:MAX_FROM_ADDRESSES]:
        if address:
            keys += _address_keys(address, _FROM)
    if row.message_id.strip():
        keys.append(IndexKey(Indexed.MESSAGE_ID, _value(row.message_id)))
    return list(dict.fromkeys(keys))


def _pattern_key(pattern: str, fields: tuple[Indexed, Indexed, Indexed]) -> IndexKey | None:
    """The key whose items are exactly the addresses ``pattern`` matches, if one is kept:
    an address, ``*@<domain>`` or ``*@*.<domain>``."""
    pattern = pattern.strip().lower()
    exact, by_domain, by_parent = fields
    if "*" not in pattern:
        return IndexKey(exact, _value(pattern))
    local, at, domain = pattern.rpartition("@")
    if not at or "*" in domain.removeprefix("*.") or local != "*":
        return None
    if domain.startswith("*."):
        parent = domain.removeprefix("*.")
        return IndexKey(by_parent, _value(parent)) if parent in parents("x." + parent) else None
    return IndexKey(by_domain, _value(domain))


def _field_keys(
    patterns: Iterable[str], fields: tuple[Indexed, Indexed, Indexed]
) -> list[IndexKey] | None:
    keys = [_pattern_key(pattern, fields) for pattern in patterns]
    if not keys or any(key is None for key in keys):
        return None
    return list(dict.fromkeys(key for key in keys if key is not None))


# How many items a key usually holds, fewest first: an address, a parent's subdomains, a domain.
_BREADTH = {
    Indexed.MESSAGE_ID: 0,
    Indexed.SENDER: 1,
    Indexed.RECIPIENT: 1,
    Indexed.FROM: 1,
    Indexed.SENDER_PARENT: 2,
    Indexed.RECIPIENT_PARENT: 2,
    Indexed.FROM_PARENT: 2,
    Indexed.SENDER_DOMAIN: 3,
    Indexed.RECIPIENT_DOMAIN: 3,
    Indexed.FROM_DOMAIN: 3,
}


def index_for(
    filter: RowFilter, direction: Direction, header_from: Sequence[str] = ()
) -> list[IndexKey] | None:
    """The keys to read for a search (one field's values, OR-ed), the most selective the filter
    allows; None when no field of it has keys for all its values (read the time buckets).

    The tenant's own side is the broadest: its domains receive every inbound message and send
    every outbound one, so between equals the other party's field is read."""
    if filter.message_id and filter.message_id.strip():
        return [IndexKey(Indexed.MESSAGE_ID, _value(filter.message_id))]
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
            _field_keys(header_from, _FROM),
            _field_keys(own, own_fields),
        )
        if keys
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda keys: (max(_BREADTH[k.field] for k in keys), len(keys)))
