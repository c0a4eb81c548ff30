"""Cost of tracking searches over 90 days of mail, printed as JSON.

Rows of three tenants over 90 days (one tenant hot: 80% of the rows, spread over 4 shards)
are written through the tracking store, in batches, into the local emulator (its own process,
as under ``mailgate up``); one author in 5 has a mailing service send for it, so its envelope
sender is not its header From. Then, for the first page (100 rows) of searches by sender,
header From, recipient, domain wildcard, Message-ID, subject word and of a broad 90-day
search: items read per item returned, counted by the store from what DynamoDB returned, and
wall seconds.
Also the write cost of an accepted message as the pipeline writes it (rows at "250", then each
recipient delivered): items written, and write units (1 KB each, index entries included).

The rows are the same for a given row number, so a big load can be made in parts that share a
state directory, each command under ten minutes:

  bench/search.py --rows 200000 --part 0 --parts 4 --state /tmp/search-bench
  ... --part 3, then: bench/search.py --rows 200000 --measure --state /tmp/search-bench

Restoring a big state takes minutes at every command; with ``--endpoint`` the commands use an
emulator started once on the state directory (``python -m local.emulator_process --bind
127.0.0.1 --port PORT --state-dir DIR --snapshot-bytes N``) instead.

Without ``--state`` one command loads ``--rows`` into a fresh emulator and measures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.config import Config

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REGION = "ap-northeast-1"
DAYS = 90
HOT, WARM, COOL = "bench-hot", "bench-warm", "bench-cool"
SHARDS = {HOT: 4}
SENDERS, DOMAINS, USERS = 4000, 400, 1000
RARE_WORD = "zebrafish"  # in one subject in 200
RELAYED = 5  # one author in 5 has a mailing service send for it, under its own bounce address
START_FILE = "start.txt"  # the instant the rows are laid out from, shared by every part


def _tenant(n: int) -> str:
    return HOT if n % 10 < 8 else (WARM if n % 10 == 8 else COOL)


def _relayed(author: str) -> bool:
    return int(author[1 : author.index("@")]) % RELAYED == 3


def _envelope_sender(n: int, author: str) -> str:
    """The author's address, or the bounce address a mailing service gives message ``n``:
    half the services under the author's domain (an aligned return path), half their own."""
    if not _relayed(author):
        return author
    chosen = int(author[1 : author.index("@")])
    domain = author.split("@")[1] if chosen % 2 else f"esp{chosen % 3}.example"
    return f"b{n}@bounce.{domain}"


def _sender(n: int) -> str:
    chosen = random.Random(n).randrange(SENDERS)
    domain = chosen % DOMAINS
    host = f"mail.d{domain}.example" if domain % 10 == 0 else f"d{domain}.example"
    return f"s{chosen}@{host}"


def _row(n: int, start: datetime, count: int) -> Any:
    from mailgate.catalog import Direction, Status
    from mailgate.records import TrackingRow

    tenant = _tenant(n)
    pick = random.Random(-n - 1)
    author = _sender(n)
    word = RARE_WORD if n % 200 == 8 else "report"  # rows of the warm tenant
    return TrackingRow(
        tenant_id=tenant,
        message_uuid=str(uuid.UUID(int=pick.getrandbits(128), version=4)),
        recipient=f"user{pick.randrange(USERS)}@{tenant}.example",
        time=start + timedelta(days=DAYS) * (n / count),
        direction=Direction.INBOUND,
        sender=_envelope_sender(n, author),
        sender_ip="203.0.113.7",
        upstream_tls="TLSv1.3",
        status=Status.DELIVERED,
        subject=f"Weekly {word} {n}",
        header_from=[f"News <{author}>"],
        message_id=f"<{n}.{pick.getrandbits(32)}@{author.split('@')[1]}>",
        size=20_000 + n % 5000,
        delivered_to="198.51.100.2",
        downstream_tls="TLSv1.3",
    )


def _load(first: int, last: int, count: int, start: datetime) -> dict[str, Any]:
    from mailgate import resources
    from mailgate.storage.tracking import TrackingStore

    store = TrackingStore(resources.TRACKING.local_name, SHARDS)
    wall = time.perf_counter()
    for chunk in range(first, last, 500):
        store.add([_row(n, start, count) for n in range(chunk, min(chunk + 500, last))], [])
    return {
        "rows_loaded": last - first,
        "seconds": round(time.perf_counter() - wall, 1),
        "items_written": store.meter.items_written,
    }


def _write_cost(samples: int) -> dict[str, Any]:
    """Messages of one to three recipients, written as the pipeline does: rows at "250", then
    each recipient delivered."""
    from mailgate import resources
    from mailgate.catalog import Direction, Status
    from mailgate.clock import utcnow
    from mailgate.records import TrackingRow
    from mailgate.storage.tracking import TrackingStore

    store = TrackingStore(resources.TRACKING.local_name, SHARDS)
    recipients = at_250 = 0
    for n in range(samples):
        message_uuid, author = str(uuid.uuid4()), _sender(n)
        rows = [
            TrackingRow(
                tenant_id=HOT,
                message_uuid=message_uuid,
                recipient=f"user{n}-{r}@{HOT}.example",
                time=utcnow(),
                direction=Direction.INBOUND,
                sender=_envelope_sender(n, author),
                sender_ip="203.0.113.7",
                subject=f"Weekly report {n}",
                header_from=[f"News <{author}>"],
                message_id=f"<cost-{n}@{author.split('@')[1]}>",
                size=20_000,
            )
            for r in range(1 + n % 3)
        ]
        before = store.meter.items_written
        store.add(rows, [])
        at_250 += store.meter.items_written - before
        for row in rows:
            store.set_status(HOT, message_uuid, row.recipient, Status.DELIVERED)
        recipients += len(rows)
    return {
        "messages": samples,
        "recipient_rows": recipients,
        "items_per_recipient_row_at_250": round(at_250 / recipients, 2),
        "items_written_per_message": round(store.meter.items_written / samples, 2),
        "write_units_per_message": round(store.meter.write_units / samples, 2),
        "write_units_per_recipient_row": round(store.meter.write_units / recipients, 2),
        "note": "items include each row's by_time index entry (in the table: the row and its "
        "index items); delivery rewrites a row's index items once it is final",
    }


def _searches(count: int, start: datetime) -> list[tuple[str, str, dict[str, Any]]]:
    """(name, tenant, search filters) of each search, built from rows that exist."""

    def probe(relayed: bool) -> int:  # a row of the hot tenant
        n = 1234 * 10 % count
        while _tenant(n) != HOT or _relayed(_sender(n)) != relayed:
            n = (n + 10) % count
        return n

    direct, newsletter = _row(probe(False), start, count), _sender(probe(True))
    domain = direct.sender.split("@")[1]
    return [
        ("sender", HOT, {"senders": (direct.sender,)}),
        ("header_from_of_a_relayed_author", HOT, {"header_from": (newsletter,)}),
        ("recipient", HOT, {"recipients": (direct.recipient,)}),
        ("domain_wildcard", HOT, {"senders": (f"*@{domain}",)}),
        ("subdomain_wildcard", HOT, {"senders": ("*@*.d0.example",)}),  # mail.d0.example
        ("message_id", HOT, {"message_id": direct.message_id}),
        ("subject_word", WARM, {"subject": RARE_WORD}),
        ("broad_90_days", HOT, {}),
        ("sender_of_a_small_tenant", COOL, {"senders": (_row(9, start, count).sender,)}),
    ]


def _measure(count: int, start: datetime) -> dict[str, Any]:
    from mailgate import resources
    from mailgate.catalog import Direction, TrackingType
    from mailgate.clock import utcnow
    from mailgate.search.matching import RowFilter
    from mailgate.search.pager import CursorState
    from mailgate.search.period import Period
    from mailgate.search.tracking import TrackingQuery, search
    from mailgate.storage.meter import StoreMeter
    from mailgate.storage.tracking import TrackingStore

    store = TrackingStore(resources.TRACKING.local_name, SHARDS)
    period = Period(utcnow() - timedelta(days=DAYS), utcnow())
    print(f"measuring {len(_searches(count, start))} searches", file=sys.stderr)
    results: dict[str, Any] = {}
    for name, tenant, filters in _searches(count, start):
        query = TrackingQuery(
            tenant, Direction.INBOUND, TrackingType.ACCEPTED, "desc", 100, RowFilter(**filters)
        )
        store.meter = StoreMeter()
        wall = time.perf_counter()
        page = search(store, query, CursorState(period))
        seconds = time.perf_counter() - wall
        returned = len(page.rows)
        results[name] = {
            "returned": returned,
            "items_read": store.meter.items_read,
            "read_per_returned": round(store.meter.items_read / returned, 2) if returned else None,
            "first_page_s": round(seconds, 2),
            "searched_until": page.searched_until and page.searched_until.isoformat(),
        }
        print(name, json.dumps(results[name]), file=sys.stderr, flush=True)
    return results


def main() -> None:
    from bench.local_aws import local_aws
    from mailgate import aws

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=20_000, help="rows of the whole load")
    parser.add_argument("--state", type=Path, help="state directory kept between commands")
    parser.add_argument("--part", type=int, help="load this part of the rows only")
    parser.add_argument("--parts", type=int, default=1)
    parser.add_argument("--measure", action="store_true", help="measure a loaded state only")
    parser.add_argument(
        "--searches-only",
        action="store_true",
        help="skip the write cost (per message, whatever the table holds)",
    )
    parser.add_argument(
        "--endpoint", help="an emulator already running on the state directory (no restore)"
    )
    args = parser.parse_args()
    fresh = args.state is None
    state: Path = args.state or Path(tempfile.mkdtemp(prefix="bench-search-"))
    state.mkdir(parents=True, exist_ok=True)
    start_file = state / START_FILE
    if not start_file.exists():
        start_file.write_text((datetime.now(UTC) - timedelta(days=DAYS)).isoformat())
    start = datetime.fromisoformat(start_file.read_text())
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    # An index Query of the emulator still passes over every item of the table once: at
    # 200,000 rows a first page of several such calls may pass botocore's 60 s read timeout.
    aws._CONFIG = aws._CONFIG.merge(Config(read_timeout=3600))  # before any client is made
    report: dict[str, Any] = {"rows": args.rows, "tenants": {HOT: 0.8, WARM: 0.1, COOL: 0.1}}
    creates = fresh or args.part is not None
    try:
        with local_aws(state, REGION, 256 * 1024 * 1024, create=creates, endpoint=args.endpoint):
            _run(args, fresh, start, report)
    finally:
        if fresh:
            shutil.rmtree(state)
    print(json.dumps(report, indent=2))


def _run(args: argparse.Namespace, fresh: bool, start: datetime, report: dict[str, Any]) -> None:
    if args.part is not None or fresh:
        part = args.part or 0
        size = -(-args.rows // args.parts)
        first, last = part * size, min(args.rows, (part + 1) * size)
        report["load"] = _load(first, last, args.rows, start)
    if (args.measure or fresh) and not args.searches_only:
        report["write_cost"] = _write_cost(100)
    if args.measure or fresh:
        report["searches_first_page_of_100"] = _measure(args.rows, start)


if __name__ == "__main__":
    main()
