"""The modify actions' rewrites of a raw message: tag the subject, insert a stamp, strip
attachments; and the trace fields the engines add. Bytes in, bytes out, never an exception:
what is not rewritten stays byte-identical, and a message these cannot read is given back
unchanged."""

from __future__ import annotations

import base64
import binascii
import codecs
import html
import re
from collections.abc import Sequence

from .evidence.mime.budget import Budget
from .evidence.mime.content import body_text, decoded_body
from .evidence.mime.headers import HeaderSection, charset_label, decode_words, read_section
from .evidence.mime.parse import DEFAULT_LIMITS
from .evidence.mime.tree import Part, walk

_ENCODED_WORD_BYTES = 45  # UTF-8 bytes per encoded-word: 60 base64 characters, under 75
_HTML_ENDS = (re.compile(rb"</body\s*>", re.IGNORECASE), re.compile(rb"</html\s*>", re.IGNORECASE))
_CHARSET_PARAM = re.compile(rb"""(;\s*charset\s*=\s*)("[^"]*"|[^;\s]*)""", re.IGNORECASE)
_IDENTITY = ("", "7bit", "8bit", "binary")

Edit = tuple[int, int, bytes]  # replace raw[start:end] with the bytes


def tag_subject(raw: bytes, tag: str) -> bytes:
    """The subject prefixed with `tag` (RFC 2047 encoded when not ASCII), the subject's own
    bytes kept; a subject that already starts with the tag is left alone."""
    tag = " ".join(tag.split())
    if not tag:
        return raw
    try:
        return _tag_subject(raw, tag)
    except Exception:  # unreadable message: it travels untagged rather than not at all
        return raw


def insert_stamp(raw: bytes, stamp: str) -> bytes:
    """`stamp` appended to every text/plain and text/html body of the message (not to the
    bodies of attached messages): in the body's charset when it can say it, else the body
    becomes UTF-8; HTML-escaped before the end of an HTML body."""
    if not stamp.strip():
        return raw
    try:
        parts = walk(raw, Budget(DEFAULT_LIMITS))
        bodies = [p for p in parts if p.leaf is not None and p.is_body_text]
        return _splice(raw, [_stamped(raw, p, stamp) for p in bodies if not p.in_attached_message])
    except Exception:  # unreadable message: it travels unstamped rather than not at all
        return raw


def strip_attachments(raw: bytes, indexes: set[int], notice: str) -> bytes:
    """Each attachment whose `Attachment.index` is in `indexes` replaced by a text/plain part
    that says `notice`; body texts are never stripped."""
    try:
        parts = walk(raw, Budget(DEFAULT_LIMITS))
        stripped = [p for p in parts if p.leaf in indexes and not p.is_body_text]
        return _splice(raw, [_notice(raw, p, notice) for p in stripped])
    except Exception:  # unreadable message: given back whole rather than lost
        return raw


def prepend_fields(raw: bytes, fields: Sequence[tuple[str, str]]) -> bytes:
    """Each (name, value) added at the top of the header section, as trace fields go. A field
    of that name already in the message whose value starts with the same identifier (the
    authserv-id of an Authentication-Results) is removed first: it claims to be ours and only
    we may write it (RFC 8601 5). ``value`` may be folded with CRLF."""
    if not fields:
        return raw
    try:
        section = read_section(raw, 0, len(raw), DEFAULT_LIMITS.max_header_bytes)
        newline = _newline(raw[: section.body_start])
        forged = {(name.lower(), _first_word(value)) for name, value in fields}
        edits = [
            (start, end, b"")
            for (name, value), (start, end) in zip(section.fields, section.spans, strict=True)
            if (name.lower(), _first_word(value)) in forged
        ]
        raw = _splice(raw, edits)
    except Exception:  # unreadable header: our fields still go on top
        newline = _newline(raw)
    added = b"".join(
        name.encode("ascii")
        + b": "
        + value.replace("\r\n", "\n").replace("\n", newline.decode()).encode("utf-8")
        + newline
        for name, value in fields
    )
    return added + raw


def _first_word(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def _tag_subject(raw: bytes, tag: str) -> bytes:
    section = read_section(raw, 0, len(raw), DEFAULT_LIMITS.max_header_bytes)
    newline = _newline(raw[: section.body_start])
    found = _field(raw, section, "subject")
    if found is None:
        at = section.spans[-1][1] if section.spans else 0
        field = b"Subject: " + _encoded(tag, newline) + newline
        return raw[:at] + field + (b"" if section.spans else newline) + raw[at:]
    start, end = found
    written = raw[start:end].partition(b":")[2].lstrip(b" \t").rstrip(b"\r\n")
    current = " ".join(decode_words(written.decode("utf-8", "replace")).split())
    if current.startswith(tag):
        return raw
    if not written:
        value = _encoded(tag, newline)
    else:
        # Whitespace between two encoded-words is dropped by readers: keep ours inside.
        joins_word = not tag.isascii() and written.startswith(b"=?")
        head = _encoded(tag + " " if joins_word else tag, newline)
        fits = len(b"Subject: ") + len(head) + 1 + len(written.split(b"\n")[0]) <= 78
        value = head + (b" " if fits else newline + b" ") + written
    return raw[:start] + b"Subject: " + value + newline + raw[end:]


def _encoded(text: str, newline: bytes) -> bytes:
    """Header text as written when plain ASCII, else UTF-8 encoded-words, folded."""
    if text.isascii() and "=?" not in text and text.isprintable():
        return text.encode("ascii")
    words: list[bytes] = []
    chunk = b""
    for char in text:
        data = char.encode("utf-8", "replace")
        if len(chunk) + len(data) > _ENCODED_WORD_BYTES:
            words.append(chunk)
            chunk = b""
        chunk += data
    words.append(chunk)
    return (newline + b" ").join(b"=?UTF-8?B?" + base64.b64encode(w) + b"?=" for w in words)


def _stamped(raw: bytes, part: Part, stamp: str) -> Edit:
    data = decoded_body(raw, part)
    newline = _newline(data) if data else _newline(raw[part.start : part.body_start])
    codec = _ascii_compatible(part.params.get("charset", "us-ascii"))
    is_html = part.content_type == "text/html"
    headers = raw[part.start : part.body_start]
    if is_html:
        block = "<p>" + html.escape(stamp).replace("\n", "<br>") + "</p>"
        if codec is None:
            data, codec, headers = _as_utf8(data, part, headers)
        added = newline + block.encode(codec, "xmlcharrefreplace") + newline
        at = _html_end(data)
        data = data[:at] + added + data[at:]
    else:
        text = stamp.replace("\r\n", "\n").replace("\n", "\r\n" if newline == b"\r\n" else "\n")
        if codec is None or not _can_encode(text, codec):
            data, codec, headers = _as_utf8(data, part, headers)
        ending = b"" if not data or data.endswith(b"\n") else newline
        data = data + ending + newline + text.encode(codec) + newline
    encoding = part.transfer_encoding
    if encoding in _IDENTITY and not data.isascii() and encoding not in ("8bit", "binary"):
        encoding = "quoted-printable"
        headers = _set_field(headers, b"Content-Transfer-Encoding", encoding.encode(), newline)
    return part.start, part.end, headers + _transfer_encode(data, encoding, newline)


def _html_end(data: bytes) -> int:
    """Where the stamp goes: before the last </body>, else the last </html>, else the end."""
    for end in _HTML_ENDS:
        found = [match.start() for match in end.finditer(data)]
        if found:
            return found[-1]
    return len(data)


def _as_utf8(data: bytes, part: Part, headers: bytes) -> tuple[bytes, str, bytes]:
    """The body re-encoded in UTF-8 and its Content-Type saying so."""
    text = body_text(data, part)
    found = _field_in(headers, b"Content-Type")
    if found is None:
        declared = part.content_type.encode() + b'; charset="utf-8"'
    else:
        start, end = found
        declared = headers[start:end].partition(b":")[2].strip()
        if _CHARSET_PARAM.search(declared):
            declared = _CHARSET_PARAM.sub(rb'\1"utf-8"', declared, count=1)
        else:
            declared += b'; charset="utf-8"'
    newline = _newline(headers)
    return text.encode("utf-8"), "utf-8", _set_field(headers, b"Content-Type", declared, newline)


def _notice(raw: bytes, part: Part, notice: str) -> Edit:
    """The part's non-MIME fields (a message's From, To... when the part is the message)
    kept, its content replaced by the notice."""
    newline = _newline(raw[part.start : part.body_start])
    kept = b"".join(
        raw[start:end] if raw[start:end].endswith(b"\n") else raw[start:end] + newline
        for (name, _), (start, end) in zip(part.section.fields, part.section.spans, strict=True)
        if not name.lower().startswith("content-")
    )
    data = notice.encode("utf-8")
    encoding = b"7bit" if data.isascii() else b"base64"
    body = _transfer_encode(data, encoding.decode(), newline).rstrip(b"\r\n")
    fields = [
        b'Content-Type: text/plain; charset="utf-8"',
        b"Content-Transfer-Encoding: " + encoding,
        b"Content-Disposition: inline",
    ]
    trailer = newline if part.end == len(raw) else b""
    return part.start, part.end, kept + newline.join(fields) + newline * 2 + body + trailer


def _transfer_encode(data: bytes, encoding: str, newline: bytes) -> bytes:
    if encoding == "base64":
        encoded = base64.b64encode(data)
        lines = [encoded[i : i + 76] for i in range(0, len(encoded), 76)]
        return newline.join(lines) + newline
    if encoding == "quoted-printable":
        encoded = binascii.b2a_qp(data.replace(b"\r\n", b"\n"))
        return encoded.replace(b"\n", newline)
    return data


def _field(raw: bytes, section: HeaderSection, name: str) -> tuple[int, int] | None:
    return next(
        (span for (key, _), span in zip(section.fields, section.spans, strict=True)
         if key.lower() == name),
        None,
    )  # fmt: skip


def _field_in(headers: bytes, name: bytes) -> tuple[int, int] | None:
    section = read_section(headers, 0, len(headers), len(headers) + 1)
    return _field(headers, section, name.decode().lower())


def _set_field(headers: bytes, name: bytes, value: bytes, newline: bytes) -> bytes:
    """The header section with the field replaced, or added before its blank line."""
    field = name + b": " + value + newline
    found = _field_in(headers, name)
    if found is not None:
        start, end = found
        return headers[:start] + field + headers[end:]
    section = read_section(headers, 0, len(headers), len(headers) + 1)
    at = section.spans[-1][1] if section.spans else 0
    return headers[:at] + field + headers[at:]


def _ascii_compatible(charset: str) -> str | None:
    """The codec of a charset whose bytes for ASCII are ASCII (so a stamp can be appended to
    the body's bytes as they are), None for UTF-16 and the like or an unknown name."""
    name = charset_label(charset) or "us-ascii"
    try:
        info = codecs.lookup(name)
        ok = "a</body>\r\n".encode(info.name) == b"a</body>\r\n"
    except Exception:  # unknown, or not a text encoding
        return None
    return info.name if ok else None


def _can_encode(text: str, codec: str) -> bool:
    try:
        text.encode(codec)
    except UnicodeError:
        return False
    return True


def _newline(data: bytes) -> bytes:
    return b"\r\n" if b"\r\n" in data[:65536] else b"\n"


def _splice(raw: bytes, edits: list[Edit]) -> bytes:
    out: list[bytes] = []
    pos = 0
    for start, end, replacement in sorted(edits):
        out.append(raw[pos:start])
        out.append(replacement)
        pos = end
    out.append(raw[pos:])
    return b"".join(out)
