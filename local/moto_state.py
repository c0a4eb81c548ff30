"""moto's in-memory state as the journal sees it: the whole of it as a snapshot, SQS messages
one by one, and what moto keeps outside its backends, put back after a restore."""

from __future__ import annotations

import io
import json
import pickle
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from moto.backends import get_backend
from moto.s3.models import s3_backends
from moto.sqs.models import Message, Queue, SQSBackend, sqs_backends

SERVICES = ("dynamodb", "s3", "secretsmanager", "sqs")
_LOCKS: list[tuple[type, Any]] = [
    (threading.Condition, threading.Condition),
    (type(threading.Lock()), threading.Lock),
    (type(threading.RLock()), threading.RLock),
]
_CREDENTIAL_REGION = re.compile(r"Credential=[^/]+/\d+/([^/]+)/")


class _StatePickler(pickle.Pickler):
    """moto's SQS queues hold locks, which cannot be pickled: a fresh one is made at load."""

    def reducer_override(self, obj: Any) -> Any:
        for kind, make in _LOCKS:
            if isinstance(obj, kind):
                return make, ()
        return NotImplemented


def dump() -> bytes:
    """Every backend the gateway uses. Raises RuntimeError if one changed while read."""
    out = io.BytesIO()
    state = {name: dict(get_backend(name)) for name in SERVICES}  # type: ignore[call-overload]
    _StatePickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(state)
    return out.getvalue()


def load(snapshot: bytes) -> None:
    state: dict[str, dict[str, Any]] = pickle.loads(snapshot)  # noqa: S301 - our own state
    for name, accounts in state.items():
        backend: Any = get_backend(name)  # type: ignore[call-overload]
        for account, regions in accounts.items():
            backend[account] = regions


def settle() -> None:
    """After a restore: moto's bucket-name registry lives outside its backends (without it,
    ``create_bucket`` would replace a restored bucket with an empty one), and no consumer
    holds a message any more, so every message is visible again."""
    for partitions in s3_backends.values():
        for s3 in partitions.values():
            for bucket in s3.buckets.values():
                s3_backends.bucket_accounts[bucket.name] = (bucket.partition, bucket.account_id)
    for backend in _sqs_backends():
        for queue in backend.queues.values():
            queue.pending_messages.clear()
            for message in queue._messages:
                message.visible_at = 0.0


# -- SQS messages, journalled as messages (their ids kept), not as calls ---------------------


@dataclass(frozen=True)
class QueueRef:
    account: str
    region: str
    name: str

    @classmethod
    def of(cls, environ: dict[str, Any], request: dict[str, Any]) -> QueueRef:
        """The queue a JSON-protocol SQS request names (its URL ends in account/name)."""
        account, _, name = (
            urlsplit(str(request.get("QueueUrl", ""))).path.strip("/").rpartition("/")
        )
        match = _CREDENTIAL_REGION.search(environ.get("HTTP_AUTHORIZATION", ""))
        return cls(account, match.group(1) if match else "us-east-1", name)

    def backend(self) -> SQSBackend:
        backend: SQSBackend = sqs_backends[self.account][self.region]
        return backend

    def queue(self) -> Queue | None:
        return self.backend().queues.get(self.name)


def parse(content: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(content or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def sent(ref: QueueRef, response: dict[str, Any]) -> list[Message]:
    """The messages a SendMessage(Batch) response reports, as moto holds them."""
    ids = {response["MessageId"]} if "MessageId" in response else set()
    ids.update(entry["MessageId"] for entry in response.get("Successful", []))
    queue = ref.queue()
    return [m for m in queue._messages if m.id in ids] if queue else []


def handles_to_ids(ref: QueueRef, request: dict[str, Any]) -> dict[str, str]:
    """Batch entry id (``""`` for a single DeleteMessage) → id of the message deleted."""
    entries = {"": request["ReceiptHandle"]} if "ReceiptHandle" in request else {}
    entries.update({e["Id"]: e["ReceiptHandle"] for e in request.get("Entries", [])})
    queue = ref.queue()
    found: dict[str, str] = {}
    for entry, handle in entries.items():
        for message in queue._messages if queue else []:
            if message.had_receipt_handle(handle):
                found[entry] = message.id
    return found


def deleted(ids_by_entry: dict[str, str], response: dict[str, Any]) -> list[str]:
    if "" in ids_by_entry:
        return [ids_by_entry[""]]
    return [
        ids_by_entry[e["Id"]] for e in response.get("Successful", []) if e["Id"] in ids_by_entry
    ]


def receive_counts(ref: QueueRef, response: dict[str, Any]) -> list[tuple[str, int]]:
    ids = {m["MessageId"] for m in response.get("Messages", [])}
    return [(m.id, m.approximate_receive_count) for m in _messages(ref.backend()) if m.id in ids]


def replay_sent(ref: QueueRef, messages: list[Message]) -> None:
    queue = ref.queue()
    if queue is not None:
        known = {m.id for m in queue._messages}
        queue._messages.extend(m for m in messages if m.id not in known)


def replay_deleted(ref: QueueRef, ids: list[str]) -> None:
    # By id in every queue: a message moto moved to the dead-letter queue (a move the journal
    # does not hold) may still sit in its source queue here.
    gone = set(ids)
    for queue in ref.backend().queues.values():
        queue._messages = [m for m in queue._messages if m.id not in gone]


def replay_received(ref: QueueRef, counts: list[tuple[str, int]]) -> None:
    """Receive counts only (moto moves a message past ``maxReceiveCount`` to the dead-letter
    queue at its next receive); a receive itself is never replayed."""
    by_id = dict(counts)
    for message in _messages(ref.backend()):
        if message.id in by_id:
            message.approximate_receive_count = max(
                message.approximate_receive_count, by_id[message.id]
            )


def _messages(backend: SQSBackend) -> Iterable[Message]:
    for queue in list(backend.queues.values()):
        yield from list(queue._messages)


def _sqs_backends() -> Iterable[SQSBackend]:
    for regions in sqs_backends.values():
        yield from regions.values()
