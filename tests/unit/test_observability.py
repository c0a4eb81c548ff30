"""On a terminal, a structured log record is one line a person reads, its keys as key=value."""

from __future__ import annotations

import logging
import sys

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from mailgate.observability import terminal_line


def record(**extra: object) -> logging.LogRecord:
    line = logging.LogRecord("mailgate", logging.INFO, __file__, 1, "smtp accepted", None, None)
    line.__dict__.update(extra)
    return line


def test_a_record_is_one_readable_line_with_its_keys_as_key_value_pairs() -> None:
    formatter = LambdaPowertoolsFormatter(json_serializer=terminal_line, service="mailgate")

    text = formatter.format(
        record(tenant="demo", recipients=2, reply="250 2.0.0 OK queued as 1f2e", helo=None)
    )

    clock, level, rest = text.split(maxsplit=2)
    assert len(clock) == len("10:00:01,123") and level == "INFO"
    assert rest == 'smtp accepted  tenant=demo recipients=2 reply="250 2.0.0 OK queued as 1f2e"'


def test_an_exception_follows_its_line() -> None:
    formatter = LambdaPowertoolsFormatter(json_serializer=terminal_line)
    try:
        raise ValueError("boom")
    except ValueError:
        failed = record(tenant="demo")
        failed.exc_info = sys.exc_info()

    first, *rest = formatter.format(failed).splitlines()
    assert first.endswith("smtp accepted  tenant=demo")
    assert rest[-1] == "ValueError: boom"
