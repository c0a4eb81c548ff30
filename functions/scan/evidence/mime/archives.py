"""Zip archives listed from their central directory, never extracted: only an inner archive
(bounded in size, ratio and depth) is inflated so that its own entries can be listed."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from .budget import Budget, count, size
from .model import ArchiveEntry

_END = b"PK\x05\x06"
_END64_LOCATOR = b"PK\x06\x07"
_END64 = b"PK\x06\x06"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
_MAX_COMMENT = 0xFFFF
_BOMB_FLOOR = 1024 * 1024  # a small entry may compress very well without being a bomb
STORED, DEFLATED = 0, 8


@dataclass(frozen=True)
class _Entry:
    name: str
    flags: int
    method: int
    compressed: int
    size: int
    local_offset: int

    @property
    def encrypted(self) -> bool:
        return bool(self.flags & 1)


def is_zip(data: bytes) -> bool:
    return data.startswith(_LOCAL) or (data.startswith(b"PK") and _find_end(data) >= 0)


def list_zip(data: bytes, name: str, budget: Budget) -> tuple[ArchiveEntry, ...]:
    """The entries of a zip and of the zips inside it, names of inner entries prefixed with
    their archive's path ("inner.zip/evil.exe")."""
    listed: list[ArchiveEntry] = []
    pending: list[tuple[bytes, str, int]] = [(data, "", 0)]
    while pending:
        archive, prefix, depth = pending.pop()
        base, entries = _central_directory(archive, budget)
        for entry in entries:
            path = prefix + entry.name
            listed.append(ArchiveEntry(path, entry.size, entry.encrypted))
            ratio = entry.size // max(entry.compressed, 1)
            if entry.size > _BOMB_FLOOR and ratio > budget.limits.max_archive_ratio:
                budget.exclude(
                    f"the archive entry {path!r} of {name!r} would expand {count(ratio)} times "
                    f"(to {count(entry.size)} bytes): its content was not inspected"
                )
                continue
            inner = _inner_archive(archive, base, entry, depth, path, name, budget)
            if inner is not None:
                pending.append((inner, path + "/", depth + 1))
    return tuple(listed)


def _central_directory(data: bytes, budget: Budget) -> tuple[int, list[_Entry]]:
    """Where offsets count from (data prepended to the zip shifts them) and the entries,
    as many as the bound on archive entries leaves."""
    end = _find_end(data)
    if end < 0 or end + 22 > len(data):
        return 0, []
    cd_size, cd_offset = struct.unpack_from("<II", data, end + 12)
    start = end - cd_size
    if cd_offset == 0xFFFFFFFF or cd_size == 0xFFFFFFFF:
        start, cd_offset = _zip64_directory(data, end)
    if start < 0:
        return 0, []
    base = start - cd_offset
    entries: list[_Entry] = []
    pos = start
    while data[pos : pos + 4] == _CENTRAL and pos + 46 <= len(data):
        if budget.archive_entries_left <= 0:
            budget.exclude(
                f"more than {count(budget.limits.max_archive_entries)} archive entries: "
                "the rest were not listed"
            )
            break
        budget.archive_entries_left -= 1
        flags, method = struct.unpack_from("<HH", data, pos + 8)
        compressed, size_, name_len, extra_len, comment_len = struct.unpack_from(
            "<IIHHH", data, pos + 20
        )
        (local_offset,) = struct.unpack_from("<I", data, pos + 42)
        raw_name = data[pos + 46 : pos + 46 + name_len]
        extra = data[pos + 46 + name_len : pos + 46 + name_len + extra_len]
        size_, compressed, local_offset = _zip64_sizes(extra, size_, compressed, local_offset)
        name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", "replace")
        entries.append(_Entry(name, flags, method, compressed, size_, local_offset))
        pos += 46 + name_len + extra_len + comment_len
    return base, entries


def _find_end(data: bytes) -> int:
    return data.rfind(_END, max(0, len(data) - 22 - _MAX_COMMENT))


def _zip64_directory(data: bytes, end: int) -> tuple[int, int]:
    """Where the central directory starts (it ends at the zip64 end record) and the offset
    the archive writes for it; (-1, 0) when the zip64 records are missing."""
    locator = end - 20
    if locator < 0 or data[locator : locator + 4] != _END64_LOCATOR:
        return -1, 0
    record = data.rfind(_END64, 0, locator)
    if record < 0 or record + 56 > len(data):
        return -1, 0
    cd_size, cd_offset = struct.unpack_from("<QQ", data, record + 40)
    return record - cd_size, cd_offset


def _zip64_sizes(extra: bytes, size_: int, compressed: int, offset: int) -> tuple[int, int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        if tag == 1:
            values = extra[pos + 4 : pos + 4 + length]
            fields = [size_, compressed, offset]
            index = 0
            for i, value in enumerate(fields):
                if value == 0xFFFFFFFF and index + 8 <= len(values):
                    (fields[i],) = struct.unpack_from("<Q", values, index)
                    index += 8
            return fields[0], fields[1], fields[2]
        pos += 4 + length
    return size_, compressed, offset


def _inner_archive(
    archive: bytes, base: int, entry: _Entry, depth: int, path: str, name: str, budget: Budget
) -> bytes | None:
    """An entry's content when it is itself a zip that the bounds allow to open."""
    if entry.encrypted or entry.method not in (STORED, DEFLATED) or entry.compressed < 22:
        return None
    start = _data_start(archive, base + entry.local_offset)
    if start is None:
        return None
    compressed = archive[start : start + entry.compressed]
    if not _inflate(compressed, entry.method, 4).startswith(_LOCAL):
        return None
    limits = budget.limits
    if depth + 1 > limits.max_archive_depth:
        budget.exclude(
            f"archives nested deeper than {count(limits.max_archive_depth)} levels in {name!r}: "
            "the deeper ones were not listed"
        )
        return None
    if entry.size > limits.max_nested_archive_bytes:
        budget.exclude(
            f"the inner archive {path!r} of {name!r} is larger than "
            f"{size(limits.max_nested_archive_bytes)}: it was not listed"
        )
        return None
    if not budget.take_decoded(entry.size):
        return None
    return _inflate(compressed, entry.method, entry.size)


def _data_start(archive: bytes, header: int) -> int | None:
    if header < 0 or archive[header : header + 4] != _LOCAL or header + 30 > len(archive):
        return None
    name_len, extra_len = struct.unpack_from("<HH", archive, header + 26)
    return header + 30 + name_len + extra_len


def _inflate(data: bytes, method: int, limit: int) -> bytes:
    """At most `limit` bytes of an entry's content; garbage gives what came out before it."""
    if method == STORED:
        return data[:limit]
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        return inflater.decompress(data, limit)
    except zlib.error:
        return b""
