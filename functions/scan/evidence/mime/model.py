"""What stage 2 knows about a message: the parsed model the policy rules read."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property

from selectolax.lexbor import LexborHTMLParser

from .html_text import text_of, tree

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mailbox:
    name: str  # display name, RFC 2047 decoded ("" if none)
    address: str  # addr-spec as written ("" for a group or garbage)

    def shown(self) -> str:
        """`Name <addr>` when a name is known, else `addr` (seed 001)."""
        if self.name and self.address:
            return f"{self.name} <{self.address}>"
        return self.address or self.name


@dataclass(frozen=True)
class ArchiveEntry:
    name: str  # path inside the archive; entries of a nested archive as "inner.zip/name"
    size: int  # uncompressed size as the archive declares it
    encrypted: bool


@dataclass(frozen=True)
class Attachment:
    index: int  # position among the message's leaf parts (what strip_attachments takes)
    name: str  # filename (RFC 2231/2047 decoded), "" if none
    size: int  # decoded bytes
    sha256: str  # hex of the decoded bytes ("" when a bound kept them from being decoded)
    declared_type: str  # Content-Type as declared, lower-case
    true_type: str  # MIME type from magic bytes ("" if unknown)
    true_extension: str  # "zip", "exe", "pdf", "docx"... from magic bytes ("" if unknown)
    archive_entries: tuple[ArchiveEntry, ...]
    password_protected: bool  # encrypted archive entry, encrypted Office document or PDF
    active_content: bool  # Office macros, scripts, PDF JavaScript or launch actions
    text: str  # extracted text of text/* attachments (bounded), else ""


@dataclass(frozen=True)
class Html:
    """The text/html bodies: their markup, each body's tree and the text a reader sees in
    them, each made on first use and once: a tenant's default rules read only the engines'
    verdicts, never this text, and reading it is most of parsing an HTML newsletter; the
    links' detector reads the same trees. Each body is read on its own, as a mail client
    shows it: an unclosed <script> in one hides nothing of the next."""

    bodies: tuple[str, ...] = ()  # each body's markup, together bounded
    limit: int = 1_000_000  # characters of text kept

    @cached_property
    def trees(self) -> tuple[LexborHTMLParser | None, ...]:
        """Each body's tree; None for one with too much markup for a tree (html_text.tree)."""
        return tuple(tree(body) for body in self.bodies)

    @cached_property
    def _read(self) -> tuple[str, tuple[str, ...]]:
        try:
            read = [
                text_of(body, document, self.limit)
                for body, document in zip(self.bodies, self.trees, strict=True)
            ]
        except Exception:  # a fault of the reader must not stop the mail: it flows
            log.exception("the text of an HTML body could not be read")
            return "", ("the HTML body could not be read: its text was not inspected",)
        text = "\n".join(text for text, _ in read)
        if len(text) <= self.limit and not any(cut for _, cut in read):
            return text, ()
        text = text[: self.limit]
        sentence = f"more than {self.limit:,} characters of HTML text: the rest was not read"
        return text, (sentence,)

    @property
    def text(self) -> str:
        return self._read[0]

    @property
    def exclusions(self) -> tuple[str, ...]:
        """What reading the text left out; nothing while it has not been read."""
        return self._read[1] if "_read" in self.__dict__ else ()


@dataclass(frozen=True)
class Message:
    headers: tuple[tuple[str, str], ...]  # top-level headers, name as written, value decoded
    from_: tuple[Mailbox, ...]
    to: tuple[Mailbox, ...]
    cc: tuple[Mailbox, ...]
    reply_to: tuple[Mailbox, ...]
    subject: str
    message_id: str
    date: str
    text: str  # text/plain bodies (not attachments), decoded, bounded
    html: Html
    attachments: tuple[Attachment, ...]
    size: int  # raw bytes
    exclusions: tuple[str, ...]  # one plain sentence per bound that was hit (see Html too)

    @property
    def html_text(self) -> str:
        """The text of the text/html bodies, without scripts and styles, bounded."""
        return self.html.text

    def header_values(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]


@dataclass(frozen=True)
class Limits:
    max_depth: int = 20  # nested multiparts and attached messages
    max_parts: int = 1000
    max_header_bytes: int = 256 * 1024  # per header section
    max_decoded_bytes: int = 64 * 1024 * 1024  # all parts, and nested archives, together
    max_text_chars: int = 1_000_000  # per text field (body text, HTML text, attachments' text)
    max_html_chars: int = 4_000_000  # HTML read to extract text from
    max_archive_entries: int = 10_000  # listed entries of all archives of a message
    max_archive_ratio: int = 100  # uncompressed / compressed of one entry
    max_archive_depth: int = 3  # archives inside archives that are opened and listed
    max_nested_archive_bytes: int = 8 * 1024 * 1024  # largest inner archive that is opened
