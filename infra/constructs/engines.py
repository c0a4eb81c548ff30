"""The detection engines beside the SMTP front: rspamd and clamd as Fargate services in its
cluster, which the functions that need them reach over the VPC through Cloud Map.

Cloud Map rather than an internal NLB: the engines are asked by our functions only, so a
private DNS name per service (A records of the healthy tasks, a short TTL) is all they need;
no load balancer to pay for or to keep a second health view of, and security groups admit the
callers by group, task by task.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from aws_cdk import aws_servicediscovery as servicediscovery
from constructs import Construct

from infra.constructs.source import REPO_ROOT, pascal
from mailgate.dns import split_server
from mailgate.settings import Engines as EngineSettings

NAMESPACE = "engines.mailgate.internal"
# The images' build context: the engines' configuration that the local runtime uses too.
CONTEXT = REPO_ROOT / "local" / "engines"
CONTEXT_EXCLUDE = ("*.py", "**/__pycache__", "install.sh")
SIGNATURES = "/var/lib/clamav"
DESIRED_COUNT = 2
# Functions that ask the engines: scan for its verdicts, query for GET /v1/health.
CLIENTS = ("scan", "query")


@dataclass(frozen=True)
class Engine:
    name: str  # container, Cloud Map service and DNS label
    port: int
    dockerfile: str
    health: tuple[str, ...]  # the container's health check command
    cpu: int
    memory_mib: int


RSPAMD = Engine(
    "rspamd",
    11333,
    "Dockerfile.rspamd",
    ("CMD", "curl", "-fsS", "http://127.0.0.1:11333/ping"),
    cpu=512,
    memory_mib=1024,
)
CLAMD = Engine(
    "clamd",
    3310,
    "Dockerfile.clamd",
    ("CMD", "clamdscan", "--ping", "3"),
    cpu=1024,
    memory_mib=4096,  # the official signatures take about 1.5 GiB, twice during a reload
)


def address(engine: Engine) -> str:
    return f"{engine.name}.{NAMESPACE}:{engine.port}"


class Engines(Construct):
    """The two services, their private DNS names, and ``client_security_group``: the only
    group the engines admit, on their ports."""

    def __init__(
        self, scope: Construct, construct_id: str, *, cluster: ecs.Cluster, vpc: ec2.IVpc
    ) -> None:
        super().__init__(scope, construct_id)
        self._cluster = cluster
        self.vpc = vpc
        self._namespace = servicediscovery.PrivateDnsNamespace(
            self, "Namespace", name=NAMESPACE, vpc=vpc, description="mailgate detection engines"
        )
        self.client_security_group = ec2.SecurityGroup(
            self,
            "ClientSecurityGroup",
            vpc=vpc,
            description="Functions that ask the detection engines",
            allow_all_outbound=False,
        )
        # AWS APIs (SQS through the NAT gateway; S3 and DynamoDB through the VPC's endpoints),
        # X-Ray. DNS goes to the VPC's resolver, which security groups do not filter.
        self.client_security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "AWS APIs over HTTPS"
        )
        rspamd_image = self._image(RSPAMD)
        clamd_image = self._image(
            CLAMD,
            build_args={"MAX_BYTES": str(EngineSettings.model_fields["clamd_max_bytes"].default)},
        )
        self.services = {
            RSPAMD.name: self._service(RSPAMD, self._task(RSPAMD, rspamd_image)),
            CLAMD.name: self._service(CLAMD, self._clamd_task(clamd_image)),
        }
        # The scan and query functions' settings (mailgate.settings.Engines).
        self.environment = {
            "MAILGATE_RSPAMD_URL": f"http://{address(RSPAMD)}",
            "MAILGATE_CLAMD_ADDRESS": address(CLAMD),
            "MAILGATE_RSPAMD_RULES_VERSION": f"image+{rspamd_image.asset_hash[:12]}",
        }

    def allow_resolvers(self, servers: str) -> None:
        """DNS to the resolvers of ``MAILGATE_DNS_SERVERS`` ("ip" or "ip:port", comma
        separated), when the functions are not left to the VPC's."""
        for server in filter(None, (s.strip() for s in servers.split(","))):
            host, port = split_server(server)
            ip = ipaddress.ip_address(host)
            peer = ec2.Peer.ipv4(f"{ip}/32") if ip.version == 4 else ec2.Peer.ipv6(f"{ip}/128")
            for protocol in (ec2.Port.udp, ec2.Port.tcp):
                self.client_security_group.add_egress_rule(
                    peer, protocol(port or 53), f"DNS to {server}"
                )

    def _image(
        self, engine: Engine, build_args: dict[str, str] | None = None
    ) -> ecr_assets.DockerImageAsset:
        # Staged at synth, built by `cdk deploy`, as the SMTP front's image.
        return ecr_assets.DockerImageAsset(
            self,
            f"{pascal(engine.name)}Image",
            directory=str(CONTEXT),
            file=engine.dockerfile,
            exclude=list(CONTEXT_EXCLUDE),
            platform=ecr_assets.Platform.LINUX_AMD64,
            build_args=build_args,
        )

    def _logs(self, name: str) -> ecs.LogDriver:
        return ecs.LogDriver.aws_logs(
            stream_prefix=name,
            log_group=logs.LogGroup(
                self,
                f"{pascal(name)}Logs",
                retention=logs.RetentionDays.THREE_MONTHS,
                removal_policy=RemovalPolicy.DESTROY,
            ),
        )

    def _task_definition(self, engine: Engine) -> ecs.FargateTaskDefinition:
        task_definition = ecs.FargateTaskDefinition(
            self,
            f"{pascal(engine.name)}TaskDefinition",
            cpu=engine.cpu,
            memory_limit_mib=engine.memory_mib,
            runtime_platform=ecs.RuntimePlatform(
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
                cpu_architecture=ecs.CpuArchitecture.X86_64,
            ),
        )
        Validations.of(task_definition).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                reason="The execution role's ecr:GetAuthorizationToken has no resource ARN; "
                "image pulls are scoped to the asset repository.",
            )
        )
        return task_definition

    def _engine_container(
        self,
        task_definition: ecs.FargateTaskDefinition,
        engine: Engine,
        image: ecr_assets.DockerImageAsset,
        start_period: Duration,
    ) -> ecs.ContainerDefinition:
        return task_definition.add_container(
            engine.name,
            image=ecs.ContainerImage.from_docker_image_asset(image),
            port_mappings=[ecs.PortMapping(container_port=engine.port, protocol=ecs.Protocol.TCP)],
            health_check=ecs.HealthCheck(
                command=list(engine.health),
                interval=Duration.seconds(30),
                timeout=Duration.seconds(5),
                retries=3,
                start_period=start_period,
            ),
            logging=self._logs(engine.name),
        )

    def _task(
        self, engine: Engine, image: ecr_assets.DockerImageAsset
    ) -> ecs.FargateTaskDefinition:
        task_definition = self._task_definition(engine)
        # rspamd compiles its expressions on its first start.
        self._engine_container(task_definition, engine, image, Duration.seconds(120))
        return task_definition

    def _clamd_task(self, image: ecr_assets.DockerImageAsset) -> ecs.FargateTaskDefinition:
        """clamd with a freshclam sidecar: freshclam fetches the official signatures into the
        task's shared volume before clamd starts, then checks for updates 12 times a day;
        clamd reloads them when they change (SelfCheck). A sidecar rather than a scheduled
        task: each task keeps its own signatures current, with no shared file system."""
        task_definition = self._task_definition(CLAMD)
        task_definition.add_volume(name="signatures")
        freshclam = task_definition.add_container(
            "freshclam",
            image=ecs.ContainerImage.from_docker_image_asset(image),
            command=["freshclam", "--foreground", "--daemon", "--checks=12"],
            essential=True,
            health_check=ecs.HealthCheck(
                command=["CMD-SHELL", f"ls {SIGNATURES}/daily.c?d {SIGNATURES}/main.c?d"],
                interval=Duration.seconds(30),
                timeout=Duration.seconds(5),
                retries=3,
                start_period=Duration.seconds(300),
            ),
            logging=self._logs("freshclam"),
        )
        clamd = self._engine_container(task_definition, CLAMD, image, Duration.seconds(180))
        for container in (freshclam, clamd):
            container.add_mount_points(
                ecs.MountPoint(
                    source_volume="signatures", container_path=SIGNATURES, read_only=False
                )
            )
        clamd.add_container_dependencies(
            ecs.ContainerDependency(
                container=freshclam, condition=ecs.ContainerDependencyCondition.HEALTHY
            )
        )
        return task_definition

    def _service(
        self, engine: Engine, task_definition: ecs.FargateTaskDefinition
    ) -> ecs.FargateService:
        name = pascal(engine.name)
        security_group = ec2.SecurityGroup(
            self,
            f"{name}SecurityGroup",
            vpc=self.vpc,
            description=f"{engine.name}: its port from the functions that ask it",
            allow_all_outbound=False,
        )
        # Image pulls, logs and (freshclam) the signature mirrors, all over HTTPS.
        security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS out")
        security_group.connections.allow_from(
            self.client_security_group, ec2.Port.tcp(engine.port), f"{engine.name} clients"
        )
        return ecs.FargateService(
            self,
            f"{name}Service",
            cluster=self._cluster,
            task_definition=task_definition,
            desired_count=DESIRED_COUNT,
            min_healthy_percent=100,
            max_healthy_percent=200,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
            security_groups=[security_group],
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            cloud_map_options=ecs.CloudMapOptions(
                cloud_map_namespace=self._namespace,
                name=engine.name,
                dns_record_type=servicediscovery.DnsRecordType.A,
                dns_ttl=Duration.seconds(10),
            ),
        )
