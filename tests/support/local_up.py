"""``mailgate up`` (``python -m local.cli up``) as a child process on free loopback ports."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.ports import free_port


def up_env(state_dir: Path) -> dict[str, str]:
    """The environment of a gateway on free ports keeping its state in ``state_dir``."""
    values = {
        "MAILGATE_SMTP_PORT": str(free_port()),
        "MAILGATE_RELAY_PORT": str(free_port()),
        "MAILGATE_API_PORT": str(free_port()),
        "MAILGATE_AWS_PORT": str(free_port()),
        "MAILGATE_SINK_PORT": str(free_port()),
        "MAILGATE_LOCAL_DNS_PORT": str(free_port()),
        "MAILGATE_LOCAL_RSPAMD_PORT": str(free_port()),
        "MAILGATE_LOCAL_CLAMD_PORT": str(free_port()),
        "MAILGATE_STATE_DIR": str(state_dir),
        # The engines have their own tests; these runs check the runtime around them.
        "MAILGATE_LOCAL_ENGINES": "false",
    }
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("MAILGATE_", "AWS_"))}
    return inherited | values


class UpProcess:
    def __init__(self, env: dict[str, str], command: list[str] | None = None) -> None:
        self.env = env
        self.command = command or [sys.executable, "-m", "local.cli", "up"]
        self.process: subprocess.Popen[str] | None = None
        self.output = ""

    def start(self) -> UpProcess:
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, killed as a whole
        )
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output += line
            if line.startswith("Try:"):
                return self
        raise AssertionError(f"mailgate up did not start:\n{self.output}")

    def __enter__(self) -> UpProcess:
        return self

    def __exit__(self, *_: object) -> None:
        """A test that fails midway leaves no gateway running behind it."""
        if self.process is not None and self.process.poll() is None:
            self.kill()

    def interrupt(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        rest, _ = self.process.communicate(timeout=60)
        self.output += rest
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL to the whole process group, as a power cut or the OOM killer would."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):  # it may have died already
            os.killpg(self.process.pid, signal.SIGKILL)
        self.wait()

    def wait(self) -> int:
        assert self.process is not None
        rest, _ = self.process.communicate(timeout=60)
        self.output += rest
        return self.process.returncode
