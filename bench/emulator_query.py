"""Time of one DynamoDB Query in the local emulator as its table grows, printed as JSON.

A table made as the tracking table is (pk/sk, an index by_time on gsi1pk/gsi1sk) is loaded
with N items over about 2,000 partitions and 30 day buckets (written straight into moto's
table, not through requests, to load quickly). Then, through boto3 against moto in this
process, a base-table Query (one whole partition) and an index Query (the first 50 items of
one day) are timed with moto's own Query and with the emulator's, in the same run.

Run: .venv/bin/python bench/emulator_query.py [--items 20000 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.dynamodb.models import dynamodb_backends  # noqa: E402

from local import dynamodb_query  # noqa: E402
from local.bootstrap import table_request  # noqa: E402
from mailgate import resources  # noqa: E402

PARTITIONS = 2_000
DAYS = 30
REGION = "us-east-1"


def _load(client: Any, items: int, name: str) -> None:
    client.create_table(**{**table_request(resources.TRACKING), "TableName": name})
    table = dynamodb_backends["123456789012"][REGION].get_table(name)
    rng = random.Random(items)
    for number in range(items):
        day = rng.randrange(DAYS)
        table.put_item(
            {
                "pk": {"S": f"tenant#{rng.randrange(PARTITIONS):04d}"},
                "sk": {"S": f"msg#{number:08d}"},
                "gsi1pk": {"S": f"day#{day:02d}"},
                "gsi1sk": {"S": f"{rng.randrange(86_400):05d}#{number:08d}"},
                "sender": {"S": f"user{rng.randrange(500)}@example.com"},
                "verdict": {"S": rng.choice(["clean", "spam", "held"])},
                "size": {"N": str(rng.randrange(1_000, 200_000))},
            }
        )


def _time(call: Any, repeat: int) -> dict[str, float]:
    seconds = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - began)
    return {"median_ms": round(statistics.median(seconds) * 1000, 2), "runs": repeat}


def _measure(client: Any, items: int, repeat: int) -> dict[str, Any]:
    name = f"tracking{items}"
    began = time.perf_counter()
    _load(client, items, name)
    load_s = time.perf_counter() - began

    def base() -> int:
        page = client.query(
            TableName=name,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "tenant#0042"}},
        )
        return int(page["Count"])

    def index() -> int:
        page = client.query(
            TableName=name,
            IndexName="by_time",
            KeyConditionExpression="gsi1pk = :d",
            ExpressionAttributeValues={":d": {"S": "day#07"}},
            ScanIndexForward=False,
            Limit=50,
        )
        return int(page["Count"])

    out: dict[str, Any] = {"items": items, "load_s": round(load_s, 1)}
    for label, call in (("base_query", base), ("index_query", index)):
        dynamodb_query.uninstall()
        moto_count = call()
        moto = _time(call, repeat)
        dynamodb_query.install()
        assert call() == moto_count
        fast = _time(call, repeat)
        dynamodb_query.uninstall()
        out[label] = {
            "count": moto_count,
            "moto": moto,
            "emulator": fast,
            "speedup": round(moto["median_ms"] / max(fast["median_ms"], 0.01), 1),
        }
    dynamodb_backends["123456789012"][REGION].delete_table(name)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        results = [_measure(client, items, args.repeat) for items in args.items]
    print(
        json.dumps(
            {
                "python": platform.python_version(),
                "partitions": PARTITIONS,
                "days": DAYS,
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
