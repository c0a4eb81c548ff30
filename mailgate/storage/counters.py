"""Rate-limit counters in DynamoDB: fixed windows, atomic conditional additions, so every
front container sees the same counts. Items expire by TTL an hour after their window."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from mailgate import aws
from mailgate.resources import EXPIRES_AT


class RateCounters:
    def __init__(self, table_name: str, clock: Callable[[], float] = time.time) -> None:
        self._table_name = table_name
        self._clock = clock

    def _item_key(self, key: str, window_s: int) -> tuple[str, int]:
        window = int(self._clock()) // window_s
        return f"{key}#{window_s}#{window}", (window + 1) * window_s + 3600

    def current(self, key: str, window_s: int) -> int:
        pk, _ = self._item_key(key, window_s)
        item: dict[str, Any] | None = (
            aws.table(self._table_name).get_item(Key={"pk": pk}).get("Item")
        )
        return int(item["n"]) if item else 0

    def add(self, key: str, amount: int, limit: int, window_s: int) -> bool:
        """Add ``amount`` unless the window's total would pass ``limit``; False if it would."""
        if amount > limit:
            return False
        pk, expires = self._item_key(key, window_s)
        try:
            aws.table(self._table_name).update_item(
                Key={"pk": pk},
                UpdateExpression="ADD n :amount SET #expires = :expires",
                ConditionExpression="attribute_not_exists(n) OR n <= :most",
                ExpressionAttributeNames={"#expires": EXPIRES_AT},
                ExpressionAttributeValues={
                    ":amount": amount,
                    ":expires": expires,
                    ":most": limit - amount,
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True
