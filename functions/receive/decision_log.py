"""One structured log line per SMTP transaction decision, what an operator greps for.

A refusal at MAIL, RCPT or the end of DATA gives one line (one per refusing tenant at the end
of DATA, each with the uuid of its blocked-traffic rows); an acceptance gives one line per
queued message (a transaction for several tenants queues one message each). Envelope and
connection facts only, never the message's content or subject.
"""

from __future__ import annotations

import time
from typing import Literal

from functions.receive.admission import Refused
from functions.receive.intake import Accepted
from mailgate.observability import logger
from mailgate.peer import Peer

Command = Literal["MAIL", "RCPT", "DATA"]


def _log(
    decision: str,
    command: Command,
    peer: Peer,
    sender: str,
    reply: str,
    started: float,
    **facts: object,
) -> None:
    line: dict[str, object] = {
        "decision": decision,
        "smtp_command": command,
        "tenant": facts.pop("tenant", None),
        "message_uuid": facts.pop("message_uuid", None),
        "direction": peer.direction.value,
        "client_ip": peer.ip,
        "helo": peer.helo or None,
        "tls": peer.tls,
        "sender": sender or "<>",
        **facts,
        "reply": reply,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    logger.info(f"smtp {decision}", extra={k: v for k, v in line.items() if v is not None})


def refused(
    command: Command,
    peer: Peer,
    sender: str,
    refusal: Refused,
    started: float,
    *,
    recipients: dict[str, int] | int = 0,
    size: int | None = None,
    recipient: str | None = None,
) -> str:
    """Logs the refusal and gives the reply that answers it. ``recipients``: how many were
    refused, by tenant when the refusal has tenants."""
    for tenant, message_uuid in refusal.blocked.items() or [(None, None)]:
        count = recipients if isinstance(recipients, int) else recipients.get(tenant or "", 0)
        _log(
            "refused",
            command,
            peer,
            sender,
            refusal.reply,
            started,
            tenant=tenant,
            message_uuid=message_uuid,
            reason=refusal.reason.value if refusal.reason else None,
            recipients=count,
            recipient=recipient,
            size=size,
        )
    return refusal.reply


def accepted(
    peer: Peer, sender: str, queued: list[Accepted], reply: str, size: int, started: float
) -> None:
    for message in queued:
        _log(
            "accepted",
            "DATA",
            peer,
            sender,
            reply,
            started,
            tenant=message.tenant_id,
            message_uuid=message.message_uuid,
            recipients=len(message.recipients),
            size=size,
        )
