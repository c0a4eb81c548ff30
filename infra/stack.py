"""One mailgate stack: the constructs of a region, assembled."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.constructs.api import Api
from infra.constructs.console import Console
from infra.constructs.engines import Engines
from infra.constructs.ingress import Ingress
from infra.constructs.pipeline import Pipeline
from infra.constructs.storage import Storage
from mailgate import resources
from mailgate.settings import TRACKING_SHARDS_ENV


class MailgateStack(Stack):
    """Storage, the SMTP front, the detection engines beside it, the Lambda pipeline and the
    tenant API of one region."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        region_code: str,
        front_settings: dict[str, str],
        scan_settings: dict[str, str],
        tracking_shards: dict[str, int],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        storage = Storage(self, "Storage", tracking_shards=tracking_shards)
        ingress = Ingress(
            self,
            "Ingress",
            storage=storage,
            region_code=region_code,
            front_settings=front_settings,
        )
        engines = Engines(self, "Engines", cluster=ingress.cluster, vpc=ingress.vpc)
        engines.allow_resolvers(scan_settings.get("MAILGATE_DNS_SERVERS", ""))
        # The scan function names itself as the SMTP front does (Authentication-Results).
        hostname = {k: v for k, v in front_settings.items() if k == "MAILGATE_HOSTNAME"}
        pipeline = Pipeline(
            self,
            "Pipeline",
            storage=storage,
            region_code=region_code,
            engines=engines,
            scan_settings=hostname | scan_settings,
        )
        api = Api(self, "Api", functions=pipeline.functions)
        console = Console(self, "Console", rest_api=api.rest_api)
        console_url = f"https://{console.distribution.distribution_domain_name}"
        for function_id in ("export", "export-worker"):  # the link in an export's notice
            pipeline.functions[function_id].add_environment("MAILGATE_CONSOLE_URL", console_url)

        CfnOutput(self, "ApiUrl", value=api.rest_api.url, description="Tenant API base URL")
        CfnOutput(
            self,
            "ConsoleUrl",
            value=f"{console_url}/",
            description="Admin console (the API is also at /v1/ there)",
        )
        CfnOutput(
            self,
            "SmtpHost",
            value=ingress.load_balancer.load_balancer_dns_name,
            description="NLB DNS name: the MX target (25) and relay host (587)",
        )
        CfnOutput(
            self, "MailBucketName", value=storage.mail_bucket.bucket_name, description="Mail bucket"
        )
        # The operator tool (``mailgate ops --region``) finds each resource by these outputs.
        names = {spec.env_var: storage.tables[spec.id].table_name for spec in resources.TABLES}
        names |= {spec.env_var: storage.queues[spec.id].queue_url for spec in resources.QUEUES}
        names[resources.MAIL.env_var] = storage.mail_bucket.bucket_name
        names[TRACKING_SHARDS_ENV] = storage.tracking_shards_json  # read by ops reindex
        for env_var, value in names.items():
            CfnOutput(
                self, resources.output_key(env_var), value=value, description=f"{env_var} (ops)"
            )
