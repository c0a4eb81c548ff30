from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from mailgate.api.audit_trail import action_of, audit_entry
from mailgate.api.errors import BadRequest
from mailgate.audit import AuditEntry
from mailgate.ports import DayPosition
from mailgate.search.audit import AuditFilter, audit_period, search
from mailgate.search.pager import CursorState
from mailgate.search.period import Period

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("method", "resource", "action"),
    [
        ("POST", "/v1/tracking/search", "tracking.search"),
        ("POST", "/v1/quarantine/release", "quarantine.release"),
        ("POST", "/v1/quarantine/delete", "quarantine.delete"),
        ("PUT", "/v1/config/domains", "config.domains.write"),
        ("DELETE", "/v1/policies/{direction}/rules/{rule_id}", "policies.rules.delete"),
        ("POST", "/v1/exports", "exports.create"),
        ("GET", "/v1/tracking/{message_uuid}", None),
        ("GET", "/v1/audit", None),
    ],
)
def test_each_change_and_search_is_named_and_reads_are_not(method, resource, action) -> None:
    assert action_of(method, resource) == action


def _event(body: object, tenant: str | None = "acme") -> dict[str, object]:
    authorizer = {"tenant_id": tenant, "key_name": "siem"} if tenant else {}
    return {
        "httpMethod": "POST",
        "resource": "/v1/quarantine/release",
        "path": "/v1/quarantine/release",
        "body": json.dumps(body),
        "requestContext": {"authorizer": authorizer, "identity": {"sourceIp": "198.51.100.7"}},
    }


def test_an_entry_says_who_from_where_which_fields_and_which_messages() -> None:
    entry = audit_entry(_event({"message_uuids": ["u1", "u2"], "limit": 5}), 200, NOW)

    assert entry is not None
    assert (entry.tenant_id, entry.actor, entry.ip) == ("acme", "siem", "198.51.100.7")
    assert entry.details["fields"] == ["message_uuids"]
    assert entry.details["message_uuids"] == ["u1", "u2"]
    assert entry.details["status"] == 200


def test_a_hostile_body_or_an_unauthenticated_request_writes_no_wrong_entry() -> None:
    event = _event(None)
    event["body"] = "{not json"
    entry = audit_entry(event, 400, NOW)
    assert entry is not None and "fields" not in entry.details
    assert audit_entry(_event({"a": 1}, tenant=None), 401, NOW) is None
    many = audit_entry(_event({"message_uuids": [str(n) for n in range(5000)]}), 200, NOW)
    assert many is not None and many.details["message_uuids_count"] == 5000
    assert len(many.details["message_uuids"]) == 100  # type: ignore[arg-type]


class _Trail:
    def __init__(self, entries: list[AuditEntry]) -> None:
        self.entries = entries

    def by_day(self, tenant_id, day: date, start, end, newest_first, limit, after=None):
        rows = sorted(
            (
                e
                for e in self.entries
                if e.tenant_id == tenant_id and e.time.date() == day and start <= e.time <= end
            ),
            key=lambda e: (e.time, e.entry_id),
            reverse=newest_first,
        )
        if after is not None:
            keys = [(e.time, e.entry_id) for e in rows]
            rows = rows[keys.index((after.time, after.id)) + 1 :]
        page = rows[:limit]
        more = DayPosition(page[-1].time, page[-1].entry_id) if len(rows) > limit else None
        return page, more


def test_search_filters_by_actor_and_action_and_never_shows_another_tenant() -> None:
    entries = [
        AuditEntry(tenant_id=t, time=NOW - timedelta(hours=h), actor=a, action=act)
        for t, h, a, act in [
            ("acme", 1, "siem", "tracking.search"),
            ("acme", 2, "Admin", "quarantine.release"),
            ("acme", 30, "admin", "quarantine.delete"),
            ("beta", 1, "admin", "quarantine.release"),
        ]
    ]
    start = CursorState(Period(NOW - timedelta(days=7), NOW))
    page = search(
        _Trail(entries), "acme", AuditFilter(actor="ADMIN", action="quarantine."), start, 10
    )
    assert [e.action for e in page.rows] == ["quarantine.release", "quarantine.delete"]
    assert {e.tenant_id for e in page.rows} == {"acme"}
    first = search(_Trail(entries), "acme", AuditFilter(), start, 2)
    rest = search(_Trail(entries), "acme", AuditFilter(), first.next, 2)  # type: ignore[arg-type]
    assert [e.action for e in first.rows + rest.rows] == [
        "tracking.search",
        "quarantine.release",
        "quarantine.delete",
    ]


def test_a_custom_period_may_reach_back_a_year_but_no_further() -> None:
    assert audit_period(None, NOW - timedelta(days=300), NOW, NOW).start == NOW - timedelta(
        days=300
    )
    with pytest.raises(BadRequest):
        audit_period(None, NOW - timedelta(days=400), NOW, NOW)
    with pytest.raises(BadRequest):
        audit_period("24h", NOW - timedelta(days=1), NOW, NOW)
