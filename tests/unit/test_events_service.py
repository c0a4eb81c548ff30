"""Policy event search and detail over an in-memory event log: the filters of seed 000, paging
with signed cursors, and another tenant's events never shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from functions.query.events_service import EventsService
from mailgate.api.errors import BadRequest, NotFound
from mailgate.api.models import EventSearch
from mailgate.catalog import Direction, PolicyAction, ThreatType
from mailgate.clock import parse_iso, utcnow
from mailgate.policy.records import PolicyEvent
from mailgate.search.cursor import CursorSigner
from mailgate.search.signed_paging import STORED_WITHIN
from tests.support.fakes import FakePolicyEvents

TENANT = "tenant-a"
NOW = datetime.now(UTC)


def event(n: int, **fields: Any) -> PolicyEvent:
    values: dict[str, Any] = {
        "tenant_id": TENANT,
        "event_id": f"ev-{n}",
        "message_uuid": f"m-{n}",
        "time": NOW - timedelta(minutes=n),
        "received_at": NOW - timedelta(minutes=n, seconds=5),
        "direction": Direction.INBOUND,
        "sender": "news@shop.example",
        "recipients": ["john@example.com"],
        "rule_name": "Spam or Phish",
        "threat_type": ThreatType.SPAM,
        "action": PolicyAction.QUARANTINE,
        "subject": f"offer {n}",
    }
    return PolicyEvent.model_validate(values | fields)


def service(*events: PolicyEvent) -> EventsService:
    return EventsService(FakePolicyEvents(events), CursorSigner(b"k" * 32))


def ids(svc: EventsService, tenant: str = TENANT, **query: Any) -> list[str]:
    page = svc.search(tenant, EventSearch.model_validate({"period": "1h", **query}))
    return [item.event_id for item in page.items]


def test_threat_types_narrowed_by_subtype_or_detection_method() -> None:
    svc = service(
        event(1, threat_type=ThreatType.GRAYMAIL, subtype="marketing"),
        event(2, threat_type=ThreatType.GRAYMAIL, subtype="social_network"),
        event(3, threat_type=ThreatType.MALWARE, detection_method="pattern"),
        event(4, threat_type=ThreatType.MALWARE, detection_method="machine_learning"),
        event(5),
    )

    assert ids(svc, threats=[{"type": "graymail"}]) == ["ev-1", "ev-2"]
    assert ids(svc, threats=[{"type": "graymail", "subtypes": ["marketing"]}]) == ["ev-1"]
    assert ids(svc, threats=[{"type": "malware", "subtypes": ["pattern"]}]) == ["ev-3"]
    both = [{"type": "graymail", "subtypes": ["social_network"]}, {"type": "spam"}]
    assert ids(svc, threats=both) == ["ev-2", "ev-5"]
    narrowed_then_all = [{"type": "graymail", "subtypes": ["marketing"]}, {"type": "graymail"}]
    assert ids(svc, threats=narrowed_then_all) == ["ev-1", "ev-2"]


@pytest.mark.parametrize(
    "threat",
    [
        {"type": "graymail", "subtypes": ["spf"]},  # a subtype of domain_auth
        {"type": "spam", "subtypes": ["marketing"]},  # spam has none
        {"type": "virus"},
        {"type": "graymail", "subtypez": []},
    ],
)
def test_threat_filter_outside_the_catalog_is_refused(threat: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        EventSearch.model_validate({"threats": [threat]})


def test_address_rule_and_name_filters() -> None:
    svc = service(
        event(1, header_from=["Shop News <news@shop.example>"], rule_name="Newsletter"),
        event(2, recipients=["a@example.com", "b@other.example"], threat_name="Eicar_test_file"),
        event(3, sender="", header_to=["Team <team@example.com>", "x@y.example"]),
    )

    assert ids(svc, header_from=["*@shop.example"]) == ["ev-1"]
    assert ids(svc, recipients=["*@other.example"]) == ["ev-2"]
    assert ids(svc, header_to=["team@example.com"]) == ["ev-3"]
    assert ids(svc, senders=["<>"]) == ["ev-3"]
    assert ids(svc, rule_names=["NEWSLETTER"]) == ["ev-1"]
    assert ids(svc, threat_name="eicar") == ["ev-2"]
    assert ids(svc, subject='"offer 2"') == ["ev-2"]


def test_direction_period_and_tenant_bound_the_rows() -> None:
    svc = service(
        event(1),
        event(2, direction=Direction.OUTBOUND),
        event(3, tenant_id="tenant-b"),
        event(90),  # older than the hour asked for
    )

    assert ids(svc) == ["ev-1"]
    assert ids(svc, direction="outbound") == ["ev-2"]
    assert ids(svc, "tenant-b") == ["ev-3"]


def test_pages_return_every_event_once_and_cursors_are_bound() -> None:
    svc = service(*(event(n) for n in range(1, 8)))
    request = {"period": "1h", "limit": 3}
    seen: list[str] = []
    as_of: set[str] = set()
    cursor = None
    while True:
        page = svc.search(TENANT, EventSearch.model_validate({**request, "cursor": cursor}))
        seen += [item.event_id for item in page.items]
        as_of.add(page.as_of)
        assert page.searched_until is None  # each page filled up or ended the period
        cursor = page.next_cursor
        if cursor is None:
            break
        last = cursor

    assert seen == [f"ev-{n}" for n in range(1, 8)]
    # every page says the same as_of: that of the first, before it by the time a record may
    # take to be stored
    [first_as_of] = as_of
    assert parse_iso(first_as_of) <= utcnow() - STORED_WITHIN
    with pytest.raises(BadRequest) as other_tenant:
        svc.search("tenant-b", EventSearch.model_validate({**request, "cursor": last}))
    assert other_tenant.value.code == "invalid_cursor"
    with pytest.raises(BadRequest) as other_query:
        other = {**request, "rule_names": ["Spam or Phish"], "cursor": last}
        svc.search(TENANT, EventSearch.model_validate(other))
    assert other_query.value.code == "invalid_cursor"


def test_detail_has_every_field_and_hides_other_tenants() -> None:
    svc = service(
        event(
            1,
            threat_type=ThreatType.SPAM,
            details={"result": "11-100.242000-7.000000"},
            violating_url="http://bad.example/",
        )
    )

    detail = svc.detail(TENANT, "ev-1")

    assert detail.cs1 == "spam"
    assert detail.details == {"result": "11-100.242000-7.000000"}
    assert detail.violating_url == "http://bad.example/"
    assert detail.recipients == ["john@example.com"]
    with pytest.raises(NotFound):
        svc.detail("tenant-b", "ev-1")
    with pytest.raises(NotFound):
        svc.detail(TENANT, "ev-404")
