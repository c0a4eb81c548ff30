"""The notice of a finished export: the console link, in the task's language, and only to a
plain address (no header can be smuggled in through it)."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, date, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from pydantic import ValidationError

from mailgate.api.models import ExportRequest
from mailgate.catalog import ExportStatus
from mailgate.export.notice import build
from mailgate.records import ExportTaskRecord

CONSOLE = "https://console.example/"


def _task(**fields: Any) -> ExportTaskRecord:
    values: dict[str, Any] = {
        "tenant_id": "t",
        "task_id": "9f1c7a62-0d5e-4c1b-8f57-3c2b1a0e9d8c",
        "created_at": datetime(2026, 3, 1, 9, tzinfo=UTC),
        "status": ExportStatus.COMPLETE,
        "format": "csv",
        "file_name": "78e3f115-dc78-43d3-80b5-a4632f8c1ad2.csv.zip",
        "object_key": "t/exports/x",
        "quota_day": date(2026, 3, 1),
        "expires_at": datetime(2026, 3, 8, 9, tzinfo=UTC),
        "rows": 1234,
        "notify": "admin@example.com",
    }
    return ExportTaskRecord(**(values | fields))


def _read(raw: bytes) -> tuple[EmailMessage, str]:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body()
    assert body is not None
    return message, body.get_content()


def test_a_complete_task_is_told_with_its_console_link_rows_and_expiry() -> None:
    message, body = _read(build(_task(), CONSOLE))

    assert message["To"] == "admin@example.com"
    assert message["From"] == "Mail gateway <postmaster@example.com>"
    assert message["Subject"] == "Your export is ready"
    assert "https://console.example/#/exports/9f1c7a62-0d5e-4c1b-8f57-3c2b1a0e9d8c" in body
    assert "1234 rows" in body and "2026-03-08 09:00 UTC" in body
    assert message["Date"] and message["Message-ID"]


def test_a_failed_task_is_told_its_reason_in_japanese() -> None:
    task = _task(status=ExportStatus.FAILED, rows=None, reason="did not finish", locale="ja")

    message, body = _read(build(task, CONSOLE))

    assert message["Subject"] == "エクスポートに失敗しました"
    assert "did not finish" in body and "/exports/" in body


def test_a_task_without_notify_or_still_processing_has_no_notice() -> None:
    with pytest.raises(ValueError, match="notice"):
        build(_task(notify=None), CONSOLE)
    with pytest.raises(ValueError, match="notice"):
        build(_task(status=ExportStatus.PROCESSING), CONSOLE)


@pytest.mark.parametrize(
    "address",
    [
        "admin@example.com\r\nBcc: victim@evil.test",
        "admin@example.com\nX: y",
        '"quoted"@example.com',
        "a b@example.com",
        "admin@",
        "@example.com",
        "admin@example..com",
        "x" * 65 + "@example.com",
    ],
)
def test_notify_must_be_a_plain_address(address: str) -> None:
    with pytest.raises(ValidationError, match="notify"):
        ExportRequest.model_validate({"notify": address})


def test_notify_is_for_tasks_and_its_domain_is_lowercased() -> None:
    assert ExportRequest.model_validate({"notify": "Admin@Example.COM"}).notify == (
        "Admin@example.com"
    )
    with pytest.raises(ValidationError, match="select null"):
        ExportRequest.model_validate(
            {"notify": "a@example.com", "select": [{"message_uuid": "m", "recipient": "r@x.test"}]}
        )
