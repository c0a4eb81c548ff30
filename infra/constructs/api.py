"""The tenant REST API: routes to the query and export functions behind the key authorizer."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.constructs.source import pascal
from mailgate.api.errors import (
    GATEWAY_ERROR_MESSAGE,
    SUSPENDED_MESSAGE,
    TOO_LARGE_MESSAGE,
    UNAUTHORIZED_MESSAGE,
)
from mailgate.resources import API_ROUTES

AUTHORIZER_FUNCTION = "authorizer"
STAGE_NAME = "prod"
THROTTLE_RATE_PER_S = 100
THROTTLE_BURST = 200


@dataclass(frozen=True)
class ErrorResponse:
    type: apigateway.ResponseType
    status: int | None  # None: the status API Gateway chose (5xx answers differ)
    code: str
    message: str


# Errors API Gateway answers itself, in the project's error shape (spec/api.md).
ERROR_RESPONSES = (
    ErrorResponse(
        apigateway.ResponseType.UNAUTHORIZED,
        401,
        "unauthorized",
        UNAUTHORIZED_MESSAGE,
    ),
    # The authorizer denies only a suspended tenant's keys (scopes are the handlers' 403).
    ErrorResponse(
        apigateway.ResponseType.ACCESS_DENIED,
        403,
        "tenant_suspended",
        SUSPENDED_MESSAGE,
    ),
    ErrorResponse(
        apigateway.ResponseType.REQUEST_TOO_LARGE,
        413,
        "too_large",
        TOO_LARGE_MESSAGE,
    ),
    ErrorResponse(
        apigateway.ResponseType.DEFAULT_5_XX,
        None,
        "gateway_error",
        GATEWAY_ERROR_MESSAGE,
    ),
)

# One JSON line per request; the principal is what the authorizer resolved the key to.
_ACCESS_LOG = {
    "request_id": apigateway.AccessLogField.context_request_id(),
    "time": apigateway.AccessLogField.context_request_time(),
    "ip": apigateway.AccessLogField.context_identity_source_ip(),
    "principal": apigateway.AccessLogField.context_authorizer_principal_id(),
    "method": apigateway.AccessLogField.context_http_method(),
    "resource": apigateway.AccessLogField.context_resource_path(),
    "status": apigateway.AccessLogField.context_status(),
    "latency_ms": apigateway.AccessLogField.context_response_latency(),
    "bytes": apigateway.AccessLogField.context_response_length(),
    "error": apigateway.AccessLogField.context_error_response_type(),
}


class Api(Construct):
    """A regional ``RestApi`` with a Lambda REQUEST authorizer on the ``Authorization`` header.

    The authorizer resolves the API key to a tenant and returns it in its context, which the
    proxy integrations hand to the functions; nothing else tells a handler who the tenant is.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, functions: Mapping[str, lambda_.IFunction]
    ) -> None:
        super().__init__(scope, construct_id)
        self.rest_api = self._build_rest_api()
        self._authorizer = self._build_authorizer(functions[AUTHORIZER_FUNCTION])
        self._build_routes(functions)
        self._build_error_responses()

    def _build_rest_api(self) -> apigateway.RestApi:
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=RemovalPolicy.DESTROY,
        )
        rest_api = apigateway.RestApi(
            self,
            "RestApi",
            description="mailgate tenant API",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            cloud_watch_role=True,
            deploy_options=apigateway.StageOptions(
                stage_name=STAGE_NAME,
                access_log_destination=apigateway.LogGroupLogDestination(access_logs),
                access_log_format=apigateway.AccessLogFormat.custom(json.dumps(_ACCESS_LOG)),
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
                tracing_enabled=True,
                throttling_rate_limit=THROTTLE_RATE_PER_S,
                throttling_burst_limit=THROTTLE_BURST,
            ),
        )
        # The stack has its own ApiUrl output; drop the one RestApi adds.
        rest_api.node.try_remove_child("Endpoint")
        Validations.of(rest_api).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-APIG2",
                reason="Requests are validated by the handlers' pydantic models, which "
                "answer 400 in the project's error shape; a gateway validator would answer "
                "in another shape.",
            ),
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-APIG3",
                reason="Every route but the public OpenAPI document needs a tenant API "
                "key and the stage is throttled; a WAF web ACL is left to each deployment.",
            ),
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM4"
                "[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
                reason="The account-level API Gateway role only pushes execution logs "
                "to CloudWatch, with the AWS-managed policy made for that.",
            ),
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-COG4",
                reason="Tenants authenticate with API keys (spec/api.md), checked by the "
                "Lambda REQUEST authorizer against the tenants table, not Cognito users.",
            ),
        )
        return rest_api

    def _build_authorizer(self, function: lambda_.IFunction) -> apigateway.RequestAuthorizer:
        return apigateway.RequestAuthorizer(
            self,
            "ApiKeyAuthorizer",
            handler=function,
            identity_sources=[apigateway.IdentitySource.header("Authorization")],
            results_cache_ttl=Duration.seconds(60),
        )

    def _build_routes(self, functions: Mapping[str, lambda_.IFunction]) -> None:
        integrations = {
            function_id: apigateway.LambdaIntegration(functions[function_id])
            for function_id in {route.function for route in API_ROUTES}
        }
        for route in API_ROUTES:
            resource = self.rest_api.root.resource_for_path(route.path)
            if route.public:
                method = resource.add_method(
                    route.method,
                    integrations[route.function],
                    authorization_type=apigateway.AuthorizationType.NONE,
                )
                Validations.of(method).acknowledge(
                    Acknowledgment(
                        id="AwsSolutions::AwsSolutions-APIG4",
                        reason=f"{route.method} {route.path} is public by design: the "
                        "OpenAPI document describes the API to clients before they have "
                        "a key (spec/api.md).",
                    )
                )
            else:
                resource.add_method(
                    route.method, integrations[route.function], authorizer=self._authorizer
                )

    def _build_error_responses(self) -> None:
        for response in ERROR_RESPONSES:
            body = {"error": {"code": response.code, "message": response.message}}
            self.rest_api.add_gateway_response(
                f"{pascal(response.code)}Response",
                type=response.type,
                status_code=None if response.status is None else str(response.status),
                templates={"application/json": json.dumps(body)},
            )
