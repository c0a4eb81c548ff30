"""``mailgate.catalog`` against the tables of ``spec/catalog.md``: same codes, same labels."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import pytest

from mailgate import catalog
from mailgate.catalog import Label, Locale

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = REPO_ROOT.parent / "shared" / "spec"
CATALOG_MD = (SPEC_DIR / "catalog.md").read_text(encoding="utf-8")
API_MD = (SPEC_DIR / "api.md").read_text(encoding="utf-8")

Row = dict[str, str]


def section(title: str) -> str:
    """The text under the `## <title>` heading, up to the next `## ` heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", CATALOG_MD, re.M | re.S)
    assert match, f"no section {title!r} in catalog.md"
    return match.group(1)


def clean(cell: str) -> str:
    cell = cell.strip().replace("**", "")
    return "" if cell in {"—", "-"} else cell


def code(cell: str) -> str:
    match = re.search(r"`([^`]+)`", cell)
    assert match, f"no code in {cell!r}"
    return match.group(1)


def header_key(cell: str) -> str:
    return re.sub(r"\s*\(.*\)$", "", clean(cell))


def tables(text: str) -> list[list[Row]]:
    """Every markdown table in `text`, as rows keyed by header (a header's `(...)` note dropped)."""
    found: list[list[Row]] = []
    lines = [line.strip() for line in text.splitlines()]
    i = 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            header = [header_key(c) for c in lines[i].strip("|").split("|")]
            rows: list[Row] = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                cells = [clean(c) for c in lines[i].strip("|").split("|")]
                assert len(cells) == len(header), f"bad row: {lines[i]}"
                rows.append(dict(zip(header, cells, strict=True)))
                i += 1
            found.append(rows)
        else:
            i += 1
    return found


def table(title: str, index: int = 0) -> list[Row]:
    return tables(section(title))[index]


def pairs(cell: str) -> dict[str, str]:
    """`a`: x; `b`: y → {"a": "x", "b": "y"}, without trailing notes such as `(includes "…")`."""
    if not cell:
        return {}
    result: dict[str, str] = {}
    for item in cell.split("; "):
        key, _, value = item.partition(": ")
        result[code(key)] = re.sub(r'\s*\(includes "[^"]*"\)$', "", value).strip()
    return result


def ja_labels(labels: Mapping[str, Label]) -> dict[str, str]:
    return {k: v.ja for k, v in labels.items()}


def assert_english(label: Label) -> None:
    assert label.en.strip() and label.en.isascii(), label


# Directions and log types


def test_directions_and_tracking_types() -> None:
    rows = table("Directions and log types")
    directions = {code(r["code"]): Label(r["en"], r["ja"]) for r in rows if "(" not in r["code"]}
    tracking = {
        code(r["code"]): Label(r["en"], r["ja"]) for r in rows if "tracking type" in r["code"]
    }
    assert len(directions) + len(tracking) == len(rows)
    assert dict(catalog.DIRECTIONS) == directions
    assert dict(catalog.TRACKING_TYPES) == tracking
    assert [str(d) for d in catalog.Direction] == list(directions)
    assert [str(t) for t in catalog.TrackingType] == list(tracking)


# Processing statuses


def test_statuses_match_spec_in_order() -> None:
    rows = table("Processing status of accepted traffic (mail tracking, per recipient)")
    expected = {code(r["code"]): Label(r["en"], r["ja"]) for r in rows}
    spec = {s: label for s, label in catalog.STATUSES.items() if s not in catalog.OWN_STATUSES}
    assert list(spec) == list(expected)
    assert spec == expected
    assert [str(s) for s in catalog.Status if s not in catalog.OWN_STATUSES] == list(expected)


def test_own_statuses_are_labelled_and_not_in_the_spec() -> None:
    rows = table("Processing status of accepted traffic (mail tracking, per recipient)")
    spec_codes = {code(r["code"]) for r in rows}
    assert catalog.Status.DEAD_LETTERED in catalog.OWN_STATUSES
    for status in catalog.OWN_STATUSES:
        assert status.value not in spec_codes
        assert catalog.STATUSES[status].text("en") and catalog.STATUSES[status].text("ja")


def test_final_statuses() -> None:
    S = catalog.Status
    assert {S.DELIVERED, S.BOUNCED, S.EXPIRED, S.DELETED, S.REDIRECTED} == catalog.FINAL_STATUSES


# Block reasons


def test_block_reasons_match_spec_in_order() -> None:
    rows = table("Stage-1 block reasons (blocked traffic)")
    assert len(rows) == 24
    expected = {code(r["code"]): (Label(r["en"], r["ja"]), r["group"] or None) for r in rows}
    actual = {
        str(c): (info.label, info.group and str(info.group))
        for c, info in catalog.BLOCK_REASONS.items()
    }
    assert list(actual) == list(expected)
    assert actual == expected
    assert [str(r) for r in catalog.BlockReason] == list(expected)
    assert {str(g) for g in catalog.BlockReasonGroup} == {g for _, g in expected.values() if g}


# Threat types


def test_threat_types_match_spec_in_order() -> None:
    rows = table("Threat types, subtypes, detection methods (policy events) and CEF `cs1`")
    expected = {
        code(r["threat type code"]): (
            r["ja"],
            code(r["cs1"]),
            pairs(r["subtypes"]),
            pairs(r["detection methods"]),
        )
        for r in rows
    }
    actual = {
        str(t): (info.label.ja, info.cs1, ja_labels(info.subtypes), ja_labels(info.methods))
        for t, info in catalog.THREAT_TYPES.items()
    }
    assert list(actual) == list(expected)
    assert actual == expected
    assert [str(t) for t in catalog.ThreatType] == list(expected)


def test_threat_types_have_english_labels() -> None:
    for info in catalog.THREAT_TYPES.values():
        assert_english(info.label)
        for label in [*info.subtypes.values(), *info.methods.values()]:
            assert_english(label)


# Policy actions, spam levels, default policies


def test_policy_actions_match_spec_in_order() -> None:
    rows = table("Policy actions")
    expected = {code(r["code"]): (r["kind"], r["ja"]) for r in rows}
    actual = {str(a): (str(i.kind), i.label.ja) for a, i in catalog.POLICY_ACTIONS.items()}
    assert list(actual) == list(expected)
    assert actual == expected
    assert [str(a) for a in catalog.PolicyAction] == list(expected)
    for info in catalog.POLICY_ACTIONS.values():
        assert_english(info.label)


def test_spam_levels_match_spec_in_order() -> None:
    rows = table("Spam detection levels")
    expected = {code(r["code"]): (r["ja"], float(r["threshold"])) for r in rows}
    actual = {str(s): (i.label.ja, i.threshold) for s, i in catalog.SPAM_LEVELS.items()}
    assert list(actual) == list(expected)
    assert actual == expected
    assert [str(s) for s in catalog.SpamLevel] == list(expected)
    for info in catalog.SPAM_LEVELS.values():
        assert_english(info.label)


def test_spam_result_string_reproduces_spec_examples() -> None:
    text = section("Spam detection levels")
    examples = re.findall(r"`(1[01]-[^`]+)` \((not spam|spam)\)", text)
    assert len(examples) == 2
    for example, verdict in examples:
        parts = re.fullmatch(r"1([01])-(-?[\d.]+)-([\d.]+)", example)
        assert parts
        flag, score, threshold = parts.groups()
        assert catalog.spam_result_string(float(score), float(threshold)) == example
        assert (flag == "1") == (verdict == "spam")


def test_spam_result_string_needs_score_above_threshold() -> None:
    assert catalog.spam_result_string(7.0, 7.0) == "10-7.000000-7.000000"
    assert catalog.spam_result_string(7.000001, 7.0) == "11-7.000001-7.000000"


def test_default_policies_match_spec() -> None:
    rows = table("Spam detection levels", 1)
    flags = {"yes": True, "always": True, "no": False}
    expected = [
        (
            r["direction"],
            r["name"],
            r["condition"],
            r["level"],
            flags[r["enabled"]],
            r["action"].split()[0],
            flags[r["editable"]],
        )
        for r in rows
    ]
    actual = [
        (
            str(p.direction),
            p.name,
            str(p.condition),
            str(p.level or ""),
            p.enabled,
            str(p.action),
            p.editable,
        )
        for p in catalog.DEFAULT_POLICIES
    ]
    assert actual == expected
    always = [r["name"] for r in rows if r["enabled"] == "always"]
    assert always == [p.name for p in catalog.DEFAULT_POLICIES if not p.editable]


def test_engine_failure_rule_matches_spec() -> None:
    text = " ".join(section("Spam detection levels").split())
    event = re.search(r"a `(\w+)` / `(\w+)` policy event records why", text)
    assert event
    threat, subtype = catalog.ENGINE_FAILURE_EVENT
    assert (str(threat), subtype) == event.groups()
    assert subtype in catalog.THREAT_TYPES[threat].subtypes
    assert "virus-engine failure it is quarantined (fail closed" in text
    assert "spam-engine failure it goes on without a spam verdict (fail open)" in text
    assert catalog.ENGINE_FAILURE_ACTIONS == {
        catalog.ThreatType.MALWARE: catalog.PolicyAction.QUARANTINE,
        catalog.ThreatType.SPAM: catalog.PolicyAction.NONE,
    }


# Display rules


def test_recipient_separator_and_not_available() -> None:
    text = section("Display rules (seed 001)")
    joined = re.search(r"\(ja: `([^`]+)`; en: `([^`]+)`\)", text)
    absent = re.search(r"shows `([^`]+)` / `([^`]+)` when the header is absent", text)
    assert joined and absent
    assert Label(joined.group(2), joined.group(1)) == catalog.RECIPIENT_SEPARATOR
    assert Label(absent.group(2), absent.group(1)) == catalog.NOT_AVAILABLE


# Search and export limits


def limit(what: str) -> str:
    rows = {r["what"]: r["value"] for r in table("Search and export limits")}
    return rows[what]


def number(text: str, pattern: str) -> int:
    match = re.search(pattern, text)
    assert match, (pattern, text)
    return int(match.group(1).replace(",", ""))


def preset(code: str) -> timedelta:
    amount, unit = int(code[:-1]), code[-1]
    return timedelta(hours=amount) if unit == "h" else timedelta(days=amount)


def test_retention_and_ranges() -> None:
    retention = limit("retention of tracking and policy-event logs")
    assert timedelta(days=number(retention, r"(\d+) days")) == catalog.RETENTION
    presets = re.findall(r"`([^`]+)`", limit("period presets"))
    assert {p: preset(p) for p in presets} == dict(catalog.PERIOD_PRESETS)
    assert list(catalog.PERIOD_PRESETS) == presets
    custom = limit("custom range")
    assert timedelta(days=number(custom, r"at most (\d+) days")) == catalog.CUSTOM_RANGE_MAX


def test_page_sizes() -> None:
    assert number(limit("rows per page"), r"at most ([\d,]+)") == catalog.MAX_PAGE_SIZE
    paging = re.search(r"`limit` 1\.\.(\d+) \(default (\d+)\)", API_MD)
    assert paging
    assert int(paging.group(1)) == catalog.MAX_PAGE_SIZE
    assert int(paging.group(2)) == catalog.DEFAULT_PAGE_SIZE


def test_export_all_limits() -> None:
    export_all = limit('"export all"')
    assert number(export_all, r"at most ([\d,]+) rows") == catalog.EXPORT_ALL_MAX_ROWS
    assert number(export_all, r"at most (\d+) per tenant") == catalog.EXPORTS_PER_DAY


def test_quota_message() -> None:
    match = re.fullmatch(r"ja: `([^`]+)` en: `([^`]+)`", limit("quota message"))
    assert match
    assert Label(match.group(2), match.group(1)) == catalog.EXPORT_QUOTA_MESSAGE


def test_export_statuses() -> None:
    value = limit("export task status")
    codes = re.findall(r"`([^`]+)`", value)
    assert [str(s) for s in catalog.ExportStatus] == codes
    assert list(catalog.EXPORT_STATUSES) == codes
    given_ja = dict(re.findall(r"`([^`]+)` \(([^,)]+)", value))
    for status, label in catalog.EXPORT_STATUSES.items():
        assert label.ja == given_ja.get(status, label.ja)
        assert_english(label)
        assert label.ja


def test_selected_rows_csv_names() -> None:
    names = re.findall(r"`([^`]+)`", limit("selected-rows CSV names"))
    csvs = [catalog.ACCEPTED_CSV, catalog.BLOCKED_CSV, catalog.EVENTS_CSV]
    assert [c.file_name for c in csvs] == names


# CSV columns


def prose_columns(text: str, lead: str) -> tuple[str, list[Label]]:
    """`Lead (`file.csv`): 日時 Date, 種類 Type, …` → file name and labels."""
    match = re.search(rf"^{re.escape(lead)} \(`([^`]+)`\): (.*?)(?:\n\n|\Z)", text, re.M | re.S)
    assert match, lead
    items = " ".join(match.group(2).split()).rstrip(".").split(", ")
    return match.group(1), [Label(*reversed(item.split(" ", 1))) for item in items]


@pytest.mark.parametrize(
    ("lead", "csv"),
    [
        ("Blocked traffic", catalog.BLOCKED_CSV),
        ("Policy events", catalog.EVENTS_CSV),
    ],
)
def test_prose_csv_columns(lead: str, csv: catalog.CsvFile) -> None:
    file_name, columns = prose_columns(section("CSV export columns (in this order)"), lead)
    assert csv.file_name == file_name
    assert list(csv.columns) == columns


def test_accepted_csv_columns() -> None:
    text = section("CSV export columns (in this order)")
    file_name = re.search(r"^Accepted traffic \(`([^`]+)`\):", text, re.M)
    assert file_name
    assert catalog.ACCEPTED_CSV.file_name == file_name.group(1)
    columns = [Label(r["en"], r["ja"]) for r in tables(text)[0]]
    assert list(catalog.ACCEPTED_CSV.columns) == columns


# The helpers


@pytest.mark.parametrize("locale", ["en", "ja"])
def test_label_methods(locale: Locale) -> None:
    for d, label in catalog.DIRECTIONS.items():
        assert d.label(locale) == label.text(locale)
    for t, label in catalog.TRACKING_TYPES.items():
        assert t.label(locale) == label.text(locale)
    for s, label in catalog.STATUSES.items():
        assert s.label(locale) == label.text(locale)
    for e, label in catalog.EXPORT_STATUSES.items():
        assert e.label(locale) == label.text(locale)
    for r, reason in catalog.BLOCK_REASONS.items():
        assert r.label(locale) == reason.label.text(locale)
    for tt, threat in catalog.THREAT_TYPES.items():
        assert tt.label(locale) == threat.label.text(locale)
    for a, action in catalog.POLICY_ACTIONS.items():
        assert a.label(locale) == action.label.text(locale)
    for sl, level in catalog.SPAM_LEVELS.items():
        assert sl.label(locale) == level.label.text(locale)


def test_label_text_picks_the_locale() -> None:
    assert catalog.BlockReason.SENDER_IP_QIL.label("ja") == "送信者のIPをQILで検出"
    assert catalog.BlockReason.SENDER_IP_QIL.label("en") == "Sender IP found in QIL"
