"""Files under tests/fixtures/, read as a test uses them."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def eml(name: str) -> bytes:
    """A raw message from tests/fixtures/mail/, bytes exactly as stored (CRLF line endings)."""
    return (FIXTURES / "mail" / f"{name}.eml").read_bytes()
