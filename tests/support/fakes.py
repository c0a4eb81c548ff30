"""In-memory implementations of ``mailgate.ports``, for unit tests.

Each fake keeps what it was given in plain attributes a test can read, and behaves like the
real store where a caller depends on it (a status only moves forward; counters refuse an
increment that would pass its limit, and then add nothing).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from mailgate import ports
from mailgate.catalog import FINAL_STATUSES, Direction, Status
from mailgate.dns import DnsUnavailable, DomainStatus
from mailgate.policy.records import PolicyEvent, QuarantineEntry, QuarantineState
from mailgate.ports import DayPosition, Increment
from mailgate.records import REPEATABLE, STATUS_RANK, PolicyPass, TimelineEvent, TrackingRow
from mailgate.redelivery_records import RedeliveryRun, RunMessage
from mailgate.storage.tenants import ConfigConflict, DomainTaken
from mailgate.tenant_config import Domain, TenantConfig


class FakeTracking:
    def __init__(self, rows: Iterable[TrackingRow] = ()) -> None:
        self.rows: dict[tuple[str, str, str], TrackingRow] = {}
        self.events: dict[tuple[str, str], list[TimelineEvent]] = {}
        self.passes: dict[tuple[str, str], dict[str, PolicyPass]] = {}
        self.status_writes: list[tuple[str, Status, dict[str, Any]]] = []
        self.claims: dict[tuple[str, str, str], datetime] = {}
        self.add(rows, [])

    def add(self, rows: Iterable[TrackingRow], events: Iterable[TimelineEvent]) -> None:
        rows = list(rows)
        for row in rows:
            self.rows[row.tenant_id, row.message_uuid, row.recipient] = row
        if rows:
            for event in events:
                self.record(rows[0].tenant_id, rows[0].message_uuid, event)

    def add_once(self, row: TrackingRow, events: Iterable[TimelineEvent]) -> bool:
        key = (row.tenant_id, row.message_uuid, row.recipient)
        created = key not in self.rows
        if created:
            self.rows[key] = row
        for event in events:
            self.record(row.tenant_id, row.message_uuid, event)
        return created

    def record(self, tenant_id: str, message_uuid: str, event: TimelineEvent) -> None:
        timeline = self.events.setdefault((tenant_id, message_uuid), [])
        if all(known.event_id != event.event_id for known in timeline):
            timeline.append(event)

    def record_pass(self, tenant_id: str, message_uuid: str, policy_pass: PolicyPass) -> None:
        self.passes.setdefault((tenant_id, message_uuid), {})[policy_pass.pass_id] = policy_pass

    def timeline(self, tenant_id: str, message_uuid: str) -> list[TimelineEvent]:
        """The message's events with its passes' (as the real store reads them), in order."""
        key = (tenant_id, message_uuid)
        events = list(self.events.get(key, []))
        events.extend(e for p in self.passes.get(key, {}).values() for e in p.events())
        return sorted(events, key=lambda event: (event.time, event.event_id))

    def set_status(
        self, tenant_id: str, message_uuid: str, recipient: str, status: Status, **fields: Any
    ) -> bool:
        self.status_writes.append((recipient, status, fields))
        key = (tenant_id, message_uuid, recipient)
        row = self.rows.get(key)
        if row is None:
            return False
        rank, current = STATUS_RANK[status], STATUS_RANK[row.status or Status.PROCESSING]
        if current > rank or (current == rank and status not in REPEATABLE):
            return False
        if fields.get("claimed_until") == "":
            self.claims.pop((tenant_id, message_uuid, recipient.lower()), None)
        model_fields = {k: v for k, v in fields.items() if k in TrackingRow.model_fields}
        self.rows[key] = row.model_copy(update={"status": status, **model_fields})
        return True

    def annotate(self, tenant_id: str, message_uuid: str, recipient: str, **fields: Any) -> None:
        key = (tenant_id, message_uuid, recipient)
        if key in self.rows:
            self.rows[key] = self.rows[key].model_copy(update=fields)

    def statuses(
        self, tenant_id: str, message_uuid: str, recipients: Iterable[str]
    ) -> dict[str, Status | None]:
        wanted = {r.lower() for r in recipients}
        return {
            key[2].lower(): row.status
            for key, row in self.rows.items()
            if key[:2] == (tenant_id, message_uuid) and key[2].lower() in wanted
        }

    def claim(
        self, tenant_id: str, message_uuid: str, recipient: str, now: datetime, until: datetime
    ) -> bool:
        key = (tenant_id, message_uuid, recipient.lower())
        row = next((r for k, r in self.rows.items() if (k[0], k[1], k[2].lower()) == key), None)
        held = self.claims.get(key)
        if row is None or row.status in FINAL_STATUSES or (held is not None and held >= now):
            return False
        self.claims[key] = until
        return True

    def message(
        self, tenant_id: str, message_uuid: str
    ) -> tuple[list[TrackingRow], list[TimelineEvent]]:
        rows = [row for key, row in self.rows.items() if key[:2] == (tenant_id, message_uuid)]
        return rows, self.timeline(tenant_id, message_uuid)

    def release(self, tenant_id: str, message_uuid: str, recipient: str, until: datetime) -> None:
        key = (tenant_id, message_uuid, recipient.lower())
        if self.claims.get(key) == until:
            del self.claims[key]

    def dead_letter(
        self, tenant_id: str, message_uuid: str, recipient: str, event: TimelineEvent
    ) -> bool:
        key = (tenant_id, message_uuid, recipient)
        row = self.rows.get(key)
        if row is None or row.status in FINAL_STATUSES:
            return False
        self.record(tenant_id, message_uuid, event)
        self.rows[key] = row.model_copy(
            update={
                "status": Status.DEAD_LETTERED,
                "dead_letter_reason": event.detail,
                "next_attempt_at": None,
            }
        )
        return True

    def rows_at(self, tenant_id: str, keys: Iterable[tuple[str, str]]) -> list[TrackingRow]:
        wanted = {(m, r.lower()) for m, r in keys}
        return [
            row
            for (tenant, message_uuid, recipient), row in self.rows.items()
            if tenant == tenant_id and (message_uuid, recipient.lower()) in wanted
        ]


class FakeQueue:
    def __init__(self) -> None:
        self.sent: list[tuple[BaseModel, int]] = []

    def send(self, job: BaseModel, delay_s: int = 0) -> None:
        self.sent.append((job, delay_s))


class FakeMail:
    def __init__(self, objects: dict[str, bytes] | None = None) -> None:
        self.objects = dict(objects or {})

    def put(self, key: str, raw: bytes) -> None:
        self.objects[key] = raw

    def get(self, key: str) -> bytes:
        return self.objects[key]

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)


class FakeDomains:
    def __init__(self, domains: Iterable[Domain] = ()) -> None:
        self.domains = {domain.name: domain for domain in domains}

    def domain(self, name: str) -> Domain | None:
        return self.domains.get(name.lower())


class FakeConfigs:
    def __init__(self, configs: dict[str, TenantConfig] | None = None) -> None:
        self.configs = dict(configs or {})

    def get(self, tenant_id: str) -> tuple[TenantConfig, int]:
        config = self.configs.get(tenant_id)
        return (config, 1) if config is not None else (TenantConfig(), 0)


class FakeCounters:
    """Counters without windows: every count lives as long as the fake."""

    def __init__(self, counts: dict[str, int] | None = None) -> None:
        self.counts = dict(counts or {})

    def current(self, counters: list[tuple[str, int]]) -> list[int]:
        return [self.counts.get(key, 0) for key, _ in counters]

    def add_all(self, increments: list[Increment]) -> int | None:
        for index, increment in enumerate(increments):
            if self.counts.get(increment.key, 0) + increment.amount > increment.limit:
                return index
        for increment in increments:
            self.counts[increment.key] = self.counts.get(increment.key, 0) + increment.amount
        return None


@dataclass
class FakeLookups:
    """DNS answers by name; a name or address in ``unavailable`` raises ``DnsUnavailable``."""

    listings: set[tuple[str, str]] = field(default_factory=set)  # (ip, zone)
    ptr: dict[str, list[str]] = field(default_factory=dict)  # ip → names
    verified: dict[str, list[str]] = field(default_factory=dict)  # ip → confirmed names
    domains: dict[str, DomainStatus] = field(default_factory=dict)  # unlisted: OK
    countries: dict[str, str] = field(default_factory=dict)
    unavailable: set[str] = field(default_factory=set)

    def _answer(self, key: str) -> None:
        if key in self.unavailable:
            raise DnsUnavailable(f"DNS lookup of {key} failed")

    def listed(self, ip: str, zone: str) -> bool:
        return (ip, zone) in self.listings

    def ptr_names(self, ip: str) -> list[str]:
        self._answer(ip)
        return self.ptr.get(ip, [])

    def verified_ptr_names(self, ip: str) -> list[str]:
        self._answer(ip)
        return self.verified.get(ip, [])

    def domain_status(self, domain: str) -> DomainStatus:
        self._answer(domain)
        return self.domains.get(domain.lower(), DomainStatus.OK)

    def country(self, ip: str) -> str | None:
        return self.countries.get(ip)


R = TypeVar("R", PolicyEvent, QuarantineEntry)


def _by_time(
    records: Iterable[tuple[DayPosition, R]],
    day: date,
    start: datetime,
    end: datetime,
    newest_first: bool,
    limit: int,
    after: DayPosition | None,
) -> tuple[list[R], DayPosition | None]:
    """One day of ``records`` (each with its position) read as the stores read their index."""
    ordered = sorted(
        (
            (position, record)
            for position, record in records
            if position.time.astimezone(UTC).date() == day and start <= position.time <= end
        ),
        key=lambda pair: (pair[0].time, pair[0].id),
        reverse=newest_first,
    )
    if after is not None:
        ordered = [
            pair
            for pair in ordered
            if (
                (pair[0].time, pair[0].id) < after
                if newest_first
                else (pair[0].time, pair[0].id) > after
            )
        ]
    batch = ordered[:limit]
    more = batch[-1][0] if len(ordered) > limit else None
    return [record for _, record in batch], more


class FakePolicyEvents:
    def __init__(self, events: Iterable[PolicyEvent] = ()) -> None:
        self.events: dict[tuple[str, str], PolicyEvent] = {}
        self.add(events)

    def add(self, events: Iterable[PolicyEvent]) -> None:
        for event in events:
            self.events.setdefault((event.tenant_id, event.event_id), event)

    def event(self, tenant_id: str, event_id: str) -> PolicyEvent | None:
        return self.events.get((tenant_id, event_id))

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
    ) -> tuple[list[PolicyEvent], DayPosition | None]:
        mine = (
            (DayPosition(e.time, e.event_id), e)
            for (tenant, _), e in self.events.items()
            if tenant == tenant_id and e.direction is direction
        )
        return _by_time(mine, day, start, end, newest_first, limit, after)


class FakeQuarantine:
    """State changes are atomic, as the store's conditional updates are."""

    def __init__(self, entries: Iterable[QuarantineEntry] = ()) -> None:
        self.entries: dict[tuple[str, str], QuarantineEntry] = {}
        self._lock = threading.Lock()
        for entry in entries:
            self.put(entry)

    def put(self, entry: QuarantineEntry) -> None:
        key = (entry.tenant_id, entry.message_uuid)
        known = self.entries.get(key)
        if known is None or known.state is QuarantineState.RELEASING:
            self.entries[key] = entry

    def entry(self, tenant_id: str, message_uuid: str) -> QuarantineEntry | None:
        return self.entries.get((tenant_id, message_uuid))

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
    ) -> tuple[list[QuarantineEntry], DayPosition | None]:
        mine = (
            (DayPosition(e.time, e.message_uuid), e)
            for (tenant, _), e in self.entries.items()
            if tenant == tenant_id and e.direction is direction
        )
        return _by_time(mine, day, start, end, newest_first, limit, after)

    def _move(
        self,
        tenant_id: str,
        message_uuid: str,
        current: QuarantineState,
        new: QuarantineState,
        **fields: Any,
    ) -> bool:
        with self._lock:
            entry = self.entries.get((tenant_id, message_uuid))
            if entry is None or entry.state is not current:
                return False
            self.entries[tenant_id, message_uuid] = entry.model_copy(
                update={"state": new, **fields}
            )
            return True

    def begin_release(
        self, tenant_id: str, message_uuid: str, released_by: str, at: datetime
    ) -> bool:
        return self._move(
            tenant_id,
            message_uuid,
            QuarantineState.QUARANTINED,
            QuarantineState.RELEASING,
            released_by=released_by,
            released_at=at,
        )

    def undo_release(self, tenant_id: str, message_uuid: str) -> bool:
        return self._move(
            tenant_id,
            message_uuid,
            QuarantineState.RELEASING,
            QuarantineState.QUARANTINED,
            released_by="",
            released_at=None,
        )

    def finish_release(self, tenant_id: str, message_uuid: str) -> None:
        self._move(tenant_id, message_uuid, QuarantineState.RELEASING, QuarantineState.RELEASED)

    def mark_deleted(
        self, tenant_id: str, message_uuid: str, deleted_by: str, at: datetime
    ) -> bool:
        return self._move(
            tenant_id,
            message_uuid,
            QuarantineState.QUARANTINED,
            QuarantineState.DELETED,
            deleted_by=deleted_by,
            deleted_at=at,
        )


class FakeRedeliveryRuns:
    def __init__(self) -> None:
        self.runs: dict[str, RedeliveryRun] = {}
        self.items: dict[tuple[str, str, str], RunMessage] = {}
        self._lock = threading.Lock()

    def put_run(self, run: RedeliveryRun) -> None:
        self.runs[run.run_id] = run

    def run(self, run_id: str) -> RedeliveryRun | None:
        return self.runs.get(run_id)

    def known(self, run_id: str, tenant_id: str, message_uuids: list[str]) -> set[str]:
        return {
            uuid
            for uuid in message_uuids
            if (found := self.items.get((run_id, tenant_id, uuid))) is not None
            and found.outcome not in ("", "failed")
        }

    def add(self, run_id: str, tenant_id: str, message_uuids: list[str]) -> None:
        for uuid in message_uuids:
            self.items[run_id, tenant_id, uuid] = RunMessage(tenant_id=tenant_id, message_uuid=uuid)

    def record(
        self, run_id: str, tenant_id: str, message_uuid: str, outcome: str, reason: str = ""
    ) -> None:
        self._set(
            run_id,
            RunMessage(
                tenant_id=tenant_id, message_uuid=message_uuid, outcome=outcome, reason=reason
            ),
        )

    def _set(self, run_id: str, message: RunMessage) -> None:
        with self._lock:
            key = (run_id, message.tenant_id, message.message_uuid)
            found = self.items.get(key)
            if found is None or found.outcome in ("", "failed"):
                self.items[key] = message

    def messages(self, run_id: str) -> list[RunMessage]:
        return [m for (run, _, _), m in self.items.items() if run == run_id]

    def progress(self, run_id: str) -> tuple[int, int]:
        mine = self.messages(run_id)
        return sum(bool(m.outcome) for m in mine), len(mine)


# Each fake implements its port: mypy checks these.
_tracking: ports.Tracking = FakeTracking()
_queue: ports.Jobs = FakeQueue()
_mail: ports.Mail = FakeMail()
_domains: ports.Domains = FakeDomains()
_configs: ports.TenantConfigs = FakeConfigs()
_counters: ports.Counters = FakeCounters()
_lookups: ports.Lookups = FakeLookups()
_policy_events: ports.PolicyEventLog = FakePolicyEvents()
_quarantine: ports.QuarantineIndex = FakeQuarantine()
_runs: ports.RedeliveryRuns = FakeRedeliveryRuns()


@dataclass
class FakeConfigStore:
    """The methods of TenantConfigStore, in memory. ``taken``: domains of other tenants;
    ``interfere``: how many of the next writes find that another write got in first."""

    configs: dict[str, tuple[TenantConfig, int]] = field(default_factory=dict)
    taken: set[str] = field(default_factory=set)
    interfere: int = 0
    writes: list[tuple[str, TenantConfig, int]] = field(default_factory=list)

    def get(self, tenant_id: str) -> tuple[TenantConfig, int]:
        return self.configs.get(tenant_id, (TenantConfig(), 0))

    def put(self, tenant_id: str, config: TenantConfig, expected_version: int) -> int:
        if self.interfere:
            self.interfere -= 1
            current, version = self.get(tenant_id)
            self.configs[tenant_id] = (current, version + 1)  # someone else's write
        _, version = self.get(tenant_id)
        if version != expected_version:
            raise ConfigConflict(tenant_id)
        for managed in config.domains:
            if managed.name in self.taken:
                raise DomainTaken(managed.name)
        self.configs[tenant_id] = (config, version + 1)
        self.writes.append((tenant_id, config, version + 1))
        return version + 1
