"""The Lambda functions of the declaration: scan and deliver on their queues, query, export and
the API authorizer."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.engines import CLIENTS as ENGINE_CLIENTS
from infra.constructs.engines import Engines
from infra.constructs.source import (
    ASSET_EXCLUDE,
    LAMBDA_DEPS_DIR,
    REPO_ROOT,
    common_environment,
    pascal,
)
from infra.constructs.storage import Storage
from mailgate import resources

RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64


class Pipeline(Construct):
    """One function per entry of ``mailgate.resources.FUNCTIONS``.

    All functions share one code asset (the repository without its tooling) and one layer of
    third-party packages. Each gets the environment and grants of its declared resources;
    queue consumers get an SQS event source that reports partial batch failures, and every
    dead-letter queue an alarm, so a failed message is never silent.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: Storage,
        region_code: str,
        engines: Engines,
        scan_settings: dict[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self._storage = storage
        self._region_code = region_code
        self._engines = engines
        self._scan_settings = scan_settings
        self._code = lambda_.Code.from_asset(str(REPO_ROOT), exclude=list(ASSET_EXCLUDE))
        self._dependencies = self._build_dependencies_layer()
        self.functions = {spec.id: self._build_function(spec) for spec in resources.FUNCTIONS}
        for spec in resources.FUNCTIONS:
            if spec.consumes:
                self._build_queue_source(
                    self.functions[spec.id], storage.queues[spec.consumes], spec.batch_size
                )
        for queue_id, dead_letter_queue in storage.dead_letter_queues.items():
            self._build_dead_letter_alarm(queue_id, dead_letter_queue)

    def _build_dependencies_layer(self) -> lambda_.LayerVersion:
        return lambda_.LayerVersion(
            self,
            "DependenciesLayer",
            code=lambda_.Code.from_asset(str(LAMBDA_DEPS_DIR)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="Third-party packages of pyproject.toml (make lambda-deps)",
        )

    def _build_function(self, spec: resources.Function) -> lambda_.Function:
        name = pascal(spec.id)
        # The engines' clients run in the VPC, in the one group the engines admit.
        in_vpc = spec.id in ENGINE_CLIENTS
        function = lambda_.Function(
            self,
            f"{name}Function",
            description=f"mailgate {spec.id}",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=spec.handler,
            code=self._code,
            layers=[self._dependencies],
            timeout=Duration.seconds(spec.timeout_s),
            memory_size=spec.memory_mb,
            tracing=lambda_.Tracing.ACTIVE,
            vpc=self._engines.vpc if in_vpc else None,
            vpc_subnets=(
                ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
                if in_vpc
                else None
            ),
            security_groups=[self._engines.client_security_group] if in_vpc else None,
            log_group=logs.LogGroup(
                self,
                f"{name}Logs",
                retention=logs.RetentionDays.THREE_MONTHS,
                removal_policy=RemovalPolicy.DESTROY,
            ),
        )
        reads = (*spec.reads, spec.consumes) if spec.consumes else spec.reads
        environment = self._storage.bind(function, reads=reads, writes=spec.writes)
        environment |= common_environment(self._region_code)
        if in_vpc:
            environment |= self._engines.environment
        if spec.id == "scan":
            environment |= {name: value for name, value in self._scan_settings.items() if value}
        for key, value in sorted(environment.items()):
            function.add_environment(key, value)
        if in_vpc:
            Validations.of(function).acknowledge(
                Acknowledgment(
                    id="AwsSolutions::AwsSolutions-IAM4"
                    "[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]",
                    reason="AWSLambdaVPCAccessExecutionRole only lets the function manage the "
                    "network interfaces it runs in.",
                )
            )
        Validations.of(function).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-L1",
                reason="Pinned to Python 3.12, the version the dependencies layer is "
                "built for (make lambda-deps --python-version 3.12).",
            ),
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM4"
                "[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
                reason="AWSLambdaBasicExecutionRole only lets the function write its "
                "own CloudWatch log streams.",
            ),
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                reason="X-Ray trace segments and telemetry have no resource ARN "
                "(xray:PutTraceSegments, xray:PutTelemetryRecords).",
            ),
        )
        return function

    def _build_queue_source(
        self, function: lambda_.Function, queue: sqs.Queue, batch_size: int
    ) -> None:
        function.add_event_source(
            event_sources.SqsEventSource(
                queue, batch_size=batch_size, report_batch_item_failures=True
            )
        )

    def _build_dead_letter_alarm(self, queue_id: str, dead_letter_queue: sqs.Queue) -> None:
        cloudwatch.Alarm(
            self,
            f"{pascal(queue_id)}DeadLetterAlarm",
            alarm_description=f"Messages of the {queue_id} queue failed every retry and wait "
            "in its dead-letter queue for an operator to redrive them.",
            metric=dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1)
            ),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
