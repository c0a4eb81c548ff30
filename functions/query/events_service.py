"""Policy event search and detail for one tenant: the logic behind the routes."""

from __future__ import annotations

from mailgate.api.errors import NotFound
from mailgate.api.models import EventDetail, EventItem, EventPage, EventSearch
from mailgate.clock import iso
from mailgate.policy.records import PolicyEvent
from mailgate.ports import PolicyEventLog
from mailgate.search import events as event_search
from mailgate.search.cursor import CursorSigner
from mailgate.search.matching import NULL_SENDER
from mailgate.search.signed_paging import SignedPaging, coverage


def _item_fields(event: PolicyEvent) -> dict[str, object]:
    return {
        "event_id": event.event_id,
        "time": iso(event.time),
        "direction": event.direction,
        "sender": event.sender or NULL_SENDER,
        "recipients": event.recipients,
        "threat_type": event.threat_type,
        "subtype": event.subtype,
        "detection_method": event.detection_method,
        "threat_name": event.threat_name,
        "action": event.action,
        "subject": event.subject,
        "message_id": event.message_id,
        "message_uuid": event.message_uuid,
        "rule_name": event.rule_name,
    }


class EventsService:
    def __init__(self, store: PolicyEventLog, signer: CursorSigner) -> None:
        self._store = store
        self._signer = signer

    def search(self, tenant_id: str, request: EventSearch) -> EventPage:
        paging = SignedPaging.of(self._signer, tenant_id, request)
        start = paging.start(request.cursor, request.period)
        query = event_search.query_of(tenant_id, request)
        page = event_search.search(self._store, query, start)
        return EventPage(
            items=[EventItem.model_validate(_item_fields(event)) for event in page.rows],
            next_cursor=paging.cursor(page.next),
            **coverage(start, page),
        )

    def detail(self, tenant_id: str, event_id: str) -> EventDetail:
        event = self._store.event(tenant_id, event_id)
        if event is None:
            raise NotFound("event_not_found", f"No policy event {event_id} in your logs.")
        return EventDetail.model_validate(
            _item_fields(event)
            | {
                "received_at": iso(event.received_at),
                "header_from": event.header_from,
                "header_to": event.header_to,
                "size": event.size,
                "domain": event.domain,
                "violating_file": event.violating_file,
                "violating_url": event.violating_url,
                "details": event.details,
                "cs1": event.cs1,
            }
        )
