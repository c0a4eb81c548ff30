"""Blocked traffic: every stage-1 refusal becomes one row per refused recipient (or one with an
empty recipient when refused before RCPT), findable with ``type: "blocked"``. Nothing is
stored in S3 for a refused message."""

from __future__ import annotations

import logging

from functions.receive.checks import Refusal, Transaction
from mailgate.clock import utcnow
from mailgate.ports import Tracking
from mailgate.records import TrackingRow

log = logging.getLogger(__name__)


class BlockedLog:
    def __init__(self, tracking: Tracking) -> None:
        self._tracking = tracking

    def record(
        self, tx: Transaction, refusal: Refusal, message_uuid: str, recipients: list[str]
    ) -> None:
        now = utcnow()
        rows = [
            TrackingRow.blocked(
                tx.peer,
                tenant_id=tx.tenant_id,
                message_uuid=message_uuid,
                recipient=recipient,
                time=now,
                sender=tx.sender,
                size=len(tx.raw) or (tx.declared_size or 0),
                reason=refusal.reason,
                reply=refusal.reply,
            )
            for recipient in recipients
        ]
        try:
            self._tracking.add(rows, [])
        except Exception:  # the refusal stands even when its log row cannot be written
            log.exception(
                "could not log a blocked message",
                extra={"tenant": tx.tenant_id, "message_uuid": message_uuid},
            )
