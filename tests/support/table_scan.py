"""What a test looks for across a whole table: a Scan answers one page (1 MB) at a time, and on
the integration gateway's shared tables one page holds only a part of what other tests wrote."""

from __future__ import annotations

from typing import Any

from mailgate import aws


def scan_all(table_name: str, **request: Any) -> list[dict[str, Any]]:
    table, items = aws.table(table_name), []
    while True:
        response = table.scan(**request)
        items += response["Items"]
        if "LastEvaluatedKey" not in response:
            return items
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
