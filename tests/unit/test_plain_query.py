"""Items read straight from DynamoDB's JSON are the values boto3's resource layer gives."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer

from mailgate.storage.plain_query import plain

VALUES: list[dict[str, Any]] = [
    {"S": "会議の資料 =HYPERLINK()"},
    {"N": "20480"},
    {"N": "-1.25"},
    {"BOOL": False},
    {"NULL": True},
    {"SS": ["a", "b"]},
    {"NS": ["1", "2.5"]},
    {"L": [{"S": "x"}, {"N": "1"}, {"M": {"k": {"L": []}}}]},
    {"M": {"to": {"L": [{"S": "John <john@example.com>"}]}, "n": {"N": "3"}}},
]


@pytest.mark.parametrize("value", VALUES)
def test_a_value_reads_as_boto3_reads_it(value: dict[str, Any]) -> None:
    assert plain(value) == TypeDeserializer().deserialize(value)


def test_numbers_are_decimals_as_boto3_gives_them() -> None:
    assert isinstance(plain({"N": "1"}), Decimal)


def test_binary_is_decoded() -> None:
    assert plain({"B": "aGk="}) == b"hi"


def test_an_unknown_type_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown"):
        plain({"X": "?"})
