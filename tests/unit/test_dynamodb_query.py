"""The emulator's Query (its partition or index matches, not the whole sorted table) answers
exactly as moto's own: the same pages, keys, counts and errors for every query shape, on a
random table with several partitions, an index some items are missing from, and items big
enough to end a page at 1 MB."""

from __future__ import annotations

import pickle
import random
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models.table import Table

from local import dynamodb_query

TABLE = "tracking"
HASH_ONLY = "counters"
SEED = 20261130


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[Any]:
    # moto in this process: an endpoint left in the environment by an earlier test would send
    # both sides of every comparison to an emulator that has the fast path installed
    with pytest.MonkeyPatch.context() as environment, mock_aws():
        environment.delenv("AWS_ENDPOINT_URL", raising=False)
        environment.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
        client = boto3.client("dynamodb", region_name="us-east-1")
        _create(client)
        _fill(client, random.Random(SEED))
        yield client
    dynamodb_query.uninstall()


def _create(client: Any) -> None:
    client.create_table(
        TableName=TABLE,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": kind}
            for name, kind in (
                ("pk", "S"),
                ("sk", "S"),
                ("gsi1pk", "S"),
                ("gsi1sk", "S"),
                ("feedpk", "S"),
                ("feedsk", "N"),
            )
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_time",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "by_write",
                "KeySchema": [
                    {"AttributeName": "feedpk", "KeyType": "HASH"},
                    {"AttributeName": "feedsk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client.create_table(
        TableName=HASH_ONLY,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "n", "AttributeType": "N"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_n",
                "KeySchema": [{"AttributeName": "n", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def _fill(client: Any, rng: random.Random) -> None:
    for number in range(420):
        pk = f"t{rng.randrange(6)}#m{rng.randrange(3)}"
        item: dict[str, Any] = {
            "pk": {"S": pk},
            "sk": {"S": f"{rng.choice('abc')}#{rng.randrange(10_000):05d}"},
            "n": {"N": str(rng.randrange(100))},
            "kind": {"S": rng.choice(["in", "out", "held"])},
        }
        if rng.random() < 0.7:
            item["gsi1pk"] = {"S": f"day#{rng.randrange(4)}"}
            # GSI sort keys repeat: ties are ordered by the table's keys
            item["gsi1sk"] = {"S": f"{rng.randrange(40):03d}"}
        elif rng.random() < 0.5:
            item["gsi1pk"] = {"S": f"day#{rng.randrange(4)}"}  # no index sort key: not indexed
        if rng.random() < 0.4:
            item["feedpk"] = {"S": "feed"}
            item["feedsk"] = {"N": str(rng.randrange(1000))}
        if number % 9 == 0:  # a few hundred kB: a page ends at 1 MB before any Limit
            item["blob"] = {"S": "x" * rng.randrange(100_000, 350_000)}
        client.put_item(TableName=TABLE, Item=item)
    for number in range(40):
        client.put_item(
            TableName=HASH_ONLY, Item={"pk": {"S": f"c{number}"}, "n": {"N": str(number % 5)}}
        )


def _shapes(rng: random.Random) -> Iterator[dict[str, Any]]:
    comparisons = [
        ("", {}),
        (" AND #r = :a", {":a"}),
        (" AND #r < :a", {":a"}),
        (" AND #r <= :a", {":a"}),
        (" AND #r > :a", {":a"}),
        (" AND #r >= :a", {":a"}),
        (" AND #r BETWEEN :a AND :b", {":a", ":b"}),
        (" AND begins_with(#r, :a)", {":a"}),
    ]
    targets = [
        (None, "pk", "sk", [f"t{t}#m{m}" for t in range(7) for m in range(3)]),
        ("by_time", "gsi1pk", "gsi1sk", [f"day#{d}" for d in range(5)]),
        ("by_write", "feedpk", "feedsk", ["feed", "none"]),
    ]
    for _ in range(260):
        index, hash_name, range_name, hashes = rng.choice(targets)
        condition, placeholders = rng.choice(comparisons)
        values: dict[str, Any] = {":h": {"S": rng.choice(hashes)}}
        if range_name == "feedsk":
            numbers = sorted(rng.randrange(1000) for _ in range(2))
            bounds: dict[str, Any] = {":a": {"N": str(numbers[0])}, ":b": {"N": str(numbers[1])}}
            if "begins_with" in condition:
                condition = " AND #r > :a"
        elif range_name == "sk":
            low, high = sorted(f"{rng.choice('abc')}#{rng.randrange(10_000):05d}" for _ in "ab")
            bounds = {":a": {"S": low}, ":b": {"S": high}}
            if "begins_with" in condition:
                bounds[":a"] = {"S": rng.choice(["a", "b#", "c#0", "z"])}
        else:
            low, high = sorted(f"{rng.randrange(40):03d}" for _ in "ab")
            bounds = {":a": {"S": low}, ":b": {"S": high}}
            if "begins_with" in condition:
                bounds[":a"] = {"S": rng.choice(["0", "01", "3"])}
        values.update({name: bounds[name] for name in placeholders})
        names = {"#h": hash_name}
        if condition:
            names["#r"] = range_name
        request: dict[str, Any] = {
            "TableName": TABLE,
            "KeyConditionExpression": "#h = :h" + condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        if index:
            request["IndexName"] = index
        if rng.random() < 0.6:
            request["Limit"] = rng.choice([1, 2, 3, 7, 25])
        if rng.random() < 0.4:
            request["ScanIndexForward"] = False
        if rng.random() < 0.3:
            request["FilterExpression"] = "#n > :n"
            names["#n"] = "n"
            values[":n"] = {"N": str(rng.randrange(100))}
        if rng.random() < 0.2:
            request["Select"] = "COUNT"
        elif rng.random() < 0.3:
            request["ProjectionExpression"] = "pk, sk, #k"
            names["#k"] = "kind"
        yield request


def _pages(client: Any, request: dict[str, Any]) -> list[Any]:
    """Every page to the end, or the error."""
    pages: list[Any] = []
    start = None
    while len(pages) < 500:
        try:
            page = client.query(**request, **({"ExclusiveStartKey": start} if start else {}))
        except ClientError as error:
            pages.append(("error", error.response["Error"]))
            return pages
        page.pop("ResponseMetadata")
        pages.append(page)
        start = page.get("LastEvaluatedKey")
        if start is None:
            return pages
    raise AssertionError("a query that never ends")


def _both(client: Any, request: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    dynamodb_query.uninstall()
    expected = _pages(client, request)
    dynamodb_query.install()
    try:
        return expected, _pages(client, request)
    finally:
        dynamodb_query.uninstall()


def test_every_query_shape_pages_as_moto_does(dynamodb: Any) -> None:
    rng = random.Random(SEED + 1)
    shapes = {"paged": 0, "full pages": 0, "empty": 0}
    for request in _shapes(rng):
        expected, answered = _both(dynamodb, request)
        assert answered == expected, request
        shapes["paged"] += len(expected) > 1
        shapes["empty"] += expected[0]["Count"] == 0
        shapes["full pages"] += any(
            "LastEvaluatedKey" in page and page["Count"] < request.get("Limit", 10**6)
            for page in expected
            if "Select" not in request and "FilterExpression" not in request
        )
    # the random shapes reached what they are for
    assert shapes["paged"] > 30 and shapes["empty"] > 5 and shapes["full pages"] > 3, shapes


def test_a_table_without_a_sort_key_and_errors_answer_as_moto_does(dynamodb: Any) -> None:
    for pk in ("c0", "c17", "absent"):
        plain: dict[str, Any] = {
            "TableName": HASH_ONLY,
            "KeyConditionExpression": "pk = :h",
            "ExpressionAttributeValues": {":h": {"S": pk}},
        }
        expected, answered = _both(dynamodb, plain)
        assert answered == expected
    for n in ("0", "3", "3.0", "9"):  # a number index key: "3.0" is the number 3
        for forward in (True, False):
            by_number: dict[str, Any] = {
                "TableName": HASH_ONLY,
                "IndexName": "by_n",
                "KeyConditionExpression": "n = :n",
                "ExpressionAttributeValues": {":n": {"N": n}},
                "Limit": 3,
                "ScanIndexForward": forward,
            }
            expected, answered = _both(dynamodb, by_number)
            assert answered == expected
            assert n == "9" or len(expected) > 2
    wrongs: list[dict[str, Any]] = [
        {"IndexName": "missing"},
        {"IndexName": "by_time", "ConsistentRead": True},
    ]
    for wrong in wrongs:
        request: dict[str, Any] = {
            "TableName": TABLE,
            "KeyConditionExpression": "gsi1pk = :h",
            "ExpressionAttributeValues": {":h": {"S": "day#1"}},
            **wrong,
        }
        expected, answered = _both(dynamodb, request)
        assert answered == expected and expected[0][0] == "error"


def test_queries_on_many_threads_see_their_own_tables(dynamodb: Any) -> None:
    requests = [
        {
            "TableName": TABLE,
            "KeyConditionExpression": "pk = :h",
            "ExpressionAttributeValues": {":h": {"S": f"t{t}#m1"}},
        }
        for t in range(6)
    ] + [
        {
            "TableName": TABLE,
            "IndexName": "by_time",
            "KeyConditionExpression": "gsi1pk = :h",
            "ExpressionAttributeValues": {":h": {"S": "day#2"}},
        },
        {
            "TableName": HASH_ONLY,
            "KeyConditionExpression": "pk = :h",
            "ExpressionAttributeValues": {":h": {"S": "c3"}},
        },
    ]
    expected = [_pages(dynamodb, request) for request in requests]
    dynamodb_query.install()
    failures: list[Any] = []

    def run(index: int) -> None:
        for _ in range(5):
            if _pages(dynamodb, requests[index]) != expected[index]:
                failures.append(requests[index])

    try:
        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        dynamodb_query.uninstall()
    assert failures == []


def test_tables_pickle_as_before_and_a_copy_answers_queries(dynamodb: Any) -> None:
    from moto.dynamodb.models import dynamodb_backends

    dynamodb_query.install()
    try:
        table = dynamodb_backends["123456789012"]["us-east-1"].tables[HASH_ONLY]
        assert "query" not in vars(table) and "all_items" not in vars(table)
        restored: Table = pickle.loads(pickle.dumps(table))
        hash_key: Any = next(iter(restored.items))
        no_start: Any = None
        items, _, _ = restored.query(hash_key, None, [], 10, no_start, True, None)
        assert [item.hash_key for item in items] == [hash_key]
    finally:
        dynamodb_query.uninstall()
