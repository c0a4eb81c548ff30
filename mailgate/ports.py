"""What the domain code needs from the outside world, as Protocols.

Stages, the intake, the blocked-traffic log and the stage-1 checks are typed against these; the
stores of ``mailgate.storage`` and ``functions.receive.lookups`` satisfy them structurally, and
unit tests pass in-memory fakes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple, Protocol, TypeVar

from pydantic import BaseModel

from mailgate.audit import AuditEntry
from mailgate.catalog import Direction, Status, TrackingType
from mailgate.dns import DomainStatus
from mailgate.policy.records import PolicyEvent, QuarantineEntry
from mailgate.records import PolicyPass, TimelineEvent, TrackingRow
from mailgate.redelivery_records import RedeliveryRun, RunMessage
from mailgate.tenant_config import Domain, TenantConfig
from mailgate.tenants import ApiKey, Tenant, TenantStatus


@dataclass(frozen=True)
class Increment:
    """What one message adds to one rate-limit counter, and the counter's limit and window."""

    key: str
    amount: int
    limit: int
    window_s: int


class DayPosition(NamedTuple):
    """A record's place in the time order of its day, where a read of that day can resume."""

    time: datetime
    id: str


class Tracking(Protocol):
    """Tracking rows and timeline events, keyed by tenant, message and recipient."""

    def add(self, rows: Iterable[TrackingRow], events: Iterable[TimelineEvent]) -> None: ...

    def add_once(self, row: TrackingRow, events: Iterable[TimelineEvent]) -> bool: ...

    def record(self, tenant_id: str, message_uuid: str, event: TimelineEvent) -> None: ...

    def record_pass(self, tenant_id: str, message_uuid: str, policy_pass: PolicyPass) -> None:
        """Store a stage-2 pass, replacing a previous run of the same pass."""
        ...

    def set_status(
        self, tenant_id: str, message_uuid: str, recipient: str, status: Status, **fields: Any
    ) -> bool: ...

    def annotate(self, tenant_id: str, message_uuid: str, recipient: str, **fields: Any) -> None:
        """Set fields of an existing row other than its status."""
        ...

    def statuses(
        self, tenant_id: str, message_uuid: str, recipients: Iterable[str]
    ) -> dict[str, Status | None]: ...

    def claim(
        self, tenant_id: str, message_uuid: str, recipient: str, now: datetime, until: datetime
    ) -> bool: ...

    def message(
        self, tenant_id: str, message_uuid: str
    ) -> tuple[list[TrackingRow], list[TimelineEvent]]: ...

    def release(
        self, tenant_id: str, message_uuid: str, recipient: str, until: datetime
    ) -> None: ...

    def dead_letter(
        self, tenant_id: str, message_uuid: str, recipient: str, event: TimelineEvent
    ) -> bool: ...


class Jobs(Protocol):
    """A queue that carries jobs to the next stage."""

    def send(self, job: BaseModel, delay_s: int = 0) -> None: ...


class Mail(Protocol):
    """Raw messages by object key."""

    def put(self, key: str, raw: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


class Domains(Protocol):
    """Managed domains: the owner and inbound servers of each."""

    def domain(self, name: str) -> Domain | None: ...


class TenantConfigs(Protocol):
    """A tenant's whole configuration and its version."""

    def get(self, tenant_id: str) -> tuple[TenantConfig, int]: ...


class Counters(Protocol):
    """Rate-limit counters shared by every front container."""

    def current(self, counters: list[tuple[str, int]]) -> list[int]: ...

    def add_all(self, increments: list[Increment]) -> int | None: ...


class Lookups(Protocol):
    """What stage-1 checks ask of DNS and the IP-to-country data. A DNS timeout or SERVFAIL
    raises ``mailgate.dns.DnsUnavailable``."""

    def listed(self, ip: str, zone: str) -> bool: ...

    def ptr_names(self, ip: str) -> list[str]: ...

    def verified_ptr_names(self, ip: str) -> list[str]: ...

    def domain_status(self, domain: str) -> DomainStatus: ...

    def country(self, ip: str) -> str | None: ...


class PolicyEvents(Protocol):
    """Stage 2's policy events; an event written twice (a repeated scan) is stored once."""

    def add(self, events: Iterable[PolicyEvent]) -> None: ...


class Quarantine(Protocol):
    """The quarantine index (the raw message stays in the mail bucket)."""

    def put(self, entry: QuarantineEntry) -> None:
        """Index a quarantined message; a repeated put of the same message changes nothing. An
        entry being released is replaced: a rule after the releasing one quarantined it again."""
        ...

    def finish_release(self, tenant_id: str, message_uuid: str) -> None:
        """A released message has gone through stage 2 again: ``releasing`` → ``released``."""
        ...


@dataclass
class Reindexed:
    """What a repair of tracking index items did: rows read, index and Message-ID lookup
    items written (or, in a dry run, to be written), and items found as they should be."""

    rows: int = 0
    written: int = 0
    correct: int = 0

    def add(self, other: Reindexed) -> None:
        self.rows += other.rows
        self.written += other.written
        self.correct += other.correct


class TrackingIndex(Protocol):
    """The index items of a tenant's tracking rows, repaired from the rows themselves."""

    def reindex_day(
        self, tenant_id: str, direction: Direction, type: TrackingType, day: date, write: bool
    ) -> Iterable[Reindexed]:
        """Repair the index items of the rows of one day bucket (every shard), a page of rows
        at a time; the count of each page. Nothing is written unless ``write``."""
        ...


R = TypeVar("R")


class ByTime(Protocol[R]):
    """Records kept in day buckets, read one UTC day of a tenant and direction at a time."""

    def by_time(
        self,
        tenant_id: str,
        direction: Direction,
        day: date,
        start: datetime,
        end: datetime,
        newest_first: bool,
        limit: int,
        after: DayPosition | None = None,
    ) -> tuple[list[R], DayPosition | None]: ...


class PolicyEventLog(PolicyEvents, ByTime[PolicyEvent], Protocol):
    """Policy events as the API reads them: by id, or one UTC day of a tenant and direction at
    a time (expired events are never returned)."""

    def event(self, tenant_id: str, event_id: str) -> PolicyEvent | None: ...


class QuarantineIndex(Quarantine, ByTime[QuarantineEntry], Protocol):
    """The quarantine as the API reads and changes it. Each state change is conditional on the
    state it leaves and says whether it happened."""

    def entry(self, tenant_id: str, message_uuid: str) -> QuarantineEntry | None: ...

    def begin_release(
        self, tenant_id: str, message_uuid: str, released_by: str, at: datetime
    ) -> bool: ...

    def undo_release(self, tenant_id: str, message_uuid: str) -> bool: ...

    def mark_deleted(
        self, tenant_id: str, message_uuid: str, deleted_by: str, at: datetime
    ) -> bool: ...


class ApiKeys(Protocol):
    """API keys by their secret (``mailgate.storage.tenants.TenantStore``)."""

    def api_key(self, api_key: str) -> ApiKey | None: ...

    def touch_api_key(self, api_key: str, at: datetime) -> None: ...


class TenantDirectory(ApiKeys, Protocol):
    """Tenants and their keys (``mailgate.storage.tenants.TenantStore``)."""

    def put_tenant(self, tenant_id: str, name: str, at: datetime | None = None) -> bool: ...

    def tenant(self, tenant_id: str) -> Tenant | None: ...

    def tenants(self) -> list[Tenant]: ...

    def set_status(self, tenant_id: str, status: TenantStatus) -> bool: ...

    def delete_tenant(self, tenant_id: str, domains: list[str]) -> None: ...

    def put_api_key(self, api_key: str, key: ApiKey) -> ApiKey: ...

    def api_keys(self, tenant_id: str) -> list[ApiKey]: ...

    def revoke_api_key(self, tenant_id: str, key_id: str) -> bool: ...


class TenantConfigWriter(TenantConfigs, Protocol):
    def put(self, tenant_id: str, config: TenantConfig, expected_version: int) -> int: ...


class AuditLog(Protocol):
    def add(self, entry: AuditEntry) -> None: ...


class RedeliveryRuns(Protocol):
    """Re-delivery runs and what became of each message they selected."""

    def put_run(self, run: RedeliveryRun) -> None: ...

    def run(self, run_id: str) -> RedeliveryRun | None: ...

    def known(self, run_id: str, tenant_id: str, message_uuids: list[str]) -> set[str]:
        """Those of the messages the run has done, but for failed ones."""
        ...

    def add(self, run_id: str, tenant_id: str, message_uuids: list[str]) -> None:
        """The messages are queued (before their job is sent)."""
        ...

    def record(
        self, run_id: str, tenant_id: str, message_uuid: str, outcome: str, reason: str = ""
    ) -> None:
        """What became of the message; only its first outcome is kept."""
        ...

    def progress(self, run_id: str) -> tuple[int, int]:
        """How many of the run's messages are done, of how many."""
        ...

    def messages(self, run_id: str) -> list[RunMessage]: ...
