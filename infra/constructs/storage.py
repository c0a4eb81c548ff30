"""Stateful resources: the declared tables, the mail bucket, the queues and the secrets."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import assert_never, cast

from aws_cdk import Acknowledgment, CfnElement, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from pydantic import TypeAdapter

from infra.constructs.source import pascal
from mailgate import resources
from mailgate.settings import TRACKING_SHARDS_ENV, TrackingShards


class Storage(Construct):
    """Builds every table, queue, bucket and secret of ``mailgate.resources``.

    ``bind`` grants a role access to declared resources and returns the environment through
    which code finds them, so grants and environment always come from the same declaration.
    Whoever reads the tracking table is also told its hot tenants' shards (``tracking_shards``,
    ``{"tenant-id": N}``), since every reader and writer must spread rows the same way.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tracking_shards: Mapping[str, int] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # Refused at synth, as each function would refuse it at start.
        self.tracking_shards = TypeAdapter(TrackingShards).validate_python(
            dict(tracking_shards or {})
        )
        self.tables = {spec.id: self._build_table(spec) for spec in resources.TABLES}
        self.mail_bucket = self._build_bucket(resources.MAIL)
        self.dead_letter_queues = {
            spec.id: self._build_dead_letter_queue(spec) for spec in resources.QUEUES
        }
        self.queues = {spec.id: self._build_queue(spec) for spec in resources.QUEUES}
        self.secrets = {spec.id: self._build_secret(spec) for spec in resources.SECRETS}

    def bind(
        self,
        grantee: iam.IGrantable,
        *,
        reads: Iterable[str],
        writes: Iterable[str],
        watches: Iterable[str] = (),
    ) -> dict[str, str]:
        """Grant ``grantee`` read (or read/write) access and return ``{env_var: physical name}``.

        Reading a queue means consuming it; writing a queue means sending to it; watching a
        queue means reading its message counts only.
        """
        environment = dict(self._grant(grantee, resource_id, write=False) for resource_id in reads)
        environment.update(self._grant(grantee, resource_id, write=True) for resource_id in writes)
        for queue_id in watches:
            spec = resources.by_id(queue_id)
            assert isinstance(spec, resources.Queue), queue_id
            queue = self.queues[queue_id]
            queue.grant(grantee, "sqs:GetQueueAttributes")
            environment[spec.env_var] = queue.queue_url
        if resources.TRACKING.env_var in environment and self.tracking_shards:
            environment[TRACKING_SHARDS_ENV] = self.tracking_shards_json
        return environment

    @property
    def tracking_shards_json(self) -> str:
        """The shards as the settings read them (``{}``: no tenant is sharded)."""
        return json.dumps(self.tracking_shards, sort_keys=True)

    def _grant(self, grantee: iam.IGrantable, resource_id: str, *, write: bool) -> tuple[str, str]:
        spec = resources.by_id(resource_id)
        match spec:
            case resources.Table():
                table = self.tables[spec.id]
                if write:
                    table.grant_read_write_data(grantee)
                else:
                    table.grant_read_data(grantee)
                if spec.indexes:
                    _acknowledge_wildcards(
                        grantee,
                        [f"Resource::<{self._logical_id(table)}.Arn>/index/*"],
                        f"Queries on the indexes of the {spec.id} table (CDK table grant).",
                    )
                return spec.env_var, table.table_name
            case resources.Bucket():
                if write:
                    self.mail_bucket.grant_read_write(grantee)
                else:
                    self.mail_bucket.grant_read(grantee)
                actions = _BUCKET_WRITE_ACTIONS if write else _BUCKET_READ_ACTIONS
                _acknowledge_wildcards(
                    grantee,
                    [
                        *(f"Action::{action}" for action in actions),
                        f"Resource::<{self._logical_id(self.mail_bucket)}.Arn>/*",
                    ],
                    f"Objects of the {spec.id} bucket, whose keys start with a tenant known "
                    "only at run time (CDK bucket grant).",
                )
                return spec.env_var, self.mail_bucket.bucket_name
            case resources.Queue():
                queue = self.queues[spec.id]
                if write:
                    queue.grant_send_messages(grantee)
                else:
                    queue.grant_consume_messages(grantee)
                return spec.env_var, queue.queue_url
            case resources.Secret():
                secret = self.secrets[spec.id]
                secret.grant_read(grantee)
                if write:
                    secret.grant_write(grantee)
                return spec.env_var, secret.secret_arn
            case _:
                assert_never(spec)

    def _logical_id(self, construct: Construct) -> str:
        return Stack.of(self).get_logical_id(cast(CfnElement, construct.node.default_child))

    def _build_table(self, spec: resources.Table) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            f"{pascal(spec.id)}Table",
            partition_key=_attribute(spec.partition),
            sort_key=_attribute(spec.sort) if spec.sort else None,
            time_to_live_attribute=spec.ttl_attribute,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in spec.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=_attribute(index.partition),
                sort_key=_attribute(index.sort) if index.sort else None,
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return table

    def _build_bucket(self, spec: resources.Bucket) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            f"{pascal(spec.id)}Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                *(_expiry_rule(rule) for rule in spec.expiry_rules),
                s3.LifecycleRule(
                    id="abort-incomplete-uploads",
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        Validations.of(bucket).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-S1",
                reason="Only the gateway's own roles read or write this bucket; server "
                "access logs would need a second bucket per region for no tenant-facing "
                "audit need. Object access is auditable with CloudTrail S3 data events.",
            )
        )
        return bucket

    def _build_dead_letter_queue(self, spec: resources.Queue) -> sqs.Queue:
        return sqs.Queue(
            self,
            f"{pascal(spec.id)}DeadLetterQueue",
            retention_period=Duration.seconds(spec.dlq_retention_s),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )

    def _build_queue(self, spec: resources.Queue) -> sqs.Queue:
        return sqs.Queue(
            self,
            f"{pascal(spec.id)}Queue",
            visibility_timeout=Duration.seconds(spec.visibility_timeout_s),
            retention_period=Duration.seconds(spec.retention_s),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=spec.max_receive_count,
                queue=self.dead_letter_queues[spec.id],
            ),
        )

    def _build_secret(self, spec: resources.Secret) -> secretsmanager.Secret:
        secret = secretsmanager.Secret(
            self,
            f"{pascal(spec.id)}Secret",
            description=spec.description,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
        )
        Validations.of(secret).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-SMG4",
                reason=f"{spec.description}: rotating it invalidates every cursor that "
                "clients hold, so it is rotated by an operator, not on a schedule.",
            )
        )
        return secret


# The wildcard actions of CDK's bucket grants, as cdk-nag reports them.
_BUCKET_READ_ACTIONS = ("s3:GetBucket*", "s3:GetObject*", "s3:List*")
_BUCKET_WRITE_ACTIONS = (*_BUCKET_READ_ACTIONS, "s3:DeleteObject*", "s3:Abort*")

_ATTRIBUTE_TYPES = {"S": dynamodb.AttributeType.STRING, "N": dynamodb.AttributeType.NUMBER}


def _attribute(key: resources.Key) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=key.name, type=_ATTRIBUTE_TYPES[key.type])


def _expiry_rule(rule: resources.ExpiryRule) -> s3.LifecycleRule:
    return s3.LifecycleRule(
        id=rule.id,
        expiration=Duration.days(rule.days),
        tag_filters=dict([rule.tag]) if rule.tag else None,
    )


def _acknowledge_wildcards(grantee: iam.IGrantable, findings: Iterable[str], reason: str) -> None:
    """Acknowledge cdk-nag's AwsSolutions-IAM5 findings for wildcards a grant put in the
    grantee's policy; the finding is reported on the principal (a role and its policy)."""
    principal = grantee.grant_principal
    scope = principal if isinstance(principal, Construct) else grantee
    Validations.of(cast(Construct, scope)).acknowledge(
        *(
            Acknowledgment(id=f"AwsSolutions::AwsSolutions-IAM5[{finding}]", reason=reason)
            for finding in findings
        )
    )
