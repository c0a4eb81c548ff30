"""The logger and tracer every function shares (service ``mailgate``).

The tracer sends to X-Ray only inside Lambda: outside it (tests, ``mailgate up``) Powertools
disables it, as it does when ``POWERTOOLS_TRACE_DISABLED`` is set.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.logging.types import PowertoolsLogRecord

SERVICE = "mailgate"
# Keys a terminal reader does not need on every line (the Lambda context's among them).
NOT_ON_TERMINAL = frozenset(
    {
        "level",
        "location",
        "message",
        "timestamp",
        "service",
        "sampling_rate",
        "cold_start",
        "function_name",
        "function_memory_size",
        "function_arn",
        "function_request_id",
        "xray_trace_id",
        "exception",
        "exception_name",
        "stack_trace",
    }
)

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)


def log_through_shared_logger(terminal: bool) -> None:
    """For a long-running process (the SMTP front's container, ``mailgate up``): every
    logger's records go out once each through the shared logger's handler, as JSON lines, or
    as ``time level message key=value …`` lines for a person at a terminal."""
    formatter = logger.registered_formatter
    if terminal and isinstance(formatter, LambdaPowertoolsFormatter):
        formatter.json_serializer = terminal_line
    logging.basicConfig(level=logging.INFO, handlers=[logger.registered_handler], force=True)
    logging.getLogger(SERVICE).propagate = False  # its own handler is the root's


def terminal_line(record: dict[str, Any] | PowertoolsLogRecord) -> str:
    """A structured record as one line a person reads: time, level, message, then the keys."""
    log = dict(record)
    clock = str(log.get("timestamp", ""))[11:23]  # "2025-06-15 10:00:01,123+0000"
    facts = " ".join(
        f"{key}={_value(value)}" for key, value in log.items() if key not in NOT_ON_TERMINAL
    )
    line = f"{clock} {log.get('level', ''):<7} {log.get('message', '')}  {facts}".rstrip()
    return f"{line}\n{log['exception']}" if log.get("exception") else line


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return json.dumps(text) if not text or any(c in text for c in ' "=') else text
