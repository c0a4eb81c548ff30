"""What is left of a message's bounds while it is read, and the sentences for those hit."""

from __future__ import annotations

from .model import Limits


def count(n: int) -> str:
    """A count as a sentence shows it: 1,000."""
    return f"{n:,}"


def size(n: int) -> str:
    """A byte count as a sentence shows it: 64 MiB, 256 KiB or 100 bytes."""
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if n >= scale and n % scale == 0:
            return f"{count(n // scale)} {unit}"
    return f"{count(n)} bytes"


class Budget:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.decoded_left = limits.max_decoded_bytes
        self.archive_entries_left = limits.max_archive_entries
        self._exclusions: dict[str, None] = {}  # insertion-ordered set

    def exclude(self, sentence: str) -> None:
        self._exclusions.setdefault(sentence)

    def take_decoded(self, n: int) -> bool:
        """Reserve n decoded bytes; False (and an exclusion) when they are past the bound."""
        if n > self.decoded_left:
            self.exclude(
                f"more than {size(self.limits.max_decoded_bytes)} of decoded content: "
                "the rest was not inspected"
            )
            return False
        self.decoded_left -= n
        return True

    @property
    def exclusions(self) -> tuple[str, ...]:
        return tuple(self._exclusions)
