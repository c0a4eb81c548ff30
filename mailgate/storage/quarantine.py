"""The quarantine index in the ``policy`` table: one item per quarantined message, partition
key ``<tenant>#Q#<message uuid>``, listed by quarantine time per tenant, direction and UTC day
(kind ``quarantine``). The raw message stays in the mail bucket; the entry expires 90 days
after the message was received.

State changes are conditional on the state they leave, so two administrators acting on the
same message at once cannot both release it, or release what the other deleted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from mailgate.clock import iso
from mailgate.policy.records import QuarantineEntry, QuarantineState
from mailgate.storage.day_index import DayIndexedStore, RecordKeys, conditional_failed


class QuarantineStore(DayIndexedStore[QuarantineEntry]):
    model = QuarantineEntry
    prefix = "Q"
    kind = "quarantine"

    def _keys(self, record: QuarantineEntry) -> RecordKeys:
        return RecordKeys(
            record.tenant_id,
            record.message_uuid,
            record.direction,
            record.time,
            record.received_at,
        )

    def put(self, entry: QuarantineEntry) -> None:
        """Index a quarantined message; a repeated put of the same message changes nothing. An
        entry being released is replaced: a rule after the releasing one quarantined it again."""
        self._put_new(entry, replaces=Attr("state").eq(QuarantineState.RELEASING.value))

    def entry(self, tenant_id: str, message_uuid: str) -> QuarantineEntry | None:
        return self._get(tenant_id, message_uuid)

    def begin_release(
        self, tenant_id: str, message_uuid: str, released_by: str, at: datetime
    ) -> bool:
        """``quarantined`` → ``releasing``; False if the entry was in another state."""
        return self._move(
            tenant_id,
            message_uuid,
            QuarantineState.QUARANTINED,
            QuarantineState.RELEASING,
            released_by=released_by,
            released_at=iso(at),
        )

    def undo_release(self, tenant_id: str, message_uuid: str) -> bool:
        """``releasing`` → ``quarantined`` again, when the release could not be queued."""
        return self._move(
            tenant_id,
            message_uuid,
            QuarantineState.RELEASING,
            QuarantineState.QUARANTINED,
            released_by="",
            released_at=None,
        )

    def finish_release(self, tenant_id: str, message_uuid: str) -> None:
        """A released message has gone through stage 2 again: ``releasing`` → ``released``."""
        self._move(tenant_id, message_uuid, QuarantineState.RELEASING, QuarantineState.RELEASED)

    def mark_deleted(
        self, tenant_id: str, message_uuid: str, deleted_by: str, at: datetime
    ) -> bool:
        """``quarantined`` → ``deleted``; False if the entry was in another state."""
        return self._move(
            tenant_id,
            message_uuid,
            QuarantineState.QUARANTINED,
            QuarantineState.DELETED,
            deleted_by=deleted_by,
            deleted_at=iso(at),
        )

    def _move(
        self,
        tenant_id: str,
        message_uuid: str,
        current: QuarantineState,
        new: QuarantineState,
        **fields: Any,
    ) -> bool:
        """Change the state (and set ``fields``; a None removes one) if it is ``current``."""
        values = {"state": new.value, **fields}
        names = {f"#{i}": name for i, name in enumerate(values)}
        placeholders = {
            f":{i}": value for i, value in enumerate(values.values()) if value is not None
        }
        assignments = ", ".join(
            f"#{i} = :{i}" for i in range(len(values)) if f":{i}" in placeholders
        )
        removals = ", ".join(f"#{i}" for i in range(len(values)) if f":{i}" not in placeholders)
        update = f"SET {assignments}" + (f" REMOVE {removals}" if removals else "")
        try:
            self._table.update_item(
                Key={"pk": self._pk(tenant_id, message_uuid)},
                UpdateExpression=update,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=placeholders,
                ConditionExpression=Attr("state").eq(current.value),
            )
        except ClientError as error:
            if conditional_failed(error):
                return False
            raise
        return True
