"""The write-ahead journal on its own: records come back in order after a snapshot, a torn
tail is dropped and reported once, a failed fsync breaks the journal for good, and the local
AWS endpoint answers 503 when it cannot make a change durable."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import pytest

from local import journal as journal_module
from local.aws_emulator import AwsEmulator
from local.journal import FRAME, DamagedSnapshot, Journal, JournalBroken


def started(directory: Path) -> tuple[Journal, list[bytes], bytes | None]:
    journal = Journal(directory)
    snapshot, records = journal.recover()
    replayed = list(records)
    journal.open()
    return journal, replayed, snapshot


def write(journal: Journal, *records: bytes) -> None:
    for record in records:
        journal.sync(journal.append(record))


def test_records_come_back_in_order_across_restarts(tmp_path: Path) -> None:
    first, _, _ = started(tmp_path)
    write(first, b"one", b"two")
    first.close()
    second, replayed, snapshot = started(tmp_path)
    write(second, b"three")
    second.close()
    _, replayed, snapshot = started(tmp_path)
    assert (replayed, snapshot) == ([b"one", b"two", b"three"], None)


def test_a_snapshot_replaces_the_segments_before_it(tmp_path: Path) -> None:
    journal, _, _ = started(tmp_path)
    write(journal, b"before")
    first = journal.rotate()
    write(journal, b"after")
    journal.write_snapshot(b"state", first)
    journal.close()
    assert len(list(tmp_path.glob("journal-*.log"))) == 1
    _, replayed, snapshot = started(tmp_path)
    assert (replayed, snapshot) == ([b"after"], b"state")


def test_a_torn_tail_is_dropped_and_reported_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal, _, _ = started(tmp_path)
    write(journal, b"whole")
    journal.close()
    (segment,) = tmp_path.glob("journal-*.log")
    with segment.open("ab") as out:
        out.write(FRAME.pack(100, 0) + b"cut")
    with caplog.at_level(logging.WARNING):
        _, replayed, _ = started(tmp_path)
    assert replayed == [b"whole"]
    assert "torn or damaged record" in caplog.text
    caplog.clear()
    _, replayed, _ = started(tmp_path)
    assert replayed == [b"whole"]
    assert "torn" not in caplog.text


def test_a_damaged_snapshot_is_refused_with_its_path(tmp_path: Path) -> None:
    journal, _, _ = started(tmp_path)
    journal.write_snapshot(b"state", journal.rotate())
    snapshot = tmp_path / "snapshot.bin"
    snapshot.write_bytes(snapshot.read_bytes()[:-1] + b"?")
    with pytest.raises(DamagedSnapshot, match=r"snapshot\.bin is damaged"):
        Journal(tmp_path).recover()


def _failing_fsync(fd: int) -> None:
    raise OSError(5, "Input/output error")


def test_a_failed_fsync_is_never_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal, _, _ = started(tmp_path)
    monkeypatch.setattr(journal_module.os, "fdatasync", _failing_fsync)
    with pytest.raises(JournalBroken):
        write(journal, b"lost")
    monkeypatch.undo()
    with pytest.raises(JournalBroken):
        write(journal, b"next")


def test_the_endpoint_answers_503_when_a_change_cannot_be_made_durable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the local AWS endpoint (in front of a stand-in for moto) whose disk fails
    emulator = AwsEmulator("127.0.0.1", 0, tmp_path, snapshot_bytes=1 << 20)
    emulator._journal.recover()
    emulator._journal.open()

    applied: list[str] = []

    def moto(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        applied.append(environ["HTTP_X_AMZ_TARGET"])
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.0")])
        return [b"{}"]

    emulator._app = moto  # type: ignore[assignment]
    monkeypatch.setattr(journal_module.os, "fdatasync", _failing_fsync)

    def call(target: str) -> str:
        answered: list[str] = []
        environ = {
            "REQUEST_METHOD": "POST",
            "HTTP_X_AMZ_TARGET": target,
            "CONTENT_LENGTH": "2",
            "wsgi.input": io.BytesIO(b"{}"),
        }
        b"".join(emulator(environ, lambda status, headers: answered.append(status)))
        return answered[0]

    # When a change is made, Then it is refused; reads are still answered, and later changes
    # are refused before they are made
    assert call("DynamoDB_20120810.PutItem").startswith("503")
    assert call("DynamoDB_20120810.GetItem").startswith("200")
    assert call("DynamoDB_20120810.UpdateItem").startswith("503")
    assert applied == ["DynamoDB_20120810.PutItem", "DynamoDB_20120810.GetItem"]
