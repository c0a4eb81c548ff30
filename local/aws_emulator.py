"""moto's server mode, made durable by a write-ahead journal in front of it.

Every mutating request that succeeds is applied and appended to the journal under one lock
(so the journal's order is the order moto applied them in), and its response is released only
once the record is on disk. At start the last snapshot is loaded and the journal after it is
replayed. Requests are journalled as they came, except SQS messages: a send is journalled as
the message moto made (its id kept), a delete as the ids it removed, a receive only as receive
counts. Long polls never hold the lock. See docs/local-runtime.md for the design and its cost.
"""

from __future__ import annotations

import io
import json
import logging
import pickle
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from waitress import wasyncore
from waitress.server import BaseWSGIServer, create_server
from werkzeug.wsgi import get_input_stream

from local import dynamodb_query, moto_state, presigned
from local.journal import AFRESH, DamagedSnapshot, Journal, JournalBroken
from local.moto_state import QueueRef

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
Response = tuple[str, list[tuple[str, str]], bytes]

READ_PREFIXES = ("Get", "Describe", "List", "Query", "Scan", "BatchGet", "TransactGet")
# Visibility is not state worth keeping: every message is visible again after a restore.
SQS_KINDS = {
    "SendMessage": "send",
    "SendMessageBatch": "send",
    "DeleteMessage": "delete",
    "DeleteMessageBatch": "delete",
    "ReceiveMessage": "receive",
    "ChangeMessageVisibility": "read",
    "ChangeMessageVisibilityBatch": "read",
}
# waitress keeps connections alive (werkzeug's development server, moto's own, closes each after
# one response: every AWS call would open a TCP connection and start a thread); long polls hold
# a thread each, so there are enough for every poller and the calls beside them.
SERVER_THREADS = 64
IDLE_CONNECTION_S = 120
KEPT_ENVIRON = "moto.preserved_header_names"  # moto's spelling of headers with underscores


def _kind(environ: dict[str, Any]) -> str:
    """read (passed through), write (journalled as the request), or an SQS message kind."""
    service, _, action = environ.get("HTTP_X_AMZ_TARGET", "").partition(".")
    if action:
        if service == "AmazonSQS" and action in SQS_KINDS:
            return SQS_KINDS[action]
        return "read" if action.startswith(READ_PREFIXES) else "write"
    return "read" if environ["REQUEST_METHOD"] in ("GET", "HEAD", "OPTIONS") else "write"


def _buffer_body(environ: dict[str, Any]) -> bytes:
    body: bytes = get_input_stream(environ).read()
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ["wsgi.input_terminated"] = False
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    return body


def _call(app: Any, environ: dict[str, Any]) -> Response:
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, headers]
        return lambda data: None  # moto never uses the write() callable

    chunks = app(environ, start_response)
    try:
        content = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return started[0], started[1], content


def _ok(status: str) -> bool:
    return int(status.split(" ", 1)[0]) < 400


def _unavailable(environ: dict[str, Any], error: JournalBroken) -> Response:
    text = f"the local AWS state cannot be written to disk ({error}); restart mailgate up"
    if environ.get("HTTP_X_AMZ_TARGET"):
        body = json.dumps({"__type": "ServiceUnavailable", "message": text}).encode()
        kind = "application/x-amz-json-1.0"
    else:
        body = (f"<Error><Code>ServiceUnavailable</Code><Message>{text}</Message></Error>").encode()
        kind = "application/xml"
    return "503 Service Unavailable", [("Content-Type", kind)], body


class AwsEmulator:
    def __init__(self, bind: str, port: int, state_dir: Path, snapshot_bytes: int) -> None:
        self.endpoint = f"http://{bind}:{port}"
        self._bind = bind
        self._port = port
        self._app = DomainDispatcherApplication(create_backend_app)
        self._journal = Journal(state_dir / "aws")
        self._snapshot_bytes = snapshot_bytes
        self._lock = threading.Lock()  # apply + append: the journal's order is moto's
        self._server: BaseWSGIServer | None = None
        self._connections: dict[int, Any] = {}  # the server's socket map
        self._threads: list[threading.Thread] = []
        self._snapshot_due = threading.Event()
        self._stopping = threading.Event()

    def start(self) -> None:
        dynamodb_query.install()  # a Query reads its partition, not the whole sorted table
        self._restore()
        self._journal.open()
        self._server = create_server(
            self,
            map=self._connections,
            host=self._bind,
            port=self._port,
            threads=SERVER_THREADS,
            channel_timeout=IDLE_CONNECTION_S,
            connection_limit=1000,
            ident=None,
        )
        for target, name in ((self._server.run, "aws"), (self._snapshots, "aws-snap")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()  # stops listening; the kept connections end its loop when closed
            wasyncore.close_all(self._connections)
            self._server.task_dispatcher.shutdown()
        self._stopping.set()
        self._snapshot_due.set()
        for thread in self._threads:
            thread.join()
        self.snapshot()  # a quick next start
        self._journal.close()

    def snapshot(self) -> None:
        with self._lock:
            for _ in range(3):  # a receive (not under the lock) changed a queue: read it again
                try:
                    state = moto_state.dump()
                    break
                except RuntimeError:
                    continue
            else:
                log.warning("could not snapshot the local AWS state; the journal keeps it all")
                return
            try:
                first = self._journal.rotate()
            except JournalBroken:
                return
        self._journal.write_snapshot(state, first)

    # -- the WSGI app moto's server runs -----------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        kind = _kind(environ)
        refused = presigned.refusal(environ)
        if refused is not None:
            start_response("403 Forbidden", [("Content-Type", "application/xml")])
            code, _, message = refused.partition(": ")
            return [f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()]
        if kind == "read":
            chunks: Iterable[bytes] = self._app(environ, start_response)
            return chunks
        try:
            status, headers, content = (
                self._receive(environ) if kind == "receive" else self._write(kind, environ)
            )
        except JournalBroken as error:
            status, headers, content = _unavailable(environ, error)
        start_response(status, headers)
        return [content]

    def _write(self, kind: str, environ: dict[str, Any]) -> Response:
        body = _buffer_body(environ)
        request = moto_state.parse(body) if kind in ("send", "delete") else {}
        ref = QueueRef.of(environ, request) if request else None
        with self._lock:
            self._journal.check()
            deleting = moto_state.handles_to_ids(ref, request) if ref and kind == "delete" else {}
            status, headers, content = _call(self._app, environ)
            ticket = None
            if _ok(status):
                record = self._record(kind, environ, body, ref, content, deleting)
                ticket = self._journal.append(pickle.dumps(record, pickle.HIGHEST_PROTOCOL))
        if ticket is not None:
            self._after_append(ticket)
        return status, headers, content

    def _receive(self, environ: dict[str, Any]) -> Response:
        request = moto_state.parse(_buffer_body(environ))
        status, headers, content = _call(self._app, environ)  # a long poll: not under the lock
        if _ok(status):
            ref = QueueRef.of(environ, request)
            counts = moto_state.receive_counts(ref, moto_state.parse(content))
            if counts:
                with self._lock:
                    ticket = self._journal.append(pickle.dumps(("received", ref, counts)))
                self._after_append(ticket)
        return status, headers, content

    def _after_append(self, ticket: int) -> None:
        self._journal.sync(ticket)
        if self._journal.bytes_since_snapshot > self._snapshot_bytes:
            self._snapshot_due.set()

    @staticmethod
    def _record(
        kind: str,
        environ: dict[str, Any],
        body: bytes,
        ref: QueueRef | None,
        content: bytes,
        ids_by_entry: dict[str, str],
    ) -> tuple[Any, ...]:
        if kind == "send" and ref is not None:
            return ("sent", ref, moto_state.sent(ref, moto_state.parse(content)))
        if kind == "delete" and ref is not None:
            return ("deleted", ref, moto_state.deleted(ids_by_entry, moto_state.parse(content)))
        kept = {
            key: value
            for key, value in environ.items()
            if isinstance(value, str) and not key.startswith(("wsgi.", "werkzeug."))
        }
        kept[KEPT_ENVIRON] = environ.get(KEPT_ENVIRON, {})
        return ("request", kept, body)

    # -- start --------------------------------------------------------------------------------

    def _restore(self) -> None:
        snapshot, records = self._journal.recover()
        if snapshot is not None:
            try:
                moto_state.load(snapshot)
            except Exception as error:  # e.g. written by another version of moto
                raise DamagedSnapshot(
                    f"the snapshot in {self._journal.directory} cannot be loaded ({error}){AFRESH}"
                ) from error
        replayed = 0
        for record in records:
            self._replay(pickle.loads(record))  # noqa: S301 - our own journal
            replayed += 1
        moto_state.settle()
        if snapshot is not None or replayed:
            log.info(
                "local AWS state restored: %s and %d journal records after it",
                "a snapshot" if snapshot is not None else "no snapshot",
                replayed,
            )

    def _replay(self, record: tuple[Any, ...]) -> None:
        kind = record[0]
        if kind == "sent":
            moto_state.replay_sent(record[1], record[2])
        elif kind == "deleted":
            moto_state.replay_deleted(record[1], record[2])
        elif kind == "received":
            moto_state.replay_received(record[1], record[2])
        else:
            environ, body = record[1], record[2]
            environ |= {
                "wsgi.input": io.BytesIO(body),
                "wsgi.errors": sys.stderr,
                "wsgi.url_scheme": "http",
                "wsgi.version": (1, 0),
                "wsgi.multithread": True,
                "wsgi.multiprocess": False,
                "wsgi.run_once": False,
            }
            status, _headers, content = _call(self._app, environ)
            if not _ok(status):
                log.warning(
                    "a journalled %s %s answered %s when replayed: %s",
                    environ["REQUEST_METHOD"],
                    environ.get("PATH_INFO"),
                    status,
                    content[:200],
                )

    def _snapshots(self) -> None:
        while True:
            self._snapshot_due.wait()
            self._snapshot_due.clear()
            if self._stopping.is_set():
                return
            try:
                self.snapshot()
            except Exception:  # the journal still holds everything; the next one may succeed
                log.exception("could not write a snapshot of the local AWS state")
