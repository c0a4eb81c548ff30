"""What a store asked of DynamoDB: items read (as DynamoDB returned them) and items written
with their write-unit cost, so benches and tests measure a search by what it read, not by the
emulator's internals or the clock."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

_WRITE_UNIT_BYTES = 1024


def item_bytes(item: dict[str, Any]) -> int:
    """About the size DynamoDB bills an item for: names and values as UTF-8."""
    return len(json.dumps(item, default=_plain, separators=(",", ":")).encode())


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):  # DynamoDB numbers
        return str(value)
    raise TypeError(type(value))


@dataclass
class StoreMeter:
    items_read: int = 0
    items_written: int = 0
    write_units: int = 0

    def read(self, count: int) -> None:
        self.items_read += count

    def wrote(self, item: dict[str, Any]) -> None:
        """One item put, updated or deleted; an index entry of the item counts as its own."""
        self.items_written += 1
        self.write_units += max(1, math.ceil(item_bytes(item) / _WRITE_UNIT_BYTES))
