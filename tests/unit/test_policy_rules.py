"""Policy rules: the defaults of a new tenant, validation, and the rule API's service."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from functions.query.config_service import ConfigService
from functions.query.policy_service import PolicyService, RuleOrder
from mailgate.api.errors import ApiError
from mailgate.catalog import DEFAULT_POLICIES, Direction
from mailgate.policy import rules as r
from mailgate.tenant_config import TenantConfig
from tests.support.fakes import FakeConfigStore

TENANT = "acme"
GLOBAL_OUTBOUND = "default-outbound-global-outbound-policy-spam-or-phish"


def test_a_new_tenant_has_the_default_policies_of_the_catalog() -> None:
    policies = TenantConfig().policies
    for default in DEFAULT_POLICIES:
        (found,) = [x for x in policies.rules(default.direction) if x.name == default.name]
        (condition,) = found.conditions
        assert isinstance(condition, r.ThreatCondition)
        assert condition.threat is default.condition.threat
        assert condition.level == default.level
        assert (found.enabled, found.editable) == (default.enabled, default.editable)
        assert found.actions.intercept.action is default.action


def test_evaluation_order_is_by_category_then_the_tenants_order() -> None:
    inbound = TenantConfig().policies.in_evaluation_order(Direction.INBOUND)
    assert [x.category for x in inbound] == ["virus", "spam", "spam"]
    assert [x.name for x in inbound[1:]] == ["Spam or Phish", "Newsletter or spam-like"]


@pytest.mark.parametrize(
    ("condition", "sentence"),
    [
        ({"type": "threat", "threat": "spam"}, "needs a level"),
        ({"type": "threat", "threat": "malware", "level": "high"}, "only a spam condition"),
        ({"type": "threat", "threat": "graymail", "subtypes": ["bogus"]}, "not a subtype"),
        ({"type": "threat", "threat": "malware", "methods": ["sandbox"]}, "detection method"),
        ({"type": "attachment_true_type", "extensions": ["EXE!"]}, "pattern"),
        ({"type": "subject_keywords", "keywords": {"values": []}}, "at least 1"),
        ({"type": "no_such_condition"}, "does not match any of the expected tags"),
    ],
)
def test_invalid_conditions_are_refused_with_a_sentence(
    condition: dict[str, Any], sentence: str
) -> None:
    with pytest.raises(ValidationError) as error:
        r.RuleInput.model_validate({"name": "x", "category": "content", "conditions": [condition]})
    assert sentence in str(error.value)


def test_two_rules_of_one_direction_cannot_share_a_name() -> None:
    rule = r.Rule(id="a", name="Same", category=r.RuleCategory.CONTENT)
    with pytest.raises(ValidationError, match="two rules have the name"):
        r.Policies(inbound=[rule, rule.model_copy(update={"id": "b", "name": "same"})])


def test_sender_empty_is_an_inbound_condition_only() -> None:
    rule = r.Rule(
        id="a", name="Bounce", category=r.RuleCategory.CONTENT, conditions=[r.SenderEmpty()]
    )
    with pytest.raises(ValidationError, match="inbound mail only"):
        r.Policies(outbound=[rule])


@pytest.fixture
def service() -> tuple[PolicyService, FakeConfigStore]:
    store = FakeConfigStore()
    return PolicyService(ConfigService(store)), store


def content_rule(name: str = "Block exe") -> r.RuleInput:
    return r.RuleInput(
        name=name,
        category=r.RuleCategory.CONTENT,
        conditions=[r.AttachmentTrueType(extensions=["exe"])],
        actions=r.Actions(intercept=r.QuarantineIt(), tag_subject="[exe]"),
    )


def test_create_replace_order_and_delete_a_rule(
    service: tuple[PolicyService, FakeConfigStore],
) -> None:
    policies, store = service
    created = policies.create(TENANT, Direction.INBOUND, content_rule())
    assert created.version == 1
    listing = policies.list(TENANT, Direction.INBOUND)
    assert listing.rules[-1].id == created.rule.id
    assert listing.evaluation_order[-1] == created.rule.id  # content after virus and spam

    replaced = policies.replace(
        TENANT, Direction.INBOUND, created.rule.id, content_rule("Block executables")
    )
    assert replaced.rule.id == created.rule.id and replaced.version == 2

    spam = [x.id for x in listing.rules if x.category is r.RuleCategory.SPAM]
    virus = [x.id for x in listing.rules if x.category is r.RuleCategory.VIRUS]
    ids = [*virus, *spam[::-1], created.rule.id]
    reordered = policies.order(TENANT, Direction.INBOUND, RuleOrder(rule_ids=ids))
    assert [x.id for x in reordered.rules] == ids
    assert reordered.evaluation_order == [x.id for x in reordered.rules if x.enabled]

    remaining = policies.delete(TENANT, Direction.INBOUND, created.rule.id)
    assert created.rule.id not in [x.id for x in remaining.rules]
    assert store.configs[TENANT][1] == 4


def raised(error: pytest.ExceptionInfo[ApiError]) -> tuple[int, str]:
    return error.value.status, error.value.code


def test_the_global_outbound_rule_cannot_be_changed_or_deleted(
    service: tuple[PolicyService, FakeConfigStore],
) -> None:
    policies, store = service
    with pytest.raises(ApiError) as error:
        policies.delete(TENANT, Direction.OUTBOUND, GLOBAL_OUTBOUND)
    assert raised(error) == (403, "rule_not_editable")
    with pytest.raises(ApiError) as error:
        policies.replace(TENANT, Direction.OUTBOUND, GLOBAL_OUTBOUND, content_rule())
    assert raised(error) == (403, "rule_not_editable")
    config = ConfigService(store)
    without = TenantConfig().model_dump(mode="json")
    without["policies"]["outbound"] = [
        x for x in without["policies"]["outbound"] if x["id"] != GLOBAL_OUTBOUND
    ]
    with pytest.raises(ApiError) as error:
        config.replace(TENANT, without, version=0)
    assert raised(error) == (403, "rule_not_editable")
    assert store.writes == []


def test_order_must_list_every_rule_once(service: tuple[PolicyService, FakeConfigStore]) -> None:
    policies, _ = service
    ids = [x.id for x in policies.list(TENANT, Direction.INBOUND).rules]
    for wrong in (ids[:-1], [*ids, ids[0]], [*ids[:-1], "nope"]):
        with pytest.raises(ApiError) as error:
            policies.order(TENANT, Direction.INBOUND, RuleOrder(rule_ids=wrong))
        assert raised(error) == (400, "invalid_order")


def test_order_refuses_a_rule_before_one_of_an_earlier_category(
    service: tuple[PolicyService, FakeConfigStore],
) -> None:
    policies, store = service
    created = policies.create(TENANT, Direction.INBOUND, content_rule())
    by_category = policies.list(TENANT, Direction.INBOUND).evaluation_order
    content_first = [created.rule.id, *[i for i in by_category if i != created.rule.id]]
    with pytest.raises(ApiError) as error:
        policies.order(TENANT, Direction.INBOUND, RuleOrder(rule_ids=content_first))
    assert raised(error) == (400, "invalid_order")
    assert "cannot come after 'Block exe'" in error.value.message
    assert store.configs[TENANT][1] == 1  # nothing written


def test_an_unknown_rule_is_404(service: tuple[PolicyService, FakeConfigStore]) -> None:
    policies, _ = service
    with pytest.raises(ApiError) as error:
        policies.delete(TENANT, Direction.INBOUND, "nope")
    assert raised(error) == (404, "rule_not_found")
