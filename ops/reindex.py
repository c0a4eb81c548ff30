"""``mailgate ops reindex``: give existing tracking rows the index items the selective searches
read (sender, recipient, their domains, header From, Message-ID), where they are missing or
stale. Safe to run twice or to rerun after an interruption: it writes only what is missing."""

from __future__ import annotations

from datetime import date, datetime

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mailgate.catalog import Direction, TrackingType
from mailgate.clock import utcnow
from mailgate.ports import Reindexed, TrackingIndex
from mailgate.tracking_reindex import DayBucket, days, record, reindex_tenant
from ops.output import console
from ops.session import session


@click.command()
@click.option("--tenant", "tenants", multiple=True, help="Repeatable; every tenant by default.")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    metavar="DATE",
    help="The first UTC day to read (default: the whole retention period).",
)
@click.option("--dry-run", is_flag=True, help="Only count the items that would be written.")
def reindex(tenants: tuple[str, ...], since: datetime | None, dry_run: bool) -> None:
    """Write the index items tracking rows should have and lack (rows stored before index items
    existed, or whose items a crash left missing or stale), from each row as stored now.
    Nothing is removed."""
    current = session()
    first = since.date() if since else None
    today = utcnow().date()
    try:
        buckets = len(days(first, today)) * len(Direction) * len(TrackingType)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    totals: dict[str, Reindexed] = {}
    for tenant_id in current.tenant_ids(tenants):
        done = _reindex_tenant(current.tracking, tenant_id, first, today, buckets, not dry_run)
        if not dry_run:
            record(current.audit, tenant_id, current.operator, first, done, utcnow())
        totals[tenant_id] = done
    _print_summary(totals, dry_run)


def _reindex_tenant(
    index: TrackingIndex, tenant_id: str, since: date | None, today: date, buckets: int, write: bool
) -> Reindexed:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console()) as progress:
        task = progress.add_task(tenant_id, total=buckets)
        started: set[DayBucket] = set()
        running = Reindexed()

        def told(bucket: DayBucket, page: Reindexed) -> None:
            running.add(page)
            if bucket not in started:
                started.add(bucket)
                progress.advance(task)
            progress.update(
                task,
                description=f"{tenant_id} {bucket.day.isoformat()}: {running.rows} rows, "
                f"{running.written} items {'written' if write else 'to write'}",
            )

        return reindex_tenant(index, tenant_id, since, today, write, told)


def _print_summary(totals: dict[str, Reindexed], dry_run: bool) -> None:
    written = "to write" if dry_run else "written"
    table = Table("tenant", "rows seen", f"index items {written}", "already correct")
    for tenant_id, done in totals.items():
        table.add_row(tenant_id, str(done.rows), str(done.written), str(done.correct))
    console().print(table)
