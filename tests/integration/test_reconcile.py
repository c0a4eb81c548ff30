"""Reconciliation and the downstream search filters through the running gateway."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from mailgate import resources
from mailgate.catalog import Status
from mailgate.clock import utcnow
from mailgate.storage.tracking import TrackingStore
from tests.integration.conftest import Gateway
from tests.integration.test_delivery import row_in, send
from tests.support.smtp_peer import ScriptedServer

pytestmark = pytest.mark.integration


def test_reconcile_accounts_for_every_row_and_lists_a_stuck_one(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    # Given two delivered messages of a tenant
    api = gateway.add_tenant("recon", "recon.test", peer)
    delivered = [
        send(gateway, "a@sender.test", ["user@recon.test"], f"reconcile {n}") for n in range(2)
    ]
    for message_uuid in delivered:
        row_in(api, message_uuid, "user@recon.test", "delivered")

    # Then the tenant's accepted traffic is all accounted for
    status, report = api.request("POST", "/v1/tracking/reconcile", {"period": "1h"})
    assert status == 200, report
    assert report["accepted"] == 2
    assert report["final"]["delivered"] == 2
    assert (report["unaccounted"], report["unaccounted_rows"]) == (0, [])
    assert report["retrying"] == {
        "count": 0,
        "next_attempt_soonest": None,
        "next_attempt_latest": None,
    }

    # When a row sits in processing with no job, longer than any job of a stage lives
    tracking = TrackingStore(resources.TRACKING.local_name)
    [template], _ = tracking.message("recon", delivered[0])
    stuck_uuid = str(uuid.uuid4())
    stuck = template.model_copy(
        update={
            "message_uuid": stuck_uuid,
            "status": Status.PROCESSING,
            "time": utcnow() - timedelta(hours=3),
        }
    )
    tracking.add([stuck], [])

    # Then a reconciliation of that time lists it
    status, report = api.request("POST", "/v1/tracking/reconcile", {"period": "24h"})
    assert status == 200, report
    assert report["unaccounted"] == 1
    [row] = report["unaccounted_rows"]
    assert (row["message_uuid"], row["status"]) == (stuck_uuid, "processing")
    assert "processing longer" in row["why"]


def test_reconcile_needs_the_logs_read_scope_and_a_valid_period(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    api = gateway.add_tenant("recon-scope", "recon-scope.test", peer, scopes=["logs:export"])
    assert api.request("POST", "/v1/tracking/reconcile", {"period": "24h"})[0] == 403

    status, body = gateway.api.request("POST", "/v1/tracking/reconcile", {"period": "2d"})
    assert status == 400 and body["error"]["message"]
    status, body = gateway.api.request("POST", "/v1/tracking/reconcile", {"statuses": []})
    assert status == 400 and "statuses" in body["error"]["message"]


def test_the_downstream_filters_find_rows_by_where_and_how_they_were_delivered(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    api = gateway.add_tenant("filters", "filters.test", peer)
    message_uuid = send(gateway, "a@sender.test", ["user@filters.test"], "filtered")
    row = row_in(api, message_uuid, "user@filters.test", "delivered")

    def found(**query: object) -> bool:
        return api.row(message_uuid, "user@filters.test", **query) is not None

    assert row["delivered_to"] == "127.0.0.1"
    assert found(delivered_to="127.0.")
    assert not found(delivered_to="10.")
    assert found(downstream_tls=row["downstream_tls"])
    assert not found(downstream_tls="TLSv1")

    status, body = api.search(period="1h", downstream_dane="yes")
    assert status == 400
    assert "downstream_dane applies to outbound traffic only" in body["error"]["message"]
    status, body = api.search(period="1h", type="blocked", delivered_to="127.")
    assert status == 400
    assert "delivered_to does not apply to blocked traffic" in body["error"]["message"]
