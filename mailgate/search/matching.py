"""The search filters of mail tracking, applied to rows read from a key range (catalog.md,
"Search matching rules": case-insensitive, "*" wildcards in addresses, subject words)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from mailgate.config_fields import pattern_matches
from mailgate.records import AttachmentRecord, TrackingRow

NULL_SENDER = "<>"
ANY = "any"  # the value of a choice field that filters nothing


def addresses_match(patterns: Iterable[str], addresses: Iterable[str]) -> bool:
    """One of the addresses matches one of the patterns (OR of values, "*" wildcards)."""
    listed = list(addresses)  # read once per pattern
    return any(pattern_matches(p.lower(), a) for p in patterns for a in listed)


def header_address(shown: str) -> str:
    """The address of a header value as the records show it: "Name <a@b>" → "a@b"."""
    start, end = shown.rfind("<"), shown.rfind(">")
    return shown[start + 1 : end] if 0 <= start < end else shown


def headers_match(
    from_patterns: Sequence[str],
    to_patterns: Sequence[str],
    header_from: Iterable[str],
    header_to: Iterable[str],
) -> bool:
    """Header From and header To/Cc: each field given must match one address of its header."""
    if from_patterns and not addresses_match(from_patterns, map(header_address, header_from)):
        return False
    return not to_patterns or addresses_match(to_patterns, map(header_address, header_to))


def message_id_matches(query: str, message_id: str) -> bool:
    """The whole <...> value, exact, case-insensitive."""
    return message_id.lower() == query.strip().lower()


def subject_matches(query: str, subject: str) -> bool:
    """Words separated by ASCII spaces must all occur, in any order; a value in double quotes
    must occur as one string. "*" is literal here."""
    text = subject.lower()
    query = query.strip().lower()
    if len(query) >= 2 and query.startswith('"') and query.endswith('"'):
        return query[1:-1] in text
    return all(word in text for word in query.split(" ") if word)


@dataclass(frozen=True)
class AttachmentFilter:
    """The attachment fields of a tracking search. One attachment of the row must meet every
    condition given (``*.zip`` whose status is ``deleted`` is one file, not a zip beside some
    other deleted file); any condition, ``required`` ("attachments only") alone too, leaves out
    rows without attachments."""

    required: bool = False
    sha256: str | None = None  # lower-case hex, exact
    name: str | None = None  # "*" wildcards, case-insensitive
    status: str = ANY
    password_analysis: str = ANY

    @property
    def active(self) -> bool:
        return bool(
            self.required
            or self.sha256
            or self.name
            or self.status != ANY
            or self.password_analysis != ANY
        )

    def matches(self, attachments: Iterable[AttachmentRecord]) -> bool:
        return not self.active or any(self._fits(a) for a in attachments)

    def _fits(self, attachment: AttachmentRecord) -> bool:
        if self.sha256 and attachment.sha256.lower() != self.sha256.lower():
            return False
        if self.name and not pattern_matches(self.name.lower(), attachment.name):
            return False
        if self.status != ANY and attachment.status != self.status:
            return False
        return self.password_analysis in (ANY, attachment.password_analysis)


@dataclass(frozen=True)
class RowFilter:
    senders: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()
    header_from: tuple[str, ...] = ()
    header_to: tuple[str, ...] = ()
    sender_ip: str | None = None
    upstream_tls: str = "any"
    statuses: frozenset[str] = frozenset()
    subject: str | None = None
    message_id: str | None = None
    block_reasons: frozenset[str] = frozenset()
    delivered_to: str | None = None
    downstream_tls: str = "any"
    downstream_dane: str = "any"
    downstream_mta_sts: str = "any"
    attachments: AttachmentFilter = AttachmentFilter()

    def matches(self, row: TrackingRow) -> bool:
        if self.senders and not addresses_match(self.senders, [row.sender or NULL_SENDER]):
            return False
        if self.recipients and not addresses_match(self.recipients, [row.recipient]):
            return False
        if not headers_match(self.header_from, self.header_to, row.header_from, row.header_to):
            return False
        if not self.attachments.matches(row.attachments):
            return False
        if self.sender_ip and not row.sender_ip.startswith(self.sender_ip):
            return False
        if self.upstream_tls != "any" and row.upstream_tls != self.upstream_tls:
            return False
        if self.statuses and (row.status or "") not in self.statuses:
            return False
        if self.block_reasons and (row.block_reason or "") not in self.block_reasons:
            return False
        if self.delivered_to and not row.delivered_to.lower().startswith(self.delivered_to.lower()):
            return False
        for wanted, value in (
            (self.downstream_tls, row.downstream_tls),
            (self.downstream_dane, row.downstream_dane),
            (self.downstream_mta_sts, row.downstream_mta_sts),
        ):
            if wanted != "any" and value != wanted:
                return False
        if self.message_id and not message_id_matches(self.message_id, row.message_id):
            return False
        return not self.subject or subject_matches(self.subject, row.subject)


class MessageFields(Protocol):
    """A record of one message and all its envelope recipients (a policy event, a quarantine
    entry)."""

    @property
    def sender(self) -> str: ...

    @property
    def recipients(self) -> Sequence[str]: ...

    @property
    def header_from(self) -> Sequence[str]: ...

    @property
    def header_to(self) -> Sequence[str]: ...

    @property
    def subject(self) -> str: ...

    @property
    def message_id(self) -> str: ...


@dataclass(frozen=True)
class MessageFilter:
    """The search fields that policy events and the quarantine share; a record matches when
    one of its recipients (or header addresses) matches one of the values of a field."""

    senders: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()
    header_from: tuple[str, ...] = ()
    header_to: tuple[str, ...] = ()
    subject: str | None = None
    message_id: str | None = None

    def matches(self, record: MessageFields) -> bool:
        if self.senders and not addresses_match(self.senders, [record.sender or NULL_SENDER]):
            return False
        if self.recipients and not addresses_match(self.recipients, record.recipients):
            return False
        if not headers_match(
            self.header_from, self.header_to, record.header_from, record.header_to
        ):
            return False
        if self.message_id and not message_id_matches(self.message_id, record.message_id):
            return False
        return not self.subject or subject_matches(self.subject, record.subject)
