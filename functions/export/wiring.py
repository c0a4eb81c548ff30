"""The export function's objects, built from its settings on first use (not at import)."""

from __future__ import annotations

from functools import cache

from mailgate.settings import ExportSettings
from mailgate.storage.exports import ExportStore


@cache
def exports() -> ExportStore:
    return ExportStore(ExportSettings().exports_table)
