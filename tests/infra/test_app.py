"""cdk.json and the app entry point: what the CDK CLI and `make synth` run."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import Stack, Token

from infra.app import CDK_JSON, build_app, stack_name

REPO_ROOT = CDK_JSON.parent


def test_cdk_json_declares_the_app_and_both_regions() -> None:
    config = json.loads(CDK_JSON.read_text())

    assert config["app"] == "python infra/app.py"
    assert config["context"]["regions"] == {"jp": "ap-northeast-1", "us": "us-east-1"}


def test_cdk_json_app_command_writes_one_template_per_region(tmp_path: Path) -> None:
    # Given the app command of cdk.json, run by this virtualenv's python from the repo root
    config = json.loads(CDK_JSON.read_text())
    program, *arguments = shlex.split(config["app"])
    assert program == "python"
    environment = {**os.environ, "CDK_OUTDIR": str(tmp_path)}
    environment.pop("CDK_DEFAULT_ACCOUNT", None)

    # When it runs as the CDK CLI would run it (no account, no Docker, offline)
    result = subprocess.run(
        [sys.executable, *arguments],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    # Then both regional templates are in the output directory
    assert result.returncode == 0, result.stderr[-4000:]
    for region_code in config["context"]["regions"]:
        assert (tmp_path / f"{stack_name(region_code)}.template.json").is_file()


@pytest.mark.parametrize("account", [None, "123456789012"])
def test_account_comes_from_cdk_default_account(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, account: str | None
) -> None:
    # Given CDK_DEFAULT_ACCOUNT set or not
    if account:
        monkeypatch.setenv("CDK_DEFAULT_ACCOUNT", account)
    else:
        monkeypatch.delenv("CDK_DEFAULT_ACCOUNT", raising=False)

    # When the app is built (not synthesized)
    app = build_app(outdir=str(tmp_path))

    # Then the stacks take that account, or leave it to deploy time
    for region_code in ("jp", "us"):
        stack = app.node.find_child(stack_name(region_code))
        assert isinstance(stack, Stack)
        if account:
            assert stack.account == account
        else:
            assert Token.is_unresolved(stack.account)
