"""The operator tool finds the local gateway from its state directory, and a region's stack by
the names the CDK app gives it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.app import CDK_JSON
from infra.app import stack_name as infra_stack_name
from mailgate import resources
from ops import target


def test_regions_and_stack_names_are_those_of_the_cdk_app() -> None:
    assert json.loads(CDK_JSON.read_text())["context"]["regions"] == target.REGIONS
    for code in target.REGIONS:
        assert target.stack_name(code) == infra_stack_name(code)


def test_the_local_target_is_read_from_the_endpoints_file(tmp_path: Path) -> None:
    names = {resources.AUDIT.env_var: "mailgate-audit"}
    (tmp_path / target.ENDPOINTS_FILE).write_text(
        json.dumps(
            {
                "aws_endpoint": "http://127.0.0.1:4566",
                "region": "ap-northeast-1",
                "resources": names,
            }
        )
    )
    found = target.local(tmp_path, "alice")
    assert found.operator == "alice"
    assert found.environment["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    assert found.environment[resources.AUDIT.env_var] == "mailgate-audit"


@pytest.mark.parametrize("content", [None, "not json", '{"region": "x"}'])
def test_no_running_gateway_is_a_sentence_saying_what_to_do(
    tmp_path: Path, content: str | None
) -> None:
    if content is not None:
        (tmp_path / target.ENDPOINTS_FILE).write_text(content)
    with pytest.raises(target.TargetError, match="mailgate up"):
        target.local(tmp_path, None)
