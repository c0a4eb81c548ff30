"""``mailgate export`` against the local API: it starts the task with the tenant's key, follows
it, and downloads the file; a refusal of the API is its error, and nothing is written."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from local.cli import main
from tests.integration.conftest import Gateway
from tests.integration.test_exports import _period, _rows, _store, _tenant
from tests.support.smtp_peer import ScriptedServer

pytestmark = pytest.mark.integration


def test_export_downloads_the_file_of_a_query_from_a_json_file_and_flags(
    gateway: Gateway, peer: ScriptedServer, tmp_path: Path
) -> None:
    # Given rows of a tenant, and a query file naming their period
    tenant_id, api = _tenant(gateway, peer)
    rows = _rows(tenant_id, 7, datetime.now(UTC) - timedelta(minutes=10))
    _store(rows)
    query = tmp_path / "query.json"
    query.write_text(json.dumps({"period": _period(rows), "type": "blocked"}))
    output = tmp_path / "rows.zip"

    # When the command exports them (the --type flag over the file's), key from the environment
    result = CliRunner().invoke(
        main,
        [
            "export",
            "tracking",
            "--query",
            str(query),
            "--type",
            "accepted",
            "-o",
            str(output),
            "--api-url",
            api.base_url,
            "--poll",
            "0.2",
            "--locale",
            "ja",
        ],
        env={"MAILGATE_API_KEY": api.api_key or ""},
    )

    # Then it says how many rows it wrote, and the file is the zipped CSV of those rows
    assert result.exit_code == 0, result.output
    assert f"7 rows written to {output}" in result.output
    with zipfile.ZipFile(output) as archive:
        (name,) = archive.namelist()
        lines = archive.read(name).decode("utf-8-sig").splitlines()
    assert lines[0].startswith("日時,") and len(lines) == 8


def test_export_as_parquet(gateway: Gateway, peer: ScriptedServer, tmp_path: Path) -> None:
    tenant_id, api = _tenant(gateway, peer)
    rows = _rows(tenant_id, 3, datetime.now(UTC) - timedelta(minutes=10))
    _store(rows)
    output = tmp_path / "rows.parquet"

    result = CliRunner().invoke(
        main,
        [
            "export",
            "tracking",
            "--period",
            "1h",
            "--format",
            "parquet",
            "-o",
            str(output),
            "--api-url",
            api.base_url,
            "--api-key",
            api.api_key or "",
            "--poll",
            "0.2",
        ],
    )

    assert result.exit_code == 0, result.output
    table = pq.read_table(io.BytesIO(output.read_bytes()))
    assert sorted(table.column("recipient").to_pylist()) == sorted(r.recipient for r in rows)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--api-key", "not-a-key"], "401"),
        (["--time-zone", "Mars/Olympus"], "IANA"),
        (["--api-url", "http://127.0.0.1:9"], "cannot reach"),
    ],
)
def test_a_refused_export_is_an_error_and_writes_nothing(
    gateway: Gateway, tmp_path: Path, args: list[str], says: str
) -> None:
    output = tmp_path / "never.zip"

    result = CliRunner().invoke(
        main,
        [
            "export",
            "events",
            "-o",
            str(output),
            "--api-url",
            gateway.api.base_url,
            "--api-key",
            gateway.api.api_key or "",
            *args,
        ],
    )

    assert result.exit_code != 0 and says in result.output, result.output
    assert not output.exists()
