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
