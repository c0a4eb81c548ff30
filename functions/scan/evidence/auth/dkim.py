"""DKIM (RFC 6376) through dkimpy: every signature of the message verified, its key read
through the configured resolvers. A DNS error is a ``temperror``, never a ``fail``."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import dkim
import dns.resolver

from mailgate.dns import DnsUnavailable, txt_records

_FAILED = ("mismatch", "past", "future")
MAX_SIGNATURES = 10  # more are not verified (each costs a DNS look-up and a hash)


@dataclass(frozen=True)
class DkimResult:
    result: str  # pass, fail, permerror, temperror (RFC 8601 2.7.1)
    domain: str  # the signature's d=
    selector: str
    reason: str = ""


class _Errors(logging.Handler):
    """Keeps what dkimpy logs as the reason a signature did not verify."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _text(value: bytes | None) -> str:
    return (value or b"").decode("ascii", "replace").lower()


def check(raw: bytes, resolver: dns.resolver.Resolver) -> list[DkimResult]:
    """One result per DKIM-Signature field, top first (at most ``MAX_SIGNATURES``)."""

    def key_record(name: bytes, timeout: float = 5) -> bytes | None:
        records = txt_records(name.decode("ascii", "replace"), resolver)
        return records[0] if records else None

    errors = _Errors()
    logger = logging.Logger("dkim-verify")
    logger.addHandler(errors)
    try:
        verifier = dkim.DKIM(raw, logger=logger)
        count = sum(1 for name, _ in verifier.headers if name.lower() == b"dkim-signature")
    except Exception as error:  # a message dkimpy cannot even read
        return [DkimResult("permerror", "", "", f"unreadable message: {error}")]
    results: list[DkimResult] = []
    for index in range(min(count, MAX_SIGNATURES)):
        errors.messages.clear()
        verifier.domain = verifier.selector = None
        try:
            valid = verifier.verify(idx=index, dnsfunc=key_record)
        except DnsUnavailable as error:
            result, reason = "temperror", str(error)
        except dkim.ValidationError as error:
            # dkimpy says why only in words: a body that does not match or a signature out of
            # its time failed; a malformed signature cannot be verified at all.
            reason = str(error)
            result = "fail" if any(w in reason for w in _FAILED) else "permerror"
        except dkim.DKIMException as error:
            result, reason = "permerror", str(error)
        except Exception as error:  # a signature dkimpy cannot parse
            result, reason = "permerror", f"{type(error).__name__}: {error}"
        else:
            reason = "; ".join(errors.messages)
            result = "pass" if valid else ("permerror" if "public key" in reason else "fail")
        domain, selector = _text(verifier.domain), _text(verifier.selector)
        results.append(DkimResult(result, domain, selector, reason))
    return results
