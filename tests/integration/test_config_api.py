"""The configuration API through real HTTP on the local gateway, and its effect on mail."""

from __future__ import annotations

import smtplib
import uuid
from email.utils import formatdate, make_msgid
from typing import Any

import pytest

from local.bootstrap import DEMO_DOMAIN
from mailgate import resources
from mailgate.storage.tenants import TenantConfigStore
from tests.integration.conftest import Gateway
from tests.support.api_client import ApiClient, wait_for
from tests.support.smtp_peer import ScriptedServer

pytestmark = pytest.mark.integration


def tenant(gateway: Gateway, peer: ScriptedServer, scopes: list[str] | None = None) -> Tenant:
    tag = uuid.uuid4().hex[:10]
    tenant_id, domain = f"cfg-{tag}", f"cfg-{tag}.test"
    return Tenant(tenant_id, domain, gateway.add_tenant(tenant_id, domain, peer, scopes=scopes))


class Tenant:
    def __init__(self, tenant_id: str, domain: str, api: ApiClient) -> None:
        self.id = tenant_id
        self.domain = domain
        self.api = api

    def document(self) -> dict[str, Any]:
        status, body = self.api.request("GET", "/v1/config")
        assert status == 200, body
        document: dict[str, Any] = body
        return document

    def put(self, section: str, value: Any) -> tuple[int, Any]:
        return self.api.request("PUT", f"/v1/config/{section}", value)


def server(port: int) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": port}


def error_of(response: tuple[int, Any]) -> tuple[int, str, str]:
    status, body = response
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert body["error"]["message"].endswith("."), body
    return status, body["error"]["code"], body["error"]["message"]


def test_get_returns_the_tenants_config_and_version(gateway: Gateway, peer: ScriptedServer) -> None:
    # Given a tenant created with one domain (one write)
    acme = tenant(gateway, peer)

    # When it reads its configuration
    document = acme.document()

    # Then it sees that domain, the defaults of the other sections and version 1
    assert document["version"] == 1
    (domain,) = document["config"]["domains"]
    assert domain["name"] == acme.domain
    assert domain["inbound_servers"] == [server(peer.port)]
    assert set(document["config"]) == {
        "domains",
        "sender_filter",
        "ip_reputation",
        "tls_peers",
        "outbound_tls_peers",
        "reverse_dns",
        "limits",
        "policies",
        "threat_protection",
        "domain_auth",
    }
    assert {rule["enabled"] for rule in document["config"]["domain_auth"].values()} == {False}
    assert document["config"]["reverse_dns"] == {"enabled": False, "forward_confirmed": False}


def test_added_domain_receives_mail_at_its_inbound_server(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    # Given a tenant with one domain and its reverse DNS check configured, which has already
    # received mail (so the SMTP front holds its configuration in cache)
    acme = tenant(gateway, peer)
    assert acme.put("reverse_dns", {"enabled": False, "forward_confirmed": True})[0] == 200
    added = f"new-{acme.domain}"
    with smtplib.SMTP(*gateway.smtp, timeout=30) as smtp:
        smtp.ehlo("sender.test")
        first = f"first@{acme.domain}"
        assert smtp.sendmail("config-test@sender.test", [first], complete(first, "first")) == {}

    # When it adds a second domain, served by the same inbound server
    status, document = acme.put(
        "domains",
        [
            {"name": acme.domain, "inbound_servers": [server(peer.port)]},
            {"name": added.upper(), "inbound_servers": [server(peer.port)]},
        ],
    )

    # Then the change is stored (normalized), the other sections are kept and the version moves
    assert status == 200, document
    assert document["version"] == 3
    assert [d["name"] for d in document["config"]["domains"]] == [acme.domain, added]
    assert document["config"]["reverse_dns"]["forward_confirmed"] is True
    assert acme.document() == document

    # And mail for the new domain is accepted at once (not after the cache expires) and
    # delivered to its server
    recipient = f"someone@{added}"
    with smtplib.SMTP(*gateway.smtp, timeout=30) as smtp:
        smtp.ehlo("sender.test")
        refused = smtp.sendmail(
            "config-test@sender.test", [recipient], complete(recipient, f"to {added}")
        )
    assert refused == {}
    delivered = wait_for(lambda: [m for m in peer.received if recipient in m.rcpt_tos])
    assert f"Subject: to {added}".encode() in delivered[0].data


def complete(recipient: str, subject: str) -> str:
    """A message with the headers every mailer writes (the spam engine scores their absence)."""
    return (
        f"From: Config Test <config-test@sender.test>\r\nTo: {recipient}\r\n"
        f"Subject: {subject}\r\nDate: {formatdate()}\r\nMessage-ID: {make_msgid()}\r\n"
        "\r\nhello\r\n"
    )


def _domains(peer: ScriptedServer, *names: str, **extra: Any) -> list[dict[str, Any]]:
    return [{"name": name, "inbound_servers": [server(peer.port)], **extra} for name in names]


INVALID = {
    "bad domain name": ("domains", lambda t, p: _domains(p, "not_a_domain"), "domain name"),
    "bad CIDR in sending_servers": (
        "domains",
        lambda t, p: _domains(
            p, t.domain, outbound={"enabled": True, "sending_servers": ["192.0.2.0/33"]}
        ),
        "sending_servers[0]",
    ),
    "bad country code": (
        "ip_reputation",
        lambda t, p: {"blocked_countries": ["JPN"]},
        "blocked_countries[0]",
    ),
    "unknown field": (
        "reverse_dns",
        lambda t, p: {"enabled": True, "fcrdns": True},
        "Unknown field 'fcrdns'",
    ),
    "duplicate domain": (
        "domains",
        lambda t, p: _domains(p, t.domain, t.domain.upper()),
        "domains: cfg-",
    ),
    "rate limit window of 10 s": (
        "limits",
        lambda t, p: {"inbound": {"count_ip": {"limit": 100, "window_s": 10}}},
        "inbound.count_ip.window_s",
    ),
    "max_message_bytes of 1": ("limits", lambda t, p: {"max_message_bytes": 1}, "max_message"),
    "outbound TLS peer with an unknown version": (
        "outbound_tls_peers",
        lambda t, p: [{"domain": "partner.example", "min_version": "SSLv3"}],
        "min_version",
    ),
    "object where a list is expected": (
        "tls_peers",
        lambda t, p: {"peer": "mx.example.net"},
        "JSON array",
    ),
}


@pytest.mark.parametrize(("section", "body", "named"), INVALID.values(), ids=INVALID.keys())
def test_invalid_section_is_400_and_changes_nothing(
    gateway: Gateway, peer: ScriptedServer, section: str, body: Any, named: str
) -> None:
    # Given a tenant's configuration
    acme = tenant(gateway, peer)
    before = acme.document()

    # When an invalid value is put into a section
    status, _code, message = error_of(acme.put(section, body(acme, peer)))

    # Then the answer is 400 with a sentence naming the field, and nothing changed
    assert status == 400
    assert named in message, message
    assert acme.document() == before


def test_invalid_whole_config_is_400_and_changes_nothing(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    acme = tenant(gateway, peer)
    before = acme.document()
    config = before["config"] | {"limits": {"max_message_bytes": 1}}

    status, _code, message = error_of(
        acme.api.request("PUT", "/v1/config", {"version": before["version"], "config": config})
    )

    assert status == 400
    assert "config.limits.max_message_bytes" in message
    assert acme.document() == before


def test_domain_of_another_tenant_is_409_and_changes_nothing(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    # Given a tenant, and the demo tenant that manages example.com
    acme = tenant(gateway, peer)
    before = acme.document()

    # When the tenant claims example.com too
    response = acme.put("domains", _domains(peer, acme.domain, DEMO_DOMAIN))

    # Then it is refused and neither tenant's configuration changed
    status, code, message = error_of(response)
    assert (status, code) == (409, "domain_taken")
    assert DEMO_DOMAIN in message
    assert acme.document() == before
    status, demo = gateway.api.request("GET", "/v1/config")
    assert status == 200
    assert DEMO_DOMAIN in [d["name"] for d in demo["config"]["domains"]]


def test_replace_needs_the_current_version(gateway: Gateway, peer: ScriptedServer) -> None:
    # Given a configuration read at some version, then changed by another write
    acme = tenant(gateway, peer)
    read = acme.document()
    assert acme.put("reverse_dns", {"enabled": True})[0] == 200

    # When the whole configuration is put back with the version that was read
    changed = read["config"] | {"tls_peers": [{"peer": "192.0.2.0/24", "min_version": "TLSv1.2"}]}
    stale = acme.api.request("PUT", "/v1/config", {"version": read["version"], "config": changed})

    # Then it is refused (409) and the other write is kept
    status, code, _message = error_of(stale)
    assert (status, code) == (409, "version_conflict")
    current = acme.document()
    assert current["version"] == read["version"] + 1
    assert current["config"]["reverse_dns"]["enabled"] is True
    assert current["config"]["tls_peers"] == []

    # And with the current version it is written
    status, document = acme.api.request(
        "PUT", "/v1/config", {"version": current["version"], "config": changed}
    )
    assert status == 200, document
    assert document["version"] == current["version"] + 1
    assert document["config"]["tls_peers"] == [{"peer": "192.0.2.0/24", "min_version": "TLSv1.2"}]
    assert document["config"]["reverse_dns"]["enabled"] is False  # as in the body
    assert acme.document() == document


def test_key_without_config_write_is_403(gateway: Gateway, peer: ScriptedServer) -> None:
    reader = tenant(gateway, peer, scopes=["logs:read", "logs:export"])

    assert error_of(reader.api.request("GET", "/v1/config"))[:2] == (403, "forbidden")
    assert error_of(reader.put("reverse_dns", {"enabled": True}))[:2] == (403, "forbidden")
    whole = reader.api.request("PUT", "/v1/config", {"version": 1, "config": {}})
    assert error_of(whole)[:2] == (403, "forbidden")
    assert TenantConfigStore(resources.TENANTS.local_name).get(reader.id)[1] == 1  # unchanged
    assert error_of(gateway.client(None).request("GET", "/v1/config"))[:2] == (
        401,
        "unauthorized",
    )


def test_each_tenant_sees_and_changes_only_its_own_config(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    # Given two tenants
    first, second = tenant(gateway, peer), tenant(gateway, peer)
    first_before = first.document()

    # When the second changes its configuration
    status, document = second.put("sender_filter", {"blocked_senders": ["*@spam.test"]})
    assert status == 200, document

    # Then each sees only its own domains, and the first tenant's configuration is unchanged
    assert [d["name"] for d in first.document()["config"]["domains"]] == [first.domain]
    assert [d["name"] for d in second.document()["config"]["domains"]] == [second.domain]
    assert first.document() == first_before
    assert second.document()["config"]["sender_filter"]["blocked_senders"] == ["*@spam.test"]


def test_openapi_document_describes_the_config_routes(gateway: Gateway) -> None:
    status, document = gateway.client(None).request("GET", "/v1/openapi.json")
    assert status == 200

    paths = document["paths"]

    def body_schema(section: str) -> dict[str, Any]:
        schema: dict[str, Any] = paths[f"/v1/config/{section}"]["put"]["requestBody"]["content"][
            "application/json"
        ]["schema"]
        return schema

    assert set(paths["/v1/config"]) == {"get", "put"}
    for section, model in (
        ("domains", "DomainConfig"),
        ("tls_peers", "TlsPeer"),
        ("outbound_tls_peers", "OutboundTlsPeer"),
    ):
        assert body_schema(section)["type"] == "array"
        assert body_schema(section)["items"]["$ref"].endswith(f"/{model}")
    for section in ("sender_filter", "ip_reputation", "reverse_dns", "limits"):
        assert "$ref" in body_schema(section)
    responses = paths["/v1/config/domains"]["put"]["responses"]
    for status, model in (("200", "ConfigDocument"), ("400", "ErrorBody"), ("409", "ErrorBody")):
        schema = responses[status]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith(f"/{model}"), status
