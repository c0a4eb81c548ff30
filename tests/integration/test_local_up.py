"""``mailgate up`` as a user runs it: a process that serves, stops on Ctrl-C, and keeps state."""

from __future__ import annotations

import smtplib
import socket
import subprocess
import sys
from collections.abc import Iterator
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

import pytest

from tests.support.api_client import ApiClient, wait_for
from tests.support.local_up import UpProcess, up_env

pytestmark = pytest.mark.integration


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    yield up_env(tmp_path / "state")


def test_state_survives_a_restart(env: dict[str, str]) -> None:
    # Given a running gateway (no demo key given: one is made and kept in the state directory)
    with UpProcess(env).start() as first:
        key = first.output.split("demo API key", 1)[1].split()[0]
        api = ApiClient(f"http://127.0.0.1:{env['MAILGATE_API_PORT']}", key)
        with smtplib.SMTP("127.0.0.1", int(env["MAILGATE_SMTP_PORT"]), timeout=30) as smtp:
            message = (
                f"From: a@sender.test\r\nTo: keep@example.com\r\nDate: {formatdate()}\r\n"
                f"Message-ID: {make_msgid()}\r\nSubject: keep me\r\n\r\nKept across a restart.\r\n"
            )
            smtp.sendmail("a@sender.test", ["keep@example.com"], message)

        def delivered() -> Any:
            _status, page = api.search(period="1h")
            return [i for i in page.get("items", []) if i["status"] == "delivered"]

        (row,) = wait_for(delivered)
        # When it is stopped with Ctrl-C and started again
        assert first.interrupt() == 0
    with UpProcess(env).start() as second:
        # Then the same key works and the message is still found
        assert key in second.output
        status, page = api.search(period="1h")
        assert status == 200
        assert [i["message_uuid"] for i in page["items"]] == [row["message_uuid"]]
        status, detail = api.detail(row["message_uuid"])
        events = [e["event"] for e in detail["events"] if e["event"] != "policy"]
        assert events == ["received", "delivered"]
        assert second.interrupt() == 0


def test_a_port_in_use_is_named_with_its_setting(env: dict[str, str]) -> None:
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time, socket; s=socket.socket(); "
            f"s.bind(('127.0.0.1', {env['MAILGATE_API_PORT']})); s.listen(); time.sleep(30)",
        ]
    ) as holder:
        try:
            wait_for(lambda: _in_use(int(env["MAILGATE_API_PORT"])))
            result = subprocess.run(
                [sys.executable, "-m", "local.cli", "up"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
        finally:
            holder.kill()
    assert result.returncode != 0
    assert "MAILGATE_API_PORT" in result.stderr


def _in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
