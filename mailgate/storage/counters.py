"""Rate-limit counters in DynamoDB: fixed windows, atomic conditional additions, so every
front container sees the same counts. Items expire by TTL an hour after their window.

The counts read at RCPT only let a front refuse before the data is sent; the conditional
addition at the end of DATA is what holds a limit. So a count read a moment ago serves the next
transactions of the same sender too (plus what this process has added since): a sender at its
limit stays refused without a read per RCPT, and one far below it is not read for every
message. Another container's additions are seen within ``READ_FRESH_S``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from mailgate import aws
from mailgate.ports import Increment
from mailgate.resources import EXPIRES_AT

READ_FRESH_S = 1.0
_MOST_REMEMBERED = 10_000


class RateCounters:
    def __init__(self, table_name: str, clock: Callable[[], float] = time.time) -> None:
        self._table_name = table_name
        self._clock = clock
        self._known: dict[str, tuple[float, int]] = {}  # item key → (read at, lowest count)
        self._lock = threading.Lock()

    def _item_key(self, key: str, window_s: int) -> tuple[str, int]:
        window = int(self._clock()) // window_s
        return f"{key}#{window_s}#{window}", (window + 1) * window_s + 3600

    def current(self, counters: list[tuple[str, int]]) -> list[int]:
        """The counts of this window for each (key, window length), in at most one read."""
        if not counters:
            return []
        now = self._clock()
        pks = [self._item_key(key, window_s)[0] for key, window_s in counters]
        with self._lock:
            known = {pk: self._known[pk] for pk in pks if pk in self._known}
        unread = [
            pk for pk in dict.fromkeys(pks) if pk not in known or now - known[pk][0] >= READ_FRESH_S
        ]
        if unread:
            response = aws.client("dynamodb").batch_get_item(
                RequestItems={self._table_name: {"Keys": [{"pk": {"S": pk}} for pk in unread]}}
            )
            found = {
                item["pk"]["S"]: int(item["n"]["N"])
                for item in response["Responses"].get(self._table_name, [])
            }
            read = {pk: (now, found.get(pk, 0)) for pk in unread}
            known |= read
            with self._lock:
                if len(self._known) + len(read) > _MOST_REMEMBERED:
                    self._forget(now)
                self._known |= read
        return [known[pk][1] for pk in pks]

    def _forget(self, now: float) -> None:
        self._known = {pk: seen for pk, seen in self._known.items() if now - seen[0] < READ_FRESH_S}
        if len(self._known) > _MOST_REMEMBERED:
            self._known.clear()

    def add_all(self, increments: list[Increment]) -> int | None:
        """Add every amount or none (one transaction); the index of the first increment that
        would pass its limit, or None when all were added."""
        for index, increment in enumerate(increments):
            if increment.amount > increment.limit:
                return index
        if not increments:
            return None
        keys = [self._item_key(increment.key, increment.window_s) for increment in increments]
        actions = []
        for increment, (pk, expires) in zip(increments, keys, strict=True):
            actions.append(
                {
                    "Update": {
                        "TableName": self._table_name,
                        "Key": {"pk": {"S": pk}},
                        "UpdateExpression": "ADD n :amount SET #expires = :expires",
                        "ConditionExpression": "attribute_not_exists(n) OR n <= :most",
                        "ExpressionAttributeNames": {"#expires": EXPIRES_AT},
                        "ExpressionAttributeValues": {
                            ":amount": {"N": str(increment.amount)},
                            ":expires": {"N": str(expires)},
                            ":most": {"N": str(increment.limit - increment.amount)},
                        },
                    }
                }
            )
        try:
            aws.transact_write(actions)
        except aws.ConditionFailed as failed:
            over = increments[failed.index]
            self._learn(keys[failed.index][0], over.limit - over.amount + 1)
            return failed.index
        for increment, (pk, _) in zip(increments, keys, strict=True):
            self._added(pk, increment.amount)
        return None

    def _added(self, pk: str, amount: int) -> None:
        with self._lock:
            seen = self._known.get(pk)
            if seen is not None:
                self._known[pk] = (seen[0], seen[1] + amount)

    def _learn(self, pk: str, at_least: int) -> None:
        """A refused addition shows the count is at least ``at_least``."""
        with self._lock:
            read_at, count = self._known.get(pk, (self._clock(), 0))
            self._known[pk] = (read_at, max(count, at_least))
