"""The shared boto3 configuration fits the processes that share its clients."""

from __future__ import annotations

from mailgate import aws
from mailgate.settings import ReceiveSettings


def test_the_connection_pool_serves_every_front_thread_at_once() -> None:
    front_threads = ReceiveSettings.model_fields["worker_threads"].default
    assert aws._CONFIG.max_pool_connections >= front_threads
