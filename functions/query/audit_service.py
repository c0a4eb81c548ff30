"""A tenant's audit trail through the API: filtered by period, actor and action, paged with a
cursor signed for the tenant and the filters."""

from __future__ import annotations

from datetime import datetime

from mailgate.api.models import AuditItem, AuditPage
from mailgate.clock import iso, utcnow
from mailgate.search import audit
from mailgate.search.cursor import CursorSigner, query_digest
from mailgate.search.pager import CursorState


class AuditService:
    def __init__(self, trail: audit.AuditTrail, signer: CursorSigner) -> None:
        self._trail = trail
        self._signer = signer

    def search(
        self,
        tenant_id: str,
        period: str | None,
        start: datetime | None,
        end: datetime | None,
        where: audit.AuditFilter,
        limit: int,
        cursor: str | None,
    ) -> AuditPage:
        digest = query_digest(
            {"period": period, "start": start, "end": end, "actor": where.actor, "a": where.action}
        )
        if cursor:
            position = CursorState.from_json(self._signer.decode(cursor, tenant_id, digest))
        else:
            position = CursorState(audit.audit_period(period, start, end, utcnow()))
        page = audit.search(self._trail, tenant_id, where, position, limit)
        return AuditPage(
            items=[
                AuditItem.model_validate(
                    entry.model_dump(exclude={"tenant_id", "entry_id", "time"})
                    | {"time": iso(entry.time)}
                )
                for entry in page.rows
            ],
            next_cursor=None
            if page.next is None
            else self._signer.encode(tenant_id, digest, page.next.to_json()),
        )
