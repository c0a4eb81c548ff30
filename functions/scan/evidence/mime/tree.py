"""The MIME structure of a message as byte ranges of the raw message, found without
recursion and within the bounds on depth, parts and header bytes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from .budget import Budget, count
from .headers import HeaderSection, parameters, read_section, truncation_sentence

_MAX_BOUNDARY = 200  # RFC 2046 allows 70; longer ones are still honoured up to here
_DELIMITER_ENDS = (b"", b"\r", b"\n", b" ", b"\t", b"-")
_IDENTITY_ENCODINGS = ("", "7bit", "8bit", "binary")


@dataclass(frozen=True)
class Part:
    start: int  # first byte of the part's header section
    body_start: int
    end: int  # one past the body's last byte
    depth: int
    section: HeaderSection
    content_type: str  # lower-case type/subtype
    params: dict[str, str]
    leaf: int | None  # index among leaf parts; None for a multipart or an opened message
    in_attached_message: bool  # inside a message/rfc822 part

    @cached_property
    def transfer_encoding(self) -> str:
        return (self.section.first("Content-Transfer-Encoding") or "").strip().lower()

    @cached_property
    def disposition(self) -> tuple[str, dict[str, str]]:
        return parameters(self.section.first("Content-Disposition") or "")

    @cached_property
    def filename(self) -> str:
        _, params = self.disposition
        return (params.get("filename") or self.params.get("name") or "").strip()

    @cached_property
    def is_body_text(self) -> bool:
        """A text/plain or text/html part shown as the message's body, not an attachment."""
        kind, _ = self.disposition
        return (
            self.content_type in ("text/plain", "text/html")
            and kind != "attachment"
            and not self.filename
        )


def walk(raw: bytes, budget: Budget) -> list[Part]:
    """Every part in document order, the message itself first."""
    limits = budget.limits
    parts: list[Part] = []
    leaves = 0
    # (start, end, depth, default content type, inside an attached message)
    stack: list[tuple[int, int, int, str, bool]] = [(0, len(raw), 0, "text/plain", False)]
    while stack:
        if len(parts) >= limits.max_parts:
            budget.exclude(
                f"more than {count(limits.max_parts)} MIME parts: the rest were not inspected"
            )
            break
        start, end, depth, default_type, attached = stack.pop()
        section = read_section(raw, start, end, limits.max_header_bytes)
        if section.truncated:
            budget.exclude(truncation_sentence(limits.max_header_bytes))
        declared = section.first("Content-Type")
        content_type, params = parameters(declared) if declared else (default_type, {})
        if "/" not in content_type:
            content_type, params = default_type, {}
        children = _children(raw, section.body_start, end, content_type, params, budget)
        opens_message = content_type == "message/rfc822" and _is_identity(section)
        container = children is not None or opens_message
        if container and depth >= limits.max_depth:
            budget.exclude(
                f"MIME parts nested deeper than {count(limits.max_depth)} levels: "
                "the deeper parts were not inspected"
            )
            container = False
        leaf = None if container else leaves
        leaves += leaf is not None
        if children is None and content_type.startswith("multipart/"):
            content_type = "text/plain"  # a multipart without its boundary: read as text
        body_start = section.body_start
        parts.append(
            Part(start, body_start, end, depth, section, content_type, params, leaf, attached)
        )
        if not container:
            continue
        if opens_message:
            stack.append((section.body_start, end, depth + 1, "text/plain", True))
            continue
        child_type = "message/rfc822" if content_type == "multipart/digest" else "text/plain"
        for child_start, child_end in reversed(children or []):
            stack.append((child_start, child_end, depth + 1, child_type, attached))
    return parts


def _is_identity(section: HeaderSection) -> bool:
    encoding = (section.first("Content-Transfer-Encoding") or "").strip().lower()
    return encoding in _IDENTITY_ENCODINGS


def _children(
    raw: bytes, start: int, end: int, content_type: str, params: dict[str, str], budget: Budget
) -> list[tuple[int, int]] | None:
    """The byte ranges of a multipart's parts, or None when it is no multipart or its
    boundary never occurs. Stops after as many parts as the bound leaves room for."""
    boundary = params.get("boundary", "").encode("utf-8", "replace")
    if not content_type.startswith("multipart/") or not 0 < len(boundary) <= _MAX_BOUNDARY:
        return None
    delimiter = b"--" + boundary
    room = budget.limits.max_parts
    ranges: list[tuple[int, int]] = []
    part_start: int | None = None
    pos = start
    while pos < end:
        found = raw.find(delimiter, pos, end)
        if found < 0:
            break
        after = found + len(delimiter)
        pos = after
        at_line_start = found == start or raw[found - 1 : found] == b"\n"
        if not at_line_start or raw[after : after + 1] not in _DELIMITER_ENDS:
            continue
        if part_start is not None:
            ranges.append((part_start, _before_line_break(raw, found, part_start)))
            if len(ranges) >= room:
                return ranges
        if raw[after : after + 2] == b"--":
            return ranges
        newline = raw.find(b"\n", after, end)
        part_start = end if newline < 0 else newline + 1
        pos = part_start
    if part_start is None:
        return None
    ranges.append((part_start, end))  # no closing delimiter: the last part runs to the end
    return ranges


def _before_line_break(raw: bytes, delimiter: int, floor: int) -> int:
    """The end of a part: the line break before its next delimiter belongs to the delimiter."""
    end = delimiter
    if end > floor and raw[end - 1 : end] == b"\n":
        end -= 1
        if end > floor and raw[end - 1 : end] == b"\r":
            end -= 1
    return end
