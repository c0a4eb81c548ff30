"""A poison deliver job (it fails for a reason of ours, not the destination's) runs the queue's
maximum number of times, lands in the dead-letter queue, and its row shows ``dead_lettered``
with the reason; the queue is counted per reason, and once the cause is fixed a redrive
delivers it."""

from __future__ import annotations

import os
import uuid

import pytest

from mailgate import resources
from mailgate.catalog import Status
from mailgate.dead_letters import summarize
from mailgate.jobs import DeliverJob
from mailgate.storage.dead_letters import DeadLetterQueue
from mailgate.storage.mail import MailStore
from mailgate.storage.queues import JobQueue
from mailgate.storage.tracking import TrackingStore
from tests.integration.conftest import Gateway
from tests.integration.test_delivery import row_in, send
from tests.support.api_client import wait_for
from tests.support.smtp_peer import ScriptedServer

pytestmark = pytest.mark.integration


def test_a_poison_job_is_dead_lettered_counted_and_redriven(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    # Given a delivered message of a tenant, and a copy of it whose raw message is missing
    api = gateway.add_tenant("poison", "poison.test", peer)
    first = send(gateway, "a@sender.test", ["user@poison.test"], "poison original")
    row_in(api, first, "user@poison.test", "delivered")
    tracking = TrackingStore(resources.TRACKING.local_name)
    [original], _ = tracking.message("poison", first)
    copy_uuid = str(uuid.uuid4())
    missing_key = f"poison/mail/missing/{copy_uuid}.eml"
    copy = original.model_copy(
        update={"message_uuid": copy_uuid, "mail_key": missing_key, "status": Status.PROCESSING}
    )
    tracking.add([copy], [])

    # When its deliver job is queued: every run fails to read the message
    deliver_url = os.environ[resources.DELIVER_QUEUE.env_var]
    JobQueue(deliver_url).send(
        DeliverJob(
            tenant_id="poison",
            message_uuid=copy_uuid,
            direction=copy.direction,
            mail_key=missing_key,
            sender=copy.sender,
            recipients=[copy.recipient],
            received_at=copy.time,
            sender_ip=copy.sender_ip,
        )
    )

    # Then after the queue's maximum receives the row shows dead_lettered, with the reason
    row = row_in(api, copy_uuid, "user@poison.test", "dead_lettered")
    [stored], events = tracking.message("poison", copy_uuid)
    assert "NoSuchKey" in stored.dead_letter_reason
    assert [e.event for e in events] == ["dead_lettered"]
    assert row["status"] == "dead_lettered"
    # And the job waits in the deliver queue's dead-letter queue, counted under that reason
    dead_letters = DeadLetterQueue(deliver_url)

    def counted() -> int:
        summary = summarize(dead_letters.letters(), DeliverJob, tracking.rows)
        return summary.by_reason.get(stored.dead_letter_reason, 0)

    assert wait_for(counted) == 1

    # When the cause is fixed and the dead-letter queue is redriven
    mail = MailStore(resources.MAIL.local_name)
    mail.put(missing_key, mail.get(original.mail_key))
    assert dead_letters.redrive() >= 1

    # Then the message is delivered, and the dead-letter queue no longer holds it
    row_in(api, copy_uuid, "user@poison.test", "delivered")
    assert counted() == 0
    assert len(peer.received) == 2
