"""Stage 3 SMTP client: one transaction to a downstream server, a reply per recipient."""

from __future__ import annotations

import _ssl
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any

from functions.deliver.routing import Server
from functions.deliver.tls_policy import OPPORTUNISTIC, TlsPolicy

NOT_CONNECTED = 0  # no reply from any server: treated as a temporary failure
NO_SMTPUTF8 = "5.6.7 The receiving server does not support internationalized addresses (SMTPUTF8)"


@dataclass(frozen=True)
class Reply:
    code: int
    text: str

    @property
    def accepted(self) -> bool:
        return 200 <= self.code < 300

    @property
    def permanent(self) -> bool:
        return 500 <= self.code < 600

    def __str__(self) -> str:
        return f"{self.code} {self.text}" if self.code else self.text


@dataclass
class Attempt:
    """What one delivery attempt to one route gave."""

    replies: dict[str, Reply]
    server: str = ""  # the name of the server that answered
    peer_ip: str = ""
    tls: str = "none"
    cipher: str = ""
    dane: str = ""  # "yes" / "no" once TLS was looked at (an MX destination)
    mta_sts: str = ""
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _reply(code: int, text: bytes | str) -> Reply:
    message = text.decode(errors="replace") if isinstance(text, bytes) else text
    return Reply(code, " ".join(message.split()))


def _all(recipients: list[str], reply: Reply) -> dict[str, Reply]:
    return dict.fromkeys(recipients, reply)


def _transaction(
    smtp: smtplib.SMTP, sender: str, recipients: list[str], raw: bytes
) -> dict[str, Reply]:
    options: list[str] = []
    if not all(address.isascii() for address in (sender, *recipients)):
        # RFC 6531 3.4: internationalized addresses need a server that offers SMTPUTF8.
        if not smtp.has_extn("smtputf8"):
            return _all(recipients, Reply(553, NO_SMTPUTF8))
        options = ["SMTPUTF8"]
    code, text = smtp.mail(sender, options)
    if code != 250:
        return _all(recipients, _reply(code, text))
    replies: dict[str, Reply] = {}
    for recipient in recipients:
        code, text = smtp.rcpt(recipient)
        replies[recipient] = _reply(code, text)
    accepted = [r for r, reply in replies.items() if reply.accepted]
    if not accepted:
        smtp.rset()
        return replies
    code, text = smtp.data(raw)
    replies.update(_all(accepted, _reply(code, text)))
    return replies


def deliver(
    servers: list[Server],
    sender: str,
    recipients: list[str],
    raw: bytes,
    policy: TlsPolicy = OPPORTUNISTIC,
    *,
    helo: str,
    timeout: float,
) -> Attempt:
    """Try each server in order until one answers. STARTTLS whenever offered; a server that
    cannot give the TLS ``policy`` requires is passed over, never sent the message."""
    attempt = Attempt(replies={})
    checks = policy.authentication
    for server in servers:
        refusal = checks.refusal(server.name) if checks else ""
        if refusal:
            attempt.errors.append(f"{_where(server)}: {refusal}")
            continue
        smtp: smtplib.SMTP | None = None
        try:
            smtp = smtplib.SMTP(server.address, server.port, local_hostname=helo, timeout=timeout)
            smtp.ehlo()
            verdict = None
            if smtp.has_extn("starttls"):
                smtp.starttls(context=policy.context())
                smtp.ehlo()
                if checks is not None:
                    verdict = checks.check(server.name, _chain(smtp.sock))
            elif policy.required:
                _quit(smtp)
                attempt.errors.append(f"{_where(server)}: does not offer STARTTLS")
                continue
            elif checks is not None:
                verdict = checks.without_tls(server.name)
            if verdict is not None:
                if verdict.refusal:
                    _quit(smtp)
                    attempt.errors.append(f"{_where(server)}: {verdict.refusal}")
                    continue
                attempt.dane, attempt.mta_sts = verdict.dane, verdict.mta_sts
                attempt.notes = list(verdict.notes)
            _describe(attempt, server, smtp.sock)
            attempt.replies = _transaction(smtp, sender, recipients, raw)
        except smtplib.SMTPResponseException as error:
            if smtp is not None:
                smtp.close()
            attempt.errors.append(f"{_where(server)}: {error.smtp_code} {error.smtp_error!r}")
            attempt.replies = _all(recipients, _reply(error.smtp_code, error.smtp_error))
            if attempt.replies[recipients[0]].permanent:
                return attempt
        except (OSError, smtplib.SMTPException) as error:
            if smtp is not None:
                smtp.close()
            attempt.errors.append(f"{_where(server)}: {error or type(error).__name__}")
        else:
            _quit(smtp)
            return attempt
    if not attempt.replies:
        detail = "; ".join(attempt.errors) or "no server to deliver to"
        failure = f"TLS required by {policy.reason}, not sent" if policy.required else ""
        refused = "not sent" if checks is not None and not failure else ""
        text = f"{failure or refused or 'could not connect'}: {detail}"
        attempt.replies = _all(recipients, Reply(NOT_CONNECTED, text))
    return attempt


def _chain(sock: Any) -> list[bytes]:
    """The certificates the server sent, its own first (DER). Python 3.13 names it in public;
    before, the same call sits on the SSL object."""
    public = getattr(sock, "get_unverified_chain", None)
    if public is not None:
        return list(public())
    certificates = sock._sslobj.get_unverified_chain() or []
    return [c.public_bytes(_ssl.ENCODING_DER) for c in certificates]


def _where(server: Server) -> str:
    address = f"[{server.address}]" if ":" in server.address else server.address
    name = f"{server.name} " if server.name != server.address else ""
    return f"{name}{address}:{server.port}"


def _describe(attempt: Attempt, server: Server, sock: object) -> None:
    attempt.server = server.name
    attempt.peer_ip = sock.getpeername()[0] if isinstance(sock, socket.socket) else ""
    if isinstance(sock, ssl.SSLSocket):
        attempt.tls = str(sock.version())
        cipher = sock.cipher()
        attempt.cipher = cipher[0] if cipher else ""
    else:
        attempt.tls, attempt.cipher = "none", ""


def _quit(smtp: smtplib.SMTP) -> None:
    # The transaction is over: whatever QUIT gets in reply cannot change its outcome.
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()
