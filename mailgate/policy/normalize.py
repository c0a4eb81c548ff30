"""Unicode normalisation shared by keyword matching and DLP templates."""

from __future__ import annotations

import functools
import unicodedata

import re2

# Unicode's Default_Ignorable_Code_Point: characters a reader never sees (zero-width space and
# joiners, soft hyphen, word joiner, bidi controls, variation selectors, tags). Inside a word
# they would hide it from a keyword or DLP rule ("w\u200bire"), so they are read as absent.
# Searched in the UTF-8 bytes by RE2: four times faster than Python's re on Japanese text.
_INVISIBLE = re2.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e0fff]".encode()
)


@functools.lru_cache(maxsize=16)  # a message's texts, read in several normal forms
def visible(text: str) -> str:
    """The text without the characters that render as nothing."""
    if text.isascii():
        return text
    data = text.encode("utf-8", "surrogatepass")
    if _INVISIBLE.search(data) is None:
        return text
    return _INVISIBLE.sub(b"", data).decode("utf-8", "surrogatepass")


def nfkc(text: str) -> str:
    """Full-width and half-width forms folded to one: full-width "PASS123" reads as ASCII;
    invisible characters dropped."""
    return unicodedata.normalize("NFKC", visible(text))


def folded(text: str) -> str:
    """NFKC with full case folding ("Straße" and "STRASSE" are both "strasse")."""
    return unicodedata.normalize("NFKC", nfkc(text).casefold())
