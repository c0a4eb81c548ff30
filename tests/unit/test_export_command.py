"""The query ``mailgate export`` sends: a JSON file's search, each flag given over it."""

from __future__ import annotations

import io

import click
import pytest

from local.export_command import query_of


def test_flags_given_override_the_files_fields_and_absent_flags_do_not() -> None:
    query = query_of(
        io.StringIO('{"period": "7d", "type": "blocked", "subject": "kept"}'),
        {"type": "accepted", "period": None, "senders": None, "subject": None},
    )

    assert query == {"period": "7d", "type": "accepted", "subject": "kept"}


def test_no_file_is_the_flags_alone() -> None:
    assert query_of(None, {"senders": ["a@b.test"], "period": None}) == {"senders": ["a@b.test"]}


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '"24h"'])
def test_a_file_that_is_no_json_object_is_a_bad_parameter(text: str) -> None:
    with pytest.raises(click.BadParameter, match="JSON"):
        query_of(io.StringIO(text), {})
