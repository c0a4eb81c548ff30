"""The SMTP front: the receive container on Fargate behind an internet-facing NLB."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.constructs.source import ASSET_EXCLUDE, REPO_ROOT, common_environment
from infra.constructs.storage import Storage
from mailgate import resources

CONTAINER_NAME = "receive"
DOCKERFILE = "functions/receive/Dockerfile"
DESIRED_COUNT = 2


@dataclass(frozen=True)
class SmtpPort:
    """A public SMTP port of the NLB and the unprivileged port the container listens on."""

    name: str
    public: int
    container: int
    env_var: str


SMTP_PORTS = (
    SmtpPort("Smtp", 25, 2525, "MAILGATE_SMTP_PORT"),  # MX: inbound mail (RFC 5321)
    SmtpPort("Submission", 587, 2587, "MAILGATE_RELAY_PORT"),  # tenants' relay (RFC 6409)
)


class Ingress(Construct):
    """A VPC (2 AZs, public and private subnets, one NAT gateway), an ECS cluster, the receive
    service (``DESIRED_COUNT`` Fargate tasks in the private subnets) and the NLB in front.

    The target groups preserve client IPs, so the stage-1 checks see the sending MTA's address;
    that is why the tasks' security group admits the SMTP ports from anywhere.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: Storage,
        region_code: str,
        front_settings: dict[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.vpc = self._build_vpc()
        self._task_definition = self._build_task_definition(storage, region_code, front_settings)
        self.service = self._build_service()
        self.load_balancer = self._build_load_balancer()

    def _build_vpc(self) -> ec2.Vpc:
        vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=1,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24
                ),
                ec2.SubnetConfiguration(
                    name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=24
                ),
            ],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
                "DynamoDb": ec2.GatewayVpcEndpointOptions(
                    service=ec2.GatewayVpcEndpointAwsService.DYNAMODB
                ),
            },
        )
        vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                logs.LogGroup(
                    self,
                    "FlowLogs",
                    retention=logs.RetentionDays.THREE_MONTHS,
                    removal_policy=RemovalPolicy.DESTROY,
                )
            ),
        )
        return vpc

    def _build_task_definition(
        self, storage: Storage, region_code: str, front_settings: dict[str, str]
    ) -> ecs.FargateTaskDefinition:
        task_definition = ecs.FargateTaskDefinition(
            self,
            "TaskDefinition",
            cpu=512,
            memory_limit_mib=1024,
            runtime_platform=ecs.RuntimePlatform(
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
                cpu_architecture=ecs.CpuArchitecture.X86_64,
            ),
        )
        environment = storage.bind(
            task_definition.task_role,
            reads=resources.RECEIVE_READS,
            writes=resources.RECEIVE_WRITES,
            watches=resources.RECEIVE_WATCHES,
        )
        environment |= {port.env_var: str(port.container) for port in SMTP_PORTS}
        environment |= common_environment(region_code)
        environment["MAILGATE_BIND"] = "0.0.0.0"  # noqa: S104 (the task's own network interface)
        # Deployment settings of the region (cdk.json "front_settings"): host name, reputation
        # list zones, system block lists; empty values are left to the front's defaults.
        environment |= {name: value for name, value in front_settings.items() if value}
        task_definition.add_container(
            CONTAINER_NAME,
            image=ecs.ContainerImage.from_asset(
                str(REPO_ROOT),
                file=DOCKERFILE,
                exclude=list(ASSET_EXCLUDE),
                platform=ecr_assets.Platform.LINUX_AMD64,
            ),
            environment=dict(sorted(environment.items())),
            port_mappings=[
                ecs.PortMapping(
                    name=port.name.lower(),
                    container_port=port.container,
                    protocol=ecs.Protocol.TCP,
                )
                for port in SMTP_PORTS
            ],
            logging=ecs.LogDriver.aws_logs(
                stream_prefix=CONTAINER_NAME,
                log_group=logs.LogGroup(
                    self,
                    "Logs",
                    retention=logs.RetentionDays.THREE_MONTHS,
                    removal_policy=RemovalPolicy.DESTROY,
                ),
            ),
        )
        Validations.of(task_definition).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-ECS2",
                reason="The environment holds resource names, queue URLs and ports, "
                "no secret values.",
            ),
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                reason="The execution role's ecr:GetAuthorizationToken has no resource ARN; "
                "image pulls are scoped to the asset repository.",
            ),
        )
        return task_definition

    def _build_service(self) -> ecs.FargateService:
        self.cluster = ecs.Cluster(
            self, "Cluster", vpc=self.vpc, container_insights_v2=ecs.ContainerInsights.ENABLED
        )
        security_group = ec2.SecurityGroup(
            self,
            "ServiceSecurityGroup",
            vpc=self.vpc,
            description="SMTP from any sending MTA (the NLB preserves client IPs)",
        )
        for port in SMTP_PORTS:
            security_group.add_ingress_rule(
                ec2.Peer.any_ipv4(), ec2.Port.tcp(port.container), f"{port.name} from anywhere"
            )
        Validations.of(security_group).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-EC23",
                reason="An MX host accepts SMTP from any address; the NLB preserves "
                "client IPs, so the tasks admit the SMTP container ports from anywhere.",
            )
        )
        return ecs.FargateService(
            self,
            "Service",
            cluster=self.cluster,
            task_definition=self._task_definition,
            desired_count=DESIRED_COUNT,
            min_healthy_percent=100,
            max_healthy_percent=200,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
            health_check_grace_period=Duration.seconds(60),
            security_groups=[security_group],
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        )

    def _build_load_balancer(self) -> elbv2.NetworkLoadBalancer:
        security_group = ec2.SecurityGroup(
            self,
            "LoadBalancerSecurityGroup",
            vpc=self.vpc,
            description="SMTP from any sending MTA",
            allow_all_outbound=False,
        )
        load_balancer = elbv2.NetworkLoadBalancer(
            self,
            "LoadBalancer",
            vpc=self.vpc,
            internet_facing=True,
            cross_zone_enabled=True,
            security_groups=[security_group],
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
        )
        for port in SMTP_PORTS:
            security_group.add_ingress_rule(
                ec2.Peer.any_ipv4(), ec2.Port.tcp(port.public), f"{port.name} from anywhere"
            )
            security_group.connections.allow_to(
                self.service, ec2.Port.tcp(port.container), f"{port.name} to the tasks"
            )
            listener = load_balancer.add_listener(
                f"{port.name}Listener", port=port.public, protocol=elbv2.Protocol.TCP
            )
            listener.add_targets(
                f"{port.name}Targets",
                port=port.container,
                protocol=elbv2.Protocol.TCP,
                preserve_client_ip=True,
                targets=[
                    self.service.load_balancer_target(
                        container_name=CONTAINER_NAME, container_port=port.container
                    )
                ],
                health_check=elbv2.HealthCheck(
                    protocol=elbv2.Protocol.TCP, interval=Duration.seconds(10)
                ),
                deregistration_delay=Duration.seconds(60),
            )
        Validations.of(load_balancer).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-ELB2",
                reason="NLB access logs are written for TLS listeners only; these are "
                "TCP listeners (STARTTLS ends in the container), and connections are "
                "logged by the receive service and the VPC flow logs.",
            )
        )
        Validations.of(security_group).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-EC23",
                reason="The public SMTP ports (25 for MX, 587 for tenants' relay) "
                "accept connections from any address.",
            )
        )
        return load_balancer
