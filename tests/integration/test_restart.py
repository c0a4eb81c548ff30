"""Mail that is waiting for a later step when ``mailgate up`` stops is handled after it starts
again: its raw message, rows and queued job all come back."""

from __future__ import annotations

import os
import signal
import smtplib
from pathlib import Path

import pytest

from tests.support.api_client import ApiClient, wait_for
from tests.support.local_up import UpProcess, up_env
from tests.support.ports import free_port
from tests.support.smtp_peer import ScriptedServer

pytestmark = pytest.mark.integration


def demo_api(process: UpProcess) -> ApiClient:
    key = process.output.split("demo API key", 1)[1].split()[0]
    return ApiClient(f"http://127.0.0.1:{process.env['MAILGATE_API_PORT']}", key)


def deliver_demo_mail_to(api: ApiClient, port: int) -> None:
    status, document = api.request("GET", "/v1/config")
    assert status == 200, document
    config = document["config"]
    config["domains"][0]["inbound_servers"] = [{"host": "127.0.0.1", "port": port}]
    status, body = api.request(
        "PUT", "/v1/config", {"version": document["version"], "config": config}
    )
    assert status == 200, body


def events(api: ApiClient, message_uuid: str) -> list[str]:
    status, detail = api.detail(message_uuid)
    return [e["event"] for e in detail.get("events", [])] if status == 200 else []


def wait_for_event(api: ApiClient, message_uuid: str, wanted: str) -> None:
    """Wait until the message's timeline has ``wanted``; a failure says what it had."""
    seen: list[str] = []

    def has_it() -> bool:
        seen[:] = events(api, message_uuid)
        return wanted in seen

    try:
        wait_for(has_it)
    except AssertionError:
        raise AssertionError(f"no {wanted!r} event; the message's events: {seen}") from None


def test_mail_waiting_for_a_retry_is_delivered_after_a_clean_restart(tmp_path: Path) -> None:
    # Given a gateway whose demo domain's server does not answer yet
    env = up_env(tmp_path / "state") | {"MAILGATE_RETRY_SCHEDULE_S": "3"}
    server = ScriptedServer(port=free_port())
    with UpProcess(env).start() as first:  # (killed, should the test fail before it stops)
        api = demo_api(first)
        deliver_demo_mail_to(api, server.port)
        # and a message that was accepted and deferred
        with smtplib.SMTP("127.0.0.1", int(env["MAILGATE_SMTP_PORT"]), timeout=30) as smtp:
            smtp.ehlo()
            smtp.mail("a@sender.test")
            smtp.rcpt("later@example.com")
            code, reply = smtp.data(b"Subject: retry me\r\n\r\nx\r\n")
        assert code == 250
        message_uuid = reply.decode().split()[-1]
        wait_for_event(api, message_uuid, "deferred")

        # When the gateway is stopped with Ctrl-C, the server comes up, and the gateway starts again
        assert first.interrupt() == 0
    server.start()
    second = UpProcess(env).start()
    try:
        # Then the message is delivered from the copy kept across the restart
        wait_for_event(api, message_uuid, "delivered")
        (received,) = server.received
        assert b"Subject: retry me" in received.data
    finally:
        second.interrupt()
        server.stop()


def test_the_emulator_does_not_outlive_a_killed_gateway(tmp_path: Path) -> None:
    # Given mailgate up running, its AWS emulator in a child process
    env = up_env(tmp_path / "state")
    first = UpProcess(env).start()
    assert first.process is not None

    # When only the gateway's own process is killed (not its group)
    os.kill(first.process.pid, signal.SIGKILL)
    first.wait()  # the output pipe closes once the emulator, which shares it, is gone too

    # Then the emulator has stopped, and the next start takes the same ports and state
    second = UpProcess(env).start()
    assert second.interrupt() == 0
