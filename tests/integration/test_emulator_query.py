"""A Query through the emulator process (which answers from the partition or the index matches,
not the whole table) pages through every item in order, before and after a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from local.bootstrap import table_request
from local.emulator_process import EmulatorProcess
from mailgate import resources
from tests.support.ports import free_port

pytestmark = pytest.mark.integration


def _client(endpoint: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def _create(client: Any) -> None:
    client.create_table(**{**table_request(resources.TRACKING), "TableName": "tracking"})
    for number in range(90):
        item = {"pk": {"S": f"t{number % 3}"}, "sk": {"S": f"m{number:03d}"}}
        if number % 2 == 0:
            item.update(gsi1pk={"S": f"day{number % 4}"}, gsi1sk={"S": f"{89 - number:03d}"})
        client.put_item(TableName="tracking", Item=item)


def _walk(client: Any, **request: Any) -> tuple[list[str], int]:
    keys: list[str] = []
    pages = 0
    start = None
    while True:
        page = client.query(
            TableName="tracking", **request, **({"ExclusiveStartKey": start} if start else {})
        )
        pages += 1
        keys += [item["sk"]["S"] for item in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if start is None:
            return keys, pages


def _check(client: Any) -> None:
    keys, pages = _walk(
        client,
        KeyConditionExpression="pk = :p AND sk > :s",
        ExpressionAttributeValues={":p": {"S": "t1"}, ":s": {"S": "m010"}},
        Limit=4,
        ScanIndexForward=False,
    )
    expected = [f"m{n:03d}" for n in range(89, 10, -1) if n % 3 == 1]
    assert keys == expected and pages == len(expected) // 4 + 1
    keys, _ = _walk(
        client,
        IndexName="by_time",
        KeyConditionExpression="gsi1pk = :d",
        ExpressionAttributeValues={":d": {"S": "day2"}},
        Limit=5,
    )
    assert keys == [f"m{n:03d}" for n in range(89, -1, -1) if n % 4 == 2]


def test_a_query_pages_through_the_emulator_and_after_its_restart(tmp_path: Path) -> None:
    port = free_port()
    first = EmulatorProcess("127.0.0.1", port, tmp_path, snapshot_bytes=1 << 20)
    first.start()
    try:
        client = _client(first.endpoint)
        _create(client)
        _check(client)
    finally:
        first.stop()
    again = EmulatorProcess("127.0.0.1", port, tmp_path, snapshot_bytes=1 << 20)
    again.start()
    try:
        _check(_client(again.endpoint))
    finally:
        again.stop()
