"""parse(): any bytes to a Message, within the bounds of Limits, never an exception."""

from __future__ import annotations

import re
from email.utils import getaddresses

from .attachments import attachment
from .budget import Budget, count
from .content import body_text, decoded_body
from .headers import decode_words
from .html_text import html_text, squeezed
from .model import Attachment, Html, Limits, Mailbox, Message
from .tree import Part, walk


class _Text:
    """Text gathered from several parts, cut at a bound with one exclusion sentence."""

    def __init__(self, limit: int, what: str, budget: Budget, markup: bool = False) -> None:
        self._left = limit
        self._markup = markup
        self._sentence = f"more than {count(limit)} characters of {what}: the rest was not read"
        self._budget = budget
        self._chunks: list[str] = []

    def add(self, text: str) -> str:
        """Keep `text` (or what fits of it) and give back what was kept. Text over the bound
        is squeezed first, so white space padding pushes no word out (not markup, where a
        no-break space is no white space: squeezed, it would change what a tag holds)."""
        if len(text) > self._left and not self._markup:
            text = squeezed(text)
        if len(text) > self._left:
            self._budget.exclude(self._sentence)
            text = text[: self._left]
        self._left -= len(text)
        if text:
            self._chunks.append(text)
        return text

    @property
    def value(self) -> str:
        return "\n".join(self._chunks)

    @property
    def chunks(self) -> tuple[str, ...]:
        return tuple(self._chunks)


DEFAULT_LIMITS = Limits()


def parse(raw: bytes, limits: Limits = DEFAULT_LIMITS) -> Message:
    try:
        return _parse(bytes(raw), limits)
    except Exception:  # a fault of this parser must not stop the mail: it flows, uninspected
        return Message(
            headers=(), from_=(), to=(), cc=(), reply_to=(), subject="", message_id="",
            date="", text="", html=Html(), attachments=(), size=len(raw),
            exclusions=("the message could not be parsed: it was not inspected",),
        )  # fmt: skip


def _parse(raw: bytes, limits: Limits) -> Message:
    budget = Budget(limits)
    parts = walk(raw, budget)
    root = parts[0]
    fields = root.section.fields
    body = _Text(limits.max_text_chars, "body text", budget)
    html = _Text(limits.max_html_chars, "HTML body", budget, markup=True)
    attached = _Text(limits.max_text_chars, "attachment text", budget)
    attachments: list[Attachment] = []
    for part in parts:
        if part.leaf is None:
            continue
        data = decoded_body(raw, part) if budget.take_decoded(part.end - part.body_start) else None
        if part.is_body_text:
            if data is not None:
                target = html if part.content_type == "text/html" else body
                target.add(_lines(body_text(data, part)))
            continue
        attachments.append(_attachment(part, data, attached, budget))
    return Message(
        headers=tuple((name, _line(decode_words(value))) for name, value in fields),
        from_=_mailboxes(root, "From"),
        to=_mailboxes(root, "To"),
        cc=_mailboxes(root, "Cc"),
        reply_to=_mailboxes(root, "Reply-To"),
        subject=_line(decode_words(root.section.first("Subject") or "")),
        message_id=_line(root.section.first("Message-ID") or ""),
        date=_line(root.section.first("Date") or ""),
        text=body.value,
        html=Html(html.chunks, limits.max_text_chars),
        attachments=tuple(attachments),
        size=len(raw),
        exclusions=budget.exclusions,
    )


def _attachment(part: Part, data: bytes | None, texts: _Text, budget: Budget) -> Attachment:
    text = ""
    if data is not None and part.content_type.startswith("text/"):
        decoded = _lines(body_text(data, part))
        if part.content_type == "text/html":
            decoded, _ = html_text(decoded[: budget.limits.max_html_chars], len(decoded))
        text = texts.add(decoded)
    size = len(data) if data is not None else _estimated_size(part)
    assert part.leaf is not None
    name = _line(part.filename)
    return attachment(part.leaf, name, part.content_type, data, size, text, budget)


def _estimated_size(part: Part) -> int:
    encoded = part.end - part.body_start
    return encoded * 3 // 4 if part.transfer_encoding == "base64" else encoded


def _mailboxes(root: Part, name: str) -> tuple[Mailbox, ...]:
    wanted = name.lower()
    found: list[Mailbox] = []
    for key, value in root.section.fields:
        if key.lower() != wanted:
            continue
        pairs = _name_address_pairs(value)
        if not pairs:  # an empty group ("undisclosed-recipients:;") or garbage
            text = _line(decode_words(value))
            group, colon, rest = text.partition(":")
            shown = group if colon and rest.strip() in ("", ";") else text
            if shown:
                found.append(Mailbox(shown, ""))
        found.extend(Mailbox(_line(decode_words(n)), _line(a)) for n, a in pairs)
    return tuple(found)


_ATOM = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+"
_DOT_ATOM = rf"{_ATOM}(?:\.{_ATOM})*"
# The forms nearly every address field has: `Name <local@domain>`, `<local@domain>` and
# `local@domain`, read as the standard library reads them without its character-by-character
# parser (a third of the time of reading a message's header fields).
_PLAIN_MAILBOX = re.compile(
    rf"[ \t]*(?:(?:(?P<name>{_ATOM}(?:[ \t]+{_ATOM})*)[ \t]*)?<(?P<angle>{_DOT_ATOM}@{_DOT_ATOM})>"
    rf"|(?P<bare>{_DOT_ATOM}@{_DOT_ATOM}))[ \t]*"
)


def _name_address_pairs(value: str) -> list[tuple[str, str]]:
    plain = _PLAIN_MAILBOX.fullmatch(value)
    if plain:
        name = " ".join((plain.group("name") or "").split())
        return [(name, plain.group("angle") or plain.group("bare"))]
    return [(n, a) for n, a in getaddresses([value]) if n or a]


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n")


def _line(text: str) -> str:
    """One line: runs of whitespace, folding included, become one space."""
    return " ".join(text.split())
