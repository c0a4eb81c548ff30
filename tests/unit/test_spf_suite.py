"""The RFC 7208 test suite (pyspf's ``rfc7208-tests.yml``, vendored with its licence under
tests/fixtures/spf) run against our SPF evaluation, its zone data served by a loopback DNS
server and read through the resolver we configure — the same path production takes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rrset
import pytest
import yaml

from functions.scan.evidence.auth import spf
from mailgate.dns import resolver
from tests.support.dns_server import LoopbackDns

SUITE = Path(__file__).parent.parent / "fixtures" / "spf" / "rfc7208-tests.yml"
# Reached on this implementation (of 203 cases); a change that loses a case makes this test
# fail. Of the three others, two need what this zone server cannot serve (a time-out of one
# record type only, a name with spaces); in the third a PTR name's CNAME loop is reported by
# the resolver as an error (temperror, where the suite wants the name skipped).
PASSING_AT_LEAST = 200


def _txt(strings: list[str]) -> str:
    def quoted(data: bytes) -> str:
        out = []
        for byte in data:
            char = chr(byte)
            if char in '"\\':
                out.append("\\" + char)
            elif 32 <= byte < 127:
                out.append(char)
            else:
                out.append(f"\\{byte:03d}")
        return '"' + "".join(out) + '"'

    # A character-string holds at most 255 bytes: a longer one goes out as several.
    chunks = [
        data[i : i + 255] or b""
        for data in (s.encode("utf-8") for s in strings)
        for i in range(0, max(len(data), 1), 255)
    ]
    return " ".join(quoted(chunk) for chunk in chunks)


def _valid(name: str) -> bool:
    try:
        dns.name.from_text(name)
    except Exception:
        return False
    return bool(name) and ".." not in name


class SuiteDns(LoopbackDns):
    """Follows CNAMEs in its own zone, and knows names whose records are all ``NONE``."""

    def __init__(
        self, zone: dict[tuple[str, str], list[str]], names: set[str], silent: set[str]
    ) -> None:
        super().__init__(zone, silent=silent)
        self._names |= {n.lower().rstrip(".") + "." for n in names}

    def _answer(self, wire: bytes) -> bytes | None:
        query = dns.message.from_wire(wire)
        question = query.question[0]
        name = question.name.to_text().lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        if rdtype == "CNAME" or (name, "CNAME") not in self._zone or name in self._silent:
            return super()._answer(wire)
        response = dns.message.make_response(query)
        seen: set[str] = set()
        while (name, "CNAME") in self._zone and name not in seen and rdtype != "CNAME":
            seen.add(name)
            (target,) = self._zone[(name, "CNAME")]
            response.answer.append(
                dns.rrset.from_text(name, 60, dns.rdataclass.IN, "CNAME", target)
            )
            name = target.lower().rstrip(".") + "."
        if (name, rdtype) in self._zone:
            response.answer.append(
                dns.rrset.from_text(
                    name, 60, dns.rdataclass.IN, rdtype, *self._zone[(name, rdtype)]
                )
            )
        elif name not in self._names and name not in seen:
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response.to_wire()


def _zone(
    data: dict[str, list[Any]],
) -> tuple[dict[tuple[str, str], list[str]], set[str], set[str]]:
    zone: dict[tuple[str, str], list[str]] = {}
    names: set[str] = set()
    silent: set[str] = set()
    for name, records in data.items():
        if not _valid(name):
            continue
        names.add(name)
        has_txt = any(isinstance(r, dict) and "TXT" in r for r in records)
        for record in records:
            if record == "TIMEOUT":
                silent.add(name)
                continue
            ((rdtype, value),) = record.items()
            if value in ("NONE", ["NONE"], []):  # [] a TXT record of no strings: not servable
                continue
            if rdtype in ("TXT", "SPF"):
                text = _txt(value if isinstance(value, list) else [value])
                zone.setdefault((name, rdtype), []).append(text)
                if rdtype == "SPF" and not has_txt:
                    zone.setdefault((name, "TXT"), []).append(text)
            elif rdtype == "MX":
                preference, host = value
                zone.setdefault((name, "MX"), []).append(f"{preference} {host}.")
            elif rdtype in ("PTR", "CNAME"):
                zone.setdefault((name, rdtype), []).append(value.rstrip(".") + ".")
            else:
                zone.setdefault((name, rdtype), []).append(str(value))
    return zone, names, silent


def _cases() -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    with SUITE.open("rb") as stream:
        for scenario in yaml.safe_load_all(stream):
            for case_id, case in scenario["tests"].items():
                yield case_id, case, scenario["zonedata"]


def _outcome(case: dict[str, Any], zonedata: dict[str, list[Any]]) -> str:
    zone, names, silent = _zone(zonedata)
    with SuiteDns(zone, names, silent) as server:
        res = resolver([server.address], timeout=0.15)
        return spf.check(case["host"], case["mailfrom"], case["helo"], res, timeout=2.0).result


def test_the_rfc7208_suite_passes_at_least_as_often_as_it_did() -> None:
    failures: list[str] = []
    passed = 0
    for case_id, case, zonedata in _cases():
        expected = case["result"] if isinstance(case["result"], list) else [case["result"]]
        got = _outcome(case, zonedata)
        if got in expected:
            passed += 1
        else:
            failures.append(f"{case_id}: {got} not in {expected}")
    assert passed >= PASSING_AT_LEAST, "\n".join(failures)


@pytest.mark.parametrize(
    ("zonedata", "expected"),
    [
        ({"e.test": [{"TXT": "v=spf1 -all"}]}, "fail"),
        ({"e.test": [{"TXT": "v=spf1 ip4:192.0.2.1 -all"}]}, "pass"),
        ({"e.test": ["TIMEOUT"]}, "temperror"),
    ],
)
def test_the_suite_server_answers_as_its_zone_says(
    zonedata: dict[str, list[Any]], expected: str
) -> None:
    case = {"host": "192.0.2.1", "mailfrom": "a@e.test", "helo": "mx.e.test"}
    assert _outcome(case, zonedata) == expected
