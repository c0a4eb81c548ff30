"""``mailgate up``'s settings: the ports of every local server and the state directory."""

from __future__ import annotations

from pydantic import Field

from mailgate.settings import DnsServers, SmtpListeners


class LocalSettings(SmtpListeners, DnsServers):
    """``mailgate up``: the whole gateway on one machine (ports and state directory)."""

    api_port: int = Field(8080, alias="MAILGATE_API_PORT")
    aws_port: int = Field(4566, alias="MAILGATE_AWS_PORT")
    sink_port: int = Field(2526, alias="MAILGATE_SINK_PORT")
    state_dir: str = Field(".mailgate", alias="MAILGATE_STATE_DIR")
    demo_api_key: str | None = Field(None, alias="MAILGATE_DEMO_API_KEY")
    region: str = Field("ap-northeast-1", alias="AWS_DEFAULT_REGION")
    snapshot_bytes: int = Field(8 * 1024 * 1024, alias="MAILGATE_SNAPSHOT_BYTES")
    local_dns_port: int = Field(2553, alias="MAILGATE_LOCAL_DNS_PORT")
