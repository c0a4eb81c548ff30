"""A tenant's configuration through the API: read it, replace it whole (optimistically, at the
version the caller read) or replace one section (read, change, write; retried when another
write got in between). Invalid input and clashes become API errors; nothing is written then."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol, get_args

from pydantic import ValidationError
from pydantic_core import to_jsonable_python

from mailgate.api.errors import BadRequest, Conflict, validation_sentence
from mailgate.api.models import ConfigDocument
from mailgate.ports import TenantConfigs
from mailgate.storage.tenants import ConfigConflict, DomainTaken
from mailgate.tenant_config import TenantConfig

Section = Literal[
    "domains",
    "sender_filter",
    "ip_reputation",
    "tls_peers",
    "outbound_tls_peers",
    "reverse_dns",
    "limits",
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
        return ConfigDocument(version=new_version, config=new)

    def update_section(self, tenant_id: str, section: Section, value: Any) -> ConfigDocument:
        """``section`` replaced by ``value`` (a model or its JSON form); the others are kept."""
        if section not in SECTIONS:
            raise ValueError(f"no configuration section {section!r}")
        for _attempt in range(1 + SECTION_RETRIES):
            current, version = self._store.get(tenant_id)
            new = _validated(current.model_dump(mode="json") | {section: value})
            try:
                new_version = self._store.put(tenant_id, new, expected_version=version)
            except ConfigConflict:
                continue
            except DomainTaken as error:
                raise _domain_taken(error) from error
            return ConfigDocument(version=new_version, config=new)
        raise Conflict(
            "version_conflict",
            "The configuration kept changing while this change was being applied; try again.",
        )
