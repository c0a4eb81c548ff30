"""A tenant's configuration through the API: read it, replace it whole (optimistically, at the
version the caller read) or replace one section (read, change, write; retried when another
write got in between). Invalid input and clashes become API errors; nothing is written then."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol, get_args

from pydantic import ValidationError
from pydantic_core import to_jsonable_python

from mailgate.api.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    PayloadTooLarge,
    validation_sentence,
)
from mailgate.api.models import ConfigDocument
from mailgate.catalog import Direction
from mailgate.ports import TenantConfigs
from mailgate.storage.tenants import (
    MAX_CONFIG_BYTES,
    ConfigConflict,
    ConfigTooLarge,
    DomainTaken,
)
from mailgate.tenant_config import TenantConfig

Section = Literal[
    "domains",
    "sender_filter",
    "ip_reputation",
    "tls_peers",
    "outbound_tls_peers",
    "reverse_dns",
    "limits",
    "policies",
    "threat_protection",
    "domain_auth",
]
SECTIONS: tuple[Section, ...] = get_args(Section)
# A section update re-reads and writes again this many times when another write got in first.
SECTION_RETRIES = 3


class ConfigStore(TenantConfigs, Protocol):
    """What ``mailgate.storage.tenants.TenantConfigStore`` offers."""

    def put(self, tenant_id: str, config: TenantConfig, expected_version: int) -> int: ...


def _invalid(error: ValidationError) -> BadRequest:
    first = error.errors()[0]
    return BadRequest(
        "invalid_config", validation_sentence(first["loc"], first["type"], first["msg"])
    )


def _validated(data: Mapping[str, Any]) -> TenantConfig:
    try:
        return TenantConfig.model_validate(to_jsonable_python(data))
    except ValidationError as error:
        raise _invalid(error) from error


def _keep_fixed_rules(old: TenantConfig, new: TenantConfig) -> None:
    """A rule that is not editable (the outbound global spam rule) stays as it is, in every
    write that replaces the rules."""
    for direction in Direction:
        kept = {rule.id: rule for rule in new.policies.rules(direction)}
        for rule in old.policies.rules(direction):
            if not rule.editable and kept.get(rule.id) != rule:
                raise Forbidden(
                    "rule_not_editable",
                    f"The rule '{rule.name}' is always on and cannot be changed or deleted.",
                )


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(
        "config_too_large",
        f"The configuration would be over {MAX_CONFIG_BYTES:,} bytes; shorten its lists "
        "(keywords, addresses) or use fewer rules.",
    )


def _domain_taken(error: DomainTaken) -> Conflict:
    return Conflict(
        "domain_taken",
        f"The domain {error.name} is managed by another tenant; remove it from this "
        "configuration, or have that tenant remove it first.",
    )


class ConfigService:
    def __init__(self, store: ConfigStore) -> None:
        self._store = store

    def get(self, tenant_id: str) -> ConfigDocument:
        config, version = self._store.get(tenant_id)
        return ConfigDocument(version=version, config=config)

    def replace(
        self, tenant_id: str, config: TenantConfig | Mapping[str, Any], version: int
    ) -> ConfigDocument:
        """The whole configuration, written only if it is still at ``version``."""
        new = config if isinstance(config, TenantConfig) else _validated(config)
        _keep_fixed_rules(self._store.get(tenant_id)[0], new)
        try:
            new_version = self._store.put(tenant_id, new, expected_version=version)
        except ConfigConflict as error:
            raise Conflict(
                "version_conflict",
                f"The configuration is no longer at version {version}; read it again with "
                "GET /v1/config and apply your change to the current version.",
            ) from error
        except DomainTaken as error:
            raise _domain_taken(error) from error
        except ConfigTooLarge as error:
            raise _too_large() from error
        return ConfigDocument(version=new_version, config=new)

    def update_section(self, tenant_id: str, section: Section, value: Any) -> ConfigDocument:
        """``section`` replaced by ``value`` (a model or its JSON form); the others are kept."""
        if section not in SECTIONS:
            raise ValueError(f"no configuration section {section!r}")
        return self.modify(
            tenant_id, lambda current: current.model_dump(mode="json") | {section: value}
        )

    def modify(
        self, tenant_id: str, change: Callable[[TenantConfig], Mapping[str, Any]]
    ) -> ConfigDocument:
        """Read, change (the JSON form of the new configuration), validate, write; again from
        the read when another write got in between. ``change`` may raise an API error."""
        for _attempt in range(1 + SECTION_RETRIES):
            current, version = self._store.get(tenant_id)
            new = _validated(change(current))
            _keep_fixed_rules(current, new)
            try:
                new_version = self._store.put(tenant_id, new, expected_version=version)
            except ConfigConflict:
                continue
            except DomainTaken as error:
                raise _domain_taken(error) from error
            except ConfigTooLarge as error:
                raise _too_large() from error
            return ConfigDocument(version=new_version, config=new)
        raise Conflict(
            "version_conflict",
            "The configuration kept changing while this change was being applied; try again.",
        )
