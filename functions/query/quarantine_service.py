"""The quarantine of one tenant: search, detail, release and delete.

A release moves the entry ``quarantined`` → ``releasing`` (conditionally: of two releases at
once only one wins) and queues a scan job that resumes stage 2 after the quarantining rule;
the scan stage marks it ``released``. A delete moves it to ``deleted``, sets the message's
tracking rows ``deleted`` and removes the raw message. Each message gets its own answer; a
message that is not, or no longer, in quarantine is never an error of the request.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from mailgate import quarantine_release
from mailgate.api.errors import NotFound
from mailgate.api.models import (
    MAX_BULK_MESSAGES,
    MAX_PAGE_SIZE,
    QuarantineAction,
    QuarantineDetail,
    QuarantineItem,
    QuarantineOutcome,
    QuarantinePage,
    QuarantineReport,
    QuarantineResult,
    QuarantineSearch,
)
from mailgate.api.resolver import Caller
from mailgate.catalog import Status
from mailgate.clock import iso, utcnow
from mailgate.observability import logger
from mailgate.policy.records import QuarantineEntry, QuarantineState
from mailgate.ports import Jobs, Mail, QuarantineIndex, Tracking
from mailgate.records import TimelineEvent
from mailgate.search import quarantine as quarantine_search
from mailgate.search.cursor import CursorSigner
from mailgate.search.matching import NULL_SENDER, MessageFilter
from mailgate.search.pager import CursorState
from mailgate.search.signed_paging import SignedPaging, coverage

# Messages acted on at once: each is a few conditional writes and a queue send or an object
# delete, and a bulk call of 10,000 must finish within API Gateway's 29 seconds.
WORKERS = 16
DELETED_EVENT_ID = "2-quarantine-deleted"


def _item_fields(entry: QuarantineEntry) -> dict[str, object]:
    return {
        "message_uuid": entry.message_uuid,
        "time": iso(entry.time),
        "received_at": iso(entry.received_at),
        "direction": entry.direction,
        "sender": entry.sender or NULL_SENDER,
        "recipients": entry.recipients,
        "subject": entry.subject,
        "reason": entry.threat_type,
        "subtype": entry.subtype,
        "rule_name": entry.rule_name,
        "size": entry.size,
        "state": entry.state,
    }


def _query(tenant_id: str, selection: QuarantineSearch) -> quarantine_search.QuarantineQuery:
    return quarantine_search.QuarantineQuery(
        tenant_id=tenant_id,
        direction=selection.direction,
        sort=selection.sort,
        limit=selection.limit,
        filter=quarantine_search.QuarantineFilter(
            message=MessageFilter(
                senders=tuple(selection.senders),
                recipients=tuple(selection.recipients),
                subject=selection.subject,
            ),
            reasons=frozenset(selection.reasons),
            rule_names=frozenset(name.lower() for name in selection.rule_names),
        ),
    )


class QuarantineService:
    def __init__(
        self,
        quarantine: QuarantineIndex,
        tracking: Tracking,
        mail: Mail,
        scan_queue: Jobs,
        signer: CursorSigner,
        workers: int = WORKERS,
    ) -> None:
        self._quarantine = quarantine
        self._tracking = tracking
        self._mail = mail
        self._scan_queue = scan_queue
        self._signer = signer
        self._workers = workers

    def search(self, tenant_id: str, request: QuarantineSearch) -> QuarantinePage:
        paging = SignedPaging.of(self._signer, tenant_id, request)
        start = paging.start(request.cursor, request.period)
        page = quarantine_search.search(self._quarantine, _query(tenant_id, request), start)
        return QuarantinePage(
            items=[QuarantineItem.model_validate(_item_fields(entry)) for entry in page.rows],
            next_cursor=paging.cursor(page.next),
            **coverage(start, page),
        )

    def detail(self, tenant_id: str, message_uuid: str) -> QuarantineDetail:
        entry = self._quarantine.entry(tenant_id, message_uuid)
        if entry is None:
            raise NotFound("message_not_found", f"No message {message_uuid} in your quarantine.")
        return QuarantineDetail.model_validate(
            _item_fields(entry)
            | {
                "sender_ip": entry.sender_ip,
                "header_from": entry.header_from,
                "header_to": entry.header_to,
                "message_id": entry.message_id,
                "released_by": entry.released_by,
                "released_at": iso(entry.released_at) if entry.released_at else None,
                "deleted_by": entry.deleted_by,
                "deleted_at": iso(entry.deleted_at) if entry.deleted_at else None,
            }
        )

    def release(self, caller: Caller, request: QuarantineAction) -> QuarantineReport:
        return self._act(caller, request, self._release_one)

    def delete(self, caller: Caller, request: QuarantineAction) -> QuarantineReport:
        return self._act(caller, request, self._delete_one)

    def _act(
        self,
        caller: Caller,
        request: QuarantineAction,
        one: Callable[[Caller, str], QuarantineOutcome],
    ) -> QuarantineReport:
        if request.query is None:
            uuids = list(dict.fromkeys(request.message_uuids or ()))
            return QuarantineReport(
                results=self._each(caller, uuids, one), remaining=0, remaining_more=False
            )
        # The search body as the quarantine search takes it; its cursor (if any) is where to
        # start, and its limit is not a bound here: pages are read until 10,000 are selected.
        paging = SignedPaging.of(self._signer, caller.tenant_id, request.query)
        start = paging.start(request.query.cursor, request.query.period)
        query = _query(caller.tenant_id, request.query)
        selected, rest = self._read(query, start, MAX_BULK_MESSAGES)
        results = self._each(caller, [entry.message_uuid for entry in selected], one)
        failed = sum(result.result == "failed" for result in results)
        left, rest = self._read(query, rest, MAX_BULK_MESSAGES - failed) if rest else ([], None)
        return QuarantineReport(
            results=results, remaining=failed + len(left), remaining_more=rest is not None
        )

    def _read(
        self, query: quarantine_search.QuarantineQuery, start: CursorState, most: int
    ) -> tuple[list[QuarantineEntry], CursorState | None]:
        """Up to ``most`` entries the query selects from ``start``, and where the rest begins
        (None when there is no more)."""
        entries: list[QuarantineEntry] = []
        position: CursorState | None = start
        while position is not None and len(entries) < most:
            limit = min(MAX_PAGE_SIZE, most - len(entries))
            page = quarantine_search.search(self._quarantine, replace(query, limit=limit), position)
            entries.extend(page.rows)
            position = page.next
        return entries, position

    def _each(
        self, caller: Caller, uuids: list[str], one: Callable[[Caller, str], QuarantineOutcome]
    ) -> list[QuarantineResult]:
        def guarded(message_uuid: str) -> QuarantineResult:
            try:
                outcome = one(caller, message_uuid)
            except Exception:
                logger.exception("quarantine action failed", extra={"message_uuid": message_uuid})
                outcome = "failed"
            return QuarantineResult(message_uuid=message_uuid, result=outcome)

        if len(uuids) <= 1:
            return [guarded(message_uuid) for message_uuid in uuids]
        with ThreadPoolExecutor(min(self._workers, len(uuids))) as pool:
            return list(pool.map(guarded, uuids))

    def _release_one(self, caller: Caller, message_uuid: str) -> QuarantineOutcome:
        return quarantine_release.release(
            self._quarantine, self._scan_queue, caller.tenant_id, message_uuid, caller.key_name
        )

    def _delete_one(self, caller: Caller, message_uuid: str) -> QuarantineOutcome:
        tenant_id = caller.tenant_id
        entry = self._quarantine.entry(tenant_id, message_uuid)
        if entry is not None and entry.state is QuarantineState.DELETED:
            # A delete that failed half-way is finished by the next one (each step is
            # idempotent).
            self._remove_message(entry, entry.deleted_by)
            return "already_deleted"
        if entry is None or entry.state is not QuarantineState.QUARANTINED:
            return quarantine_release.already(entry)
        if not self._quarantine.mark_deleted(tenant_id, message_uuid, caller.key_name, utcnow()):
            return quarantine_release.already(self._quarantine.entry(tenant_id, message_uuid))
        self._remove_message(entry, caller.key_name)
        return "deleted"

    def _remove_message(self, entry: QuarantineEntry, deleted_by: str) -> None:
        """The tracking rows first, the raw message last: until it is gone, a delete that
        failed can be repeated."""
        for recipient in entry.recipients:
            self._tracking.set_status(
                entry.tenant_id, entry.message_uuid, recipient, Status.DELETED
            )
        self._tracking.record(
            entry.tenant_id,
            entry.message_uuid,
            TimelineEvent(
                time=utcnow(),
                event_id=DELETED_EVENT_ID,
                stage="quarantine",
                event="deleted",
                detail=f"deleted from quarantine by {deleted_by}",
            ),
        )
        self._mail.delete(entry.mail_key)
