"""The graymail producer: mail a recipient asked for, in bulk — newsletters and marketing,
social network and forum notifications, other bulk mail — told from the headers bulk senders
write (RFC 2369 List-*, RFC 8058 one-click unsubscribe, Precedence, Feedback-ID, the marks of
email service providers) and from known notification senders.

Seed 003 is an incident of graymail false positives, so one mark is never enough: a category
needs the sender's kind (a social network, forum software) plus a bulk mark, or two bulk marks.
An automatic reply is never graymail.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from functions.scan.evidence.known_domains import (
    ESP_DOMAINS,
    ESP_HEADERS,
    ESP_MAILERS,
    FORUM_HEADERS,
    FORUM_MAILERS,
    FORUMS,
    SOCIAL_NETWORKS,
    domain_of,
    within,
)
from functions.scan.evidence.mime.model import Message
from functions.scan.evidence.verdicts import Envelope, Finding, Verdict
from mailgate.catalog import ThreatType

ENGINE = "graymail classifier"


@dataclass
class _Marks:
    bulk: list[str] = field(default_factory=list)  # marks any bulk sender leaves
    esp: str = ""  # the email service provider seen
    social: str = ""  # the social network that sent it
    forum: str = ""  # the forum software or service that sent it
    one_click: bool = False


def _first(message: Message, name: str) -> str:
    values = message.header_values(name)
    return values[0].strip() if values else ""


def _marks(message: Message, envelope: Envelope) -> _Marks:
    marks = _Marks()
    names = {key.lower() for key, _ in message.headers}
    unsubscribe = _first(message, "List-Unsubscribe").lower()
    if "<mailto:" in unsubscribe or "<http" in unsubscribe:
        marks.bulk.append("List-Unsubscribe")
        post = _first(message, "List-Unsubscribe-Post").lower().replace(" ", "")
        marks.one_click = post == "list-unsubscribe=one-click"
    precedence = _first(message, "Precedence").lower()
    if precedence in ("bulk", "list", "junk"):
        marks.bulk.append(f"Precedence: {precedence}")
    for header in ("Feedback-ID", "List-Id"):
        if header.lower() in names:
            marks.bulk.append(header)
    mailer = f"{_first(message, 'X-Mailer')} {_first(message, 'User-Agent')}".lower()
    esp_header = next((h for h in ESP_HEADERS if h in names), "")
    if esp_header:
        marks.esp = f"{ESP_HEADERS[esp_header]} ({esp_header})"
    elif bounce := within(domain_of(envelope.sender), ESP_DOMAINS):
        marks.esp = f"sent through {bounce}"
    elif word := next((w for w in ESP_MAILERS if w in mailer), ""):
        marks.esp = f"X-Mailer {word}"
    if marks.esp:
        marks.bulk.append(marks.esp)
    senders = [domain_of(box.address) for box in message.from_] + [domain_of(envelope.sender)]
    marks.social = next((s for d in senders if (s := within(d, SOCIAL_NETWORKS))), "")
    list_id = _first(message, "List-Id").lower().strip("<> ")
    forum_header = next((h for h in FORUM_HEADERS for n in names if n.startswith(h)), "")
    forum_mailer = next((w for w in FORUM_MAILERS if w in mailer.split()), "")
    forum_domain = next((f for d in [*senders, list_id] if (f := within(d, FORUMS))), "")
    if forum_header or forum_mailer:
        marks.forum = forum_header or f"X-Mailer {forum_mailer}"
    elif forum_domain and marks.bulk:
        marks.forum = forum_domain
    return marks


def _automatic_reply(message: Message) -> bool:
    auto = _first(message, "Auto-Submitted").lower()
    return auto.startswith("auto-replied") or bool(message.header_values("X-Autoreply"))


def classify(message: Message, envelope: Envelope) -> Finding | None:
    """The graymail category of the message, with the marks that decided it; None for
    personal or transactional mail."""
    if _automatic_reply(message):
        return None
    marks = _marks(message, envelope)
    if marks.social and marks.bulk:
        subtype, evidence = "social_network", [marks.social, *marks.bulk]
    elif marks.forum:
        subtype, evidence = "forum", [marks.forum, *marks.bulk]
    elif "List-Unsubscribe" in marks.bulk and (
        marks.esp or marks.one_click or "Feedback-ID" in marks.bulk
    ):
        one_click = ["one-click unsubscribe"] if marks.one_click else []
        subtype, evidence = "marketing", [*marks.bulk, *one_click]
    elif len(marks.bulk) >= 2:
        subtype, evidence = "bulk", marks.bulk
    else:
        return None
    summary = "; ".join(dict.fromkeys(evidence))
    return Finding(ThreatType.GRAYMAIL, subtype, name=summary, details={"evidence": summary})


class Graymail:
    threats = frozenset({ThreatType.GRAYMAIL})

    def examine(self, raw: bytes, message: Message, envelope: Envelope) -> Verdict:
        finding = classify(message, envelope)
        return Verdict(ENGINE, self.threats, (finding,) if finding else ())
