"""The settings forms are built from the API's schemas: every field and condition they can show
has a label in both languages, so a form never falls back to the API's own field name."""

from __future__ import annotations

import json
from typing import Any

from local import console_messages
from mailgate.api.openapi import DOCUMENT_PATH

SCHEMAS: dict[str, Any] = json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))["components"][
    "schemas"
]
UI = json.loads(console_messages.MESSAGES_PATH.read_text(encoding="utf-8"))["ui"]
TAGS = {"type", "action"}  # a variant's tag: its select is labelled by the variants


def _walk(schema: Any, names: set[str], variants: set[str], seen: set[str]) -> None:
    """Collects the field names and variant tags of ``schema`` and all it refers to."""
    if isinstance(schema, list):
        for item in schema:
            _walk(item, names, variants, seen)
    elif isinstance(schema, dict):
        ref = schema.get("$ref", "").split("/")[-1]
        if ref and ref not in seen:
            seen.add(ref)
            _walk(SCHEMAS[ref], names, variants, seen)
        names |= set(schema.get("properties", {})) - TAGS
        variants |= set(schema.get("discriminator", {}).get("mapping", {}))
        _walk(
            list(schema.values()) + list(schema.get("properties", {}).values()),
            names,
            variants,
            seen,
        )


def test_every_field_and_variant_of_the_forms_has_a_label_in_both_languages() -> None:
    names: set[str] = set()
    variants: set[str] = set()
    sections = {k: v for k, v in SCHEMAS["TenantConfig"]["properties"].items() if k != "policies"}
    _walk([*sections.values(), {"$ref": "#/components/schemas/RuleInput"}], names, variants, set())
    assert {"window_s", "over_bytes", "tag_subject", "enforced_domains"} <= names
    assert {"header_keywords", "dlp", "deliver_now"} <= variants
    keys = [f"prop.{n}" for n in names] + [f"variant.{v}" for v in variants]
    missing = [k for k in sorted(keys) if not (UI.get(k, {}).get("en") and UI.get(k, {}).get("ja"))]
    assert missing == []
