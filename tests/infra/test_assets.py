"""What the synthesized app stages as assets: the gateway's code, never the local runtime."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from infra.app import build_app
from infra.constructs.source import REPO_ROOT

# Repository directories that must not reach AWS: the local runtime and the tooling.
NOT_SHIPPED = ("local", "tests", "bench", "docs")
LOCAL_ONLY_IMPORT = re.compile(r"^\s*(?:from|import)\s+(?:moto|local)\b", re.MULTILINE)


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Every asset directory that synthesizing both stacks stages."""
    assembly = build_app(outdir=str(tmp_path_factory.mktemp("cdk.out"))).synth()
    return sorted(path for path in Path(assembly.directory).glob("asset.*") if path.is_dir())


def _from_the_repository(asset: Path) -> list[Path]:
    """The asset's entries copied from the repository root (not the dependencies layer)."""
    return [entry for entry in asset.iterdir() if (REPO_ROOT / entry.name).exists()]


def test_the_code_is_staged(assets: list[Path]) -> None:
    # Guards the tests below against passing on an empty or unexpected output.
    assert any((asset / "mailgate" / "resources.py").is_file() for asset in assets)
    assert any((asset / "functions" / "receive" / "Dockerfile").is_file() for asset in assets)


def test_no_asset_holds_the_local_runtime_or_the_tooling(assets: list[Path]) -> None:
    for asset in assets:
        copied = _from_the_repository(asset)

        assert not [entry.name for entry in copied if entry.name in NOT_SHIPPED], asset.name
        # A file, not a directory: a stale __pycache__ can leave an empty local/ behind.
        under_local = [
            path.relative_to(asset)
            for entry in copied
            for path in entry.rglob("*")
            if path.is_file() and "local" in path.relative_to(asset).parts
        ]
        assert not under_local, under_local


def test_no_staged_module_imports_moto_or_the_local_runtime(assets: list[Path]) -> None:
    offending = [
        path.relative_to(asset)
        for asset in assets
        for path in asset.rglob("*.py")
        if LOCAL_ONLY_IMPORT.search(path.read_text(encoding="utf-8", errors="replace"))
    ]

    assert not offending, offending
