"""The SIEM feed: a tenant's policy events and blocked-traffic rows in the order they were
written (``mailgate.storage.feed``), a page of lines at a time, resumed by a signed cursor.

A cursor is a position in that order: it stays valid as long as the records (the 90-day
retention), and the next page starts exactly after the last line given. A page reads only what
was written up to ``SETTLE`` ago, so that a write stamped just before a read but reaching the
index just after it is still ahead of the cursor; a page that is not full moves the cursor to
that mark, so an idle tenant's next poll reads from there, not from its last line's day."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import islice

from mailgate.api.errors import BadRequest
from mailgate.clock import iso, utcnow
from mailgate.export import siem
from mailgate.resources import RETENTION_DAYS
from mailgate.search.cursor import CursorSigner, invalid_cursor, query_digest
from mailgate.storage.feed import position_day, upper_bound
from mailgate.storage.policy_events import PolicyEventStore
from mailgate.storage.tracking import TrackingStore

SETTLE = timedelta(minutes=2)
FIRST_PAGE_SINCE = timedelta(hours=24)  # without a cursor or ``since``
_DIGEST = query_digest({"feed": "events"})  # a search's cursor does not continue the feed


@dataclass(frozen=True)
class FeedPage:
    lines: list[str]
    cursor: str


class FeedService:
    def __init__(
        self, events: PolicyEventStore, tracking: TrackingStore, signer: CursorSigner
    ) -> None:
        self._events = events
        self._tracking = tracking
        self._signer = signer

    def page(
        self,
        tenant_id: str,
        format: siem.FeedFormat,
        limit: int,
        cursor: str | None = None,
        since: datetime | None = None,
    ) -> FeedPage:
        """Up to ``limit`` lines written after the cursor's position (or after ``since``, or
        in the last 24 hours), and the cursor of the last."""
        now = utcnow()
        settled = now - SETTLE
        upto = upper_bound(iso(settled))
        after = self._start(tenant_id, cursor, since, now)
        day = max(position_day(after), (now - timedelta(days=RETENTION_DAYS)).date())
        lines: list[str] = []
        last = after
        while day <= settled.date() and len(lines) < limit:
            for position, record in islice(
                self._written(tenant_id, day, after, upto), limit - len(lines)
            ):
                lines.append(siem.line(record, format))
                last = position
            day += timedelta(days=1)
        if len(lines) < limit:  # everything up to the settle mark was read
            last = max(last, upto)
        return FeedPage(lines, self._signer.encode(tenant_id, _DIGEST, {"after": last}))

    def _written(
        self, tenant_id: str, day: date, after: str, upto: str
    ) -> Iterator[tuple[str, siem.FeedRecord]]:
        events = self._events.written(tenant_id, day, after, upto)
        blocked = self._tracking.blocked_written(tenant_id, day, after, upto)
        return heapq.merge(events, blocked, key=lambda written: written[0])

    def _start(
        self, tenant_id: str, cursor: str | None, since: datetime | None, now: datetime
    ) -> str:
        if cursor and since:
            raise BadRequest("invalid_request", "Give a cursor or since, not both.")
        if not cursor:
            return iso(since or now - FIRST_PAGE_SINCE)
        after = self._signer.decode(cursor, tenant_id, _DIGEST).get("after")
        if not isinstance(after, str):
            raise invalid_cursor()
        try:
            position_day(after)
        except ValueError as error:
            raise invalid_cursor() from error
        return after
