"""Stage 2: CPU milliseconds per message and messages per second, printed as JSON, for 10 KB and
1 MB messages with 20 enabled rules (keywords, regular expressions, DLP, attachment
conditions), through the scan stage itself with in-memory stores (so the figure is our own
code: parsing, rules, applier — not the emulator's). A baseline in the same run: the same
messages through the standard library's parser alone (``email.message_from_bytes`` and a walk
of every part), the least any MIME-reading stage must spend.

Then the same 10 KB messages with the real engines (rspamd and clamd started as the local
runtime starts them, when installed), once with a tenant's default rules alone (spam and virus
on) and once with the 20 rules as well, and a 100 KB HTML newsletter (styled tables, 120 linked
stories: the markup of most marketing mail) with the default rules. Both messages also with
the defaults and a phishing and web-reputation rule: the links detector reads every link and
asks two URL block lists about their domains, served by a zone server in another process (so
its CPU is not counted as ours) that lists none of them. For each: our process's
CPU per message (from the OS), the engines' CPU (from /proc), the wall time per message, and
the share of the wall time spent sending to and reading from each engine (both are asked before
either answer is read, so the wait on both is mostly in the first answer read, rspamd's). The
engines' CPU varies by about a tenth from one run to the next, and the ratio of ours to theirs
with it: the three cases run ``--rounds`` times, one after the other, and each reports every
round and the median ratio. rspamd spends about a tenth less CPU per message once it has scanned
a thousand or so messages, as it has in service, so the engines first scan ``--engine-warmup``
messages unmeasured.

Run: .venv/bin/python bench/scan.py [--messages N] [--engine-messages N] [--rounds N]
[--engine-warmup N]
"""

from __future__ import annotations

import argparse
import email
import json
import multiprocessing
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default
from functools import partial
from pathlib import Path
from typing import cast

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from functions.scan.actions import Applier  # noqa: E402
from functions.scan.evidence.mime.model import Message  # noqa: E402
from functions.scan.evidence.spam import SpamProducer  # noqa: E402
from functions.scan.evidence.urls.reputation import UrlReputation, zones  # noqa: E402
from functions.scan.evidence.verdicts import (  # noqa: E402
    Envelope,
    Producer,
    RemoteProducer,
    Verdict,
)
from functions.scan.evidence.virus import VirusProducer  # noqa: E402
from functions.scan.stage import ScanStage  # noqa: E402
from mailgate import dns  # noqa: E402
from mailgate.catalog import Direction, ThreatType  # noqa: E402
from mailgate.engines.clamd import ClamdClient  # noqa: E402
from mailgate.engines.rspamd import RspamdClient  # noqa: E402
from mailgate.jobs import ScanJob  # noqa: E402
from mailgate.origination import Originator  # noqa: E402
from mailgate.policy import rules as r  # noqa: E402
from mailgate.policy.dlp import DlpTemplate  # noqa: E402
from mailgate.records import TrackingRow  # noqa: E402
from mailgate.tenant_config import TenantConfig  # noqa: E402
from tests.support.fakes import (  # noqa: E402
    FakeDomains,
    FakeMail,
    FakePolicyEvents,
    FakeQuarantine,
    FakeQueue,
    FakeTracking,
)

TENANT = "bench"
RECIPIENT = "user@bench.example"
BLOCK_LISTS = ["phishing=phish.lists.example", "web_reputation=web.lists.example"]


def phishing_rule() -> r.Rule:
    return r.Rule(
        id="phishing",
        name="Phishing and web reputation",
        category=r.RuleCategory.SPAM,
        conditions=[
            r.ThreatCondition(threat=ThreatType.PHISHING),
            r.ThreatCondition(threat=ThreatType.WEB_REPUTATION),
        ],
        actions=r.Actions(intercept=r.QuarantineIt()),
    )


def rules() -> list[r.Rule]:
    """20 enabled content and DLP rules, none of which intercepts the benchmark's messages."""
    made: list[r.Rule] = []
    words = [f"word{i}" for i in range(50)]

    def add(name: str, *conditions: r.Condition, category: str = "content") -> None:
        made.append(
            r.Rule(
                id=f"rule-{len(made)}",
                name=name,
                category=r.RuleCategory(category),
                conditions=list(conditions),
                actions=r.Actions(intercept=r.QuarantineIt()),
            )
        )

    for i in range(6):
        add(f"subject {i}", r.SubjectKeywords(keywords=r.Keywords(values=words[i::6])))
    for i in range(4):
        add(f"body {i}", r.BodyKeywords(keywords=r.Keywords(values=words[i::4])))
    add(
        "body regex",
        r.BodyKeywords(keywords=r.Keywords(values=[r"wire\s+transfer\s+\d+"], regex=True)),
    )
    add("header", r.HeaderKeywords(header="X-Mailer", keywords=r.Keywords(values=["massmail"])))
    add("exe", r.AttachmentTrueType(extensions=["exe", "scr"]))
    add("names", r.AttachmentName(names=["*.js", "vbs", "*.hta"]))
    add("size", r.AttachmentSize(over_bytes=50 * 1024 * 1024))
    add("count", r.AttachmentCount(over=40))
    add("macro", r.AttachmentActiveContent())
    add("reply-to", r.FromDiffersFromReplyTo())
    add("cards", r.Dlp(templates=[DlpTemplate.CREDIT_CARD], threshold=5), category="dlp")
    add("numbers", r.Dlp(templates=[DlpTemplate.MY_NUMBER, DlpTemplate.IBAN]), category="dlp")
    return made


def message(size: int) -> bytes:
    mail = EmailMessage()
    mail["From"] = "Alice <alice@sender.example>"
    mail["To"] = RECIPIENT
    mail["Subject"] = "Monthly figures"
    mail["Message-ID"] = "<bench@sender.example>"
    line = "The quarterly figures are attached; call 03-1234-5678 with questions.\n"
    text = line * max(1, (size // 2) // len(line))
    mail.set_content(text)
    mail.add_alternative(f"<html><body><p>{text}</p></body></html>", subtype="html")
    attachment = os.urandom(max(0, size - len(text) * 2) * 3 // 4)
    mail.add_attachment(attachment, maintype="application", subtype="pdf", filename="figures.pdf")
    return mail.as_bytes()


def newsletter() -> bytes:
    stories = "".join(
        f"""
      <tr>
        <td style="padding: 12px 24px; font-family: Arial, sans-serif; color: #333;" class="c">
          <a href="https://news.example.com/story/{i}?utm_source=mail&amp;utm_medium=email"
             style="color:#0066cc; text-decoration:none;">
            <img src="https://cdn.example.com/{i}.jpg" width="120" height="80" alt="Story {i}"
                 style="display:block; border:0;"></a>
          <h2 style="margin:0; font-size:18px;">Headline {i} &mdash; what happened today</h2>
          <p style="margin:8px 0;">Lorem ipsum dolor sit amet &amp; more about story {i}.
             <span style="font-weight:bold">Read more</span></p>
        </td>
      </tr>"""
        for i in range(120)
    )
    mail = EmailMessage()
    mail["From"] = "News <news@sender.example>"
    mail["To"] = RECIPIENT
    mail["Subject"] = "Today's news"
    mail["Message-ID"] = "<news@sender.example>"
    mail.set_content(
        "\n".join(f"Headline {i}: https://news.example.com/story/{i}" for i in range(120))
    )
    mail.add_alternative(
        "<!DOCTYPE html><html><head><style>td {font-size: 14px;}</style></head><body>"
        f'<table width="100%">{stories}</table></body></html>',
        subtype="html",
    )
    return mail.as_bytes()


def stage(
    raw: bytes, producers: Sequence[Producer] = (), inbound: list[r.Rule] | None = None
) -> Callable[[int], Callable[[], None]]:
    """A maker of one message's run through the stage over in-memory stores. The job and its
    tracking row are built before the clock starts (the job's decoding is the queue handler's),
    and the stores forget the previous message's records first: the real stores are tables
    and queues, while records piling up in this process would slow every lookup of the fakes
    (they scan their rows) and every garbage collection, more the longer the run."""
    config = TenantConfig(policies=r.Policies(inbound=inbound if inbound is not None else rules()))
    mail = FakeMail({"m.eml": raw})
    tracking = FakeTracking()
    queue = FakeQueue()
    events = FakePolicyEvents()
    quarantine = FakeQuarantine()
    applier = Applier(
        tracking, mail, queue, events, quarantine, Originator(mail, tracking, queue, FakeDomains())
    )

    def forget() -> None:
        mail.objects = {"m.eml": raw}
        tracking.rows.clear()
        tracking.events.clear()
        tracking.passes.clear()
        tracking.status_writes.clear()
        tracking.claims.clear()
        queue.sent.clear()
        events.events.clear()
        quarantine.entries.clear()

    scan = ScanStage(tracking, mail, lambda _tenant: config, producers, applier)

    def prepare(n: int) -> Callable[[], None]:
        message_uuid = f"m-{n}"
        row = TrackingRow(
            tenant_id=TENANT,
            message_uuid=message_uuid,
            recipient=RECIPIENT,
            time=datetime.now(UTC),
            direction=Direction.INBOUND,
            sender="alice@sender.example",
            sender_ip="192.0.2.1",
            mail_key="m.eml",
        )
        job = ScanJob(
            tenant_id=TENANT,
            message_uuid=message_uuid,
            direction=Direction.INBOUND,
            mail_key="m.eml",
            sender="alice@sender.example",
            recipients=[RECIPIENT],
            received_at=datetime.now(UTC),
            sender_ip="192.0.2.1",
        )

        def run() -> None:
            forget()
            tracking.add([row], [])
            scan.run(job)

        return run

    return prepare


class Timed(RemoteProducer):
    """An engine's producer whose time in sending the message and in reading the answer is
    added up (the wait on its engine; the engines are asked together, so the first answer
    read holds most of the wait for both)."""

    def __init__(self, producer: RemoteProducer) -> None:
        self._producer = producer
        self.threats = producer.threats
        self.seconds = 0.0

    def ask(self, raw: bytes, message: Message, envelope: Envelope) -> Callable[[], Verdict]:
        started = time.perf_counter()
        try:
            answer = self._producer.ask(raw, message, envelope)
        finally:
            self.seconds += time.perf_counter() - started
        return partial(self._read, answer)

    def _read(self, answer: Callable[[], Verdict]) -> Verdict:
        started = time.perf_counter()
        try:
            return answer()
        finally:
            self.seconds += time.perf_counter() - started


def _serve_empty_zone(addresses: multiprocessing.Queue[str]) -> None:
    from local.dns_server import ZoneServer

    addresses.put(ZoneServer({}).start().address)
    multiprocessing.Event().wait()  # until terminated


def with_engines(messages: int, rounds: int, warmup: int) -> dict[str, object]:
    from local.engines import daemons
    from tests.support.ports import free_port

    rspamd = daemons.rspamd(free_port(), 15.0)
    clamd = daemons.clamd(free_port(), 15.0, 64 * 1024 * 1024)
    if rspamd is None or clamd is None:
        return {"skipped": "rspamd or clamd is not installed (make engines)"}
    addresses: multiprocessing.Queue[str] = multiprocessing.Queue()
    zone_server = multiprocessing.Process(target=_serve_empty_zone, args=(addresses,))
    zone_server.start()
    rspamd.start()
    clamd.start()
    try:
        spam = Timed(SpamProducer(RspamdClient(rspamd.address, 15.0), "bench"))
        virus = Timed(VirusProducer(ClamdClient(clamd.address, 15.0, 64 * 1024 * 1024)))
        resolver = dns.resolver([addresses.get(timeout=30)], 2.0)
        links = UrlReputation(
            zones(BLOCK_LISTS), partial(dns.a_records, res=resolver), lambda _: TenantConfig()
        )
        producers: list[Producer] = [spam, virus, links]
        pids = [d.process.pid for d in (rspamd, clamd) if d.process is not None]
        defaults = TenantConfig().policies.inbound
        ten_kb, html = message(10 * 1024), newsletter()
        for raw, count in ((ten_kb, warmup), (html, warmup // 4)):
            prepare = stage(raw, producers, defaults)
            for n in range(count):
                prepare(n)()
        phishing = [*defaults, phishing_rule()]
        cases = {
            "default_rules": (ten_kb, messages, defaults),
            "default_rules_and_the_20": (ten_kb, messages, defaults + rules()),
            "html_newsletter_default_rules": (html, messages // 2, defaults),
            "default_rules_and_a_phishing_rule": (ten_kb, messages, phishing),
            "html_newsletter_default_rules_and_a_phishing_rule": (html, messages // 2, phishing),
        }
        runs: dict[str, list[dict[str, object]]] = {name: [] for name in cases}
        for _ in range(rounds):
            for name, (raw, count, inbound) in cases.items():
                runs[name].append(_engine_run(raw, count, producers, pids, inbound))
        return {
            name: {
                "median_our_cpu_over_engines_cpu": statistics.median(
                    cast(float, run["our_cpu_over_engines_cpu"]) for run in rounds_run
                ),
                "rounds": rounds_run,
            }
            for name, rounds_run in runs.items()
        }
    finally:
        rspamd.close()
        clamd.close()
        zone_server.terminate()


def _engine_run(
    raw: bytes, messages: int, producers: list[Producer], pids: list[int], inbound: list[r.Rule]
) -> dict[str, object]:
    prepare = stage(raw, producers, inbound)
    prepare(-1)()
    spam, virus = (cast(Timed, p) for p in producers[:2])
    spam.seconds = virus.seconds = 0.0
    runs = [prepare(n) for n in range(messages)]
    engines_cpu = sum(_tree_cpu(pid) for pid in pids)
    cpu, wall = time.process_time(), time.perf_counter()
    for run in runs:
        run()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    engines_cpu = sum(_tree_cpu(pid) for pid in pids) - engines_cpu
    return {
        "bytes": len(raw),
        "messages": messages,
        "rules": len(inbound),
        "our_cpu_ms_per_message": round(cpu * 1000 / messages, 3),
        "engines_cpu_ms_per_message": round(engines_cpu * 1000 / messages, 3),
        "our_cpu_over_engines_cpu": round(cpu / max(engines_cpu, 1e-9), 3),
        "wall_ms_per_message": round(wall * 1000 / messages, 3),
        "messages_per_s": round(messages / wall, 1),
        "waiting_share": {
            "rspamd": round(spam.seconds / wall, 3),
            "clamd": round(virus.seconds / wall, 3),
        },
    }


def _tree_cpu(pid: int) -> float:
    """User + system CPU seconds of a process and its children (rspamd forks workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:  # fields[1]: the parent
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def measure(prepare: Callable[[int], Callable[[], object]], messages: int) -> dict[str, float]:
    prepare(-1)()  # warm caches (compiled keyword lists)
    runs = [prepare(n) for n in range(messages)]
    cpu, wall = time.process_time(), time.perf_counter()
    for run in runs:
        run()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {
        "cpu_ms_per_message": round(cpu * 1000 / messages, 3),
        "messages_per_s": round(messages / wall, 1),
    }


def stdlib_walk(raw: bytes) -> Callable[[int], Callable[[], object]]:
    def run() -> object:
        parsed = email.message_from_bytes(raw, policy=default)
        return [part.get_payload(decode=True) for part in parsed.walk()]

    return lambda _: run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--engine-messages", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3, help="of the runs with the engines")
    parser.add_argument("--engine-warmup", type=int, default=1000, help="messages unmeasured")
    args = parser.parse_args()
    results: dict[str, object] = {"python": platform.python_version(), "rules": len(rules())}
    for label, size, count in (("10KB", 10 * 1024, args.messages), ("1MB", 1024 * 1024, 30)):
        raw = message(size)
        prepare = stage(raw)
        results[label] = {
            "bytes": len(raw),
            "stage2": measure(prepare, count),
            "baseline_stdlib_parse": measure(stdlib_walk(raw), count),
        }
    results["10KB_with_engines"] = with_engines(
        args.engine_messages, args.rounds, args.engine_warmup
    )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
