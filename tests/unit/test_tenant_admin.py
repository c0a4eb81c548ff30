from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mailgate.api.errors import Unauthorized
from mailgate.auth import authenticate
from mailgate.storage.tenants import DomainTaken
from mailgate.tenant_admin import AdminError, TenantAdmin
from mailgate.tenant_config import DomainConfig, MailServer
from mailgate.tenants import SuspendedTenants, TenantStatus, key_digest
from tests.support.fake_tenants import FakeAudit, FakeTenants
from tests.support.fakes import FakeConfigStore

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def parts() -> tuple[TenantAdmin, FakeTenants, FakeConfigStore, FakeAudit]:
    tenants, configs, audit = FakeTenants(), FakeConfigStore(), FakeAudit()
    return TenantAdmin(tenants, configs, audit, "alice", lambda: NOW), tenants, configs, audit


def _domain(name: str) -> DomainConfig:
    return DomainConfig(name=name, inbound_servers=[MailServer(host="mx.acme.test", port=25)])


def test_a_created_tenant_owns_its_domains_and_the_operator_is_recorded(parts) -> None:
    admin, _, configs, audit = parts
    view = admin.create("acme", "Acme Corp", [_domain("acme.test")])

    assert view.domains == ["acme.test"] and view.tenant.status is TenantStatus.ACTIVE
    assert configs.get("acme")[1] == 1
    (entry,) = audit.entries
    assert (entry.tenant_id, entry.actor) == ("acme", "operator alice")
    assert entry.action == "tenant.create"


@pytest.mark.parametrize("tenant_id", ["", "A", "acme#x", "a" * 41, "-acme"])
def test_a_tenant_id_that_would_break_keys_is_refused(parts, tenant_id: str) -> None:
    admin, tenants, _, _ = parts
    with pytest.raises(AdminError):
        admin.create(tenant_id, "Acme", [])
    assert tenants.profiles == {}


def test_a_second_tenant_of_the_same_id_or_domain_is_refused(parts) -> None:
    admin, _, configs, _ = parts
    admin.create("acme", "Acme", [])
    with pytest.raises(AdminError, match="exists already"):
        admin.create("acme", "Other", [])
    configs.taken.add("taken.test")
    with pytest.raises(DomainTaken):
        admin.create("beta", "Beta", [_domain("taken.test")])


def test_a_key_secret_is_returned_once_and_only_its_digest_is_kept(parts) -> None:
    admin, tenants, _, audit = parts
    admin.create("acme", "Acme", [])
    key, secret = admin.create_key("acme", "siem", ["logs:read"], timedelta(days=30))

    assert list(tenants.keys) == [key_digest(secret)]
    assert secret not in repr(tenants.keys)
    assert key.expires_at == NOW + timedelta(days=30)
    assert [k.name for k in admin.keys("acme")] == ["siem"]
    assert audit.entries[-1].action == "api_key.create"
    assert secret not in audit.entries[-1].model_dump_json()


def test_a_key_with_an_unknown_scope_or_of_an_unknown_tenant_is_refused(parts) -> None:
    admin, tenants, _, _ = parts
    admin.create("acme", "Acme", [])
    with pytest.raises(AdminError, match="Scopes"):
        admin.create_key("acme", "x", ["admin:all"], None)
    with pytest.raises(AdminError, match="no tenant"):
        admin.create_key("nobody", "x", ["logs:read"], None)
    assert tenants.keys == {}


def test_a_revoked_or_expired_key_no_longer_authenticates(parts) -> None:
    admin, tenants, _, _ = parts
    admin.create("acme", "Acme", [])
    key, secret = admin.create_key("acme", "short", ["logs:read"], timedelta(hours=1))
    assert authenticate(f"Bearer {secret}", tenants, NOW).tenant_id == "acme"
    with pytest.raises(Unauthorized):
        authenticate(f"Bearer {secret}", tenants, NOW + timedelta(hours=1))
    admin.revoke_key("acme", key.key_id)
    with pytest.raises(Unauthorized):
        authenticate(f"Bearer {secret}", tenants, NOW)
    with pytest.raises(AdminError):
        admin.revoke_key("acme", key.key_id)


def test_last_use_is_written_at_most_once_a_minute(parts) -> None:
    admin, tenants, _, _ = parts
    admin.create("acme", "Acme", [])
    _, secret = admin.create_key("acme", "k", ["logs:read"], None)
    for seconds in (0, 10, 59, 60, 61):
        authenticate(f"Bearer {secret}", tenants, NOW + timedelta(seconds=seconds))
    assert tenants.touches == 2
    assert admin.keys("acme")[0].last_used_at == NOW + timedelta(seconds=60)


def test_suspension_is_seen_through_the_cache(parts) -> None:
    admin, tenants, _, audit = parts
    admin.create("acme", "Acme", [])
    suspended = SuspendedTenants(tenants.tenant)
    assert suspended("acme") is False
    admin.suspend("acme")
    assert suspended("acme") is False  # cached for up to 30 seconds
    assert SuspendedTenants(tenants.tenant)("acme") is True
    admin.resume("acme")
    assert [e.action for e in audit.entries][-2:] == ["tenant.suspend", "tenant.resume"]
    with pytest.raises(AdminError):
        admin.suspend("nobody")


def test_delete_removes_the_tenant_and_erases_its_data(parts) -> None:
    admin, tenants, _, _ = parts
    admin.create("acme", "Acme", [_domain("acme.test")])
    admin.create_key("acme", "k", ["logs:read"], None)
    erased: list[str] = []

    assert admin.delete("acme", lambda tenant_id: erased.append(tenant_id) or 7) == 7
    assert erased == ["acme"] and tenants.tenant("acme") is None and tenants.keys == {}
