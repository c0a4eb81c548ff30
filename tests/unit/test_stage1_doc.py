"""docs/stage1.md's reply table is the one the front answers with."""

from __future__ import annotations

from pathlib import Path

from functions.receive.replies import REPLIES

DOC = Path(__file__).resolve().parents[2] / "docs" / "stage1.md"


def test_reply_table_matches_the_code() -> None:
    documented = {}
    for line in DOC.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == 6 and cells[0].startswith("`") and cells[2].isdigit():
            documented[cells[0].strip("`")] = f"{cells[2]} {cells[3]} {cells[4]}"
    assert documented == {reason.value: reply for reason, reply in REPLIES.items()}
