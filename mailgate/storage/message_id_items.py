"""Message-ID lookup items of the tracking table: how the rows of one tenant that share a
Message-ID are found without a scan (related messages).

One item per row and Message-ID the row carries (its own, and the one it refers to when the
gateway wrote it about another message): partition ``<tenant>#MID#<sha-256 of the Message-ID,
trimmed and lower-cased>`` (a hash: a Message-ID is untrusted text of any length), sort key
``<message uuid>#<recipient, lower-case>``. It holds only the row's key and expiry; the row is
read by key, so the item never shows a stale status. These items have no ``gsi1pk``: searches
by time never see them.
"""

from __future__ import annotations

import hashlib
from typing import Any

from mailgate.records import TrackingRow
from mailgate.resources import EXPIRES_AT


def message_id_pk(tenant_id: str, message_id: str) -> str:
    normal = message_id.strip().lower()
    digest = hashlib.sha256(normal.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{tenant_id}#MID#{digest}"


def message_ids(row: TrackingRow) -> list[str]:
    """The Message-IDs a row is found by: its own and the one it refers to."""
    found = (row.message_id.strip().lower(), row.refers_to.strip().lower())
    return [message_id for message_id in dict.fromkeys(found) if message_id]


def message_id_items(row: TrackingRow, expires_at: int) -> list[dict[str, Any]]:
    return [
        {
            "pk": message_id_pk(row.tenant_id, message_id),
            "sk": f"{row.message_uuid}#{row.recipient.lower()}",
            "message_uuid": row.message_uuid,
            "recipient": row.recipient,
            EXPIRES_AT: expires_at,
        }
        for message_id in message_ids(row)
    ]
