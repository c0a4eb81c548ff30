"""Validated field types shared by the tenant configuration and its policy rules."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
DOMAIN_RE = re.compile(rf"^(?:{_LABEL}\.)+[a-z]{{2,63}}$")
# An address pattern: "*" stands for any run of characters (e.g. "*@example.com").
PATTERN_RE = re.compile(r"^[^\s<>()\[\],;:\\\"]{1,320}$")


def valid_domain(value: str) -> str:
    name = value.strip().lower().rstrip(".")
    if not DOMAIN_RE.match(name) or len(name) > 253:
        raise ValueError(f"'{value}' is not a domain name")
    return name


def _pattern(value: str) -> str:
    text = value.strip().lower()
    if not PATTERN_RE.match(text):
        raise ValueError(f"'{value}' is not an address or a pattern such as *@example.com")
    return text


def valid_network(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError as error:
        raise ValueError(f"'{value}' is not an IP address or CIDR block") from error


def _country(value: str) -> str:
    code = value.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", code):
        raise ValueError(f"'{value}' is not a two-letter country code (ISO 3166-1)")
    return code


DomainName = Annotated[str, AfterValidator(valid_domain)]
AddressPattern = Annotated[str, AfterValidator(_pattern)]
Network = Annotated[str, AfterValidator(valid_network)]
Country = Annotated[str, AfterValidator(_country)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MailServer(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(min_length=1, max_length=253)
    port: int = Field(25, ge=1, le=65535)


def pattern_matches(pattern: str, address: str) -> bool:
    """Case-insensitive on ``address``; "*" matches any run of one or more characters, so
    "*@*.example.com" needs at least one label before example.com. Greedy with one step back
    to the last "*": time grows with len(pattern) * len(address) at worst, never
    exponentially, whatever the pattern (a regex of many ".+" would backtrack without bound)."""
    text = address.lower()
    # Each "*" is one required character (None) followed by an optional run ("").
    tokens: list[str | None] = []
    for char in pattern:
        tokens.extend((None, "") if char == "*" else (char,))
    p = t = 0
    star, mark = -1, 0
    while t < len(text):
        if p < len(tokens) and tokens[p] == "":
            star, mark = p, t
            p += 1
        elif p < len(tokens) and (tokens[p] is None or tokens[p] == text[t]):
            p += 1
            t += 1
        elif star >= 0:
            mark += 1
            p, t = star + 1, mark
        else:
            return False
    while p < len(tokens) and tokens[p] == "":
        p += 1
    return p == len(tokens)


def in_networks(ip: str, networks: list[str] | tuple[object, ...]) -> bool:
    """Whether ``ip`` is in one of ``networks``; an address that is not one is in none."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(str(network)) for network in networks)
