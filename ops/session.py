"""The stores and services the operator tool uses, made once the target is connected."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from functools import cached_property

import click

from mailgate import resources
from mailgate.clock import utcnow
from mailgate.redelivery import Redelivery
from mailgate.settings import (
    AuditTable,
    ExportsTable,
    MailBucket,
    PolicyTable,
    QueriesTable,
    RedeliverQueue,
    TenantsTable,
    TrackingTable,
)
from mailgate.storage.audit import AuditStore
from mailgate.storage.dead_letters import DeadLetterQueue
from mailgate.storage.quarantine import QuarantineStore
from mailgate.storage.queues import JobQueue
from mailgate.storage.redelivery_runs import RedeliveryRunStore
from mailgate.storage.tenant_data import TenantData
from mailgate.storage.tenants import TenantConfigStore, TenantStore
from mailgate.storage.tracking import TrackingStore
from mailgate.tenant_admin import TenantAdmin
from ops.target import Target, TargetError


class OpsSettings(
    TrackingTable,
    TenantsTable,
    ExportsTable,
    PolicyTable,
    QueriesTable,
    AuditTable,
    MailBucket,
    RedeliverQueue,
):
    """The operator tool: the tables and the bucket it reads and erases, the queue it feeds
    (the dead-letter queues are found from each declared queue's variable)."""


class Session:
    def __init__(self, target: Target) -> None:
        target.connect()
        self.target = target
        self.settings = OpsSettings()

    @property
    def operator(self) -> str:
        return self.target.operator

    @cached_property
    def tenants(self) -> TenantStore:
        return TenantStore(self.settings.tenants_table)

    @cached_property
    def audit(self) -> AuditStore:
        return AuditStore(self.settings.audit_table)

    @cached_property
    def tracking(self) -> TrackingStore:
        return TrackingStore(self.settings.tracking_table, self.settings.tracking_shards)

    def tenant_ids(self, named: Iterable[str]) -> list[str]:
        """The tenants named (each must exist), or every tenant when none is."""
        known = [tenant.tenant_id for tenant in self.admin().tenants()]
        named = set(named)
        unknown = sorted(named - set(known))
        if unknown:
            raise click.ClickException(f"Unknown tenants: {', '.join(unknown)}.")
        return sorted(named) or known

    def admin(self) -> TenantAdmin:
        table = self.settings.tenants_table
        return TenantAdmin(
            self.tenants, TenantConfigStore(table), self.audit, self.operator, utcnow
        )

    def tenant_data(self) -> TenantData:
        s = self.settings
        tables = (
            (resources.TRACKING, s.tracking_table),
            (resources.POLICY, s.policy_table),
            (resources.EXPORTS, s.exports_table),
            (resources.QUERIES, s.queries_table),
        )
        return TenantData(tables, s.mail_bucket, self.audit, utcnow)

    def dead_letter_queues(self) -> dict[str, DeadLetterQueue]:
        """Each declared queue's dead-letter queue, by the queue's id."""
        return {q.id: DeadLetterQueue(os.environ[q.env_var]) for q in resources.QUEUES}

    def redelivery(self) -> Redelivery:
        s = self.settings
        return Redelivery(
            QuarantineStore(s.policy_table),
            self.runs,
            JobQueue(s.redeliver_queue_url),
            self.audit,
            utcnow,
        )

    @cached_property
    def runs(self) -> RedeliveryRunStore:
        return RedeliveryRunStore(self.settings.audit_table)


class Lazy:
    """The session, connected on first use (``--help`` needs no gateway)."""

    def __init__(self, make: Callable[[], Session]) -> None:
        self._make = make
        self._session: Session | None = None

    def get(self) -> Session:
        if self._session is None:
            try:
                self._session = self._make()
            except TargetError as error:
                raise click.ClickException(str(error)) from None
        return self._session


def session() -> Session:
    lazy = click.get_current_context().find_object(Lazy)
    assert lazy is not None, "run under the ops group"
    return lazy.get()
