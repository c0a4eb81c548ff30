"""boto3 clients, created once per process (resources once per thread: they are not thread-safe).

Endpoints come from boto3's own configuration (``AWS_ENDPOINT_URL`` locally), so the code
has no local-only branches.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})
_local = threading.local()


@cache
def client(service: str) -> Any:
    return boto3.session.Session().client(service, config=_CONFIG)  # type: ignore[call-overload]


def table(name: str) -> Any:
    tables: dict[str, Any] = _local.__dict__.setdefault("tables", {})
    if name not in tables:
        resource = boto3.session.Session().resource("dynamodb", config=_CONFIG)
        tables[name] = resource.Table(name)
    return tables[name]


class ConditionFailed(Exception):
    """A transaction was cancelled because the condition of action ``index`` did not hold."""

    def __init__(self, index: int) -> None:
        super().__init__(f"condition of transaction item {index} failed")
        self.index = index


def transact_write(actions: list[dict[str, Any]]) -> None:
    """DynamoDB TransactWriteItems; ``ConditionFailed`` names the first failed condition."""
    try:
        client("dynamodb").transact_write_items(TransactItems=actions)
    except ClientError as error:
        if error.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        for index, reason in enumerate(error.response.get("CancellationReasons", [])):
            if reason.get("Code") == "ConditionalCheckFailed":
                raise ConditionFailed(index) from error
        raise
