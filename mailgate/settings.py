"""Settings models, one per runtime, validated once at start from environment variables.

Nothing below a handler or the SMTP front reads ``os.environ``: each takes its settings object.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from mailgate import resources
from mailgate.tenant_config import MAX_MESSAGE_BYTES


def _split_commas(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


# Lists are written in environment variables as "a,b,c".
CommaList = Annotated[list[str], NoDecode, BeforeValidator(_split_commas)]
CommaInts = Annotated[list[int], NoDecode, BeforeValidator(_split_commas)]


class _Settings(BaseSettings):
    model_config = SettingsConfigDict(populate_by_name=True, extra="ignore")


# One mixin per resource or shared setting; each runtime's model is composed of those it takes.


# Tenants whose writes would exceed one partition's rate, and how many shards their day
# buckets and index partitions are spread over, as JSON: {"tenant-id": 8}. Raise a count,
# never lower it: rows in a shard no longer read stay out of searches until they expire.
TrackingShards = dict[str, Annotated[int, Field(ge=1, le=64)]]
TRACKING_SHARDS_ENV = "MAILGATE_TRACKING_SHARDS"


class TrackingTable(_Settings):
    tracking_table: str = Field(alias=resources.TRACKING.env_var)
    tracking_shards: TrackingShards = Field(default={}, alias=TRACKING_SHARDS_ENV)


class TenantsTable(_Settings):
    tenants_table: str = Field(alias=resources.TENANTS.env_var)


class ExportsTable(_Settings):
    exports_table: str = Field(alias=resources.EXPORTS.env_var)


class CountersTable(_Settings):
    counters_table: str = Field(alias=resources.COUNTERS.env_var)


class PolicyTable(_Settings):
    policy_table: str = Field(alias=resources.POLICY.env_var)


class AuditTable(_Settings):
    audit_table: str = Field(alias=resources.AUDIT.env_var)


class QueriesTable(_Settings):
    queries_table: str = Field(alias=resources.QUERIES.env_var)


class MailBucket(_Settings):
    mail_bucket: str = Field(alias=resources.MAIL.env_var)


class ScanQueue(_Settings):
    scan_queue_url: str = Field(alias=resources.SCAN_QUEUE.env_var)


class DeliverQueue(_Settings):
    deliver_queue_url: str = Field(alias=resources.DELIVER_QUEUE.env_var)


class ExportQueue(_Settings):
    export_queue_url: str = Field(alias=resources.EXPORT_QUEUE.env_var)


class RedeliverQueue(_Settings):
    redeliver_queue_url: str = Field(alias=resources.REDELIVER_QUEUE.env_var)


class CursorSecret(_Settings):
    cursor_secret_id: str = Field(alias=resources.CURSOR_SECRET.env_var)


class ConsoleUrl(_Settings):
    """The admin console's base URL, for links in the messages the gateway sends tenants."""

    console_url: str = Field("http://127.0.0.1:8080", alias="MAILGATE_CONSOLE_URL")


class Hostname(_Settings):
    """The gateway's own name: SMTP greeting and EHLO."""

    hostname: str = Field("mailgate.localhost", alias="MAILGATE_HOSTNAME")


class DnsServers(_Settings):
    """Resolvers, "ip" or "ip:port"; the system's when empty."""

    dns_servers: CommaList = Field(default=[], alias="MAILGATE_DNS_SERVERS")
    dns_timeout_s: float = Field(5.0, alias="MAILGATE_DNS_TIMEOUT_S")


class Engines(_Settings):
    """Where the detection engines listen; an empty address: that engine is not configured."""

    rspamd_url: str = Field("", alias="MAILGATE_RSPAMD_URL")  # http://host:11333
    clamd_address: str = Field("", alias="MAILGATE_CLAMD_ADDRESS")  # host:3310
    engine_timeout_s: float = Field(15.0, alias="MAILGATE_ENGINE_TIMEOUT_S", gt=0)
    # The most bytes sent to clamd: a message over it gets no virus verdict.
    clamd_max_bytes: int = Field(MAX_MESSAGE_BYTES + 1024 * 1024, alias="MAILGATE_CLAMD_MAX_BYTES")
    # The second half of the spam version string ("rspamd-version;rules-version").
    rspamd_rules_version: str = Field("packaged", alias="MAILGATE_RSPAMD_RULES_VERSION")


class FailedJobs(_Settings):
    """A job whose run failed is received again after this many seconds, not the queue's
    visibility timeout (none: the visibility timeout), until its last receive sends it to the
    dead-letter queue."""

    failed_job_retry_s: int | None = Field(
        None, alias="MAILGATE_FAILED_JOB_RETRY_S", ge=0, le=43200
    )


class SmtpListeners(_Settings):
    """Where the SMTP front listens: inbound mail and the tenants' outbound relay."""

    bind: str = Field("127.0.0.1", alias="MAILGATE_BIND")
    smtp_port: int = Field(2525, alias="MAILGATE_SMTP_PORT")
    relay_port: int = Field(2587, alias="MAILGATE_RELAY_PORT")


class ReceiveSettings(
    TrackingTable,
    TenantsTable,
    CountersTable,
    MailBucket,
    ScanQueue,
    DeliverQueue,
    SmtpListeners,
    Hostname,
    DnsServers,
):
    """The SMTP front."""

    # RFC 5321 4.5.3.1.8: at least 100 recipients must be accepted per transaction.
    max_recipients: int = Field(100, alias="MAILGATE_MAX_RECIPIENTS")
    # The front's own ceiling (ESMTP SIZE): the largest limit a tenant may set, so every
    # tenant's limit is enforced by its check, which logs the refusal.
    max_message_bytes: int = Field(MAX_MESSAGE_BYTES, alias="MAILGATE_MAX_MESSAGE_BYTES")
    # Which DNS zone answers for which reputation list: "qil=zone,kssl=zone,dul=zone,etl=zone".
    ip_reputation_zones: CommaList = Field(default=[], alias="MAILGATE_IP_REPUTATION_ZONES")
    # System-wide internal block lists (refused for every tenant).
    blocked_ips: CommaList = Field(default=[], alias="MAILGATE_BLOCKED_IPS")
    blocked_recipients: CommaList = Field(default=[], alias="MAILGATE_BLOCKED_RECIPIENTS")
    # STARTTLS certificate; a self-signed one is made at start when none is given.
    tls_cert_file: str | None = Field(None, alias="MAILGATE_TLS_CERT_FILE")
    tls_key_file: str | None = Field(None, alias="MAILGATE_TLS_KEY_FILE")
    # A geoip2fast .dat file (e.g. built from MaxMind GeoLite2); the packaged data otherwise.
    geoip_data_file: str | None = Field(None, alias="MAILGATE_GEOIP_DATA_FILE")
    idle_timeout_s: float = Field(300.0, alias="MAILGATE_SMTP_IDLE_TIMEOUT_S")
    # Threads for the blocking work of the front (DNS, AWS calls); sessions wait on them.
    worker_threads: int = Field(64, alias="MAILGATE_FRONT_THREADS")
    # Flow control: above this many jobs waiting behind the front, MAIL FROM is answered up to
    # in_flow_delay_s later (the full delay at twice the backlog), and refused for now beyond;
    # 0 turns it off. The default suits one machine (about 12 messages a second through every
    # stage: twice 5 waiting is under a second); the AWS stack sets its own.
    in_flow_backlog: int = Field(5, alias="MAILGATE_IN_FLOW_BACKLOG", ge=0)
    in_flow_delay_s: float = Field(1.0, alias="MAILGATE_IN_FLOW_DELAY_S", ge=0, le=60)


class ScanSettings(
    TrackingTable,
    TenantsTable,
    PolicyTable,
    MailBucket,
    DeliverQueue,
    ScanQueue,
    Engines,
    Hostname,
    DnsServers,
):
    # URL/domain block lists in DNS and the threat a listing is: "phishing=zone,web_reputation=zone"
    # (a zone may be named more than once, e.g. two web reputation lists).
    url_reputation_zones: CommaList = Field(default=[], alias="MAILGATE_URL_REPUTATION_ZONES")
    # A job whose engines gave no verdict is received again this many times at most (the
    # queue's redrive limit caps it), engine_retry_s apart; the last run applies the
    # engine-failure rule of the catalog.
    engine_attempts: int = Field(3, alias="MAILGATE_ENGINE_ATTEMPTS", ge=1)
    engine_retry_s: int = Field(60, alias="MAILGATE_ENGINE_RETRY_S", ge=0, le=43200)


class DeliverSettings(
    TrackingTable, TenantsTable, MailBucket, DeliverQueue, Hostname, DnsServers, FailedJobs
):
    # Seconds to wait before each further delivery attempt; the last value repeats.
    retry_schedule_s: CommaInts = Field(
        default=[60, 300, 900, 1800, 3600], alias="MAILGATE_RETRY_SCHEDULE_S"
    )
    # How long a message may stay undeliverable before it expires.
    queue_lifetime_s: int = Field(5 * 24 * 3600, alias="MAILGATE_QUEUE_LIFETIME_S")
    # A recipient still deferred this long after the message was received gets its sender one
    # delay warning (a DSN with Action: delayed); none: no warnings.
    delay_warning_s: int | None = Field(None, alias="MAILGATE_DELAY_WARNING_S", ge=0)
    smtp_timeout_s: float = Field(30.0, alias="MAILGATE_SMTP_TIMEOUT_S")
    outbound_port: int = Field(25, alias="MAILGATE_OUTBOUND_PORT")
    # DNSSEC for DANE: the DS of the zone validation starts from (the root's KSK-2017).
    dnssec_trust_anchor: str = Field(
        ". 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D",
        alias="MAILGATE_DNSSEC_TRUST_ANCHOR",
    )
    # MTA-STS: the HTTPS port policies are fetched on, and how long a fetch may take; the CA
    # bundle (PEM) that policy hosts and MTA-STS mail servers are checked against ("": the
    # system's).
    mta_sts_port: int = Field(443, alias="MAILGATE_MTA_STS_PORT", ge=1, le=65535)
    mta_sts_timeout_s: float = Field(10.0, alias="MAILGATE_MTA_STS_TIMEOUT_S", gt=0, le=60)
    tls_ca_bundle: str = Field("", alias="MAILGATE_TLS_CA_BUNDLE")
    # How long a run holds the right to deliver a recipient: at least the longest a run can
    # last (the function's timeout), or a duplicate job could deliver while it still runs; a
    # claim left by a run that died holds its recipients back that long.
    delivery_claim_s: int = Field(
        next(f.timeout_s for f in resources.FUNCTIONS if f.id == "deliver"),
        alias="MAILGATE_DELIVERY_CLAIM_S",
        ge=1,
        le=900,
    )


class QuerySettings(
    TrackingTable,
    TenantsTable,
    PolicyTable,
    MailBucket,
    ScanQueue,
    CursorSecret,
    Engines,
    AuditTable,
    QueriesTable,
):
    pass


class ExportSettings(
    TrackingTable,
    PolicyTable,
    ExportsTable,
    MailBucket,
    ExportQueue,
    TenantsTable,
    DeliverQueue,
    ConsoleUrl,
    AuditTable,
):
    """The export API (it sends the notice of a task it finds abandoned)."""


class ExportWorkerSettings(
    TrackingTable, PolicyTable, ExportsTable, MailBucket, TenantsTable, DeliverQueue, ConsoleUrl
):
    """The export-all worker (it sends the notice of a task it finished)."""


class RedeliverSettings(PolicyTable, ScanQueue, AuditTable, CountersTable):
    """The re-delivery worker."""


class AuthorizerSettings(TenantsTable):
    pass
