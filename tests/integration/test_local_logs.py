"""``mailgate up`` says what it does: one readable line per SMTP decision and per delivery
attempt on its terminal, and never a message's subject or body."""

from __future__ import annotations

import re
import smtplib
from typing import Any

import pytest

from tests.integration.test_local_up import UpProcess, env  # noqa: F401  (the fixture)
from tests.support.api_client import ApiClient, wait_for

pytestmark = pytest.mark.integration

SUBJECT = "Payroll for March"
BODY = "the confidential body"


def test_mailgate_up_prints_a_line_per_decision_and_per_delivery_attempt(
    env: dict[str, str],  # noqa: F811
) -> None:
    # Given a running gateway
    up = UpProcess(env).start()
    try:
        key = up.output.split("demo API key", 1)[1].split()[0]
        api = ApiClient(f"http://127.0.0.1:{env['MAILGATE_API_PORT']}", key)
        # When a client sends to a served and an unserved recipient
        with smtplib.SMTP("127.0.0.1", int(env["MAILGATE_SMTP_PORT"]), timeout=30) as smtp:
            smtp.ehlo("client.sender.test")
            smtp.mail("a@sender.test")
            assert smtp.rcpt("x@unserved.test")[0] == 550
            assert smtp.rcpt("logs@example.com")[0] == 250
            code, reply = smtp.data(f"Subject: {SUBJECT}\r\n\r\n{BODY}\r\n".encode())
        assert code == 250
        message_uuid = reply.decode().rsplit(" ", 1)[1]

        def delivered() -> Any:
            found = api.row(message_uuid, "logs@example.com")
            return found if found and found["status"] == "delivered" else None

        wait_for(delivered)
    finally:
        up.interrupt()

    # Then the terminal shows the refusal, the acceptance and the delivery, one line each
    lines = up.output.splitlines()
    (refused,) = [line for line in lines if " smtp refused " in line]
    assert "smtp_command=RCPT" in refused and "recipient=x@unserved.test" in refused
    assert 'reply="550 5.7.1 Relaying denied' in refused
    (accepted,) = [line for line in lines if " smtp accepted " in line]
    assert re.match(r"^\d\d:\d\d:\d\d,\d{3} INFO {4}smtp accepted  ", accepted), accepted
    for fact in (
        "tenant=demo",
        f"message_uuid={message_uuid}",
        "client_ip=127.0.0.1",
        "sender=a@sender.test",
        "recipients=1",
        "tls=none",
    ):
        assert fact in accepted, (fact, accepted)
    (attempt,) = [line for line in lines if " delivery attempt " in line]
    assert f"message_uuid={message_uuid}" in attempt and "delivered=1" in attempt, attempt
    # … and neither the subject nor the body
    assert SUBJECT not in up.output and BODY not in up.output
