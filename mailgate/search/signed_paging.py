"""Where a search request's page starts and what cursor it hands back: the first page
resolves the period, later pages come back with a cursor signed for the tenant and the query
(everything in the request but ``cursor`` and ``limit``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import BaseModel

from mailgate.api.models import CustomPeriod, Preset
from mailgate.clock import iso, utcnow
from mailgate.search import period as periods
from mailgate.search.cursor import CursorSigner, query_digest
from mailgate.search.pager import CursorState, Page

# A record is stored within this long of the instant it carries, which a search's ``as_of``
# leaves out: the SMTP front writes a row during the hand-off it finishes before answering
# "250" (seconds), stage 2 writes an event as it detects it, and the by_time index follows the
# table within a second.
STORED_WITHIN = timedelta(seconds=30)


@dataclass(frozen=True)
class SignedPaging:
    signer: CursorSigner
    tenant_id: str
    digest: str

    @classmethod
    def of(cls, signer: CursorSigner, tenant_id: str, request: BaseModel) -> SignedPaging:
        digest = query_digest(request.model_dump(mode="json", exclude={"cursor", "limit"}))
        return cls(signer, tenant_id, digest)

    def start(self, cursor: str | None, period: Preset | CustomPeriod) -> CursorState:
        if cursor:
            return CursorState.from_json(self.signer.decode(cursor, self.tenant_id, self.digest))
        now = utcnow()
        return CursorState(periods.requested(period, now), as_of=now - STORED_WITHIN)

    def cursor(self, next: CursorState | None) -> str | None:
        if next is None:
            return None
        return self.signer.encode(self.tenant_id, self.digest, next.to_json())


def coverage(start: CursorState, page: Page[Any]) -> dict[str, str | None]:
    """The ``Coverage`` fields of a page read from ``start``."""
    until = page.searched_until
    return {
        "as_of": iso(start.complete_until),
        "searched_until": None if until is None else iso(until),
    }
