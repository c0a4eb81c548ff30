"""Mail tracking search and detail for one tenant: the logic behind the routes."""

from __future__ import annotations

from datetime import datetime

from mailgate.api.errors import BadRequest, NotFound
from mailgate.api.models import (
    AcceptedItem,
    BlockedItem,
    Delivery,
    EvaluatedPolicy,
    Event,
    Processing,
    Received,
    ReconcilePeriod,
    RelatedRows,
    Retrying,
    Summary,
    TrackingDetail,
    TrackingPage,
    TrackingReconcile,
    TrackingReconciliation,
    TrackingSearch,
    UnaccountedRow,
)
from mailgate.catalog import (
    BLOCK_REASONS,
    EXPORT_ALL_MAX_ROWS,
    FINAL_STATUSES,
    MAX_PAGE_SIZE,
    BlockReason,
    Direction,
    Status,
    TrackingType,
)
from mailgate.clock import iso, utcnow
from mailgate.records import TimelineEvent, TrackingRow
from mailgate.search import period as periods
from mailgate.search import reconcile
from mailgate.search import tracking as tracking_search
from mailgate.search.cursor import CursorSigner
from mailgate.search.index_keys import message_ids
from mailgate.search.matching import NULL_SENDER
from mailgate.search.signed_paging import SignedPaging, coverage
from mailgate.storage.tracking import TrackingStore


def _sender(row: TrackingRow) -> str:
    return row.sender or NULL_SENDER


def to_item(row: TrackingRow) -> AcceptedItem | BlockedItem:
    common = {
        "message_uuid": row.message_uuid,
        "time": iso(row.time),
        "direction": row.direction,
        "sender": _sender(row),
        "recipient": row.recipient,
        "sender_ip": row.sender_ip,
        "upstream_tls": row.upstream_tls,
    }
    if row.type is TrackingType.BLOCKED:
        code = row.block_reason or BlockReason.OTHER
        reason = BlockReason(code)
        return BlockedItem(
            **common,
            block_reason=reason,
            reason=BLOCK_REASONS[reason].label.en,
            smtp_reply=row.smtp_reply,
        )
    return AcceptedItem(
        **common,
        status=row.status or Status.PROCESSING,
        subject=row.subject,
        delivered_to=row.delivered_to,
        downstream_tls=row.downstream_tls,
        size_kb=row.size_kb,
        message_id=row.message_id,
        header_from=row.header_from,
        header_to=row.header_to,
    )


def _iso_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else iso(moment)


class TrackingService:
    def __init__(self, store: TrackingStore, signer: CursorSigner) -> None:
        self._store = store
        self._signer = signer

    def search(self, tenant_id: str, request: TrackingSearch) -> TrackingPage:
        paging = SignedPaging.of(self._signer, tenant_id, request)
        start = paging.start(request.cursor, request.period)
        query = tracking_search.query_of(tenant_id, request)
        page = tracking_search.search(self._store, query, start)
        return TrackingPage(
            items=[to_item(row) for row in page.rows],
            next_cursor=paging.cursor(page.next),
            **coverage(start, page),
        )

    def reconcile(self, tenant_id: str, request: TrackingReconcile) -> TrackingReconciliation:
        now = utcnow()
        period = periods.requested(request.period, now)
        directions = [request.direction] if request.direction else list(Direction)
        rows = (
            row
            for direction in directions
            for row in tracking_search.all_rows(
                self._store,
                tracking_search.TrackingQuery(
                    tenant_id, direction, TrackingType.ACCEPTED, "asc", MAX_PAGE_SIZE
                ),
                period,
            )
        )
        found = reconcile.reconcile(rows, now, EXPORT_ALL_MAX_ROWS)
        return TrackingReconciliation(
            period=ReconcilePeriod(start=iso(period.start), end=iso(period.end)),
            accepted=found.accepted,
            final={status: found.final[status] for status in Status if status in FINAL_STATUSES},
            retrying=Retrying(
                count=found.retrying,
                next_attempt_soonest=_iso_or_none(found.next_attempt_soonest),
                next_attempt_latest=_iso_or_none(found.next_attempt_latest),
            ),
            dead_lettered=found.dead_lettered,
            held={status: found.held[status] for status in Status if status in reconcile.HELD},
            in_flight=found.in_flight,
            unaccounted=len(found.unaccounted),
            unaccounted_rows=[
                UnaccountedRow(
                    message_uuid=row.message_uuid,
                    recipient=row.recipient,
                    direction=row.direction,
                    time=iso(row.time),
                    status=row.status or Status.PROCESSING,
                    why=why,
                )
                for row, why in found.unaccounted[:MAX_PAGE_SIZE]
            ],
            truncated=found.truncated,
        )

    def related(self, tenant_id: str, message_uuid: str) -> RelatedRows:
        """The rows of other messages with the same Message-ID as this one, or with the one it
        was written about (a notification or DSN and the message it reports on)."""
        rows, _ = self._store.message(tenant_id, message_uuid)
        if not rows:
            raise NotFound("message_not_found", f"No message {message_uuid} in your logs.")
        wanted = MAX_PAGE_SIZE + len(rows) + 1  # its own rows are among those found
        keys = dict.fromkeys(
            key
            for message_id in dict.fromkeys(i for row in rows for i in message_ids(row))
            for key in self._store.keys_by_message_id(tenant_id, message_id, wanted)
            if key[0] != message_uuid
        )
        found = self._store.rows(tenant_id, list(keys)[:MAX_PAGE_SIZE])
        found.sort(key=lambda row: (row.time, row.message_uuid, row.recipient))
        return RelatedRows(
            rows=[to_item(row) for row in found], truncated=len(keys) > MAX_PAGE_SIZE
        )

    def detail(self, tenant_id: str, message_uuid: str, recipient: str | None) -> TrackingDetail:
        rows, events = self._store.message(tenant_id, message_uuid)
        if not rows:
            raise NotFound("message_not_found", f"No message {message_uuid} in your logs.")
        if recipient is None:
            if len(rows) > 1:
                listed = ", ".join(row.recipient for row in rows)
                raise BadRequest(
                    "recipient_required",
                    f"This message has several recipients; add ?recipient= one of: {listed}.",
                )
            row = rows[0]
        else:
            matching = [r for r in rows if r.recipient.lower() == recipient.lower()]
            if not matching:
                raise NotFound(
                    "recipient_not_found", f"Message {message_uuid} has no recipient {recipient}."
                )
            row = matching[0]
        mine = [e for e in events if e.recipient.lower() in ("", row.recipient.lower())]
        return TrackingDetail(
            message_uuid=message_uuid,
            summary=Summary(
                time=iso(row.time),
                direction=row.direction,
                sender=_sender(row),
                recipient=row.recipient,
                header_from=row.header_from,
                header_to=row.header_to,
                reply_to=row.reply_to,
                subject=row.subject,
                message_id=row.message_id,
                size=row.size,
            ),
            processing=Processing(
                received=Received(
                    time=iso(row.time), sender_ip=row.sender_ip, helo=row.helo, tls=row.upstream_tls
                ),
                evaluated_policies=[
                    EvaluatedPolicy(rule=e.rule, result=e.result) for e in mine if e.rule
                ],
                delivery=_delivery(row, mine),
            ),
            attachments=row.attachments,
            events=[
                Event(
                    time=iso(e.time),
                    stage=e.stage,
                    event=e.event,
                    recipient=e.recipient,
                    detail=e.detail,
                    server=e.server,
                    ip=e.ip,
                    tls=e.tls,
                    cipher=e.cipher,
                    reply=e.reply,
                    next_attempt_at=iso(e.next_attempt_at) if e.next_attempt_at else None,
                    dane=e.dane,
                    mta_sts=e.mta_sts,
                )
                for e in mine
            ],
        )


def _delivery(row: TrackingRow, events: list[TimelineEvent]) -> Delivery:
    status = row.status or Status.PROCESSING
    attempts = [e for e in events if e.stage == "deliver"]
    last = attempts[-1] if attempts else None
    return Delivery(
        status=status,
        time=iso(last.time) if last else None,
        server=row.downstream_server or None,
        ip=row.delivered_to or (last.ip if last else "") or None,
        tls=row.downstream_tls or None,
        cipher=row.downstream_cipher or None,
        reply=row.downstream_reply or None,
        next_attempt_at=iso(row.next_attempt_at) if row.next_attempt_at else None,
        dane=row.downstream_dane or None,
        mta_sts=row.downstream_mta_sts or None,
        undelivered=status is not Status.DELIVERED,
    )
