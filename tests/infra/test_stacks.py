"""The regional stacks, synthesized once per module and checked against mailgate.resources."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack, assertions, cx_api
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from pydantic import ValidationError

from infra.app import CDK_JSON, build_app, stack_name
from infra.constructs.engines import CLAMD, NAMESPACE, RSPAMD, Engines
from infra.constructs.engines import CLIENTS as ENGINE_CLIENTS
from infra.constructs.source import pascal
from infra.constructs.storage import Storage
from mailgate import resources
from mailgate.settings import TRACKING_SHARDS_ENV
from mailgate.settings import Engines as EngineSettings

REGION_CODES = ("jp", "us")
CONSUMERS = tuple(spec for spec in resources.FUNCTIONS if spec.consumes)
DECLARED_IDS = tuple(
    spec.id for spec in (*resources.TABLES, resources.MAIL, *resources.QUEUES, *resources.SECRETS)
)
COMMON_ENV = {"POWERTOOLS_SERVICE_NAME", "MAILGATE_REGION_CODE"}
# An action that only a write grant gives, per service.
WRITE_ACTIONS = {
    "dynamodb:PutItem",
    "s3:PutObject",
    "sqs:SendMessage",
    "secretsmanager:PutSecretValue",
}

# spec/api.md: (method, path, function, behind the authorizer)
EXPECTED_ROUTES = (
    ("POST", "/v1/tracking/search", "query", True),
    ("POST", "/v1/tracking/reconcile", "query", True),
    ("GET", "/v1/tracking/queries", "query", True),
    ("POST", "/v1/tracking/queries", "query", True),
    ("DELETE", "/v1/tracking/queries", "query", True),
    ("GET", "/v1/tracking/{message_uuid}", "query", True),
    ("GET", "/v1/tracking/{message_uuid}/related", "query", True),
    ("POST", "/v1/events/search", "query", True),
    ("GET", "/v1/events/feed", "query", True),
    ("GET", "/v1/events/{event_id}", "query", True),
    ("POST", "/v1/quarantine/search", "query", True),
    ("POST", "/v1/quarantine/release", "query", True),
    ("POST", "/v1/quarantine/delete", "query", True),
    ("GET", "/v1/quarantine/{message_uuid}", "query", True),
    ("GET", "/v1/openapi.json", "query", False),
    ("GET", "/v1/health", "query", False),
    ("GET", "/v1/config", "query", True),
    ("PUT", "/v1/config", "query", True),
    ("PUT", "/v1/config/domains", "query", True),
    ("PUT", "/v1/config/sender_filter", "query", True),
    ("PUT", "/v1/config/ip_reputation", "query", True),
    ("PUT", "/v1/config/tls_peers", "query", True),
    ("PUT", "/v1/config/outbound_tls_peers", "query", True),
    ("PUT", "/v1/config/reverse_dns", "query", True),
    ("PUT", "/v1/config/limits", "query", True),
    ("PUT", "/v1/config/policies", "query", True),
    ("PUT", "/v1/config/domain_auth", "query", True),
    ("PUT", "/v1/config/threat_protection", "query", True),
    ("GET", "/v1/policies/{direction}", "query", True),
    ("POST", "/v1/policies/{direction}/rules", "query", True),
    ("PUT", "/v1/policies/{direction}/rules/{rule_id}", "query", True),
    ("DELETE", "/v1/policies/{direction}/rules/{rule_id}", "query", True),
    ("PUT", "/v1/policies/{direction}/order", "query", True),
    ("GET", "/v1/audit", "query", True),
    ("GET", "/v1/exports", "export", True),
    ("POST", "/v1/exports", "export", True),
    ("GET", "/v1/exports/{task_id}", "export", True),
)


@dataclass(frozen=True)
class Synth:
    region_code: str
    artifact: cx_api.CloudFormationStackArtifact
    template: assertions.Template
    resources: dict[str, dict[str, Any]]
    outdir: Path

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {lid: r for lid, r in self.resources.items() if r["Type"] == resource_type}

    def one(self, resource_type: str, prefix: str) -> tuple[str, dict[str, Any]]:
        found = [
            (lid, r) for lid, r in self.of_type(resource_type).items() if lid.startswith(prefix)
        ]
        assert len(found) == 1, f"{resource_type} {prefix}*: {[lid for lid, _ in found]}"
        return found[0]

    def declared(self, resource_id: str) -> str:
        """Logical id of a resource of mailgate.resources."""
        spec = resources.by_id(resource_id)
        kind, cfn_type = {
            resources.Table: ("Table", "AWS::DynamoDB::Table"),
            resources.Bucket: ("Bucket", "AWS::S3::Bucket"),
            resources.Queue: ("Queue", "AWS::SQS::Queue"),
            resources.Secret: ("Secret", "AWS::SecretsManager::Secret"),
        }[type(spec)]
        return self.one(cfn_type, f"Storage{pascal(spec.id)}{kind}")[0]

    def function(self, function_id: str) -> tuple[str, dict[str, Any]]:
        return self.one("AWS::Lambda::Function", f"Pipeline{pascal(function_id)}Function")

    def granted(self, role_logical_id: str) -> dict[str, set[str]]:
        """Actions the role's policies allow, by logical id of the resource they name."""
        actions: dict[str, set[str]] = {}
        for policy in self.of_type("AWS::IAM::Policy").values():
            if {"Ref": role_logical_id} not in policy["Properties"]["Roles"]:
                continue
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                statement_actions = _as_list(statement["Action"])
                for lid in _references(statement["Resource"]):
                    actions.setdefault(lid, set()).update(statement_actions)
        return actions

    def access(self, granted: dict[str, set[str]]) -> tuple[set[str], set[str]]:
        """The declared resources that grants reach, and those among them that can be written."""
        declared = {self.declared(rid): rid for rid in DECLARED_IDS}
        accessed = {declared[lid] for lid in granted if lid in declared}
        written = {
            declared[lid]
            for lid, actions in granted.items()
            if lid in declared and actions & WRITE_ACTIONS
        }
        return accessed, written


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _references(value: Any) -> Iterator[str]:
    """Logical ids that a CloudFormation value refers to (Ref, Fn::GetAtt), at any depth."""
    if isinstance(value, dict):
        if "Ref" in value:
            yield value["Ref"]
        elif "Fn::GetAtt" in value:
            yield value["Fn::GetAtt"][0]
        else:
            for item in value.values():
                yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


CONSOLE_LINKERS = ("export", "export-worker")


def _settings_env(synth: Synth, function_id: str) -> set[str]:
    """The variables a function gets besides its resources': the engines' addresses for
    their clients, the scan function's settings of cdk.json, and the console's address for the
    export functions' notices."""
    if function_id in CONSOLE_LINKERS:
        return {"MAILGATE_CONSOLE_URL"}
    if function_id not in ENGINE_CLIENTS:
        return set()
    names = {"MAILGATE_RSPAMD_URL", "MAILGATE_CLAMD_ADDRESS", "MAILGATE_RSPAMD_RULES_VERSION"}
    if function_id == "scan":
        names |= {name for name, value in _scan_settings(synth).items() if value}
    return names


def _scan_settings(synth: Synth) -> dict[str, str]:
    context = json.loads(CDK_JSON.read_text())["context"]
    hostname = context["front_settings"][synth.region_code]["MAILGATE_HOSTNAME"]
    return {"MAILGATE_HOSTNAME": hostname, **context["scan_settings"][synth.region_code]}


def _accessed(spec: resources.Function) -> set[str]:
    return {*spec.reads, *spec.writes, *((spec.consumes,) if spec.consumes else ())}


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> cx_api.CloudAssembly:
    # cdk-nag runs during synth: an unacknowledged finding fails this fixture.
    return build_app(outdir=str(tmp_path_factory.mktemp("cdk.out"))).synth()


@pytest.fixture(scope="module", params=REGION_CODES)
def synth(request: pytest.FixtureRequest, assembly: cx_api.CloudAssembly) -> Synth:
    artifact = assembly.get_stack_by_name(stack_name(request.param))
    template = artifact.template
    return Synth(
        region_code=request.param,
        artifact=artifact,
        template=assertions.Template.from_json(template),
        resources=template["Resources"],
        outdir=Path(assembly.directory),
    )


class TestStack:
    def test_region_is_the_one_of_cdk_json(self, synth: Synth) -> None:
        regions = json.loads(CDK_JSON.read_text())["context"]["regions"]
        assert synth.artifact.environment.region == regions[synth.region_code]

    def test_outputs_api_url_smtp_host_and_bucket(self, synth: Synth) -> None:
        synth.template.has_output("ApiUrl", {})
        synth.template.has_output(
            "SmtpHost",
            {"Value": {"Fn::GetAtt": [assertions.Match.any_value(), "DNSName"]}},
        )
        synth.template.has_output("MailBucketName", {"Value": {"Ref": synth.declared("mail")}})

    @pytest.mark.parametrize(
        "spec", [*resources.TABLES, *resources.QUEUES, resources.MAIL], ids=lambda spec: spec.id
    )
    def test_outputs_name_each_resource_for_the_operator_tool(
        self, synth: Synth, spec: resources.Table | resources.Queue | resources.Bucket
    ) -> None:
        # A table's and a bucket's Ref is its name, a queue's its URL: what the functions read.
        synth.template.has_output(
            resources.output_key(spec.env_var), {"Value": {"Ref": synth.declared(spec.id)}}
        )

    def test_outputs_the_tracking_shards_for_the_operator_tool(self, synth: Synth) -> None:
        shards = json.loads(CDK_JSON.read_text())["context"]["tracking_shards"][synth.region_code]
        synth.template.has_output(
            resources.output_key(TRACKING_SHARDS_ENV), {"Value": json.dumps(shards)}
        )

    def test_every_acknowledged_nag_rule_has_a_reason(self, synth: Synth) -> None:
        # Given the synthesized stack (any unacknowledged cdk-nag finding fails the synth)
        metadata = json.loads(
            (synth.outdir / f"{synth.artifact.stack_name}.metadata.json").read_text()
        )

        # When the cdk-nag acknowledgements are read
        acknowledged = {
            rule: reason
            for entries in metadata.values()
            for entry in entries
            if entry["type"] == "aws:cdk:acknowledged-rules"
            for rule, reason in entry["data"].items()
            if rule.startswith("AwsSolutions::")
        }

        # Then each says why, in a sentence
        assert acknowledged
        assert all(len(reason.split()) >= 8 for reason in acknowledged.values()), acknowledged


class TestStorage:
    def test_the_declared_tables_and_no_others(self, synth: Synth) -> None:
        synth.template.resource_count_is("AWS::DynamoDB::Table", len(resources.TABLES))

    @pytest.mark.parametrize("spec", resources.TABLES, ids=lambda spec: spec.id)
    def test_table(self, synth: Synth, spec: resources.Table) -> None:
        # Given the declared table
        # When the stack is synthesized
        table = synth.resources[synth.declared(spec.id)]
        properties = table["Properties"]

        # Then it has the declared keys, TTL and indexes, on-demand, recoverable and retained
        keys = [{"AttributeName": spec.partition.name, "KeyType": "HASH"}]
        if spec.sort:
            keys.append({"AttributeName": spec.sort.name, "KeyType": "RANGE"})
        assert properties["KeySchema"] == keys
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True
        }
        assert properties["SSESpecification"] == {"SSEEnabled": True}
        assert table["DeletionPolicy"] == "Retain"
        if spec.ttl_attribute:
            assert properties["TimeToLiveSpecification"] == {
                "AttributeName": spec.ttl_attribute,
                "Enabled": True,
            }
        else:
            assert "TimeToLiveSpecification" not in properties
        indexes = {
            index["IndexName"]: index for index in properties.get("GlobalSecondaryIndexes", [])
        }
        assert set(indexes) == {index.name for index in spec.indexes}
        for index in spec.indexes:
            index_keys = [{"AttributeName": index.partition.name, "KeyType": "HASH"}]
            if index.sort:
                index_keys.append({"AttributeName": index.sort.name, "KeyType": "RANGE"})
            assert indexes[index.name]["KeySchema"] == index_keys
            assert indexes[index.name]["Projection"] == {"ProjectionType": "ALL"}

    def test_mail_bucket_is_private_encrypted_retained_and_expires(self, synth: Synth) -> None:
        bucket = synth.resources[synth.declared(resources.MAIL.id)]
        properties = bucket["Properties"]

        assert bucket["DeletionPolicy"] == "Retain"
        assert properties["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        ]
        rules = {rule["Id"]: rule for rule in properties["LifecycleConfiguration"]["Rules"]}
        for expiry in resources.MAIL.expiry_rules:
            assert rules[expiry.id]["ExpirationInDays"] == expiry.days
            assert rules[expiry.id]["Status"] == "Enabled"
            tag_filters = [{"Key": expiry.tag[0], "Value": expiry.tag[1]}] if expiry.tag else None
            assert rules[expiry.id].get("TagFilters") == tag_filters
        assert {"AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}.items() <= rules[
            "abort-incomplete-uploads"
        ].items()

    def test_mail_bucket_refuses_plain_http(self, synth: Synth) -> None:
        synth.template.has_resource_properties(
            "AWS::S3::BucketPolicy",
            {
                "Bucket": {"Ref": synth.declared(resources.MAIL.id)},
                "PolicyDocument": {
                    "Statement": assertions.Match.array_with(
                        [
                            assertions.Match.object_like(
                                {
                                    "Effect": "Deny",
                                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                }
                            )
                        ]
                    )
                },
            },
        )

    @pytest.mark.parametrize("spec", resources.QUEUES, ids=lambda spec: spec.id)
    def test_queue_redrives_to_its_own_dead_letter_queue(
        self, synth: Synth, spec: resources.Queue
    ) -> None:
        queue = synth.resources[synth.declared(spec.id)]["Properties"]
        dlq_id, dlq = synth.one("AWS::SQS::Queue", f"Storage{pascal(spec.id)}DeadLetterQueue")

        assert queue["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
            "maxReceiveCount": spec.max_receive_count,
        }
        assert queue["VisibilityTimeout"] == spec.visibility_timeout_s
        assert queue["MessageRetentionPeriod"] == spec.retention_s
        assert dlq["Properties"]["MessageRetentionPeriod"] == spec.dlq_retention_s
        for properties in (queue, dlq["Properties"]):
            assert properties["SqsManagedSseEnabled"] is True

    @pytest.mark.parametrize("spec", resources.SECRETS, ids=lambda spec: spec.id)
    def test_secret_value_is_generated(self, synth: Synth, spec: resources.Secret) -> None:
        secret = synth.resources[synth.declared(spec.id)]["Properties"]

        assert secret["Description"] == spec.description
        assert "GenerateSecretString" in secret
        assert "SecretString" not in secret


class TestPipeline:
    @pytest.mark.parametrize("spec", resources.FUNCTIONS, ids=lambda spec: spec.id)
    def test_function_handler_and_environment(self, synth: Synth, spec: resources.Function) -> None:
        # Given a declared function
        # When the stack is synthesized
        _, function = synth.function(spec.id)
        properties = function["Properties"]

        # Then it runs the declared handler and learns each of its resources from its env var
        assert properties["Handler"] == spec.handler
        assert properties["Runtime"] == "python3.12"
        assert properties["Timeout"] == spec.timeout_s
        assert properties["MemorySize"] == spec.memory_mb
        environment = properties["Environment"]["Variables"]
        expected = {resources.by_id(rid).env_var: rid for rid in _accessed(spec)}
        assert set(environment) == set(expected) | COMMON_ENV | _settings_env(synth, spec.id)
        for env_var, resource_id in expected.items():
            assert environment[env_var] == {"Ref": synth.declared(resource_id)}
        assert environment["MAILGATE_REGION_CODE"] == synth.region_code
        assert environment["POWERTOOLS_SERVICE_NAME"] == "mailgate"

    @pytest.mark.parametrize("spec", resources.FUNCTIONS, ids=lambda spec: spec.id)
    def test_function_is_granted_exactly_its_resources(
        self, synth: Synth, spec: resources.Function
    ) -> None:
        _, function = synth.function(spec.id)
        granted = synth.granted(function["Properties"]["Role"]["Fn::GetAtt"][0])
        accessed, written = synth.access(granted)

        assert accessed == _accessed(spec)
        assert written == set(spec.writes)

    @pytest.mark.parametrize("spec", CONSUMERS, ids=lambda spec: spec.id)
    def test_consumer_reports_partial_batch_failures(
        self, synth: Synth, spec: resources.Function
    ) -> None:
        assert spec.consumes
        synth.template.has_resource_properties(
            "AWS::Lambda::EventSourceMapping",
            {
                "FunctionName": {"Ref": synth.function(spec.id)[0]},
                "EventSourceArn": {"Fn::GetAtt": [synth.declared(spec.consumes), "Arn"]},
                "BatchSize": spec.batch_size,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
            },
        )

    def test_only_consumers_have_event_sources(self, synth: Synth) -> None:
        synth.template.resource_count_is("AWS::Lambda::EventSourceMapping", len(CONSUMERS))

    def test_every_dead_letter_queue_has_an_alarm(self, synth: Synth) -> None:
        for spec in resources.QUEUES:
            dlq_id, _ = synth.one("AWS::SQS::Queue", f"Storage{pascal(spec.id)}DeadLetterQueue")
            synth.template.has_resource_properties(
                "AWS::CloudWatch::Alarm",
                {
                    "MetricName": "ApproximateNumberOfMessagesVisible",
                    "Dimensions": [
                        {"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}
                    ],
                    "Threshold": 0,
                    "ComparisonOperator": "GreaterThanThreshold",
                },
            )

    def test_dependencies_layer_matches_the_runtime(self, synth: Synth) -> None:
        synth.template.has_resource_properties(
            "AWS::Lambda::LayerVersion",
            {"CompatibleRuntimes": ["python3.12"], "CompatibleArchitectures": ["arm64"]},
        )

    def test_code_asset_holds_the_code_not_the_tooling(self, synth: Synth) -> None:
        _, function = synth.function("scan")
        s3_key = function["Properties"]["Code"]["S3Key"]
        staged = synth.outdir / f"asset.{s3_key.removesuffix('.zip')}"

        assert (staged / "mailgate" / "resources.py").is_file()
        assert (staged / "functions").is_dir()
        for tooling in (".venv", ".git", "tests", "infra", "cdk.out", "build", "docs", "ops"):
            assert not (staged / tooling).exists(), tooling


def _method_paths(synth: Synth) -> dict[tuple[str, str], dict[str, Any]]:
    """API methods by (HTTP method, full path)."""
    api_resources = synth.of_type("AWS::ApiGateway::Resource")

    def path(resource_ref: dict[str, Any]) -> str:
        if "Fn::GetAtt" in resource_ref:  # the root resource
            return ""
        resource = api_resources[resource_ref["Ref"]]["Properties"]
        return f"{path(resource['ParentId'])}/{resource['PathPart']}"

    return {
        (method["Properties"]["HttpMethod"], path(method["Properties"]["ResourceId"])): method[
            "Properties"
        ]
        for method in synth.of_type("AWS::ApiGateway::Method").values()
    }


class TestApi:
    def test_authorizer_is_a_cached_request_authorizer_on_the_authorization_header(
        self, synth: Synth
    ) -> None:
        synth.template.has_resource_properties(
            "AWS::ApiGateway::Authorizer",
            {
                "Type": "REQUEST",
                "IdentitySource": "method.request.header.Authorization",
                "AuthorizerResultTtlInSeconds": 60,
            },
        )
        authorizer = next(iter(synth.of_type("AWS::ApiGateway::Authorizer").values()))
        assert synth.function("authorizer")[0] in set(
            _references(authorizer["Properties"]["AuthorizerUri"])
        )

    @pytest.mark.parametrize(
        ("method", "path", "function_id", "authorized"),
        EXPECTED_ROUTES,
        ids=[f"{method} {path}" for method, path, _, _ in EXPECTED_ROUTES],
    )
    def test_route(
        self, synth: Synth, method: str, path: str, function_id: str, authorized: bool
    ) -> None:
        # Given the routes of the tenant API
        # When the stack is synthesized
        properties = _method_paths(synth)[(method, path)]

        # Then each proxies to its function, behind the authorizer unless public
        assert properties["Integration"]["Type"] == "AWS_PROXY"
        assert synth.function(function_id)[0] in set(_references(properties["Integration"]))
        if authorized:
            authorizer_id = next(iter(synth.of_type("AWS::ApiGateway::Authorizer")))
            assert properties["AuthorizationType"] == "CUSTOM"
            assert properties["AuthorizerId"] == {"Ref": authorizer_id}
        else:
            assert properties["AuthorizationType"] == "NONE"
            assert "AuthorizerId" not in properties

    def test_only_the_expected_routes(self, synth: Synth) -> None:
        assert set(_method_paths(synth)) == {(m, p) for m, p, _, _ in EXPECTED_ROUTES}

    def test_every_api_function_is_routed(self) -> None:
        api_functions = {spec.id for spec in resources.FUNCTIONS if spec.api}
        assert api_functions == {function_id for _, _, function_id, _ in EXPECTED_ROUTES}

    @pytest.mark.parametrize(
        ("response_type", "status", "code"),
        [
            ("UNAUTHORIZED", "401", "unauthorized"),
            ("ACCESS_DENIED", "403", "tenant_suspended"),
            ("REQUEST_TOO_LARGE", "413", "too_large"),
            ("DEFAULT_5XX", None, "gateway_error"),
        ],
    )
    def test_gateway_errors_use_the_project_error_shape(
        self, synth: Synth, response_type: str, status: str | None, code: str
    ) -> None:
        responses = {
            r["Properties"]["ResponseType"]: r["Properties"]
            for r in synth.of_type("AWS::ApiGateway::GatewayResponse").values()
        }
        response = responses[response_type]
        body = json.loads(response["ResponseTemplates"]["application/json"])

        assert response.get("StatusCode") == status
        assert body["error"]["code"] == code
        assert body["error"]["message"].endswith(".")

    def test_stage_logs_access_and_throttles(self, synth: Synth) -> None:
        synth.template.has_resource_properties(
            "AWS::ApiGateway::Stage",
            {
                "AccessLogSetting": {
                    "DestinationArn": assertions.Match.any_value(),
                    "Format": assertions.Match.string_like_regexp(r"\$context\.requestId"),
                },
                "MethodSettings": [
                    assertions.Match.object_like(
                        {
                            "ThrottlingRateLimit": assertions.Match.any_value(),
                            "ThrottlingBurstLimit": assertions.Match.any_value(),
                            "DataTraceEnabled": False,
                        }
                    )
                ],
            },
        )


class TestIngress:
    def test_service_runs_two_fargate_tasks_in_private_subnets(self, synth: Synth) -> None:
        synth.template.has_resource_properties(
            "AWS::ECS::Service",
            {
                "LaunchType": "FARGATE",
                "DesiredCount": 2,
                "NetworkConfiguration": {
                    "AwsvpcConfiguration": assertions.Match.object_like(
                        {"AssignPublicIp": "DISABLED"}
                    )
                },
            },
        )
        synth.template.has_resource_properties(
            "AWS::ECS::TaskDefinition", {"RequiresCompatibilities": ["FARGATE"]}
        )

    def test_vpc_has_two_azs_and_one_nat_gateway(self, synth: Synth) -> None:
        synth.template.resource_count_is("AWS::EC2::NatGateway", 1)
        synth.template.resource_count_is("AWS::EC2::Subnet", 4)
        synth.template.resource_count_is("AWS::EC2::FlowLog", 1)

    def test_container_environment_and_ports(self, synth: Synth) -> None:
        _, task = synth.one("AWS::ECS::TaskDefinition", "IngressTaskDefinition")
        (container,) = task["Properties"]["ContainerDefinitions"]
        environment = {item["Name"]: item["Value"] for item in container["Environment"]}

        receive = (*resources.RECEIVE_READS, *resources.RECEIVE_WRITES, *resources.RECEIVE_WATCHES)
        for resource_id in receive:
            assert environment[resources.by_id(resource_id).env_var] == {
                "Ref": synth.declared(resource_id)
            }
        assert environment["MAILGATE_SMTP_PORT"] == "2525"
        assert environment["MAILGATE_RELAY_PORT"] == "2587"
        assert environment["MAILGATE_BIND"] == "0.0.0.0"
        assert environment["MAILGATE_REGION_CODE"] == synth.region_code
        assert {mapping["ContainerPort"] for mapping in container["PortMappings"]} == {2525, 2587}
        settings = json.loads(CDK_JSON.read_text())["context"]["front_settings"][synth.region_code]
        assert {k: environment[k] for k, v in settings.items() if v} == {
            k: v for k, v in settings.items() if v
        }

    def test_task_role_is_granted_exactly_the_receive_resources(self, synth: Synth) -> None:
        _, task = synth.one("AWS::ECS::TaskDefinition", "IngressTaskDefinition")
        granted = synth.granted(task["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0])
        accessed, written = synth.access(granted)

        assert accessed == {
            *resources.RECEIVE_READS,
            *resources.RECEIVE_WRITES,
            *resources.RECEIVE_WATCHES,
        }
        assert written == set(resources.RECEIVE_WRITES)
        for queue_id in resources.RECEIVE_WATCHES:  # its message counts, nothing more
            assert granted[synth.declared(queue_id)] == {"sqs:GetQueueAttributes"}

    def test_internet_facing_nlb_maps_25_and_587_to_the_container_ports(self, synth: Synth) -> None:
        synth.template.has_resource_properties(
            "AWS::ElasticLoadBalancingV2::LoadBalancer",
            {"Type": "network", "Scheme": "internet-facing"},
        )
        target_groups = synth.of_type("AWS::ElasticLoadBalancingV2::TargetGroup")
        listeners = {
            listener["Properties"]["Port"]: listener["Properties"]
            for listener in synth.of_type("AWS::ElasticLoadBalancingV2::Listener").values()
        }

        assert set(listeners) == {25, 587}
        for public, container in ((25, 2525), (587, 2587)):
            listener = listeners[public]
            (action,) = listener["DefaultActions"]
            target_group = target_groups[action["TargetGroupArn"]["Ref"]]["Properties"]
            assert listener["Protocol"] == "TCP"
            assert target_group["Port"] == container
            assert target_group["Protocol"] == "TCP"
            assert target_group["HealthCheckProtocol"] == "TCP"
            assert {"Key": "preserve_client_ip.enabled", "Value": "true"} in target_group[
                "TargetGroupAttributes"
            ]

    def test_tasks_admit_smtp_from_anywhere(self, synth: Synth) -> None:
        rules = [
            rule
            for group in synth.of_type("AWS::EC2::SecurityGroup").values()
            for rule in group["Properties"].get("SecurityGroupIngress", [])
        ]
        for port in (2525, 2587):
            assert any(
                r.get("CidrIp") == "0.0.0.0/0" and r["FromPort"] == port == r["ToPort"]
                for r in rules
            ), port

    def test_container_image_is_only_staged_from_the_dockerfile(self, synth: Synth) -> None:
        # Given the synthesized assembly (no Docker daemon was used)
        manifest = json.loads(
            (synth.outdir / f"{synth.artifact.stack_name}.assets.json").read_text()
        )

        # When the image asset is read
        (image,) = [
            image
            for image in manifest["dockerImages"].values()
            if image["source"]["dockerFile"] == "functions/receive/Dockerfile"
        ]
        staged = synth.outdir / image["source"]["directory"]

        # Then its build context is staged with the Dockerfile and code, without the tooling
        assert image["source"]["dockerFile"] == "functions/receive/Dockerfile"
        assert (staged / "functions" / "receive" / "Dockerfile").is_file()
        assert (staged / "pyproject.toml").is_file()
        assert (staged / "mailgate" / "resources.py").is_file()
        for tooling in (".venv", ".git", "tests", "infra", "cdk.out", "build"):
            assert not (staged / tooling).exists(), tooling


ENGINES = (RSPAMD, CLAMD)


def _engine_task(synth: Synth, engine_name: str) -> dict[str, dict[str, Any]]:
    """The containers of an engine's task definition, by name."""
    _, task = synth.one("AWS::ECS::TaskDefinition", f"Engines{pascal(engine_name)}TaskDefinition")
    return {c["Name"]: c for c in task["Properties"]["ContainerDefinitions"]}


class TestEngines:
    @pytest.mark.parametrize("engine", ENGINES, ids=lambda engine: engine.name)
    def test_engine_runs_beside_the_smtp_front_and_is_named_in_cloud_map(
        self, synth: Synth, engine: Any
    ) -> None:
        _, service = synth.one("AWS::ECS::Service", f"Engines{pascal(engine.name)}Service")
        properties = service["Properties"]
        front_id, _ = synth.one("AWS::ECS::Cluster", "IngressCluster")
        assert properties["Cluster"] == {"Ref": front_id}
        assert (properties["LaunchType"], properties["DesiredCount"]) == ("FARGATE", 2)
        network = properties["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert network["AssignPublicIp"] == "DISABLED"
        (registry,) = properties["ServiceRegistries"]
        discovery = synth.resources[registry["RegistryArn"]["Fn::GetAtt"][0]]["Properties"]
        namespace = synth.resources[discovery["NamespaceId"]["Fn::GetAtt"][0]]
        assert discovery["Name"] == engine.name
        assert namespace["Type"] == "AWS::ServiceDiscovery::PrivateDnsNamespace"
        assert namespace["Properties"]["Name"] == NAMESPACE

    @pytest.mark.parametrize("engine", ENGINES, ids=lambda engine: engine.name)
    def test_engine_container_has_a_health_check_of_its_protocol(
        self, synth: Synth, engine: Any
    ) -> None:
        container = _engine_task(synth, engine.name)[engine.name]
        assert container["HealthCheck"]["Command"] == list(engine.health)
        assert container["PortMappings"] == [{"ContainerPort": engine.port, "Protocol": "tcp"}]

    def test_freshclam_fills_the_signatures_clamd_waits_for(self, synth: Synth) -> None:
        containers = _engine_task(synth, "clamd")
        freshclam, clamd = containers["freshclam"], containers["clamd"]
        assert freshclam["Command"][0] == "freshclam" and "--daemon" in freshclam["Command"]
        assert "daily.c?d" in " ".join(freshclam["HealthCheck"]["Command"])
        assert clamd["DependsOn"] == [{"Condition": "HEALTHY", "ContainerName": "freshclam"}]
        for container in (freshclam, clamd):
            (mount,) = container["MountPoints"]
            assert mount["ContainerPath"] == "/var/lib/clamav"

    @pytest.mark.parametrize("engine", ENGINES, ids=lambda engine: engine.name)
    def test_engine_admits_only_its_clients_on_its_port(self, synth: Synth, engine: Any) -> None:
        group_id, group = synth.one("AWS::EC2::SecurityGroup", f"Engines{pascal(engine.name)}")
        client_id, _ = synth.one("AWS::EC2::SecurityGroup", "EnginesClientSecurityGroup")
        assert "SecurityGroupIngress" not in group["Properties"]
        ingress = [
            rule["Properties"]
            for rule in synth.of_type("AWS::EC2::SecurityGroupIngress").values()
            if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}
        ]
        assert [(r["SourceSecurityGroupId"], r["FromPort"], r["ToPort"]) for r in ingress] == [
            ({"Fn::GetAtt": [client_id, "GroupId"]}, engine.port, engine.port)
        ]

    @pytest.mark.parametrize("spec", resources.FUNCTIONS, ids=lambda spec: spec.id)
    def test_only_the_engines_clients_run_in_the_vpc_in_the_client_group(
        self, synth: Synth, spec: resources.Function
    ) -> None:
        _, function = synth.function(spec.id)
        vpc = function["Properties"].get("VpcConfig")
        if spec.id not in ENGINE_CLIENTS:
            assert vpc is None
            return
        client_id, _ = synth.one("AWS::EC2::SecurityGroup", "EnginesClientSecurityGroup")
        assert vpc["SecurityGroupIds"] == [{"Fn::GetAtt": [client_id, "GroupId"]}]
        assert all("private" in subnet["Ref"] for subnet in vpc["SubnetIds"])

    def test_client_group_goes_out_to_https_and_the_engine_ports_only(self, synth: Synth) -> None:
        client_id, client = synth.one("AWS::EC2::SecurityGroup", "EnginesClientSecurityGroup")
        (https,) = client["Properties"]["SecurityGroupEgress"]
        assert (https["FromPort"], https["ToPort"], https["IpProtocol"]) == (443, 443, "tcp")
        to_engines = {
            rule["Properties"]["FromPort"]
            for rule in synth.of_type("AWS::EC2::SecurityGroupEgress").values()
            if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [client_id, "GroupId"]}
        }
        assert to_engines == {RSPAMD.port, CLAMD.port}

    def test_scan_function_is_told_the_engines_and_its_settings(self, synth: Synth) -> None:
        _, scan = synth.function("scan")
        environment = scan["Properties"]["Environment"]["Variables"]
        assert environment["MAILGATE_RSPAMD_URL"] == f"http://rspamd.{NAMESPACE}:11333"
        assert environment["MAILGATE_CLAMD_ADDRESS"] == f"clamd.{NAMESPACE}:3310"
        assert environment["MAILGATE_RSPAMD_RULES_VERSION"].startswith("image+")
        settings = {name: value for name, value in _scan_settings(synth).items() if value}
        assert {name: environment[name] for name in settings} == settings
        _, query = synth.function("query")  # GET /v1/health asks the engines themselves
        query_environment = query["Properties"]["Environment"]["Variables"]
        assert query_environment["MAILGATE_CLAMD_ADDRESS"] == environment["MAILGATE_CLAMD_ADDRESS"]

    @pytest.mark.parametrize("engine", ENGINES, ids=lambda engine: engine.name)
    def test_engine_image_is_only_staged_with_its_configuration(
        self, synth: Synth, engine: Any
    ) -> None:
        manifest = json.loads(
            (synth.outdir / f"{synth.artifact.stack_name}.assets.json").read_text()
        )
        (image,) = [
            image
            for image in manifest["dockerImages"].values()
            if image["source"]["dockerFile"] == engine.dockerfile
        ]
        staged = synth.outdir / image["source"]["directory"]
        assert (staged / engine.dockerfile).is_file()
        assert (staged / "rspamd" / "rspamd.conf").is_file()
        assert (staged / "clamav" / "clamd.conf").is_file()
        assert not list(staged.rglob("*.py"))
        if engine is CLAMD:
            max_bytes = image["source"]["dockerBuildArgs"]["MAX_BYTES"]
            assert int(max_bytes) == EngineSettings.model_fields["clamd_max_bytes"].default


def test_resolvers_of_the_scan_settings_are_the_only_dns_the_clients_may_reach() -> None:
    app = App()
    stack = Stack(app, "Test")
    vpc = ec2.Vpc(stack, "Vpc", max_azs=1)
    engines = Engines(stack, "Engines", cluster=ecs.Cluster(stack, "Cluster", vpc=vpc), vpc=vpc)
    engines.allow_resolvers("192.0.2.53, 192.0.2.54:5353")
    template = assertions.Template.from_stack(stack)
    (group,) = [
        g
        for lid, g in template.find_resources("AWS::EC2::SecurityGroup").items()
        if lid.startswith("EnginesClientSecurityGroup")
    ]
    dns = {
        (rule["CidrIp"], rule["IpProtocol"], rule["FromPort"])
        for rule in group["Properties"]["SecurityGroupEgress"]
        if rule["FromPort"] != 443
    }
    assert dns == {
        ("192.0.2.53/32", "udp", 53),
        ("192.0.2.53/32", "tcp", 53),
        ("192.0.2.54/32", "udp", 5353),
        ("192.0.2.54/32", "tcp", 5353),
    }


def test_export_notices_link_to_the_regions_console(synth: Synth) -> None:
    (distribution,) = synth.of_type("AWS::CloudFront::Distribution")
    for function_id in CONSOLE_LINKERS:
        _, function = synth.function(function_id)
        url = function["Properties"]["Environment"]["Variables"]["MAILGATE_CONSOLE_URL"]
        assert url == {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution, "DomainName"]}]]}


def test_the_tracking_shards_of_cdk_json_reach_every_reader_of_the_tracking_table(
    tmp_path: Path,
) -> None:
    # Given a hot tenant in jp, none in us
    context = {"tracking_shards": {"jp": {"hot": 8, "warm": 2}, "us": {}}}
    assembly = build_app(outdir=str(tmp_path), context=context).synth()
    jp = assembly.get_stack_by_name(stack_name("jp")).template
    us = assembly.get_stack_by_name(stack_name("us")).template

    def environments(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """Each function's variables by its id, and the SMTP front's as "receive"."""
        found = {}
        for spec in resources.FUNCTIONS:
            [function] = [
                r
                for lid, r in template["Resources"].items()
                if r["Type"] == "AWS::Lambda::Function"
                and lid.startswith(f"Pipeline{pascal(spec.id)}Function")
            ]
            found[spec.id] = function["Properties"]["Environment"]["Variables"]
        [task] = [
            r
            for lid, r in template["Resources"].items()
            if lid.startswith("IngressTaskDefinition") and r["Type"] == "AWS::ECS::TaskDefinition"
        ]
        [container] = task["Properties"]["ContainerDefinitions"]
        found["receive"] = {item["Name"]: item["Value"] for item in container["Environment"]}
        return found

    # Then every function and service that reads or writes tracking is told them, no other
    readers = {spec.id for spec in resources.FUNCTIONS if "tracking" in _accessed(spec)}
    readers.add("receive")
    told = {
        function_id
        for function_id, variables in environments(jp).items()
        if variables.get(TRACKING_SHARDS_ENV) == '{"hot": 8, "warm": 2}'
    }
    assert told == readers
    assert not any(TRACKING_SHARDS_ENV in v for v in environments(us).values())
    # and the operator tool finds them in the stack's outputs
    key = resources.output_key(TRACKING_SHARDS_ENV)
    assert jp["Outputs"][key]["Value"] == '{"hot": 8, "warm": 2}'
    assert us["Outputs"][key]["Value"] == "{}"


@pytest.mark.parametrize("count", [0, 65, "many"])
def test_a_shard_count_the_functions_would_refuse_is_refused_at_synth(count: Any) -> None:
    with pytest.raises(ValidationError):
        Storage(Stack(App(), "Test"), "Storage", tracking_shards={"hot": count})
