"""In-memory tenants, keys and audit trail (the ``TenantDirectory`` and ``AuditLog`` ports)."""

from __future__ import annotations

from datetime import datetime

from mailgate.audit import AuditEntry
from mailgate.tenants import ApiKey, Tenant, TenantStatus, key_digest, key_id_of


class FakeTenants:
    def __init__(self) -> None:
        self.profiles: dict[str, Tenant] = {}
        self.keys: dict[str, ApiKey] = {}  # digest → key
        self.touches = 0

    def put_tenant(self, tenant_id: str, name: str, at: datetime | None = None) -> bool:
        if tenant_id in self.profiles:
            return False
        self.profiles[tenant_id] = Tenant(tenant_id=tenant_id, name=name, created_at=at)
        return True

    def tenant(self, tenant_id: str) -> Tenant | None:
        return self.profiles.get(tenant_id)

    def tenants(self) -> list[Tenant]:
        return sorted(self.profiles.values(), key=lambda tenant: tenant.tenant_id)

    def set_status(self, tenant_id: str, status: TenantStatus) -> bool:
        if tenant_id not in self.profiles:
            return False
        self.profiles[tenant_id] = self.profiles[tenant_id].model_copy(update={"status": status})
        return True

    def delete_tenant(self, tenant_id: str, domains: list[str]) -> None:
        self.profiles.pop(tenant_id, None)
        self.keys = {d: k for d, k in self.keys.items() if k.tenant_id != tenant_id}

    def put_api_key(self, api_key: str, key: ApiKey) -> ApiKey:
        digest = key_digest(api_key)
        stored = key.model_copy(update={"key_id": key_id_of(digest)})
        self.keys[digest] = stored
        return stored

    def api_key(self, api_key: str) -> ApiKey | None:
        return self.keys.get(key_digest(api_key))

    def api_keys(self, tenant_id: str) -> list[ApiKey]:
        return [key for key in self.keys.values() if key.tenant_id == tenant_id]

    def revoke_api_key(self, tenant_id: str, key_id: str) -> bool:
        for digest, key in list(self.keys.items()):
            if key.tenant_id == tenant_id and key.key_id == key_id:
                del self.keys[digest]
                return True
        return False

    def touch_api_key(self, api_key: str, at: datetime) -> None:
        self.touches += 1
        digest = key_digest(api_key)
        self.keys[digest] = self.keys[digest].model_copy(update={"last_used_at": at})


class FakeAudit:
    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []

    def add(self, entry: AuditEntry) -> None:
        self.entries.append(entry)
