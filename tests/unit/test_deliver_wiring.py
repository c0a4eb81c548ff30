"""Deliver's MX look-ups honour the DNS settings the README documents for it."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import pytest

from functions.deliver import wiring
from functions.deliver.tls_policy import OPPORTUNISTIC
from mailgate import resources


@pytest.fixture
def deliver_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for resource in (
        resources.TRACKING,
        resources.TENANTS,
        resources.MAIL,
        resources.DELIVER_QUEUE,
    ):
        monkeypatch.setenv(resource.env_var, f"test-{resource.id}")
    cached = (wiring.settings, wiring.tracking, wiring.queue, wiring.stage)
    for function in cached:  # read again from this environment
        function.cache_clear()
    yield
    for function in cached:
        function.cache_clear()


def test_mx_lookups_use_the_configured_resolvers_and_timeout(
    deliver_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILGATE_DNS_SERVERS", "127.0.0.53:5353")
    monkeypatch.setenv("MAILGATE_DNS_TIMEOUT_S", "1.5")

    lookup_mx = wiring.stage()._lookup_mx

    assert isinstance(lookup_mx, partial)
    resolver = lookup_mx.keywords["res"]
    assert (resolver.nameservers, resolver.port, resolver.lifetime) == (["127.0.0.53"], 5353, 1.5)


def test_the_stage_sends_through_the_smtp_client_with_the_tls_policy(deliver_env: None) -> None:
    send = wiring.stage()._send

    attempt = send([], "a@sender.example", ["b@example.com"], b"raw", OPPORTUNISTIC)

    assert str(attempt.replies["b@example.com"]) == "could not connect: no server to deliver to"
