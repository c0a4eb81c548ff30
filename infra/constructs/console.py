"""The admin console: ``web/`` in a private S3 bucket behind CloudFront, with the tenant API on
the same origin (``/v1/*`` is forwarded to API Gateway, uncached), so the console needs no CORS."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from constructs import Construct

from infra.constructs.api import STAGE_NAME
from mailgate.console_headers import CONTENT_SECURITY_POLICY

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
API_PATH = "/v1/*"


class Console(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, rest_api: apigateway.RestApi
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Files",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=True,
        )
        headers = cloudfront.ResponseHeadersPolicy(
            self,
            "Headers",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=CONTENT_SECURITY_POLICY, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365),
                    include_subdomains=True,
                    override=True,
                ),
            ),
        )
        stack = Stack.of(self)
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                response_headers_policy=headers,
            ),
            additional_behaviors={
                API_PATH: cloudfront.BehaviorOptions(
                    # Named from the API's id and stage name, not its deployed stage: the
                    # functions are told the console's address, so the distribution must not
                    # depend on the deployment that depends on them.
                    origin=origins.HttpOrigin(
                        f"{rest_api.rest_api_id}.execute-api.{stack.region}.{stack.url_suffix}",
                        origin_path=f"/{STAGE_NAME}",
                    ),
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                    allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                    cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                    # The API key travels in Authorization; Host must be API Gateway's own.
                    origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                )
            },
        )
        deployment = s3_deployment.BucketDeployment(
            self,
            "Deploy",
            sources=[s3_deployment.Source.asset(str(WEB_DIR))],
            destination_bucket=self.bucket,
            distribution=self.distribution,
        )
        Validations.of(self).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-S1",
                reason="The bucket holds the console's public static files only; CloudFront "
                "is the only reader.",
            ),
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-CFR1",
                reason="Tenants sign in from anywhere; no geo restriction.",
            ),
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-CFR2",
                reason="A WAF web ACL is left to each deployment, as for the API.",
            ),
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-CFR3",
                reason="Requests to the API are logged by API Gateway's access log; the "
                "static files carry no tenant data.",
            ),
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-CFR4",
                reason="The default CloudFront certificate; a custom domain sets TLSv1.2_2021.",
            ),
        )
        # CDK's deployment provider is one function per stack, outside this construct.
        role = deployment.handler_role
        Validations.of(role).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM4"
                "[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
                reason="CDK's deployment provider logs with the AWS-managed basic Lambda role.",
            ),
            *(
                Acknowledgment(
                    id=f"AwsSolutions::AwsSolutions-IAM5[{finding}]",
                    reason="CDK's deployment provider reads the staged asset, replaces the "
                    "console's files and invalidates the distribution's cache.",
                )
                for finding in (
                    *(
                        f"Action::s3:{action}*"
                        for action in ("Abort", "DeleteObject", "GetBucket", "GetObject", "List")
                    ),
                    "Resource::*",
                    f"Resource::<{Stack.of(self).get_logical_id(self.bucket.node.default_child)}.Arn>/*",  # type: ignore[arg-type]
                    f"Resource::arn:aws:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-{Stack.of(self).region}/*",
                )
            ),
        )
        if role.node.scope is not None:
            Validations.of(role.node.scope).acknowledge(
                Acknowledgment(
                    id="AwsSolutions::AwsSolutions-L1",
                    reason="The runtime of CDK's deployment provider is CDK's choice.",
                )
            )
