"""Onboarding and running tenants: create, list, show, suspend, resume and delete them; create,
list and revoke their API keys. Every change is written to the tenant's audit trail as the
operator's."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from mailgate.audit import AuditEntry, operator
from mailgate.auth import SCOPES
from mailgate.ports import AuditLog, TenantConfigWriter, TenantDirectory
from mailgate.tenant_config import DomainConfig, TenantConfig
from mailgate.tenants import ApiKey, Tenant, TenantStatus

TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
MAX_NAME = 200
KEY_BYTES = 32


class AdminError(Exception):
    """A request an operator must change: the sentence says how."""


@dataclass(frozen=True)
class TenantView:
    tenant: Tenant
    domains: list[str]
    keys: list[ApiKey]


# Erases a tenant's logs, quarantine, raw mail, exports and audit trail (its records outside
# the tenants table); returns how many records and objects it removed.
Eraser = Callable[[str], int]


class TenantAdmin:
    def __init__(
        self,
        tenants: TenantDirectory,
        configs: TenantConfigWriter,
        audit: AuditLog,
        operator_name: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._tenants = tenants
        self._configs = configs
        self._audit = audit
        self._actor = operator(operator_name)
        self._clock = clock

    def _record(self, tenant_id: str, action: str, **details: str | int | list[str]) -> None:
        self._audit.add(
            AuditEntry(
                tenant_id=tenant_id,
                time=self._clock(),
                actor=self._actor,
                actor_kind="operator",
                action=action,
                target=f"tenant {tenant_id}",
                details=dict(details),
            )
        )

    def _existing(self, tenant_id: str) -> Tenant:
        found = self._tenants.tenant(tenant_id)
        if found is None:
            raise AdminError(f"There is no tenant {tenant_id!r}.")
        return found

    def create(self, tenant_id: str, name: str, domains: list[DomainConfig]) -> TenantView:
        """A new tenant with its managed domains (``DomainTaken`` if another tenant has one)."""
        if not TENANT_ID.match(tenant_id):
            raise AdminError(
                "A tenant id is 2 to 40 lower-case letters, digits or '-', "
                "starting with a letter or digit."
            )
        if not name.strip() or len(name) > MAX_NAME:
            raise AdminError(f"A tenant's name is 1 to {MAX_NAME} characters.")
        if not self._tenants.put_tenant(tenant_id, name.strip(), self._clock()):
            raise AdminError(f"A tenant {tenant_id!r} exists already.")
        if domains:
            self._configs.put(tenant_id, TenantConfig(domains=domains), expected_version=0)
        self._record(tenant_id, "tenant.create", name=name, domains=[d.name for d in domains])
        return self.show(tenant_id)

    def tenants(self) -> list[Tenant]:
        return self._tenants.tenants()

    def show(self, tenant_id: str) -> TenantView:
        tenant = self._existing(tenant_id)
        config, _ = self._configs.get(tenant_id)
        return TenantView(
            tenant, [domain.name for domain in config.domains], self._tenants.api_keys(tenant_id)
        )

    def suspend(self, tenant_id: str) -> None:
        """Its mail is refused with a temporary reply and its keys answer 403, within the
        front's and the authorizer's cache time."""
        self._set_status(tenant_id, TenantStatus.SUSPENDED, "tenant.suspend")

    def resume(self, tenant_id: str) -> None:
        self._set_status(tenant_id, TenantStatus.ACTIVE, "tenant.resume")

    def _set_status(self, tenant_id: str, status: TenantStatus, action: str) -> None:
        if not self._tenants.set_status(tenant_id, status):
            raise AdminError(f"There is no tenant {tenant_id!r}.")
        self._record(tenant_id, action)

    def delete(self, tenant_id: str, erase: Eraser) -> int:
        """The tenant, its keys and domains first (its mail is refused and its keys stop at
        once), then its records and mail; how many records and objects were erased."""
        view = self.show(tenant_id)
        self._tenants.delete_tenant(tenant_id, view.domains)
        return erase(tenant_id)

    def create_key(
        self, tenant_id: str, name: str, scopes: list[str], expires_in: timedelta | None
    ) -> tuple[ApiKey, str]:
        """The stored key and its secret, which is shown this once (only its digest is kept)."""
        self._existing(tenant_id)
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown or not scopes:
            raise AdminError(f"Scopes are one or more of {', '.join(SCOPES)}; not {unknown}.")
        if not name.strip() or len(name) > MAX_NAME:
            raise AdminError(f"A key's name is 1 to {MAX_NAME} characters.")
        if expires_in is not None and expires_in <= timedelta(0):
            raise AdminError("A key's lifetime must be positive.")
        now = self._clock()
        secret = f"mg_{secrets.token_urlsafe(KEY_BYTES)}"
        key = self._tenants.put_api_key(
            secret,
            ApiKey(
                tenant_id=tenant_id,
                scopes=list(dict.fromkeys(scopes)),
                name=name.strip(),
                created_at=now,
                expires_at=now + expires_in if expires_in else None,
            ),
        )
        self._record(tenant_id, "api_key.create", key_id=key.key_id, name=key.name, scopes=scopes)
        return key, secret

    def keys(self, tenant_id: str) -> list[ApiKey]:
        self._existing(tenant_id)
        return self._tenants.api_keys(tenant_id)

    def revoke_key(self, tenant_id: str, key_id: str) -> None:
        if not self._tenants.revoke_api_key(tenant_id, key_id):
            raise AdminError(f"Tenant {tenant_id!r} has no key {key_id!r}.")
        self._record(tenant_id, "api_key.revoke", key_id=key_id)
