"""Where the operator tool writes: the current standard output, through rich; as wide as the
terminal, or 200 columns into a pipe or a file so that rows are not wrapped."""

from __future__ import annotations

import sys

from rich.console import Console

PIPE_WIDTH = 200


def console() -> Console:
    return Console(width=None if sys.stdout.isatty() else PIPE_WIDTH)
