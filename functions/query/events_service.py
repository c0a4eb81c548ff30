"""Policy event search and detail for one tenant: the logic behind the routes."""

from __future__ import annotations

from mailgate.api.errors import NotFound
from mailgate.api.models import EventDetail, EventItem, EventPage, EventSearch
from mailgate.catalog import ThreatType
from mailgate.clock import iso
from mailgate.policy.records import PolicyEvent
from mailgate.ports import PolicyEventLog
from mailgate.search import events as event_search
from mailgate.search.cursor import CursorSigner
from mailgate.search.matching import NULL_SENDER, MessageFilter
from mailgate.search.signed_paging import SignedPaging


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


def _threats(request: EventSearch) -> dict[ThreatType, frozenset[str]]:
    """Each threat type asked for and what narrows it; a type asked for twice, once without
    subtypes, means all of it."""
    threats: dict[ThreatType, frozenset[str]] = {}
    for threat in request.threats:
        narrowed = frozenset(threat.subtypes)
        known = threats.get(threat.type)
        threats[threat.type] = (
            narrowed if known is None else (known | narrowed if known and narrowed else frozenset())
        )
    return threats


class EventsService:
    def __init__(self, store: PolicyEventLog, signer: CursorSigner) -> None:
        self._store = store
        self._signer = signer

    def search(self, tenant_id: str, request: EventSearch) -> EventPage:
        paging = SignedPaging.of(self._signer, tenant_id, request)
        start = paging.start(request.cursor, request.period)
        query = event_search.EventQuery(
            tenant_id=tenant_id,
            direction=request.direction,
            sort=request.sort,
            limit=request.limit,
            filter=event_search.EventFilter(
                message=MessageFilter(
                    senders=tuple(request.senders),
                    recipients=tuple(request.recipients),
                    header_from=tuple(request.header_from),
                    header_to=tuple(request.header_to),
                    subject=request.subject,
                    message_id=request.message_id,
                ),
                rule_names=frozenset(name.lower() for name in request.rule_names),
                threats=_threats(request),
                threat_name=request.threat_name,
            ),
        )
        page = event_search.search(self._store, query, start)
        return EventPage(
            items=[EventItem.model_validate(_item_fields(event)) for event in page.rows],
            next_cursor=paging.cursor(page.next),
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
