"""Which gateway the operator tool acts on, and who the operator is.

Locally, the running ``mailgate up`` wrote its emulator's endpoint and the resources' names to
``<state dir>/endpoints.json``. In a region, the names (and the hot tenants' tracking shards)
are the outputs of the region's stack, read with the operator's own AWS credentials (IAM
decides who may operate: the tool holds no secret of its own), and the operator is the
caller's identity unless named.
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from mailgate import resources
from mailgate.settings import TRACKING_SHARDS_ENV

# The region codes of cdk.json and their stacks (infra/app.py names them the same way).
REGIONS = {"jp": "ap-northeast-1", "us": "us-east-1"}
ENDPOINTS_FILE = "endpoints.json"


class TargetError(Exception):
    """The gateway cannot be reached: the sentence says why and what to do."""


def stack_name(region_code: str) -> str:
    return f"Mailgate{region_code.capitalize()}"


@dataclass(frozen=True)
class Target:
    description: str  # shown to the operator: "local gateway at …" or "region jp (…)"
    environment: dict[str, str]  # what boto3 and the settings read: endpoints, names
    operator: str

    def connect(self) -> None:
        """Every store made from now on in this process reaches this gateway."""
        os.environ.update(self.environment)


def local(state_dir: Path, operator: str | None) -> Target:
    path = state_dir / ENDPOINTS_FILE
    try:
        written = json.loads(path.read_text())
        environment = {
            "AWS_ENDPOINT_URL": written["aws_endpoint"],
            "AWS_DEFAULT_REGION": written["region"],
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            **written["resources"],
        }
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise TargetError(
            f"No running local gateway found in {state_dir} ({error}); start one with "
            "`mailgate up`, or name its state directory with --state-dir "
            "(or a region with --region)."
        ) from None
    return Target(
        f"local gateway at {written['aws_endpoint']}",
        environment,
        operator or getpass.getuser(),
    )


def region(region_code: str, operator: str | None) -> Target:
    name, aws_region = stack_name(region_code), REGIONS[region_code]
    try:
        session = boto3.session.Session(region_name=aws_region)
        stack = session.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
        caller = operator or session.client("sts").get_caller_identity()["Arn"]
    except (BotoCoreError, ClientError) as error:
        raise TargetError(f"Region {region_code}: {error}") from None
    outputs = {found["OutputKey"]: found["OutputValue"] for found in stack.get("Outputs", [])}
    declared: list[resources.Table | resources.Queue | resources.Bucket] = [
        *resources.TABLES,
        *resources.QUEUES,
        resources.MAIL,
    ]
    missing = [s.env_var for s in declared if resources.output_key(s.env_var) not in outputs]
    if missing:
        raise TargetError(
            f"Stack {name} has no output for {', '.join(missing)}: deploy this version first."
        )
    environment = {s.env_var: outputs[resources.output_key(s.env_var)] for s in declared}
    # The hot tenants' shards, as the region's functions are given them (a stack older than
    # this output has none).
    shards = outputs.get(resources.output_key(TRACKING_SHARDS_ENV))
    if shards is not None:
        environment[TRACKING_SHARDS_ENV] = shards
    environment["AWS_DEFAULT_REGION"] = aws_region
    return Target(f"region {region_code} ({aws_region}, stack {name})", environment, caller)
