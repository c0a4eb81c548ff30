"""rspamd and clamd as child processes of the local runtime (and of the tests): loopback only,
state in a temporary directory removed at the end, run as ``nobody`` when started by root."""

from __future__ import annotations

import contextlib
import grp
import hashlib
import logging
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from string import Template

from mailgate.engines import EngineError
from mailgate.engines.clamd import ClamdClient
from mailgate.engines.rspamd import RspamdClient

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
RSPAMD_CONFIG = HERE / "rspamd"
CLAMD_CONFIG = HERE / "clamav" / "clamd.conf"
TEST_SIGNATURES = HERE / "clamav" / "mailgate-test.ndb"
OFFICIAL_DATABASES = Path("/var/lib/clamav")
RSPAMD_CONFDIR = Path("/etc/rspamd")
# Where rspamd's DNS goes: nothing answers there, so DNS-based rules find nothing.
NO_DNS = "127.0.0.1:1"
STARTUP_TIMEOUT_S = 180.0  # rspamd compiles its expressions on a first start


class EngineNotStarted(Exception):
    pass


@dataclass
class Daemon:
    """One running engine; ``restart`` starts it again as it was (the tests kill engines)."""

    name: str
    address: str  # rspamd: its URL; clamd: host:port
    workdir: Path  # its state, logs and (rspamd) compiled expressions, kept across restarts
    launch: Callable[[], subprocess.Popen[bytes]]
    ready: Callable[[], object]
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> Daemon:
        self.process = self.launch()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                raise EngineNotStarted(f"{self.name} exited at start ({self.process.returncode})")
            try:
                self.ready()
                return self
            except EngineError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise EngineNotStarted(
                        f"{self.name} did not answer within the timeout"
                    ) from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=15)

    def restart(self) -> Daemon:
        self.stop()
        return self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def rules_version() -> str:
    """The spam rules' version: the packaged rules with our overrides, named by their digest."""
    digest = hashlib.sha256()
    for path in sorted(RSPAMD_CONFIG.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(RSPAMD_CONFIG).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return f"packaged+{digest.hexdigest()[:12]}"


def _program(program: str) -> str | None:
    return shutil.which(program) or shutil.which(program, path="/usr/sbin:/usr/bin")


def _unprivileged() -> tuple[str, str] | None:
    """``nobody`` when we are root, so no engine parses hostile mail as root."""
    if os.geteuid() != 0:
        return None
    return "nobody", "nogroup" if _has_group("nogroup") else "nobody"


def _has_group(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def _workdir(name: str) -> Path:
    """A fresh temporary directory the engine's account owns."""
    path = Path(tempfile.mkdtemp(prefix=f"mailgate-{name}-"))
    return _own(path)


def _own(path: Path) -> Path:
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        for item in (path, *path.rglob("*")):
            os.chown(item, nobody.pw_uid, nobody.pw_gid)
    return path


def _popen(command: list[str], workdir: Path) -> subprocess.Popen[bytes]:
    account = _unprivileged()
    output = (workdir / "output.log").open("ab")
    try:
        return subprocess.Popen(  # noqa: S603 - our own command line, no shell
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with its workers
            user=account[0] if account else None,
            group=account[1] if account else None,
            extra_groups=[] if account else None,
            cwd=workdir,
        )
    finally:
        output.close()


def rspamd(port: int, timeout_s: float) -> Daemon | None:
    """rspamd with the packaged rules and ours (``rspamd/``); None when not installed."""
    program = _program("rspamd")
    if program is None:
        return None
    workdir = _workdir("rspamd")
    bind = f"127.0.0.1:{port}"
    variables = {
        "CONFDIR": str(RSPAMD_CONFDIR),
        "LOCAL_CONFDIR": str(RSPAMD_CONFIG.resolve()),
        "DBDIR": str(workdir),
        "RUNDIR": str(workdir),
        "LOGDIR": str(workdir),
        "BIND": bind,
        "DNS": NO_DNS,
    }
    command = [program, "-f", "-c", str(RSPAMD_CONFIG.resolve() / "rspamd.conf")]
    for name, value in variables.items():
        command += ["--var", f"{name}={value}"]
    client = RspamdClient(f"http://{bind}", timeout_s)
    launch = partial(_popen, command, workdir)
    return Daemon("rspamd", f"http://{bind}", workdir, launch, client.ping)


def clamd(port: int, timeout_s: float, max_bytes: int) -> Daemon | None:
    """clamd with the project's test signatures, and the official databases when present;
    None when not installed."""
    program = _program("clamd")
    if program is None:
        return None
    workdir = _workdir("clamd")
    database = workdir / "database"
    database.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(TEST_SIGNATURES, database / TEST_SIGNATURES.name)
    for official in sorted(OFFICIAL_DATABASES.glob("*.c[vl]d")):
        target = database / official.name
        if not target.exists():
            target.symlink_to(official)
    temporary = workdir / "tmp"
    temporary.mkdir(exist_ok=True)
    config = workdir / "clamd.conf"
    config.write_text(
        Template(CLAMD_CONFIG.read_text()).substitute(
            PORT=port, DATABASE=database, TEMP=temporary, MAX_BYTES=max_bytes
        )
    )
    _own(workdir)
    address = f"127.0.0.1:{port}"
    client = ClamdClient(address, timeout_s, max_bytes)
    command = [program, "-c", str(config)]
    return Daemon("clamd", address, workdir, partial(_popen, command, workdir), client.version)
