"""``mailgate ops redeliver``: release, across tenants, the quarantined messages a selection
finds (seed 003). The command queues the work for the region's workers and watches it; the
run's id resumes it after an interruption."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import click
from pydantic import ValidationError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mailgate.catalog import Direction, ThreatType
from mailgate.policy.records import QuarantineEntry, QuarantineState
from mailgate.redelivery import summarize
from mailgate.redelivery_records import MAX_RATE_PER_S, RedeliveryRun, Selection
from ops.output import console
from ops.session import Session, session

POLL_S = 1.0
TIMES = ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M%z"]


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@click.command()
@click.option(
    "--start",
    type=click.DateTime(TIMES),
    metavar="TIME",
    help="The window's start (UTC unless offset).",
)
@click.option("--end", type=click.DateTime(TIMES), metavar="TIME", help="The window's end.")
@click.option(
    "--threat-type",
    "threat_types",
    multiple=True,
    type=click.Choice([t.value for t in ThreatType]),
    help="Repeatable; any when none is given.",
)
@click.option("--subtype", "subtypes", multiple=True, help="A threat subtype (repeatable).")
@click.option("--rule", "rule_names", multiple=True, help="A rule's name (repeatable).")
@click.option("--tenant", "tenants", multiple=True, help="Repeatable; every tenant by default.")
@click.option("--direction", type=click.Choice([d.value for d in Direction]), help="Default: both.")
@click.option(
    "--rate",
    type=click.IntRange(1, MAX_RATE_PER_S),
    default=20,
    show_default=True,
    help="Releases per second per tenant, at most.",
)
@click.option("--dry-run", is_flag=True, help="Only count the messages per tenant.")
@click.option("--run-id", help="Resume this run (its selection is the one it was started with).")
@click.option(
    "--idle-timeout",
    type=click.FloatRange(min=0),
    default=120.0,
    show_default=True,
    help="Stop watching when no message is done for this many seconds (0: do not watch).",
)
def redeliver(
    start: datetime | None,
    end: datetime | None,
    threat_types: tuple[str, ...],
    subtypes: tuple[str, ...],
    rule_names: tuple[str, ...],
    tenants: tuple[str, ...],
    direction: str | None,
    rate: int,
    dry_run: bool,
    run_id: str | None,
    idle_timeout: float,
) -> None:
    """Release every quarantined message of a window that matches the filters: each resumes
    stage 2 after its quarantining rule, then is delivered; tracking shows "delivered by
    administrator <operator>". A message is released once, however often this runs."""
    current = session()
    redelivery = current.redelivery()
    if run_id:
        found = current.runs.run(run_id)
        if found is None:
            raise click.ClickException(f"There is no re-delivery run {run_id!r}.")
        run: RedeliveryRun | None = found
        selection = found.selection
    else:
        if start is None or end is None:
            raise click.UsageError("Give the window (--start and --end), or --run-id to resume.")
        try:
            selection = Selection(
                start=_utc(start),
                end=_utc(end),
                directions=[Direction(direction)] if direction else list(Direction),
                threat_types=[ThreatType(t) for t in threat_types],
                subtypes=list(subtypes),
                rule_names=list(rule_names),
                tenants=list(tenants),
            )
        except ValidationError as error:
            messages = "; ".join(e["msg"].removeprefix("Value error, ") for e in error.errors())
            raise click.ClickException(messages) from None
        run = None
    tenant_ids = current.tenant_ids(selection.tenants)
    if dry_run:
        _print_plan(redelivery.plan(selection, tenant_ids))
        return
    if run is None:
        run = redelivery.start(selection, current.operator, rate)
    console().print(
        f"Run {run.run_id} on {current.target.description}, as {run.operator}; "
        f"resume it with --run-id {run.run_id}"
    )
    try:
        for queued in redelivery.queue(run, tenant_ids):
            console().print(
                f"  {queued.tenant_id}: {queued.queued} queued, "
                f"{queued.already_released} already released"
            )
    except KeyboardInterrupt:
        raise click.ClickException(
            f"Interrupted while queueing: resume with --run-id {run.run_id}"
        ) from None
    if idle_timeout:
        _watch(current, run.run_id, idle_timeout)
    _print_summary(current, run.run_id)


def _print_plan(plan: dict[str, list[QuarantineEntry]]) -> None:
    table = Table("tenant", "to release", "already released")
    for tenant_id, entries in plan.items():
        waiting = sum(e.state is QuarantineState.QUARANTINED for e in entries)
        table.add_row(tenant_id, str(waiting), str(len(entries) - waiting))
    console().print(table)


def _watch(current: Session, run_id: str, idle_timeout: float) -> None:
    """A progress bar of the run's messages done, until all are or none is for a while."""
    columns = (
        TextColumn("releasing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console()) as progress:
        task = progress.add_task("releasing")
        done, last_change = -1, time.monotonic()
        while True:
            now_done, total = current.runs.progress(run_id)
            progress.update(task, total=total, completed=now_done)
            if now_done == total:
                return
            if now_done != done:
                done, last_change = now_done, time.monotonic()
            elif time.monotonic() - last_change > idle_timeout:
                console().print(
                    f"No progress for {idle_timeout:.0f} s: the rest is still queued; "
                    f"see it later with --run-id {run_id}"
                )
                return
            time.sleep(POLL_S)


def _print_summary(current: Session, run_id: str) -> None:
    table = Table("tenant", "selected", "released", "already released", "failed", "queued")
    for tenant_id, summary in summarize(current.runs.messages(run_id)).items():
        failed = "\n".join(f"{count}: {reason}" for reason, count in summary.failed.items())
        table.add_row(
            tenant_id,
            str(summary.selected),
            str(summary.released),
            str(summary.already_released),
            failed or "0",
            str(summary.queued),
        )
    console().print(table)
