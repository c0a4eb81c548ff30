"""Unicode normalisation shared by keyword matching and DLP templates."""

from __future__ import annotations

import unicodedata


def nfkc(text: str) -> str:
    """Full-width and half-width forms folded to one: full-width "PASS123" reads as ASCII."""
    return unicodedata.normalize("NFKC", text)


def folded(text: str) -> str:
    """NFKC with full case folding ("Straße" and "STRASSE" are both "strasse")."""
    return nfkc(nfkc(text).casefold())
