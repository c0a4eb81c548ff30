"""``mailgate ops``: the operator's commands. Each acts on the local gateway by default, or on
a region's stack with ``--region``; every change is written to the tenant's audit trail as the
operator's."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError
from rich.table import Table

from mailgate.api.errors import ApiError
from mailgate.auth import SCOPES
from mailgate.clock import utcnow
from mailgate.dead_letters import JOB_MODELS, summarize
from mailgate.search import audit as audit_search
from mailgate.search.pager import CursorState
from mailgate.storage.tenants import DomainTaken
from mailgate.tenant_admin import AdminError
from mailgate.tenant_config import DomainConfig, MailServer
from ops import target
from ops.output import console
from ops.redeliver import redeliver
from ops.reindex import reindex
from ops.session import Lazy, Session, session

F = TypeVar("F", bound=Callable[..., Any])


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "-"


def admin_errors(command: F) -> F:
    """An operator's mistake is a one-line error, not a traceback."""

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (AdminError, ApiError, DomainTaken, ValidationError, ValueError) as error:
            raise click.ClickException(str(error)) from None

    wrapped.__name__ = command.__name__
    wrapped.__doc__ = command.__doc__
    return wrapped  # type: ignore[return-value]


@click.group()
@click.option(
    "--region",
    type=click.Choice(sorted(target.REGIONS)),
    help="Act on this region's stack (default: the local gateway).",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=lambda: os.environ.get("MAILGATE_STATE_DIR", ".mailgate"),
    show_default="$MAILGATE_STATE_DIR or .mailgate",
    help="The local gateway's state directory.",
)
@click.option(
    "--operator",
    help="Your name in audit trails and tracking (default: the OS user, or your AWS identity).",
)
@click.pass_context
def ops(ctx: click.Context, region: str | None, state_dir: Path, operator: str | None) -> None:
    """Operate the gateway: tenants, API keys, dead letters, the audit trail, re-delivery,
    tracking index repair."""

    def make() -> Session:
        if region:
            return Session(target.region(region, operator))
        return Session(target.local(state_dir, operator))

    ctx.obj = Lazy(make)


@ops.group()
def tenants() -> None:
    """Onboard, list, suspend, resume and delete tenants."""


def _domain(value: str) -> DomainConfig:
    name, _, server = value.partition("=")
    host, _, port = server.partition(":")
    if not name or not host:
        raise click.BadParameter(f"{value!r}: write a domain as NAME=HOST[:PORT].")
    try:
        return DomainConfig(
            name=name, inbound_servers=[MailServer(host=host, port=int(port or 25))]
        )
    except (ValidationError, ValueError) as error:
        raise click.BadParameter(f"{value!r}: {error}") from None


@tenants.command("create")
@click.argument("tenant_id")
@click.option("--name", required=True, help="The customer's name.")
@click.option(
    "--domain",
    "domains",
    multiple=True,
    help="A managed domain and its mail server, NAME=HOST[:PORT] (repeatable).",
)
@admin_errors
def tenants_create(tenant_id: str, name: str, domains: tuple[str, ...]) -> None:
    """Create a tenant (its domains may also be added later through the API)."""
    view = session().admin().create(tenant_id, name, [_domain(d) for d in domains])
    console().print(f"Created tenant {view.tenant.tenant_id} with domains: {view.domains or '-'}")


@tenants.command("list")
def tenants_list() -> None:
    """Every tenant."""
    table = Table("tenant", "name", "status", "created")
    for tenant in session().admin().tenants():
        table.add_row(tenant.tenant_id, tenant.name, tenant.status, _when(tenant.created_at))
    console().print(table)


@tenants.command("show")
@click.argument("tenant_id")
@admin_errors
def tenants_show(tenant_id: str) -> None:
    """A tenant, its domains and keys."""
    view = session().admin().show(tenant_id)
    console().print(
        f"{view.tenant.tenant_id}: {view.tenant.name} ({view.tenant.status}), "
        f"created {_when(view.tenant.created_at)}\ndomains: {', '.join(view.domains) or '-'}"
    )
    _print_keys(view.keys)


@tenants.command("suspend")
@click.argument("tenant_id")
@admin_errors
def tenants_suspend(tenant_id: str) -> None:
    """Refuse the tenant's mail with a temporary reply, and its keys with 403."""
    session().admin().suspend(tenant_id)
    console().print(f"Suspended {tenant_id} (in effect within about a minute and a half).")


@tenants.command("resume")
@click.argument("tenant_id")
@admin_errors
def tenants_resume(tenant_id: str) -> None:
    """Accept the tenant's mail and keys again."""
    session().admin().resume(tenant_id)
    console().print(f"Resumed {tenant_id}.")


@tenants.command("delete")
@click.argument("tenant_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@admin_errors
def tenants_delete(tenant_id: str, yes: bool) -> None:
    """Delete a tenant with all its data: logs, quarantine, mail, exports, audit trail."""
    current = session()
    current.admin().show(tenant_id)  # an unknown tenant is refused before asking
    if not yes:
        click.confirm(
            f"Delete tenant {tenant_id} and erase all its data on {current.target.description}?",
            abort=True,
        )
    erased = current.admin().delete(tenant_id, current.tenant_data().erase)
    console().print(f"Deleted {tenant_id}; erased {erased} records and objects.")


@ops.group()
def keys() -> None:
    """Create, list and revoke a tenant's API keys."""


def _print_keys(found: list[Any]) -> None:
    table = Table("key id", "name", "scopes", "created", "expires", "last used")
    for key in found:
        table.add_row(
            key.key_id,
            key.name,
            ", ".join(key.scopes),
            _when(key.created_at),
            _when(key.expires_at),
            _when(key.last_used_at),
        )
    console().print(table)


@keys.command("create")
@click.argument("tenant_id")
@click.option("--name", required=True, help="Who or what uses the key (shown in audit trails).")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(SCOPES),
    help="Repeatable; every scope when none is given.",
)
@click.option("--expires-in-days", type=click.IntRange(min=1), help="The key's lifetime.")
@admin_errors
def keys_create(
    tenant_id: str, name: str, scopes: tuple[str, ...], expires_in_days: int | None
) -> None:
    """Create a key; its secret is printed this once (only its digest is kept)."""
    lifetime = timedelta(days=expires_in_days) if expires_in_days else None
    key, secret = session().admin().create_key(tenant_id, name, list(scopes or SCOPES), lifetime)
    console().print(f"Key {key.key_id} ({key.name}) for {tenant_id}; its secret, shown once:")
    click.echo(secret)


@keys.command("list")
@click.argument("tenant_id")
@admin_errors
def keys_list(tenant_id: str) -> None:
    """The tenant's keys: name, scopes, created, expiry, last use."""
    _print_keys(session().admin().keys(tenant_id))


@keys.command("revoke")
@click.argument("tenant_id")
@click.argument("key_id")
@admin_errors
def keys_revoke(tenant_id: str, key_id: str) -> None:
    """Revoke a key (it answers 401 within the API's 60-second authorizer cache)."""
    session().admin().revoke_key(tenant_id, key_id)
    console().print(f"Revoked key {key_id} of {tenant_id}.")


@ops.group()
def dlq() -> None:
    """The dead-letter queues: what they hold and why, and redriving them."""


@dlq.command("list")
def dlq_list() -> None:
    """Each queue's dead-letter count, by reason."""
    current = session()
    table = Table("queue", "jobs", "oldest", "reasons")
    for queue_id, queue in current.dead_letter_queues().items():
        summary = summarize(queue.letters(), JOB_MODELS[queue_id], current.tracking.rows)
        reasons = "\n".join(f"{count}: {reason}" for reason, count in summary.by_reason.items())
        table.add_row(queue_id, str(summary.total), _when(summary.oldest), reasons or "-")
    console().print(table)


@dlq.command("redrive")
@click.argument("queue_id", type=click.Choice(sorted(JOB_MODELS)))
@click.option("--limit", type=click.IntRange(min=1), help="At most this many jobs (default all).")
def dlq_redrive(queue_id: str, limit: int | None) -> None:
    """Send a dead-letter queue's jobs back to their queue."""
    moved = session().dead_letter_queues()[queue_id].redrive(limit)
    console().print(f"Redrove {moved} jobs to the {queue_id} queue.")


@ops.command("audit")
@click.argument("tenant_id")
@click.option("--period", help="A preset (1h, 24h, 7d, …); default 7d.")
@click.option("--start", type=click.DateTime(), help="With --end: a range (UTC unless offset).")
@click.option("--end", type=click.DateTime())
@click.option("--actor", help="A key name or 'operator <name>' (exact, case-insensitive).")
@click.option("--action", help="Exact, or a prefix ending in '.', e.g. 'quarantine.'.")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@admin_errors
def audit(
    tenant_id: str,
    period: str | None,
    start: datetime | None,
    end: datetime | None,
    actor: str | None,
    action: str | None,
    limit: int,
) -> None:
    """A tenant's audit trail, newest first (the filters of GET /v1/audit)."""

    def aware(moment: datetime | None) -> datetime | None:
        return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment

    current = session()
    current.admin().show(tenant_id)
    window = audit_search.audit_period(period, aware(start), aware(end), utcnow())
    page = audit_search.search(
        current.audit,
        tenant_id,
        audit_search.AuditFilter(actor=actor, action=action),
        CursorState(window),
        limit,
    )
    table = Table("time", "actor", "action", "target", "ip", "details")
    for entry in page.rows:
        details = ", ".join(f"{name}={value}" for name, value in entry.details.items())
        table.add_row(_when(entry.time), entry.actor, entry.action, entry.target, entry.ip, details)
    console().print(table)
    if page.next is not None:
        console().print(f"(more than {limit}: narrow the period or raise --limit)")


ops.add_command(redeliver)
ops.add_command(reindex)
