"""The rspamd and clamd clients and producers against loopback servers that answer as the
daemons do — or garbage, slowly, or not at all: an engine that fails gives no verdict and says
why, never a verdict made up."""

from __future__ import annotations

import base64
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from typing import Any

import pytest

from functions.scan.evidence.mime.parse import parse
from functions.scan.evidence.spam import SpamProducer
from functions.scan.evidence.verdicts import Envelope, collect
from functions.scan.evidence.virus import VirusProducer
from mailgate import engines
from mailgate.catalog import Direction, ThreatType
from mailgate.engines import EngineError
from mailgate.engines.clamd import ClamdClient
from mailgate.engines.rspamd import RspamdClient

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
ENVELOPE = Envelope("t", Direction.INBOUND, "a@sender.example", ("b@acme.example",), "192.0.2.1")

Reply = Callable[[bytes], bytes | None]  # what the server got -> what it answers (None: hang)


class LoopbackServer:
    """Accepts connections, reads the request, answers with ``reply``."""

    def __init__(self, reply: Reply, request_done: Callable[[bytes], bool]) -> None:
        self._reply = reply
        self._done = request_done
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.requests: list[bytes] = []
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                conn.settimeout(5)
                while not self._done(data):
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                self.requests.append(data)
                answer = self._reply(data)
                if answer is None:
                    self._stop.wait(5)
                    continue
                conn.sendall(answer)

    def close(self) -> None:
        self._stop.set()
        self._sock.close()


def _http_done(data: bytes) -> bool:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return True


def _clamd_done(data: bytes) -> bool:
    if not data.startswith(b"zINSTREAM\0"):
        return data.endswith(b"\0")
    rest = data[len(b"zINSTREAM\0") :]
    while len(rest) >= 4:
        (size,) = struct.unpack(">I", rest[:4])
        if size == 0:
            return True
        rest = rest[4 + size :]
    return False


def http(status: int, body: bytes, server: str = "rspamd/3.4") -> bytes:
    return (
        f"HTTP/1.1 {status} X\r\nServer: {server}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body


@pytest.fixture
def serve() -> Iterator[Callable[[Reply, bool], LoopbackServer]]:
    servers: list[LoopbackServer] = []

    def start(reply: Reply, is_http: bool) -> LoopbackServer:
        server = LoopbackServer(reply, _http_done if is_http else _clamd_done)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def message(attachment: bytes | None = None) -> bytes:
    mail = EmailMessage()
    mail["From"] = "a@sender.example"
    mail["Subject"] = "hi"
    mail.set_content("Hello.\n")
    if attachment is not None:
        mail.add_attachment(
            attachment, maintype="application", subtype="octet-stream", filename="eicar.com"
        )
    return mail.as_bytes()


def spam(port: int, timeout_s: float = 2.0) -> SpamProducer:
    return SpamProducer(RspamdClient(f"http://127.0.0.1:{port}", timeout_s), "rules-7")


def test_rspamd_score_and_version_become_the_spam_finding(serve) -> None:  # type: ignore[no-untyped-def]
    answer = {"score": 9.5, "required_score": 15, "action": "add header",
              "symbols": {"A": {"score": 1.0}, "B": {"score": 8.5}}}  # fmt: skip
    server = serve(lambda _: http(200, json.dumps(answer).encode()), True)
    raw = message()
    verdict = spam(server.port).examine(raw, parse(raw), ENVELOPE)
    assert verdict.failure == ""
    (finding,) = verdict.findings
    assert (finding.threat, finding.score) == (ThreatType.SPAM, 9.5)
    assert finding.details == {"spam_version": "3.4;rules-7", "spam_rules": "B A"}
    request = server.requests[0]
    assert request.startswith(b"POST /checkv2 ")
    assert b"\r\nIP: 192.0.2.1\r\n" in request and b"\r\nRcpt: b@acme.example\r\n" in request
    assert request.endswith(raw)


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (http(200, b"<html>not json</html>"), "other than JSON"),
        (http(200, b"[1, 2]"), "JSON object"),
        (http(200, b'{"score": "high", "required_score": 15}'), "usable score"),
        (http(200, b'{"score": NaN, "required_score": 15}'), "usable score"),
        (http(500, b"{}"), "HTTP 500"),
        (b"garbage\r\n\r\n", "not HTTP"),
        (b"", "answered nothing"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n", "cut head"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{}", "cut body"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n{}", "Content-Length '-1'"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n{}", "more than 1048576"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}", "chunked"),
        (b"HTTP/1.1 200 OK\r\nbroken line\r\n\r\n{}", "malformed header"),
        (b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70000, "head over"),
        (None, "timed out"),
    ],
)
def test_rspamd_garbage_or_silence_is_no_verdict(serve, reply: bytes | None, why: str) -> None:  # type: ignore[no-untyped-def]
    server = serve(lambda _: reply, True)
    raw = message()
    verdict = spam(server.port, timeout_s=0.5).examine(raw, parse(raw), ENVELOPE)
    assert verdict.findings == ()
    assert why in verdict.failure


def test_rspamd_answer_without_a_length_is_read_to_its_end(serve) -> None:  # type: ignore[no-untyped-def]
    answer = b'{"score": 2.5, "required_score": 15}'
    server = serve(lambda _: b"HTTP/1.0 200 OK\r\nServer: rspamd/3.8\r\n\r\n" + answer, True)
    raw = message()
    (finding,) = spam(server.port).examine(raw, parse(raw), ENVELOPE).findings
    assert (finding.score, finding.details["spam_version"]) == (2.5, "3.8;rules-7")


def test_rspamd_down_is_no_verdict_naming_the_address() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    raw = message()
    verdict = spam(port).examine(raw, parse(raw), ENVELOPE)
    assert f"rspamd at 127.0.0.1:{port}" in verdict.failure


def test_hostile_envelope_values_cannot_inject_headers(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve(lambda _: http(200, b'{"score": 1, "required_score": 15}'), True)
    envelope = Envelope("t", Direction.INBOUND, "a@x\r\nX-Evil: 1", ("b@y",), "1.2.3.4", "h\ni")
    raw = message()
    assert spam(server.port).examine(raw, parse(raw), envelope).failure == ""
    assert b"X-Evil" not in server.requests[0].split(b"\r\n\r\n")[0].replace(b"X-Evil:1", b"")
    assert b"\r\nFrom: a@xX-Evil:1\r\n" in server.requests[0]


def clamd_answering(answers: dict[bytes, bytes]) -> Reply:
    """clamd: VERSION answers a version; INSTREAM finds a needle in what it is sent, decoded
    (an attachment alone) or as the whole message carries it (base64)."""

    def reply(data: bytes) -> bytes:
        if data.startswith(b"zVERSION"):
            return b"ClamAV 1.4.6/27500/Mon Nov 30 2026\0"
        for needle, answer in answers.items():
            if needle in data or base64.b64encode(needle)[:40] in data:
                return answer
        return b"stream: OK\0"

    return reply


def virus(port: int, max_bytes: int = 10**6, timeout_s: float = 2.0) -> VirusProducer:
    return VirusProducer(ClamdClient(f"127.0.0.1:{port}", timeout_s, max_bytes))


def test_clamd_detection_names_the_signature_the_file_and_the_versions(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve(clamd_answering({EICAR: b"stream: Eicar-Test-Signature FOUND\0"}), False)
    raw = message(EICAR)
    verdict = virus(server.port).examine(raw, parse(raw), ENVELOPE)
    (finding,) = verdict.findings
    assert (finding.threat, finding.method, finding.name, finding.file) == (
        ThreatType.MALWARE, "pattern", "Eicar-Test-Signature", "eicar.com",
    )  # fmt: skip
    assert finding.details == {"virus_version": "1.4.6;27500"}


def test_clamd_clean_message_is_a_verdict_without_findings(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve(clamd_answering({}), False)
    raw = message(b"harmless")
    verdict = virus(server.port).examine(raw, parse(raw), ENVELOPE)
    assert (verdict.failure, verdict.findings) == ("", ())


def test_an_archive_clamd_cannot_open_is_a_password_protected_exclusion(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve(clamd_answering({EICAR: b"stream: Heuristics.Encrypted.Zip FOUND\0"}), False)
    raw = message(EICAR)
    (finding,) = virus(server.port).examine(raw, parse(raw), ENVELOPE).findings
    assert (finding.threat, finding.subtype, finding.file) == (
        ThreatType.SCAN_EXCLUSION, "password_protected", "eicar.com",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (b"INSTREAM size limit exceeded. ERROR\0", "size limit"),
        (b"stream: \x01\x02 FOUND\0", "answered"),
        (b"stream: OK", "no complete answer"),  # no NUL: cut off
        (None, "timed out"),
    ],
)
def test_clamd_garbage_or_silence_is_no_verdict(serve, reply: bytes | None, why: str) -> None:  # type: ignore[no-untyped-def]
    server = serve(lambda _: reply, False)
    raw = message()
    verdict = virus(server.port, timeout_s=0.5).examine(raw, parse(raw), ENVELOPE)
    assert verdict.findings == ()
    assert why in verdict.failure


def test_a_message_over_the_bound_is_not_sent_to_clamd(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve(clamd_answering({}), False)
    raw = message(b"x" * 5000)
    verdict = virus(server.port, max_bytes=1000).examine(raw, parse(raw), ENVELOPE)
    assert "over clamd's limit of 1000" in verdict.failure
    assert server.requests == []


def test_clients_refuse_addresses_they_cannot_use() -> None:
    with pytest.raises(ValueError):
        RspamdClient("https://rspamd:11333", 1.0)
    with pytest.raises(ValueError):
        ClamdClient("clamd", 1.0, 10)
    with pytest.raises(EngineError):
        ClamdClient("127.0.0.1:1", 0.5, 10).version()


def slowly(seconds: float, reply: Reply) -> Reply:
    def answer(data: bytes) -> bytes | None:
        time.sleep(seconds)
        return reply(data)

    return answer


SPAM_ANSWER = http(200, b'{"score": 9.5, "required_score": 15}')
NEEDED = frozenset({ThreatType.SPAM, ThreatType.MALWARE})


def test_both_engines_work_at_once_so_a_message_waits_for_the_slower_only(serve) -> None:  # type: ignore[no-untyped-def]
    rspamd = serve(slowly(0.6, lambda _: SPAM_ANSWER), True)
    clamd = serve(slowly(0.6, clamd_answering({})), False)
    raw = message(b"harmless")
    started = time.monotonic()
    evidence = collect([spam(rspamd.port), virus(clamd.port)], raw, parse(raw), ENVELOPE, NEEDED)
    assert time.monotonic() - started < 1.1
    assert evidence.verdicts[ThreatType.SPAM].findings[0].score == 9.5
    malware = evidence.verdicts[ThreatType.MALWARE]
    assert (malware.failure, malware.findings) == ("", ())


@pytest.mark.parametrize("down", ["rspamd", "clamd"])
def test_one_engine_down_or_silent_leaves_the_other_verdict_whole(serve, down: str) -> None:  # type: ignore[no-untyped-def]
    rspamd = serve((lambda _: None) if down == "rspamd" else (lambda _: SPAM_ANSWER), True)
    with socket.create_server(("127.0.0.1", 0)) as probe:
        refused = probe.getsockname()[1]
    clamd_port = refused if down == "clamd" else serve(clamd_answering({}), False).port
    raw = message(b"harmless")
    producers = [spam(rspamd.port, timeout_s=0.5), virus(clamd_port)]
    verdicts = collect(producers, raw, parse(raw), ENVELOPE, NEEDED).verdicts
    spam_verdict, virus_verdict = verdicts[ThreatType.SPAM], verdicts[ThreatType.MALWARE]
    if down == "rspamd":
        assert "timed out" in spam_verdict.failure and spam_verdict.findings == ()
        assert (virus_verdict.failure, virus_verdict.findings) == ("", ())
    else:
        assert f"clamd at 127.0.0.1:{refused}" in virus_verdict.failure
        assert not virus_verdict.lasting
        assert (spam_verdict.failure, spam_verdict.findings[0].score) == ("", 9.5)


class Lookups:
    """socket.getaddrinfo as the clients call it for ``host``, counted; ``answers`` replaces
    its answer. Other names go to the real one uncounted: a thread a test left behind may
    look up its own."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, host: str) -> None:
        self.count = 0
        self.answers: list[Any] | None = None
        real = socket.getaddrinfo

        def lookup(*args: Any, **kwargs: Any) -> Any:
            if args[0] != host:
                return real(*args, **kwargs)
            self.count += 1
            return self.answers if self.answers is not None else real(*args, **kwargs)

        monkeypatch.setattr(engines.socket, "getaddrinfo", lookup)


def _stream(port: int) -> Any:
    return (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", port))


def test_an_engine_name_is_looked_up_once_per_ttl_not_per_message(serve, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    server = serve(lambda _: http(200, b"pong"), True)
    lookups = Lookups(monkeypatch, "localhost")
    client = RspamdClient(f"http://localhost:{server.port}", 2.0)

    for _ in range(5):
        client.ping()
    assert lookups.count == 1

    later = time.monotonic() + engines.RESOLVED_FOR_S
    monkeypatch.setattr(engines, "monotonic", lambda: later)  # the answer's time is up
    client.ping()
    assert lookups.count == 2


def test_a_failed_connection_looks_the_name_up_again(serve, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Given a client whose engine moved: the address it found no longer answers
    with socket.create_server(("127.0.0.1", 0)) as probe:
        gone = probe.getsockname()[1]
    lookups = Lookups(monkeypatch, "rspamd.internal")
    lookups.answers = [_stream(gone)]
    client = RspamdClient("http://rspamd.internal:11333", 2.0)
    with pytest.raises(EngineError, match=r"rspamd at rspamd\.internal:11333"):
        client.ping()

    # When the name now answers with the engine's new address
    server = serve(lambda _: http(200, b"pong"), True)
    lookups.answers = [_stream(server.port)]

    # Then the next request finds it, without waiting for the answer's time to run out
    assert client.ping() == "3.4"
    assert lookups.count == 2


def test_requests_spread_over_the_tasks_found_and_skip_one_that_is_down(serve, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Given an engine name with three addresses: two tasks up, one down
    with socket.create_server(("127.0.0.1", 0)) as probe:
        down = probe.getsockname()[1]
    tasks = [serve(lambda _: b"stream: OK\0", False) for _ in range(2)]
    lookups = Lookups(monkeypatch, "clamd.internal")
    lookups.answers = [_stream(down), *(_stream(task.port) for task in tasks)]
    client = ClamdClient("clamd.internal:3310", 2.0, 1024)

    # When 40 messages are scanned
    scans = [client.scan(b"x") for _ in range(40)]

    # Then each got its answer, both tasks had a share, and the name was looked up once
    assert all(scan.signature == "" for scan in scans)
    assert all(task.requests for task in tasks)
    assert sum(len(task.requests) for task in tasks) == 40
    assert lookups.count == 1
