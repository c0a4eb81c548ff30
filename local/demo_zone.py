"""DNS records of the local demo: the demo tenant's domain, a sending domain whose server is
this machine (with forward-confirmed reverse DNS for 127.0.0.1), and a recipient domain for
outbound mail. Served by ``mailgate up`` when no resolvers are configured."""

from __future__ import annotations

DEMO_ZONE: dict[tuple[str, str], list[str]] = {
    ("example.com", "MX"): ["10 mx.example.com."],
    ("mx.example.com", "A"): ["127.0.0.1"],
    ("sender.test", "MX"): ["10 mail.sender.test."],
    ("mail.sender.test", "A"): ["127.0.0.1"],
    ("1.0.0.127.in-addr.arpa", "PTR"): ["mail.sender.test."],
    ("recipient.test", "MX"): ["10 mx.recipient.test."],
    ("mx.recipient.test", "A"): ["127.0.0.1"],
}
