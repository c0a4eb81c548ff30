"""A tenant's policy rules through the API: list, create, replace, delete and order the rules
of one direction. Each change is one versioned write of the configuration (never half-applied);
the rule that is not editable answers 403."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from pydantic import BaseModel, Field

from functions.query.config_service import ConfigService
from mailgate.api.errors import BadRequest, Forbidden, NotFound
from mailgate.catalog import Direction
from mailgate.policy.rules import CATEGORY_ORDER, Rule, RuleInput
from mailgate.tenant_config import TenantConfig


class PolicyList(BaseModel):
    version: int
    direction: Direction
    rules: list[Rule] = Field(description="in the tenant's order")
    evaluation_order: list[str] = Field(
        description="the ids of the enabled rules in the order stage 2 runs them: by category "
        "(virus, spam, content, dlp), the tenant's order within one"
    )


class RuleDocument(BaseModel):
    version: int
    rule: Rule


class RuleOrder(BaseModel):
    rule_ids: list[str] = Field(
        description="every rule id of the direction, once, in the order stage 2 runs them: "
        "grouped by category (virus, spam, content, dlp), the tenant's order within one"
    )


def _listing(direction: Direction, config: TenantConfig, version: int) -> PolicyList:
    policies = config.policies
    return PolicyList(
        version=version,
        direction=direction,
        rules=policies.rules(direction),
        evaluation_order=[r.id for r in policies.in_evaluation_order(direction) if r.enabled],
    )


def _find(rules: list[Rule], rule_id: str) -> int:
    for index, rule in enumerate(rules):
        if rule.id == rule_id:
            return index
    raise NotFound("rule_not_found", f"There is no rule {rule_id} in this direction.")


def _fixed(rule: Rule) -> Forbidden:
    return Forbidden(
        "rule_not_editable",
        f"The rule '{rule.name}' is always on and cannot be changed or deleted.",
    )


class PolicyService:
    def __init__(self, config: ConfigService) -> None:
        self._config = config

    def list(self, tenant_id: str, direction: Direction) -> PolicyList:
        document = self._config.get(tenant_id)
        return _listing(direction, document.config, document.version)

    def create(self, tenant_id: str, direction: Direction, rule: RuleInput) -> RuleDocument:
        created = Rule.create(rule)

        def change(config: TenantConfig) -> dict[str, Any]:
            return _with_rules(config, direction, [*_rules(config, direction), created])

        document = self._config.modify(tenant_id, change)
        return RuleDocument(version=document.version, rule=created)

    def replace(
        self, tenant_id: str, direction: Direction, rule_id: str, rule: RuleInput
    ) -> RuleDocument:
        replaced = Rule.create(rule, rule_id)

        def change(config: TenantConfig) -> dict[str, Any]:
            rules = _rules(config, direction)
            index = _find(rules, rule_id)
            if not rules[index].editable:
                raise _fixed(rules[index])
            rules[index] = replaced
            return _with_rules(config, direction, rules)

        document = self._config.modify(tenant_id, change)
        return RuleDocument(version=document.version, rule=replaced)

    def delete(self, tenant_id: str, direction: Direction, rule_id: str) -> PolicyList:
        def change(config: TenantConfig) -> dict[str, Any]:
            rules = _rules(config, direction)
            index = _find(rules, rule_id)
            if not rules[index].editable:
                raise _fixed(rules[index])
            del rules[index]
            return _with_rules(config, direction, rules)

        document = self._config.modify(tenant_id, change)
        return _listing(direction, document.config, document.version)

    def order(self, tenant_id: str, direction: Direction, order: RuleOrder) -> PolicyList:
        def change(config: TenantConfig) -> dict[str, Any]:
            rules = {rule.id: rule for rule in _rules(config, direction)}
            if sorted(order.rule_ids) != sorted(rules):
                raise BadRequest(
                    "invalid_order",
                    "rule_ids must list every rule of the direction exactly once; read them "
                    f"with GET /v1/policies/{direction}.",
                )
            ordered = [rules[i] for i in order.rule_ids]
            _refuse_mixed_categories(ordered)
            return _with_rules(config, direction, ordered)

        document = self._config.modify(tenant_id, change)
        return _listing(direction, document.config, document.version)


def _refuse_mixed_categories(rules: list[Rule]) -> None:
    """Stage 2 runs the rules category by category, so an order that puts a rule before one
    of an earlier category would say one thing and run another."""
    for before, after in pairwise(rules):
        if CATEGORY_ORDER.index(after.category) < CATEGORY_ORDER.index(before.category):
            raise BadRequest(
                "invalid_order",
                f"rule_ids: '{after.name}' ({after.category}) cannot come after "
                f"'{before.name}' ({before.category}); stage 2 runs the rules by category "
                "(virus, spam, content, dlp), so they can be reordered only within one.",
            )


def _rules(config: TenantConfig, direction: Direction) -> list[Rule]:
    return list(config.policies.rules(direction))


def _with_rules(config: TenantConfig, direction: Direction, rules: list[Rule]) -> dict[str, Any]:
    data = config.model_dump(mode="json")
    data["policies"][direction.value] = [rule.model_dump(mode="json") for rule in rules]
    return data
