"""The header fields that tracking shows, read from untrusted message bytes."""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default

from pydantic import BaseModel, Field

MAX_FIELD = 998  # RFC 5322 2.1.1 line limit; longer header values are cut for storage


class Summary(BaseModel):
    subject: str = ""
    header_from: list[str] = Field(default_factory=list)
    header_to: list[str] = Field(default_factory=list)
    reply_to: list[str] = Field(default_factory=list)
    message_id: str = ""


def _values(message: EmailMessage, name: str) -> list[object]:
    try:
        return list(message.get_all(name, failobj=[]))
    except Exception:  # a header the parser cannot read: keep its raw text
        return [value for key, value in message.raw_items() if key.lower() == name.lower()]


def _clean(value: object) -> str:
    """One line of valid text: undecodable bytes (kept by the parser as lone surrogates)
    become U+FFFD, runs of whitespace one space."""
    text = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return " ".join(text.split())[:MAX_FIELD]


def _text(message: EmailMessage, name: str) -> str:
    values = _values(message, name)
    return _clean(values[0]) if values else ""


def _addresses(message: EmailMessage, *names: str) -> list[str]:
    shown: list[str] = []
    for name in names:
        for value in _values(message, name):
            addresses = getattr(value, "addresses", None)
            if addresses is None:
                shown.append(_clean(value))
                continue
            shown.extend(_clean(_show(address)) for address in addresses)
    return shown


def _show(address: Address) -> str:
    if address.display_name:
        return f"{address.display_name} <{address.addr_spec}>"
    return address.addr_spec


def summarize(raw: bytes) -> Summary:
    message = BytesParser(policy=default).parsebytes(raw, headersonly=True)
    assert isinstance(message, EmailMessage)
    return Summary(
        subject=_text(message, "Subject"),
        header_from=_addresses(message, "From"),
        header_to=_addresses(message, "To", "Cc"),
        reply_to=_addresses(message, "Reply-To"),
        message_id=_text(message, "Message-ID"),
    )
