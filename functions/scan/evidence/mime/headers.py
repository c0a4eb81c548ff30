"""Header sections read from untrusted bytes: unfolding, RFC 2047 words, RFC 2231 parameters."""

from __future__ import annotations

import binascii
import contextlib
import re
import urllib.parse
from dataclasses import dataclass

from .budget import size

_FIELD_NAME = re.compile(rb"[!-9;-~]+[ \t]*:")
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,64})\?([bBqQ])\?([^?\s]*)\?=")
_PARAM = re.compile(r';\s*([^=;\s]+)\s*=\s*("(?:[^"\\]|\\.)*"?|[^;]*)')
_QUOTED_PAIR = re.compile(r"\\(.)")
_CONTINUATION = re.compile(r"^(.+?)\*(\d{1,3})(\*?)$")
# Charsets read through the broader codec mailers really mean (Windows additions), or as
# UTF-8 when the label is the ASCII that 8-bit mail often is not.
_CHARSET_ALIASES = {
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "iso-8859-1": "cp1252",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
}


@dataclass(frozen=True)
class HeaderSection:
    fields: tuple[tuple[str, str], ...]  # name, unfolded value (not yet RFC 2047 decoded)
    spans: tuple[tuple[int, int], ...]  # each field's bytes, folded lines and line break included
    body_start: int
    truncated: bool

    def first(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.fields if key.lower() == wanted), None)


def bytes_text(data: bytes) -> str:
    """Header bytes as text: UTF-8 (RFC 6532), anything else replaced."""
    return data.decode("utf-8", "replace")


def decode_text(data: bytes, charset: str) -> str:
    """Bytes in a declared charset; an unknown or unfit charset falls back to UTF-8."""
    codec = charset_label(charset)
    codec = _CHARSET_ALIASES.get(codec, codec)
    if codec and codec != "utf-8":
        # LookupError, and TypeError-like faults of bytes-to-bytes codecs such as "base64"
        with contextlib.suppress(Exception):
            return data.decode(codec, "replace")
    return data.decode("utf-8", "replace")


def charset_label(charset: str) -> str:
    """A charset parameter as a codec name: unquoted, lower-case, of a sane length."""
    return charset.strip().strip("\"'").lower()[:40]


def read_section(raw: bytes, start: int, end: int, limit: int) -> HeaderSection:
    """The header section of raw[start:end]; at most `limit` bytes of it are kept."""
    fields: list[tuple[str, bytearray, int, int]] = []
    kept = 0
    pos = start
    while pos < end:
        newline = raw.find(b"\n", pos, end)
        line_end = end if newline < 0 else newline + 1
        line = raw[pos:line_end].rstrip(b"\r\n")
        if not line:
            return _section(fields, line_end, truncated=False)
        continued = line[:1] in (b" ", b"\t") and bool(fields)
        if not continued and not _FIELD_NAME.match(line):
            return _section(fields, pos, truncated=False)  # no blank line: the body starts here
        truncated = kept + len(line) > limit
        line = line[: limit - kept]
        kept += len(line)
        if continued:
            name, value, field_start, _ = fields[-1]
            value.extend(line)
            fields[-1] = (name, value, field_start, line_end)
        else:
            name_bytes, _, value_bytes = line.partition(b":")
            name = name_bytes.strip().decode("latin-1")
            fields.append((name, bytearray(value_bytes.lstrip(b" \t")), pos, line_end))
        if truncated:
            blank = _BLANK_LINE.search(raw, pos, end)
            return _section(fields, blank.end() if blank else end, truncated=True)
        pos = line_end
    return _section(fields, end, truncated=False)


def _section(
    fields: list[tuple[str, bytearray, int, int]], body_start: int, truncated: bool
) -> HeaderSection:
    return HeaderSection(
        tuple((name, bytes_text(bytes(value)).strip()) for name, value, _, _ in fields),
        tuple((start, end) for _, _, start, end in fields),
        body_start,
        truncated,
    )


def truncation_sentence(limit: int) -> str:
    return f"a header section longer than {size(limit)}: the rest of it was not read"


def decode_words(value: str) -> str:
    """RFC 2047 encoded-words decoded, leniently: adjacent words of one charset are joined
    before decoding (mailers split multibyte characters across them), whitespace between
    words is dropped, anything malformed stays as written."""
    if "=?" not in value:  # most values hold no encoded word: no need to look for them
        return value
    out: list[str] = []
    pending = bytearray()
    pending_charset = ""
    pos = 0
    for match in _ENCODED_WORD.finditer(value):
        gap = value[pos : match.start()]
        charset = match.group(1).split("*")[0]
        between_words = pos > 0 and not gap.strip()
        if not (between_words and charset.lower() == pending_charset.lower()):
            if pending:
                out.append(decode_text(bytes(pending), pending_charset))
                pending.clear()
            if not between_words:
                out.append(gap)
        pending.extend(_word_bytes(match.group(2), match.group(3)))
        pending_charset = charset
        pos = match.end()
    if pending:
        out.append(decode_text(bytes(pending), pending_charset))
    out.append(value[pos:])
    return "".join(out)


def _word_bytes(encoding: str, text: str) -> bytes:
    if encoding in "bB":
        return b64decode(text.encode("ascii", "ignore"))
    return binascii.a2b_qp(text.replace("_", " ").encode("ascii", "ignore"), header=True)


def b64decode(data: bytes) -> bytes:
    """Base64 that tolerates junk characters, missing padding and a stray last character."""
    clean = data.translate(None, _NOT_BASE64)
    clean = clean[: len(clean) - len(clean) % 4] if len(clean) % 4 == 1 else clean
    return binascii.a2b_base64(clean + b"=" * (-len(clean) % 4))


_NOT_BASE64 = bytes(
    c for c in range(256) if not (chr(c).isascii() and (chr(c).isalnum() or chr(c) in "+/"))
)


def parameters(value: str) -> tuple[str, dict[str, str]]:
    """A structured header's value (`text/plain; charset=utf-8`) and its parameters, lower-case
    names; RFC 2231 continuations and charsets and RFC 2047 words in values are decoded."""
    head, _, _ = value.partition(";")
    raw: dict[str, str] = {}
    for match in _PARAM.finditer(value, len(head)):
        name, text = match.group(1).lower(), match.group(2).strip()
        if text.startswith('"'):
            text = text[1:].removesuffix('"')
            if "\\" in text:
                text = _QUOTED_PAIR.sub(r"\1", text)
        raw.setdefault(name, text)
    return head.strip().lower(), _rfc2231(raw)


def _rfc2231(raw: dict[str, str]) -> dict[str, str]:
    params: dict[str, str] = {}
    pieces: dict[str, list[tuple[int, bool, str]]] = {}
    for name, text in raw.items():
        continued = _CONTINUATION.match(name)
        if continued:
            base, number, star = continued.groups()
            pieces.setdefault(base, []).append((int(number), bool(star), text))
        elif name.endswith("*"):
            pieces.setdefault(name[:-1], []).append((0, True, text))
        else:
            params[name] = decode_words(text)
    for base, parts in pieces.items():
        charset = ""
        data = bytearray()
        for number, encoded, text in sorted(parts):
            if encoded and number == 0 and text.count("'") >= 2:
                charset, _, text = text.split("'", 2)
            chunk = urllib.parse.unquote_to_bytes(text) if encoded else text.encode()
            data.extend(chunk)
        params[base] = decode_text(bytes(data), charset or "utf-8")
    return params
