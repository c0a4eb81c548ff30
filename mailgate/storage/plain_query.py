"""DynamoDB queries whose items are read straight from the answer's JSON.

botocore parses an answer by walking the service model for every attribute of every item, and
boto3's resource layer then walks the items again to turn ``{"S": "…"}`` into ``"…"``: for a
page of 1,000 rows of 25 attributes that is most of an export's CPU. A hook on botocore's
``before-parse`` event (the place botocore gives customisations) reads ``Items`` with ``json``
and one small conversion instead, and leaves the rest of the answer (the page key, the counts,
errors) to botocore. Items come out as the resource layer gives them: numbers as ``Decimal``,
sets as ``set``, binary as ``bytes``.
"""

from __future__ import annotations

import base64
import json
import threading
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from mailgate import aws

_client: Any = None
_making = threading.Lock()
_keys_in = TypeSerializer()
_keys_out = TypeDeserializer()


def plain(value: dict[str, Any]) -> Any:
    """One attribute value of DynamoDB's JSON as a Python value."""
    ((kind, data),) = value.items()
    if kind == "S":
        return data
    if kind == "N":
        return Decimal(data)
    if kind == "M":
        return {name: plain(inner) for name, inner in data.items()}
    if kind == "L":
        return [plain(inner) for inner in data]
    if kind == "BOOL":
        return bool(data)
    if kind == "NULL":
        return None
    if kind == "SS":
        return set(data)
    if kind == "NS":
        return {Decimal(number) for number in data}
    if kind == "B":
        return base64.b64decode(data)
    if kind == "BS":
        return {base64.b64decode(blob) for blob in data}
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def _items_read_plainly(
    response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any
) -> None:
    if response_dict.get("status_code") != 200:
        return  # an error: botocore's parser reads it
    body = json.loads(response_dict["body"])
    items = body.pop("Items", [])
    customized_response_dict["Items"] = [
        {name: plain(value) for name, value in item.items()} for item in items
    ]
    response_dict["body"] = json.dumps(body).encode()


def _dynamodb() -> Any:
    """A client of its own (the hook must not change what other callers' clients return)."""
    global _client
    with _making:
        if _client is None:
            client = aws.new_client("dynamodb")
            client.meta.events.register("before-parse.dynamodb.Query", _items_read_plainly)
            _client = client
    return _client


def query(
    table_name: str, start_key: dict[str, Any] | None = None, **request: Any
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """One Query of the low-level API (``request`` in DynamoDB's JSON, ``start_key`` plain):
    its items and the key to go on from (plain; None when there are no more)."""
    if start_key is not None:
        request["ExclusiveStartKey"] = {k: _keys_in.serialize(v) for k, v in start_key.items()}
    response = _dynamodb().query(TableName=table_name, **request)
    more = response.get("LastEvaluatedKey")
    key = None if more is None else {k: _keys_out.deserialize(v) for k, v in more.items()}
    return response["Items"], key
