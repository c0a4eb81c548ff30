"""Rate-limit counters in DynamoDB: fixed windows, atomic conditional additions, so every
front container sees the same counts. Items expire by TTL an hour after their window."""

from __future__ import annotations

import time
from collections.abc import Callable

from mailgate import aws
from mailgate.ports import Increment
from mailgate.resources import EXPIRES_AT


class RateCounters:
    def __init__(self, table_name: str, clock: Callable[[], float] = time.time) -> None:
        self._table_name = table_name
        self._clock = clock

    def _item_key(self, key: str, window_s: int) -> tuple[str, int]:
        window = int(self._clock()) // window_s
        return f"{key}#{window_s}#{window}", (window + 1) * window_s + 3600

    def current(self, counters: list[tuple[str, int]]) -> list[int]:
        """The counts of this window for each (key, window length), in one read."""
        if not counters:
            return []
        pks = [self._item_key(key, window_s)[0] for key, window_s in counters]
        response = aws.client("dynamodb").batch_get_item(
            RequestItems={
                self._table_name: {"Keys": [{"pk": {"S": pk}} for pk in dict.fromkeys(pks)]}
            }
        )
        found = {
            item["pk"]["S"]: int(item["n"]["N"])
            for item in response["Responses"].get(self._table_name, [])
        }
        return [found.get(pk, 0) for pk in pks]

    def add_all(self, increments: list[Increment]) -> int | None:
        """Add every amount or none (one transaction); the index of the first increment that
        would pass its limit, or None when all were added."""
        for index, increment in enumerate(increments):
            if increment.amount > increment.limit:
                return index
        if not increments:
            return None
        actions = []
        for increment in increments:
            pk, expires = self._item_key(increment.key, increment.window_s)
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
            return failed.index
        return None
