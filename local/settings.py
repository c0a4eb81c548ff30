"""``mailgate up``'s settings: the ports of every local server, the state directory and how
the queue runners scale."""

from __future__ import annotations

from pydantic import Field

from local.console_files import CONSOLE_DIR
from local.sqs_runner import MAX_BATCH_SIZE, Scaling
from mailgate.settings import DnsServers, SmtpListeners


class LocalSettings(SmtpListeners, DnsServers):
    """``mailgate up``: the whole gateway on one machine (ports and state directory)."""

    api_port: int = Field(8080, alias="MAILGATE_API_PORT")
    # The admin console's files, served beside the API on its port; empty: no console.
    console_dir: str = Field(str(CONSOLE_DIR), alias="MAILGATE_CONSOLE_DIR")
    aws_port: int = Field(4566, alias="MAILGATE_AWS_PORT")
    sink_port: int = Field(2526, alias="MAILGATE_SINK_PORT")
    state_dir: str = Field(".mailgate", alias="MAILGATE_STATE_DIR")
    demo_api_key: str | None = Field(None, alias="MAILGATE_DEMO_API_KEY")
    region: str = Field("ap-northeast-1", alias="AWS_DEFAULT_REGION")
    snapshot_bytes: int = Field(8 * 1024 * 1024, alias="MAILGATE_SNAPSHOT_BYTES")
    local_dns_port: int = Field(2553, alias="MAILGATE_LOCAL_DNS_PORT")
    # The detection engines, started when installed (local/engines/install.sh installs them);
    # off: not started, their rules record no verdict.
    engines: bool = Field(True, alias="MAILGATE_LOCAL_ENGINES")
    rspamd_port: int = Field(11333, alias="MAILGATE_LOCAL_RSPAMD_PORT")
    clamd_port: int = Field(3310, alias="MAILGATE_LOCAL_CLAMD_PORT")
    # Scan is CPU work in the gateway's process: a few invocations keep it fed while others wait on
    # the emulator. Deliver mostly waits on remote servers: many invocations of one record
    # each, so a slow server holds only the message it is being given.
    scan_batch_size: int = Field(10, alias="MAILGATE_SCAN_BATCH_SIZE", ge=1, le=MAX_BATCH_SIZE)
    scan_concurrency: int = Field(4, alias="MAILGATE_SCAN_CONCURRENCY", ge=1)
    deliver_batch_size: int = Field(1, alias="MAILGATE_DELIVER_BATCH_SIZE", ge=1, le=MAX_BATCH_SIZE)
    deliver_concurrency: int = Field(20, alias="MAILGATE_DELIVER_CONCURRENCY", ge=1)
    # An export task is one record of up to a few minutes' work, as in AWS (batch size 1).
    export_concurrency: int = Field(2, alias="MAILGATE_EXPORT_CONCURRENCY", ge=1)
    # A re-delivery job is up to 50 releases of one tenant (batch size 1, as in AWS).
    redeliver_concurrency: int = Field(4, alias="MAILGATE_REDELIVER_CONCURRENCY", ge=1)

    @property
    def scan_scaling(self) -> Scaling:
        return Scaling(self.scan_batch_size, self.scan_concurrency)

    @property
    def deliver_scaling(self) -> Scaling:
        return Scaling(self.deliver_batch_size, self.deliver_concurrency)

    @property
    def export_scaling(self) -> Scaling:
        return Scaling(1, self.export_concurrency)

    @property
    def redeliver_scaling(self) -> Scaling:
        return Scaling(1, self.redeliver_concurrency)
