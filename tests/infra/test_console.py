"""The console's CloudFront distribution: files from a private bucket, the API on /v1/*."""

from __future__ import annotations

import pytest
from aws_cdk import assertions

from infra.app import build_app, stack_name
from mailgate.console_headers import CONTENT_SECURITY_POLICY


@pytest.fixture(scope="module")
def template() -> assertions.Template:
    app = build_app()
    return assertions.Template.from_stack(app.node.find_child(stack_name("jp")))  # type: ignore[arg-type]


def test_the_console_is_served_from_a_private_bucket_through_origin_access_control(
    template: assertions.Template,
) -> None:
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            }
        },
    )
    template.resource_count_is("AWS::CloudFront::OriginAccessControl", 1)
    template.has_resource_properties(
        "AWS::CloudFront::Distribution",
        {
            "DistributionConfig": assertions.Match.object_like(
                {
                    "DefaultRootObject": "index.html",
                    "DefaultCacheBehavior": assertions.Match.object_like(
                        {"ViewerProtocolPolicy": "redirect-to-https"}
                    ),
                }
            )
        },
    )
    template.resource_count_is("Custom::CDKBucketDeployment", 1)


def test_the_api_is_on_the_consoles_origin_uncached_with_every_method(
    template: assertions.Template,
) -> None:
    (distribution,) = template.find_resources("AWS::CloudFront::Distribution").values()
    (api,) = distribution["Properties"]["DistributionConfig"]["CacheBehaviors"]
    assert api["PathPattern"] == "/v1/*"
    assert api["ViewerProtocolPolicy"] == "https-only"
    assert set(api["AllowedMethods"]) == {
        "GET",
        "HEAD",
        "OPTIONS",
        "PUT",
        "PATCH",
        "POST",
        "DELETE",
    }
    # Managed policies: CachingDisabled, and AllViewerExceptHostHeader (Authorization passes).
    assert api["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
    assert api["OriginRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac"
    origins = distribution["Properties"]["DistributionConfig"]["Origins"]
    api_origin = next(o for o in origins if o["Id"] == api["TargetOriginId"])
    assert "CustomOriginConfig" in api_origin


def test_the_console_files_carry_the_same_security_policy_as_locally(
    template: assertions.Template,
) -> None:
    template.has_resource_properties(
        "AWS::CloudFront::ResponseHeadersPolicy",
        {
            "ResponseHeadersPolicyConfig": assertions.Match.object_like(
                {
                    "SecurityHeadersConfig": assertions.Match.object_like(
                        {
                            "ContentSecurityPolicy": {
                                "ContentSecurityPolicy": CONTENT_SECURITY_POLICY,
                                "Override": True,
                            }
                        }
                    )
                }
            )
        },
    )
