"""One mailgate stack: the constructs of a region, assembled."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.constructs.api import Api
from infra.constructs.console import Console
from infra.constructs.ingress import Ingress
from infra.constructs.pipeline import Pipeline
from infra.constructs.storage import Storage
from mailgate import resources


class MailgateStack(Stack):
    """Storage, the Lambda pipeline, the tenant API and the SMTP front of one region."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        region_code: str,
        front_settings: dict[str, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        storage = Storage(self, "Storage")
        pipeline = Pipeline(self, "Pipeline", storage=storage, region_code=region_code)
        api = Api(self, "Api", functions=pipeline.functions)
        console = Console(self, "Console", rest_api=api.rest_api)
        ingress = Ingress(
            self,
            "Ingress",
            storage=storage,
            region_code=region_code,
            front_settings=front_settings,
        )

        CfnOutput(self, "ApiUrl", value=api.rest_api.url, description="Tenant API base URL")
        CfnOutput(
            self,
            "ConsoleUrl",
            value=f"https://{console.distribution.distribution_domain_name}/",
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
        for env_var, value in names.items():
            CfnOutput(
                self, resources.output_key(env_var), value=value, description=f"{env_var} (ops)"
            )
