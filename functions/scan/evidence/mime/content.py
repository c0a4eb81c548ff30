"""A part's body as bytes and as text."""

from __future__ import annotations

import binascii

from .headers import b64decode, decode_text
from .tree import Part


def transfer_decode(data: bytes, encoding: str) -> bytes:
    """The body with its Content-Transfer-Encoding undone; an unknown encoding is kept as is."""
    if encoding == "base64":
        return b64decode(data)
    if encoding == "quoted-printable":
        return binascii.a2b_qp(data)
    return data


def decoded_body(raw: bytes, part: Part) -> bytes:
    return transfer_decode(raw[part.body_start : part.end], part.transfer_encoding)


def body_text(data: bytes, part: Part) -> str:
    return decode_text(data, part.params.get("charset", ""))
