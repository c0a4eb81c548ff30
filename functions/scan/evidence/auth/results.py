"""The ``Authentication-Results`` field (RFC 8601) that reports the checks on the delivered
message."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .dkim import DkimResult
from .dmarc import DmarcResult
from .spf import SpfResult

FIELD = "Authentication-Results"
_TOKEN_UNSAFE = re.compile(r"[^A-Za-z0-9.!#$%&'*+/=?^_`{|}~@-]")


def _value(text: str) -> str:
    """A property value: as is when it is a plain token, else a quoted string."""
    text = "".join(ch for ch in text if ch.isprintable())[:200]
    if text and not _TOKEN_UNSAFE.search(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _comment(text: str) -> str:
    text = "".join(ch for ch in text if ch.isprintable())[:200]
    return "(" + re.sub(r"([()\\])", r"\\\1", text) + ")"


def field_value(
    authserv_id: str,
    spf: SpfResult | None,
    signatures: Sequence[DkimResult] | None,
    dmarc: DmarcResult | None,
) -> str:
    """What was checked, one method per line (folded); ``none`` when nothing was."""
    parts: list[str] = []
    if spf is not None:
        identity = "smtp.mailfrom" if spf.identity == "mailfrom" else "smtp.helo"
        parts.append(f"spf={spf.result} {identity}={_value(spf.domain)}")
    if signatures is not None:
        if not signatures:
            parts.append("dkim=none")
        for signature in signatures:
            reason = f" {_comment(signature.reason)}" if signature.result != "pass" else ""
            parts.append(
                f"dkim={signature.result}{reason} header.d={_value(signature.domain)} "
                f"header.s={_value(signature.selector)}"
            )
    if dmarc is not None:
        policy = f" {_comment('p=' + dmarc.policy)}" if dmarc.result == "fail" else ""
        parts.append(f"dmarc={dmarc.result}{policy} header.from={_value(dmarc.from_domain)}")
    if not parts:
        return f"{authserv_id}; none"
    return authserv_id + ";\r\n\t" + ";\r\n\t".join(parts)
