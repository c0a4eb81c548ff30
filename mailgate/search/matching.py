"""The search filters of mail tracking, applied to rows read from a key range (catalog.md,
"Search matching rules": case-insensitive, "*" wildcards in addresses, subject words)."""

from __future__ import annotations

from dataclasses import dataclass

from mailgate.records import TrackingRow
from mailgate.tenant_config import pattern_matches

NULL_SENDER = "<>"


def subject_matches(query: str, subject: str) -> bool:
    """Words separated by ASCII spaces must all occur, in any order; a value in double quotes
    must occur as one string. "*" is literal here."""
    text = subject.lower()
    query = query.strip().lower()
    if len(query) >= 2 and query.startswith('"') and query.endswith('"'):
        return query[1:-1] in text
    return all(word in text for word in query.split(" ") if word)


@dataclass(frozen=True)
class RowFilter:
    senders: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()
    sender_ip: str | None = None
    upstream_tls: str = "any"
    statuses: frozenset[str] = frozenset()
    subject: str | None = None
    message_id: str | None = None
    block_reasons: frozenset[str] = frozenset()

    def matches(self, row: TrackingRow) -> bool:
        sender = row.sender or NULL_SENDER
        if self.senders and not any(pattern_matches(p.lower(), sender) for p in self.senders):
            return False
        if self.recipients and not any(
            pattern_matches(p.lower(), row.recipient) for p in self.recipients
        ):
            return False
        if self.sender_ip and not row.sender_ip.startswith(self.sender_ip):
            return False
        if self.upstream_tls != "any" and row.upstream_tls != self.upstream_tls:
            return False
        if self.statuses and (row.status or "") not in self.statuses:
            return False
        if self.block_reasons and (row.block_reason or "") not in self.block_reasons:
            return False
        if self.message_id and row.message_id.lower() != self.message_id.strip().lower():
            return False
        return not self.subject or subject_matches(self.subject, row.subject)
