"""What a saved or recent search keeps of the request, and when two searches are the same."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mailgate.api.models import SaveQuery, TrackingSearch
from mailgate.search.saved import body_digest, name_key, stored_body


def test_the_stored_body_keeps_what_differs_from_the_defaults_and_drops_the_cursor() -> None:
    request = TrackingSearch.model_validate(
        {"direction": "inbound", "period": "7d", "senders": ["*@x.test"], "cursor": "abc"}
    )

    assert stored_body(request) == {"period": "7d", "senders": ["*@x.test"]}
    assert TrackingSearch.model_validate(stored_body(request)).period == "7d"


def test_the_same_search_has_one_digest_whatever_the_order_or_defaults_given() -> None:
    first = stored_body(TrackingSearch.model_validate({"subject": "a", "period": "1h"}))
    again = stored_body(
        TrackingSearch.model_validate({"period": "1h", "sort": "desc", "subject": "a"})
    )
    other = stored_body(TrackingSearch.model_validate({"period": "1h", "subject": "b"}))

    assert body_digest(first) == body_digest(again) != body_digest(other)


def test_names_are_trimmed_and_compared_without_case() -> None:
    saved = SaveQuery.model_validate({"name": "  Weekly BOUNCES ", "body": {}})

    assert saved.name == "Weekly BOUNCES"
    assert name_key(saved.name) == name_key("weekly bounces")


@pytest.mark.parametrize("name", ["", "   ", "tab\there", "line\nbreak", "x" * 101])
def test_a_name_that_is_not_one_short_line_is_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        SaveQuery.model_validate({"name": name, "body": {}})
