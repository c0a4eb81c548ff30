"""The tracking search request: the downstream filters of accepted traffic, refused with a
sentence where they do not apply."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from mailgate.api.models import TrackingSearch
from mailgate.search.tracking import query_of


def test_the_downstream_filters_reach_the_row_filter() -> None:
    request = TrackingSearch.model_validate(
        {
            "direction": "outbound",
            "delivered_to": "198.51.100.",
            "downstream_tls": "TLSv1.3",
            "downstream_dane": "yes",
            "downstream_mta_sts": "no",
        }
    )

    found = query_of("t", request).filter

    assert (found.delivered_to, found.downstream_tls) == ("198.51.100.", "TLSv1.3")
    assert (found.downstream_dane, found.downstream_mta_sts) == ("yes", "no")


@pytest.mark.parametrize(
    ("body", "sentence"),
    [
        ({"type": "blocked", "delivered_to": "198."}, "delivered_to does not apply to blocked"),
        ({"type": "blocked", "downstream_tls": "none"}, "downstream_tls does not apply"),
        (
            {"type": "blocked", "direction": "outbound", "downstream_dane": "no"},
            "downstream_dane does not apply to blocked",
        ),
        ({"downstream_dane": "yes"}, "downstream_dane applies to outbound traffic only"),
        ({"downstream_mta_sts": "no"}, "downstream_mta_sts applies to outbound traffic only"),
        ({"direction": "outbound", "downstream_dane": "maybe"}, "downstream_dane"),
        ({"downstream_tls": "SSLv3"}, "downstream_tls"),
        ({"delivered_to": "1" * 46}, "delivered_to"),
    ],
)
def test_a_downstream_filter_used_wrongly_is_refused(body: dict[str, Any], sentence: str) -> None:
    with pytest.raises(ValidationError) as refused:
        TrackingSearch.model_validate(body)

    assert sentence in str(refused.value)


def test_any_is_accepted_for_every_type_and_direction() -> None:
    for body in (
        {"type": "blocked", "downstream_tls": "any", "downstream_dane": "any"},
        {"direction": "inbound", "downstream_mta_sts": "any"},
    ):
        TrackingSearch.model_validate(body)


def test_the_header_and_attachment_fields_reach_the_row_filter() -> None:
    request = TrackingSearch.model_validate(
        {
            "header_from": ["*@example.com"],
            "header_to": ["john@example.com"],
            "attachments_only": True,
            "attachment_sha256": "AB" * 32,
            "attachment_name": "*.zip",
            "attachment_status": "deleted",
            "password_analysis": "not_decrypted",
        }
    )

    found = query_of("t", request).filter

    assert (found.header_from, found.header_to) == (("*@example.com",), ("john@example.com",))
    attachments = found.attachments
    assert (attachments.required, attachments.sha256, attachments.name) == (
        True,
        "ab" * 32,
        "*.zip",
    )
    assert (attachments.status, attachments.password_analysis) == ("deleted", "not_decrypted")


@pytest.mark.parametrize(
    ("body", "sentence"),
    [
        ({"type": "blocked", "header_from": ["a@b.test"]}, "header_from does not apply to blocked"),
        ({"type": "blocked", "header_to": ["a@b.test"]}, "header_to does not apply to blocked"),
        ({"type": "blocked", "attachments_only": True}, "attachments_only does not apply"),
        ({"type": "blocked", "attachment_name": "*.zip"}, "attachment_name does not apply"),
        ({"attachment_sha256": "ab" * 31}, "a SHA-256 hash is 64 hexadecimal digits"),
        ({"attachment_sha256": "zz" * 32}, "a SHA-256 hash is 64 hexadecimal digits"),
        ({"attachment_name": ""}, "attachment_name"),
        ({"attachment_name": "a" * 256}, "attachment_name"),
        ({"attachment_status": "quarantined"}, "attachment_status"),
        ({"password_analysis": "cracked"}, "password_analysis"),
        ({"header_from": [""]}, "header_from"),
        ({"header_to": ["a@b.test"] * 101}, "header_to"),
        ({"attachments_only": "maybe"}, "attachments_only"),
    ],
)
def test_a_header_or_attachment_field_used_wrongly_is_refused(
    body: dict[str, Any], sentence: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        TrackingSearch.model_validate(body)

    assert sentence in str(refused.value)
