"""Stage 2 without engines: CPU milliseconds per message and messages per second, printed as
JSON, for 10 KB and 1 MB messages with 20 enabled rules (keywords, regular expressions, DLP,
attachment conditions), through the scan stage itself with in-memory stores (so the figure is
our own code: parsing, rules, applier — not the emulator's). A baseline in the same run: the
same messages through the standard library's parser alone (``email.message_from_bytes`` and a
walk of every part), the least any MIME-reading stage must spend.

Run: .venv/bin/python bench/scan.py [--messages N]
"""

from __future__ import annotations

import argparse
import email
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from functions.scan.actions import Applier  # noqa: E402
from functions.scan.stage import ScanStage  # noqa: E402
from mailgate.catalog import Direction  # noqa: E402
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


def stage(raw: bytes) -> tuple[ScanStage, Callable[[int], ScanJob], FakeTracking]:
    config = TenantConfig(policies=r.Policies(inbound=rules()))
    mail = FakeMail({"m.eml": raw})
    tracking = FakeTracking()
    queue = FakeQueue()
    applier = Applier(
        tracking,
        mail,
        queue,
        FakePolicyEvents(),
        FakeQuarantine(),
        Originator(mail, tracking, queue, FakeDomains()),
    )
    scan = ScanStage(tracking, mail, lambda _tenant: config, [], applier)

    def job(n: int) -> ScanJob:
        message_uuid = f"m-{n}"
        tracking.add(
            [
                TrackingRow(
                    tenant_id=TENANT,
                    message_uuid=message_uuid,
                    recipient=RECIPIENT,
                    time=datetime.now(UTC),
                    direction=Direction.INBOUND,
                    sender="alice@sender.example",
                    sender_ip="192.0.2.1",
                    mail_key="m.eml",
                )
            ],
            [],
        )
        return ScanJob(
            tenant_id=TENANT,
            message_uuid=message_uuid,
            direction=Direction.INBOUND,
            mail_key="m.eml",
            sender="alice@sender.example",
            recipients=[RECIPIENT],
            received_at=datetime.now(UTC),
            sender_ip="192.0.2.1",
        )

    return scan, job, tracking


def measure(run: Callable[[int], object], messages: int) -> dict[str, float]:
    run(-1)  # warm caches (compiled keyword lists)
    cpu, wall = time.process_time(), time.perf_counter()
    for n in range(messages):
        run(n)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {
        "cpu_ms_per_message": round(cpu * 1000 / messages, 3),
        "messages_per_s": round(messages / wall, 1),
    }


def stdlib_walk(raw: bytes) -> Callable[[int], object]:
    def run(_: int) -> object:
        parsed = email.message_from_bytes(raw, policy=default)
        return [part.get_payload(decode=True) for part in parsed.walk()]

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=300)
    args = parser.parse_args()
    results: dict[str, object] = {"python": platform.python_version(), "rules": len(rules())}
    for label, size, count in (("10KB", 10 * 1024, args.messages), ("1MB", 1024 * 1024, 30)):
        raw = message(size)
        scan, job, _ = stage(raw)
        results[label] = {
            "bytes": len(raw),
            "stage2": measure(lambda n, scan=scan, job=job: scan.run(job(n)), count),
            "baseline_stdlib_parse": measure(stdlib_walk(raw), count),
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
