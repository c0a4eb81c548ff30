"""Look-alike names: what a string looks like to a reader (its skeleton: NFKC, case folded,
every confusable character as the ASCII one it imitates, after Unicode's confusables data) and
how many typing slips separate two strings."""

from __future__ import annotations

import contextlib
import unicodedata

from mailgate.policy.normalize import imitated

# Runs of ASCII that read as another letter.
_ASCII_LOOKALIKES = (("rn", "m"), ("vv", "w"), ("cl", "d"), ("0", "o"), ("1", "l"), ("i", "l"))


def skeleton(text: str) -> str:
    """``paypaI.com`` (capital I; or Cyrillic letters for p and a) and ``paypal.com`` share a
    skeleton."""
    if "xn--" in text:
        with contextlib.suppress(UnicodeError):
            text = text.encode("ascii").decode("idna")
    folded = unicodedata.normalize("NFKC", text).casefold()
    shown = "".join(imitated(char).lower() for char in folded)
    for run, letter in _ASCII_LOOKALIKES:
        shown = shown.replace(run, letter)
    return shown


def distance(a: str, b: str, most: int) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) from ``a`` to ``b``; any number
    over ``most`` is answered as ``most + 1``."""
    if abs(len(a) - len(b)) > most:
        return most + 1
    previous: list[int] | None = None
    row = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        before, previous, row = previous, row, [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost)
            swapped = j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]
            if before is not None and swapped:
                row[j] = min(row[j], before[j - 2] + cost)
        if min(row) > most:
            return most + 1
    return min(row[-1], most + 1)
