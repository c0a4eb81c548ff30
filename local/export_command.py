"""``mailgate export``: export all rows of a tracking or policy-event query through the tenant
API, show the task's progress, and download its file when it is complete."""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

DEFAULT_API_URL = "http://127.0.0.1:8080"  # ``mailgate up``'s tenant API
TIMEOUT_S = 30


class ApiError(click.ClickException):
    pass


class TenantApi:
    """The few calls of the export routes, with a tenant's API key."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self._base_url + path, data=data, method=method)  # noqa: S310 - the user's own API URL
        request.add_header("Authorization", f"Bearer {self._api_key}")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise ApiError(_message(error)) from None
        except urllib.error.URLError as error:
            raise ApiError(f"cannot reach {self._base_url}: {error.reason}") from None


def _message(error: urllib.error.HTTPError) -> str:
    try:
        found = json.loads(error.read())["error"]
        return f"{error.code} {found['code']}: {found['message']}"
    except (ValueError, KeyError, TypeError):
        return f"{error.code} {error.reason}"


def query_of(query_file: IO[str] | None, flags: dict[str, Any]) -> dict[str, Any]:
    """The search body: the JSON file's, then each flag given over it."""
    query: dict[str, Any] = {}
    if query_file is not None:
        try:
            query = json.load(query_file)
        except ValueError as error:
            raise click.BadParameter(f"not JSON: {error}", param_hint="--query") from None
        if not isinstance(query, dict):
            raise click.BadParameter("a JSON object, the body of the search", param_hint="--query")
    return query | {name: value for name, value in flags.items() if value not in (None, ())}


def download(url: str, output: Path) -> None:
    """The file at the presigned ``url`` into ``output`` (whole, or not at all)."""
    partial = output.with_name(output.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, partial.open("wb") as out:  # noqa: S310 - the API's own link
            shutil.copyfileobj(response, out)
    except urllib.error.URLError as error:
        partial.unlink(missing_ok=True)
        raise ApiError(f"download failed: {error}") from None
    partial.replace(output)


@click.command("export")
@click.argument("log", type=click.Choice(["tracking", "events"]))
@click.option("--query", "query_file", type=click.File("r"), help="JSON file: the search's body.")
@click.option("--period", help='A preset ("1h", "24h", "7d", "14d", "30d").')
@click.option("--direction", type=click.Choice(["inbound", "outbound"]))
@click.option("--type", "type_", type=click.Choice(["accepted", "blocked"]), help="tracking only")
@click.option("--sender", "senders", multiple=True, help="Repeat for several.")
@click.option("--recipient", "recipients", multiple=True, help="Repeat for several.")
@click.option("--subject")
@click.option("--format", "format_", type=click.Choice(["csv", "jsonl", "parquet"]), default="csv")
@click.option("--locale", type=click.Choice(["en", "ja"]), default="en")
@click.option("--time-zone", default="UTC", help="IANA name, e.g. Asia/Tokyo.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    help="Where the file goes (a zip for csv and jsonl, a Parquet file for parquet).",
)
@click.option("--api-url", envvar="MAILGATE_API_URL", default=DEFAULT_API_URL, show_default=True)
@click.option("--api-key", envvar="MAILGATE_API_KEY", required=True, help="Or MAILGATE_API_KEY.")
@click.option("--poll", type=click.FloatRange(0.1, 60), default=2.0, help="Seconds between looks.")
def export(
    log: str,
    query_file: IO[str] | None,
    period: str | None,
    direction: str | None,
    type_: str | None,
    senders: tuple[str, ...],
    recipients: tuple[str, ...],
    subject: str | None,
    format_: str,
    locale: str,
    time_zone: str,
    output: Path,
    api_url: str,
    api_key: str,
    poll: float,
) -> None:
    """Export all rows of a LOG query (tracking or events) to a file."""
    flags = {
        "period": period,
        "direction": direction,
        "type": type_,
        "senders": list(senders) or None,
        "recipients": list(recipients) or None,
        "subject": subject,
    }
    api = TenantApi(api_url, api_key)
    started = api.call(
        "POST",
        "/v1/exports",
        {
            "log": log,
            "query": query_of(query_file, flags),
            "format": format_,
            "locale": locale,
            "time_zone": time_zone,
        },
    )
    task_id = started["task_id"]
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn()) as progress:
        bar = progress.add_task(f"export {task_id[:8]}", total=None)
        while True:
            task = api.call("GET", f"/v1/exports/{task_id}")
            if task["status"] != "processing":
                break
            progress.update(bar, completed=task["rows_written"])
            time.sleep(poll)
        progress.update(bar, total=task["rows_written"], completed=task["rows_written"])
    if task["status"] != "complete":
        raise click.ClickException(f"the export failed: {task.get('reason')}")
    download(task["download_url"], output)
    truncated = " (truncated: more rows matched than an export holds)" if task["truncated"] else ""
    click.echo(f"{task['rows']} rows written to {output}{truncated}")
