"""ConfigService against an in-memory store: sections, validation, conflicts and retries."""

from __future__ import annotations

from typing import Any

import pytest

from functions.query.config_service import SECTION_RETRIES, ConfigService
from mailgate.api.errors import ApiError
from mailgate.tenant_config import DomainConfig, MailServer, ReverseDns, TenantConfig
from tests.support.fakes import FakeConfigStore

TENANT = "acme"


def domain(name: str, host: str = "mx.acme.test") -> dict[str, Any]:
    return {"name": name, "inbound_servers": [{"host": host}]}


@pytest.fixture
def store() -> FakeConfigStore:
    config = TenantConfig(
        domains=[DomainConfig(name="acme.test", inbound_servers=[MailServer(host="mx.acme.test")])],
        reverse_dns=ReverseDns(enabled=True),
    )
    return FakeConfigStore(configs={TENANT: (config, 3)})


def raised(error: pytest.ExceptionInfo[ApiError]) -> tuple[int, str]:
    return error.value.status, error.value.code


def test_get_returns_config_and_version(store: FakeConfigStore) -> None:
    document = ConfigService(store).get(TENANT)

    assert document.version == 3
    assert document.config.reverse_dns.enabled is True


def test_a_tenant_without_configuration_gets_the_defaults_at_version_0(
    store: FakeConfigStore,
) -> None:
    document = ConfigService(store).get("newcomer")

    assert (document.version, document.config) == (0, TenantConfig())


def test_section_update_keeps_the_other_sections(store: FakeConfigStore) -> None:
    # Given a tenant with one domain and reverse DNS on
    service = ConfigService(store)

    # When only the domains are replaced
    document = service.update_section(
        TENANT, "domains", [domain("acme.test"), domain("Shop.Acme.test")]
    )

    # Then the domains changed, the rest did not, and the version moved on by one
    assert [d.name for d in document.config.domains] == ["acme.test", "shop.acme.test"]
    assert document.config.reverse_dns.enabled is True
    assert document.version == 4
    assert store.get(TENANT) == (document.config, 4)


def test_section_update_takes_models_as_well_as_json(store: FakeConfigStore) -> None:
    document = ConfigService(store).update_section(
        TENANT, "reverse_dns", ReverseDns(enabled=True, forward_confirmed=True)
    )

    assert document.config.reverse_dns.forward_confirmed is True
    assert [d.name for d in document.config.domains] == ["acme.test"]


def test_duplicate_domain_is_400_and_nothing_is_written(store: FakeConfigStore) -> None:
    with pytest.raises(ApiError) as error:
        ConfigService(store).update_section(
            TENANT, "domains", [domain("acme.test"), domain("ACME.test")]
        )

    assert raised(error) == (400, "invalid_config")
    assert error.value.message == "domains: acme.test is listed more than once."
    assert store.writes == []
    assert store.get(TENANT)[1] == 3


@pytest.mark.parametrize(
    ("section", "value", "named"),
    [
        ("domains", [domain("not a domain")], "domains[0].name: 'not a domain'"),
        (
            "domains",
            [domain("acme.test") | {"outbound": {"sending_servers": ["10.0.0.0/33"]}}],
            "domains[0].outbound.sending_servers[0]: '10.0.0.0/33'",
        ),
        ("ip_reputation", {"blocked_countries": ["JPN"]}, "ip_reputation.blocked_countries[0]"),
        ("ip_reputation", {"lists": {"spamhaus": True}}, "ip_reputation.lists.spamhaus: Input"),
        ("limits", {"max_message_bytes": 1}, "limits.max_message_bytes:"),
        (
            "limits",
            {"inbound": {"count_ip": {"limit": 10, "window_s": 10}}},
            "limits.inbound.count_ip.window_s:",
        ),
        ("reverse_dns", {"enabled": True, "fcrdns": True}, "Unknown field 'reverse_dns.fcrdns'"),
    ],
)
def test_invalid_section_is_400_naming_the_field(
    store: FakeConfigStore, section: Any, value: Any, named: str
) -> None:
    with pytest.raises(ApiError) as error:
        ConfigService(store).update_section(TENANT, section, value)

    assert raised(error) == (400, "invalid_config")
    assert named in error.value.message, error.value.message
    assert error.value.message.endswith(".")
    assert store.writes == []


def test_domain_of_another_tenant_is_409_domain_taken(store: FakeConfigStore) -> None:
    store.taken.add("example.com")

    with pytest.raises(ApiError) as error:
        ConfigService(store).update_section(
            TENANT, "domains", [domain("acme.test"), domain("example.com")]
        )

    assert raised(error) == (409, "domain_taken")
    assert "example.com" in error.value.message
    assert store.get(TENANT)[1] == 3


def test_replace_at_the_current_version_writes_the_whole_config(store: FakeConfigStore) -> None:
    document = ConfigService(store).replace(TENANT, {"domains": [domain("other.test")]}, 3)

    assert document.version == 4
    assert [d.name for d in document.config.domains] == ["other.test"]
    assert document.config.reverse_dns.enabled is False  # not given: the default


def test_replace_at_a_stale_version_is_409_and_nothing_is_written(store: FakeConfigStore) -> None:
    with pytest.raises(ApiError) as error:
        ConfigService(store).replace(TENANT, TenantConfig(), version=2)

    assert raised(error) == (409, "version_conflict")
    assert "version 2" in error.value.message
    assert store.writes == []


def test_replace_with_an_invalid_config_is_400(store: FakeConfigStore) -> None:
    with pytest.raises(ApiError) as error:
        ConfigService(store).replace(TENANT, {"limits": {"max_message_bytes": 1}}, 3)

    assert raised(error) == (400, "invalid_config")
    assert store.writes == []


def test_replace_with_a_domain_of_another_tenant_is_409(store: FakeConfigStore) -> None:
    store.taken.add("example.com")

    with pytest.raises(ApiError) as error:
        ConfigService(store).replace(TENANT, {"domains": [domain("example.com")]}, 3)

    assert raised(error) == (409, "domain_taken")


def test_section_update_retries_when_another_write_got_in_first(store: FakeConfigStore) -> None:
    # Given two writes by someone else between our reads and our writes
    store.interfere = 2

    # When a section is updated
    document = ConfigService(store).update_section(TENANT, "reverse_dns", {"enabled": False})

    # Then it is applied on top of the latest version
    assert document.version == 3 + 2 + 1
    assert store.get(TENANT) == (document.config, 6)
    assert len(store.writes) == 1


def test_section_update_gives_up_with_409_after_the_retries(store: FakeConfigStore) -> None:
    store.interfere = 1 + SECTION_RETRIES

    with pytest.raises(ApiError) as error:
        ConfigService(store).update_section(TENANT, "reverse_dns", {"enabled": False})

    assert raised(error) == (409, "version_conflict")
    assert store.writes == []


def test_unknown_section_is_a_programming_error(store: FakeConfigStore) -> None:
    with pytest.raises(ValueError, match="no configuration section"):
        ConfigService(store).update_section(TENANT, "spam", {})  # type: ignore[arg-type]
