"""Every Lambda handler can be imported with no environment at all: settings are read and AWS
is called when a function first runs, not at import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mailgate import resources

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("function", resources.FUNCTIONS, ids=lambda function: function.id)
def test_handler_imports_with_a_clean_environment(function: resources.Function) -> None:
    module, _, name = function.handler.rpartition(".")
    script = f"import {module} as m; assert callable(m.{name})"

    result = subprocess.run(
        [sys.executable, "-c", script],
        env={"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
