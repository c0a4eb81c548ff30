"""The operator tool finds the local gateway from its state directory, and a region's stack by
the names the CDK app gives it."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

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


def _region_with(outputs: dict[str, str]) -> Any:
    """A boto3 session class whose stack has ``outputs`` and whose caller is ``arn:me``."""

    class Session:
        def __init__(self, region_name: str) -> None:
            self.region_name = region_name

        def client(self, service: str) -> Any:
            listed = [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()]
            return SimpleNamespace(
                describe_stacks=lambda StackName: {"Stacks": [{"Outputs": listed}]},
                get_caller_identity=lambda: {"Arn": "arn:me"},
            )

    return Session


def _stack_outputs() -> dict[str, str]:
    declared: list[resources.Table | resources.Queue | resources.Bucket] = [
        *resources.TABLES,
        *resources.QUEUES,
        resources.MAIL,
    ]
    return {resources.output_key(spec.env_var): f"name-of-{spec.id}" for spec in declared}


def test_a_region_target_takes_the_tracking_shards_its_functions_are_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outputs = {**_stack_outputs(), "MailgateTrackingShards": '{"acme": 4}'}
    monkeypatch.setattr(target.boto3.session, "Session", _region_with(outputs))

    found = target.region("jp", None)

    assert found.operator == "arn:me"
    assert found.environment[resources.TRACKING.env_var] == "name-of-tracking"
    assert found.environment["MAILGATE_TRACKING_SHARDS"] == '{"acme": 4}'


def test_a_stack_without_the_shards_output_leaves_them_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(target.boto3.session, "Session", _region_with(_stack_outputs()))

    assert "MAILGATE_TRACKING_SHARDS" not in target.region("us", None).environment
