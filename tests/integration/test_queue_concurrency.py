"""The queue runners scale like Lambda event sources: a slow destination holds only its own
messages, never the delivery of the others."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mailgate.catalog import Status
from tests.integration.conftest import Gateway
from tests.integration.test_pipeline import final_row, message, queued_uuids, send
from tests.support.smtp_peer import HeldServer, ScriptedServer

pytestmark = pytest.mark.integration


@pytest.fixture
def slow_peer() -> Iterator[HeldServer]:
    # Held for less than the gateway's SMTP client timeout, so the delivery ends in "delivered".
    server = HeldServer(hold_s=4.0).start()
    yield server
    server.release()
    server.stop()


def test_slow_destination_does_not_hold_delivery_to_a_fast_one(
    gateway: Gateway, peer: ScriptedServer, slow_peer: HeldServer
) -> None:
    slow_api = gateway.add_tenant("slowpoke", "slowpoke.test", slow_peer)
    fast_api = gateway.add_tenant("quick", "quick.test", peer)

    # Given a message whose destination holds it in DATA
    _code, reply = send(gateway, "a@sender.test", ["user@slowpoke.test"], message("slow"))
    (slow_uuid,) = queued_uuids(reply)
    assert slow_peer.in_data.wait(timeout=30)

    # When a message for another destination follows it
    _code, reply = send(gateway, "a@sender.test", ["user@quick.test"], message("fast"))
    (fast_uuid,) = queued_uuids(reply)

    # Then it is delivered while the slow destination still holds the first one …
    assert final_row(gateway, fast_uuid, "user@quick.test", fast_api)["status"] == Status.DELIVERED
    assert slow_peer.received == []
    held = slow_api.row(slow_uuid, "user@slowpoke.test")
    assert held is not None
    assert held["status"] == Status.PROCESSING

    # … which is delivered once its destination answers
    slow_peer.release()
    row = final_row(gateway, slow_uuid, "user@slowpoke.test", slow_api)
    assert row["status"] == Status.DELIVERED
    assert len(slow_peer.received) == 1
