"""The logger and tracer every function shares (service ``mailgate``).

The tracer sends to X-Ray only inside Lambda: outside it (tests, ``mailgate up``) Powertools
disables it, as it does when ``POWERTOOLS_TRACE_DISABLED`` is set.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Tracer

SERVICE = "mailgate"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
