"""boto3 clients, created once per process (resources once per thread: they are not thread-safe).

Endpoints come from boto3's own configuration (``AWS_ENDPOINT_URL`` locally), so the code
has no local-only branches. Clients and resources are made from one session, one at a time:
the session keeps the service models it has loaded (loading them costs a few hundred
milliseconds of CPU), and many threads asking for a client at once make one, not one each.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# One client serves every thread of a process: the SMTP front runs up to 64 at once
# (MAILGATE_FRONT_THREADS), and botocore's default pool of 10 connections would make the rest
# open and drop a connection per call.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=64)
# Presigned S3 links are SigV4 (botocore would otherwise presign with the deprecated SigV2).
_SERVICE_CONFIG = {"s3": _CONFIG.merge(Config(signature_version="s3v4"))}
_local = threading.local()
_making = threading.Lock()
_clients: dict[str, Any] = {}


@cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


def client(service: str) -> Any:
    found = _clients.get(service)
    if found is None:
        with _making:
            found = _clients.get(service)
            if found is None:
                config = _SERVICE_CONFIG.get(service, _CONFIG)
                found = _clients[service] = _session().client(service, config=config)  # type: ignore[call-overload]
    return found


def new_client(service: str) -> Any:
    """A client of its own, for a caller that customises it (``client`` shares one)."""
    with _making:
        return _session().client(service, config=_SERVICE_CONFIG.get(service, _CONFIG))  # type: ignore[call-overload]


def table(name: str) -> Any:
    tables: dict[str, Any] = _local.__dict__.setdefault("tables", {})
    if name not in tables:
        with _making:
            resource = _session().resource("dynamodb", config=_CONFIG)
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
