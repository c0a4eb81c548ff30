"""Latency the write-ahead journal adds to each mutating AWS call, printed as JSON.

The same calls (DynamoDB PutItem, S3 PutObject of 10 KB, SQS SendMessage, SQS DeleteMessage)
are made against moto's plain server and against the local runtime's journalled one (state in
a temporary directory, each change fsync'd before its answer), both in this process; p50 and
mean per call, one client at a time, then PutItem calls per second from 4 client threads (the
journal applies changes one at a time, and fsyncs for every writer waiting at that moment).

Run: .venv/bin/python bench/journal.py [--calls N]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

from local.aws_emulator import AwsEmulator  # noqa: E402
from tests.support.ports import free_port  # noqa: E402

REGION = "ap-northeast-1"
BODY = os.urandom(10 * 1024)
THREADS = 4


def clients(endpoint: str) -> dict[str, Any]:
    options = {
        "endpoint_url": endpoint,
        "region_name": REGION,
        "aws_access_key_id": "local",
        "aws_secret_access_key": "local",
    }
    return {name: boto3.client(name, **options) for name in ("dynamodb", "s3", "sqs")}


def timed(call: Callable[[int], Any], calls: int) -> dict[str, float]:
    spent = []
    for n in range(calls):
        started = time.perf_counter()
        call(n)
        spent.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": statistics.median(spent), "mean_ms": statistics.fmean(spent)}


def measure(endpoint: str, prefix: str, calls: int) -> dict[str, Any]:
    c = clients(endpoint)
    table, bucket = f"{prefix}-table", f"{prefix}-bucket"
    c["dynamodb"].create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    c["s3"].create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    queue = c["sqs"].create_queue(QueueName=f"{prefix}-queue")["QueueUrl"]

    def put_item(n: int) -> None:
        c["dynamodb"].put_item(TableName=table, Item={"pk": {"S": f"{n}"}, "v": {"N": str(n)}})

    def put_object(n: int) -> None:
        c["s3"].put_object(Bucket=bucket, Key=f"mail/{n}.eml", Body=BODY)

    def send(n: int) -> None:
        c["sqs"].send_message(QueueUrl=queue, MessageBody=json.dumps({"n": n}))

    handles: list[str] = []
    for _ in range(calls):
        received = c["sqs"].receive_message(QueueUrl=queue, MaxNumberOfMessages=1)
        handles += [m["ReceiptHandle"] for m in received.get("Messages", [])]

    def delete(n: int) -> None:
        c["sqs"].delete_message(QueueUrl=queue, ReceiptHandle=handles[n])

    results = {
        "dynamodb_put_item": timed(put_item, calls),
        "s3_put_object_10kb": timed(put_object, calls),
        "sqs_send_message": timed(send, calls),
    }
    for _ in range(calls):
        received = c["sqs"].receive_message(QueueUrl=queue, MaxNumberOfMessages=1)
        handles += [m["ReceiptHandle"] for m in received.get("Messages", [])]
    results["sqs_delete_message"] = timed(delete, min(calls, len(handles)))
    results[f"dynamodb_put_item_per_s_{THREADS}_threads"] = concurrent_puts(endpoint, table, calls)
    return results


def concurrent_puts(endpoint: str, table: str, calls: int) -> float:
    def run(thread: int) -> None:
        dynamodb = clients(endpoint)["dynamodb"]
        for n in range(calls):
            dynamodb.put_item(TableName=table, Item={"pk": {"S": f"t{thread}-{n}"}})

    threads = [threading.Thread(target=run, args=(t,)) for t in range(THREADS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return round(THREADS * calls / (time.perf_counter() - started), 1)


def fdatasync_ms(directory: Path, calls: int) -> float:
    """The disk's own cost: one small record written and fdatasync'd."""
    fd = os.open(directory / "probe", os.O_WRONLY | os.O_CREAT)
    try:
        spent = []
        for _ in range(calls):
            started = time.perf_counter()
            os.write(fd, b"x" * 200)
            os.fdatasync(fd)
            spent.append((time.perf_counter() - started) * 1000)
    finally:
        os.close(fd)
    return round(statistics.median(spent), 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    calls = parser.parse_args().calls
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    plain = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    plain.start()
    host, port = plain.get_host_and_port()
    with tempfile.TemporaryDirectory() as state:
        journalled = AwsEmulator("127.0.0.1", free_port(), Path(state), snapshot_bytes=64 << 20)
        journalled.start()
        try:
            off = measure(f"http://{host}:{port}", "off", calls)
            on = measure(journalled.endpoint, "on", calls)
            fsync = fdatasync_ms(Path(state), calls)
        finally:
            journalled.stop()
            plain.stop()
    added = {
        name: round(on[name]["p50_ms"] - off[name]["p50_ms"], 2)
        for name in off
        if isinstance(off[name], dict)
    }
    print(
        json.dumps(
            {
                "calls_per_operation": calls,
                "machine": {
                    "cpus": os.cpu_count(),
                    "load_1min": os.getloadavg()[0],
                    "python": platform.python_version(),
                    "fdatasync_p50_ms": fsync,
                },
                "journal_off": off,
                "journal_on": on,
                "added_p50_ms": added,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
