"""A write-ahead journal on disk: numbered segments of framed records, and the snapshot that
lets the segments before it go.

Each record is framed as its length and CRC-32 then its bytes, so a record cut short by a
crash (a torn tail) or damaged on disk is recognised and never replayed. ``append`` only
writes; ``sync`` makes everything written so far durable with one ``fdatasync`` shared by
every writer waiting at that moment (group commit). Each start writes a new segment, so a
torn segment is never appended to.
"""

from __future__ import annotations

import logging
import os
import re
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

FRAME = struct.Struct(">II")  # length of the record, CRC-32 of the record
SNAPSHOT = "snapshot.bin"
SNAPSHOT_MAGIC = b"mailgate-snapshot-1\n"
FIRST_SEGMENT = struct.Struct(">Q")
AFRESH = "; move the state directory aside to start afresh"
SEGMENT = re.compile(r"journal-(\d{8})\.log")


class JournalBroken(Exception):
    """A write or fsync failed: what is in memory may not be on disk, so nothing more may be
    acknowledged until a restart rebuilds the state from disk."""


class DamagedSnapshot(Exception):
    """The snapshot cannot be read; the segments before it are gone, so the state cannot be
    rebuilt without it."""


def _frame(record: bytes) -> bytes:
    return FRAME.pack(len(record), zlib.crc32(record)) + record


def _segment_name(number: int) -> str:
    return f"journal-{number:08d}.log"


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Journal:
    """Writers call ``append`` under their own lock (the journal's order is theirs) and
    ``sync`` after releasing it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._segment = 0
        self._fd = -1
        self._written = 0  # records written since the start
        self._synced = 0
        self._sync_lock = threading.Lock()
        self._broken: OSError | None = None
        self.bytes_since_snapshot = 0

    # -- start: what is on disk -------------------------------------------------------------

    def recover(self) -> tuple[bytes | None, Iterator[bytes]]:
        """The snapshot (if any) and the records written after it, in order."""
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / (SNAPSHOT + ".tmp")).unlink(missing_ok=True)  # a snapshot cut short
        snapshot, first = self._read_snapshot()
        segments = [n for n in self._segments() if n >= first]
        self._segment = max([first - 1, *self._segments()])
        return snapshot, self._records(segments)

    def open(self) -> None:
        """Start a new segment for this run's records."""
        self._segment += 1
        self._fd = os.open(
            self.directory / _segment_name(self._segment), os.O_WRONLY | os.O_CREAT | os.O_EXCL
        )
        _fsync_directory(self.directory)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    # -- while running ------------------------------------------------------------------------

    def check(self) -> None:
        """Raise JournalBroken if a write or fsync has failed: refuse a change before making it."""
        if self._broken is not None:
            raise JournalBroken(str(self._broken))

    def append(self, record: bytes) -> int:
        """Write one record (not yet durable); returns the ticket to pass to ``sync``."""
        self.check()
        framed = _frame(record)
        try:
            written = os.write(self._fd, framed)
            while written < len(framed):
                written += os.write(self._fd, framed[written:])
        except OSError as error:
            self._break(error)
        self.bytes_since_snapshot += len(framed)
        self._written += 1
        return self._written

    def sync(self, ticket: int) -> None:
        """Return once the record of ``ticket`` is on disk. A failed fsync is never retried:
        the kernel may have dropped the pages it could not write."""
        with self._sync_lock:
            self.check()
            if self._synced >= ticket:
                return
            target = self._written
            try:
                os.fdatasync(self._fd)
            except OSError as error:
                self._break(error)
            self._synced = target

    def rotate(self) -> int:
        """Under the writers' lock: close the current segment (durable) and open the next.
        Returns the first segment a snapshot taken now must be followed by."""
        with self._sync_lock:
            self.check()
            try:
                os.fdatasync(self._fd)
            except OSError as error:
                self._break(error)
            self._synced = self._written
            self.close()
            self.open()
            self.bytes_since_snapshot = 0
            return self._segment

    def write_snapshot(self, state: bytes, first_segment: int) -> None:
        """Replace the snapshot atomically, then drop the segments it makes unnecessary."""
        body = FIRST_SEGMENT.pack(first_segment) + state
        temporary = self.directory / (SNAPSHOT + ".tmp")
        with temporary.open("wb") as out:
            out.write(SNAPSHOT_MAGIC + _frame(body))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.directory / SNAPSHOT)
        _fsync_directory(self.directory)
        for number in self._segments():
            if number < first_segment:
                (self.directory / _segment_name(number)).unlink()

    def _break(self, error: OSError) -> None:
        self._broken = error
        log.critical(
            "the journal in %s cannot be written (%s): every change is refused until "
            "mailgate up is restarted",
            self.directory,
            error,
        )
        raise JournalBroken(str(error)) from error

    # -- reading ------------------------------------------------------------------------------

    def _segments(self) -> list[int]:
        return sorted(
            int(match.group(1))
            for path in self.directory.iterdir()
            if (match := SEGMENT.fullmatch(path.name))
        )

    def _read_snapshot(self) -> tuple[bytes | None, int]:
        path = self.directory / SNAPSHOT
        if not path.exists():
            return None, 1
        data = path.read_bytes()
        header = len(SNAPSHOT_MAGIC) + FRAME.size
        if not data.startswith(SNAPSHOT_MAGIC) or len(data) < header:
            raise DamagedSnapshot(f"{path} is not a snapshot written by mailgate{AFRESH}")
        length, crc = FRAME.unpack_from(data, len(SNAPSHOT_MAGIC))
        body = data[header:]
        if len(body) != length or zlib.crc32(body) != crc:
            raise DamagedSnapshot(f"{path} is damaged (its length or checksum is wrong){AFRESH}")
        (first,) = FIRST_SEGMENT.unpack_from(body)
        return body[FIRST_SEGMENT.size :], first

    def _records(self, segments: list[int]) -> Iterator[bytes]:
        for number in segments:
            path = self.directory / _segment_name(number)
            data = path.read_bytes()
            self.bytes_since_snapshot += len(data)
            offset = 0
            while offset < len(data):
                end = offset + FRAME.size
                if end <= len(data):
                    length, crc = FRAME.unpack_from(data, offset)
                    record = data[end : end + length]
                    if len(record) == length and zlib.crc32(record) == crc:
                        yield record
                        offset = end + length
                        continue
                log.warning(
                    "%s ends with a torn or damaged record at byte %d (%d bytes ignored); "
                    "its state was replayed up to the last whole record before it",
                    path,
                    offset,
                    len(data) - offset,
                )
                os.truncate(path, offset)  # reported once; the next start finds it whole
                break
