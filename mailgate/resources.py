"""The single declaration of the gateway's stateful resources and functions.

Both the CDK app (``infra/``) and the local bootstrap (``local.bootstrap``) build
from this module, so the tables, bucket and queues that run locally are the ones deployed.
Each resource names the environment variable through which functions learn its physical
name (CloudFormation picks the names in AWS; the local runtime uses ``local_name``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RETENTION_DAYS = 90


@dataclass(frozen=True)
class Key:
    name: str
    type: Literal["S", "N"] = "S"


@dataclass(frozen=True)
class Index:
    name: str
    partition: Key
    sort: Key | None = None


@dataclass(frozen=True)
class Table:
    id: str
    env_var: str
    partition: Key
    sort: Key | None = None
    ttl_attribute: str | None = None
    indexes: tuple[Index, ...] = ()

    @property
    def local_name(self) -> str:
        return f"mailgate-{self.id}"


@dataclass(frozen=True)
class Queue:
    id: str
    env_var: str
    visibility_timeout_s: int
    max_receive_count: int
    retention_s: int = 4 * 24 * 3600
    dlq_retention_s: int = 14 * 24 * 3600

    @property
    def local_name(self) -> str:
        return f"mailgate-{self.id}"

    @property
    def local_dlq_name(self) -> str:
        return f"mailgate-{self.id}-dlq"


@dataclass(frozen=True)
class ExpiryRule:
    """Objects expire after ``days``; ``tag`` limits the rule to objects carrying that tag."""

    id: str
    days: int
    tag: tuple[str, str] | None = None


@dataclass(frozen=True)
class Bucket:
    id: str
    env_var: str
    expiry_rules: tuple[ExpiryRule, ...]

    @property
    def local_name(self) -> str:
        return f"mailgate-{self.id}"


@dataclass(frozen=True)
class Secret:
    id: str
    env_var: str
    description: str

    @property
    def local_name(self) -> str:
        return f"mailgate/{self.id}"


@dataclass(frozen=True)
class Function:
    """A Lambda function: its handler and the resources it may touch."""

    id: str
    handler: str
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    consumes: str | None = None
    batch_size: int = 10  # records per invocation, for a queue consumer
    api: bool = False
    timeout_s: int = 30
    memory_mb: int = 512

    @property
    def handler_module(self) -> str:
        return self.handler.rpartition(".")[0]


EXPIRES_AT = "expires_at"

# Tracking rows (one per message and recipient, accepted or blocked) and their timeline
# events. Partition key: "<tenant>#M#<message uuid>"; sort key "R#<recipient>" for a row,
# "E#<event id>" for a timeline event. The by_time index lists rows per tenant,
# direction, type and UTC day, sorted by time (see mailgate.storage.tracking). The by_write
# index lists blocked rows per tenant in the order they were written (mailgate.storage.feed).
FEED_INDEX = Index("by_write", Key("feedpk"), Key("feedsk"))
TRACKING = Table(
    id="tracking",
    env_var="MAILGATE_TRACKING_TABLE",
    partition=Key("pk"),
    sort=Key("sk"),
    ttl_attribute=EXPIRES_AT,
    indexes=(Index("by_time", Key("gsi1pk"), Key("gsi1sk")), FEED_INDEX),
)
# Tenants, their managed domains and their API keys (hashed).
TENANTS = Table(
    id="tenants",
    env_var="MAILGATE_TENANTS_TABLE",
    partition=Key("pk"),
    sort=Key("sk"),
)
# Export tasks and the daily export quota.
EXPORTS = Table(
    id="exports",
    env_var="MAILGATE_EXPORTS_TABLE",
    partition=Key("pk"),
    sort=Key("sk"),
    ttl_attribute=EXPIRES_AT,
)
# Stage-1 rate-limit counters: one item per tenant, direction, limit, subject and time window,
# updated atomically so several front containers share them.
COUNTERS = Table(
    id="counters",
    env_var="MAILGATE_COUNTERS_TABLE",
    partition=Key("pk"),
    ttl_attribute=EXPIRES_AT,
)
# Stage 2's records: policy events (partition key "<tenant>#E#<event id>") and the quarantine
# index ("<tenant>#Q#<message uuid>"). The by_time index lists each kind per tenant, direction
# and UTC day, sorted by time (see mailgate.storage.policy_events and .quarantine); by_write
# lists policy events per tenant in the order they were written (mailgate.storage.feed).
POLICY = Table(
    id="policy",
    env_var="MAILGATE_POLICY_TABLE",
    partition=Key("pk"),
    ttl_attribute=EXPIRES_AT,
    indexes=(Index("by_time", Key("gsi1pk"), Key("gsi1sk")), FEED_INDEX),
)
# The audit trail: who changed or searched a tenant's data (see mailgate.storage.audit); a
# year's TTL, and re-delivery runs' progress ("REDELIVERY#<run>" partitions).
AUDIT = Table(
    id="audit",
    env_var="MAILGATE_AUDIT_TABLE",
    partition=Key("pk"),
    sort=Key("sk"),
    ttl_attribute=EXPIRES_AT,
)
# Each tenant's saved tracking searches and its last searches (one partition per tenant, see
# mailgate.storage.saved_queries); kept until deleted, a few hundred items per tenant at most.
QUERIES = Table(
    id="queries",
    env_var="MAILGATE_QUERIES_TABLE",
    partition=Key("pk"),
    sort=Key("sk"),
)
TABLES = (TRACKING, TENANTS, EXPORTS, COUNTERS, POLICY, AUDIT, QUERIES)

# Objects carrying this tag are export files, deleted a week after they are written.
EXPORT_TAG = ("mailgate-kind", "export")
MAIL = Bucket(
    id="mail",
    env_var="MAILGATE_MAIL_BUCKET",
    expiry_rules=(
        ExpiryRule("retention", RETENTION_DAYS),
        ExpiryRule("exports", 7, tag=EXPORT_TAG),
    ),
)

# Visibility timeouts are 6x the consuming function's timeout, as AWS advises for Lambda
# event sources (a batch may wait while the function is throttled or retried).
SCAN_QUEUE = Queue(
    id="scan", env_var="MAILGATE_SCAN_QUEUE_URL", visibility_timeout_s=720, max_receive_count=5
)
DELIVER_QUEUE = Queue(
    id="deliver",
    env_var="MAILGATE_DELIVER_QUEUE_URL",
    visibility_timeout_s=720,
    max_receive_count=5,
)
# Export-all tasks: one record per task, each a run of up to EXPORT_WORKER_TIMEOUT_S.
EXPORT_WORKER_TIMEOUT_S = 300
EXPORT_QUEUE = Queue(
    id="export",
    env_var="MAILGATE_EXPORT_QUEUE_URL",
    visibility_timeout_s=6 * EXPORT_WORKER_TIMEOUT_S,
    max_receive_count=3,
)
# An operator's re-delivery: one record per job of up to 50 releases of one tenant, throttled
# per tenant (mailgate.redelivery).
REDELIVER_WORKER_TIMEOUT_S = 300
REDELIVER_QUEUE = Queue(
    id="redeliver",
    env_var="MAILGATE_REDELIVER_QUEUE_URL",
    visibility_timeout_s=6 * REDELIVER_WORKER_TIMEOUT_S,
    max_receive_count=5,
)
QUEUES = (SCAN_QUEUE, DELIVER_QUEUE, EXPORT_QUEUE, REDELIVER_QUEUE)

CURSOR_SECRET = Secret(
    id="cursor-key",
    env_var="MAILGATE_CURSOR_SECRET_ID",
    description="HMAC key that signs search cursors",
)
SECRETS = (CURSOR_SECRET,)

# The receive front is a container service, not a function; it writes rows, raw mail and
# scan jobs, and reads tenants.
RECEIVE_READS = ("tenants",)
RECEIVE_WRITES = ("tracking", "mail", "scan", "counters")
# Queues whose backlog the front reads for its flow control (their message counts only).
RECEIVE_WATCHES = ("deliver",)

FUNCTIONS = (
    Function(
        id="scan",
        handler="functions.scan.handler.handler",
        reads=("tenants",),
        writes=("tracking", "deliver", "policy", "mail"),
        consumes="scan",
        timeout_s=120,
    ),
    Function(
        id="deliver",
        handler="functions.deliver.handler.handler",
        reads=("tenants", "mail"),
        writes=("tracking", "deliver"),
        consumes="deliver",
        timeout_s=120,
    ),
    Function(
        id="query",
        handler="functions.query.handler.handler",
        reads=("tracking", "tenants", "cursor-key", "policy"),
        # The configuration API; a quarantine release or delete changes the entry and the
        # tracking rows, deletes the raw message or queues the release's scan job; a search
        # is kept among the tenant's recent ones.
        writes=("tenants", "policy", "tracking", "mail", "scan", "audit", "queries"),
        api=True,
    ),
    Function(
        id="export",
        handler="functions.export.handler.handler",
        reads=("tracking", "policy", "mail", "tenants"),  # "mail": it signs download links
        # The notice of a task it finds abandoned is a message of the tenant, tracked and queued.
        writes=("exports", "export", "mail", "tracking", "deliver", "audit"),
        api=True,
    ),
    Function(
        id="export-worker",
        handler="functions.export.worker.handler",
        reads=("tracking", "policy", "tenants"),
        writes=("exports", "mail", "tracking", "deliver"),  # and the task's notice
        consumes="export",
        batch_size=1,
        timeout_s=EXPORT_WORKER_TIMEOUT_S,
    ),
    Function(
        id="redeliver",
        handler="functions.redeliver.handler.handler",
        reads=("policy",),
        # Releases: the quarantine entry, the scan job resuming stage 2, the run's progress (in
        # the audit table) and the per-tenant throttle's counters.
        writes=("policy", "scan", "audit", "counters"),
        consumes="redeliver",
        batch_size=1,
        timeout_s=REDELIVER_WORKER_TIMEOUT_S,
    ),
    Function(
        id="authorizer",
        handler="functions.query.authorizer.handler",
        reads=("tenants",),
        timeout_s=10,
        memory_mb=256,
    ),
)


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str  # API Gateway template: "{name}" is one path segment
    function: str
    public: bool = False  # served without the API key authorizer


# The tenant API (spec/api.md); API Gateway in AWS and the local server both route from this.
API_ROUTES = (
    ApiRoute("POST", "/v1/tracking/search", "query"),
    ApiRoute("POST", "/v1/tracking/reconcile", "query"),
    # Before "/v1/tracking/{message_uuid}": a literal path wins over a template.
    ApiRoute("GET", "/v1/tracking/queries", "query"),
    ApiRoute("POST", "/v1/tracking/queries", "query"),
    ApiRoute("DELETE", "/v1/tracking/queries", "query"),
    ApiRoute("GET", "/v1/tracking/{message_uuid}", "query"),
    ApiRoute("GET", "/v1/tracking/{message_uuid}/related", "query"),
    ApiRoute("POST", "/v1/events/search", "query"),
    ApiRoute("GET", "/v1/events/feed", "query"),  # before {event_id}: the local server's order
    ApiRoute("GET", "/v1/events/{event_id}", "query"),
    ApiRoute("POST", "/v1/quarantine/search", "query"),
    ApiRoute("POST", "/v1/quarantine/release", "query"),
    ApiRoute("POST", "/v1/quarantine/delete", "query"),
    ApiRoute("GET", "/v1/quarantine/{message_uuid}", "query"),
    ApiRoute("GET", "/v1/openapi.json", "query", public=True),
    ApiRoute("GET", "/v1/health", "query", public=True),
    ApiRoute("GET", "/v1/config", "query"),
    ApiRoute("PUT", "/v1/config", "query"),
    ApiRoute("PUT", "/v1/config/domains", "query"),
    ApiRoute("PUT", "/v1/config/sender_filter", "query"),
    ApiRoute("PUT", "/v1/config/ip_reputation", "query"),
    ApiRoute("PUT", "/v1/config/tls_peers", "query"),
    ApiRoute("PUT", "/v1/config/outbound_tls_peers", "query"),
    ApiRoute("PUT", "/v1/config/reverse_dns", "query"),
    ApiRoute("PUT", "/v1/config/limits", "query"),
    ApiRoute("PUT", "/v1/config/policies", "query"),
    ApiRoute("PUT", "/v1/config/threat_protection", "query"),
    ApiRoute("PUT", "/v1/config/domain_auth", "query"),
    ApiRoute("GET", "/v1/policies/{direction}", "query"),
    ApiRoute("POST", "/v1/policies/{direction}/rules", "query"),
    ApiRoute("PUT", "/v1/policies/{direction}/rules/{rule_id}", "query"),
    ApiRoute("DELETE", "/v1/policies/{direction}/rules/{rule_id}", "query"),
    ApiRoute("PUT", "/v1/policies/{direction}/order", "query"),
    ApiRoute("GET", "/v1/audit", "query"),
    ApiRoute("GET", "/v1/exports", "export"),
    ApiRoute("POST", "/v1/exports", "export"),
    ApiRoute("GET", "/v1/exports/{task_id}", "export"),
)


def by_id(resource_id: str) -> Table | Queue | Bucket | Secret:
    for resource in (*TABLES, *QUEUES, MAIL, *SECRETS):
        if resource.id == resource_id:
            return resource
    raise KeyError(resource_id)


def output_key(env_var: str) -> str:
    """The stack output naming a resource for the operator tool: ``MAILGATE_SCAN_QUEUE_URL``
    is output ``MailgateScanQueueUrl``."""
    return "".join(part.title() for part in env_var.split("_"))
