"""A tenant's stage-2 policy rules: what each rule applies to, looks for and does.

Rules are part of the tenant's configuration (``TenantConfig.policies``), validated as a whole
and written in one versioned write. Each direction keeps its rules in the tenant's order; the
engine runs them by category in the catalog's order (virus → spam → content filter → DLP), the
tenant's order inside a category.
"""

from __future__ import annotations

import re
import uuid
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from mailgate.catalog import (
    DEFAULT_POLICIES,
    SPF_RESULTS,
    THREAT_TYPES,
    DefaultPolicy,
    Direction,
    PolicyAction,
    SpamLevel,
    ThreatType,
)
from mailgate.config_fields import AddressPattern, MailServer
from mailgate.policy import keywords
from mailgate.policy.dlp import DlpTemplate

MAX_RULES = 50  # per direction
MAX_CONDITIONS = 20
MAX_VALUES = 1000  # names, types, addresses of one condition or action
_ADDRESS_RE = re.compile(r"^[^\s<>()\[\],;:\\\"@]{1,64}@[a-z0-9.-]{1,253}$", re.IGNORECASE)


def _address(value: str) -> str:
    address = value.strip()
    if not _ADDRESS_RE.match(address):
        raise ValueError(f"'{value}' is not an e-mail address")
    return address


Address = Annotated[str, AfterValidator(_address)]


class RuleCategory(StrEnum):
    DOMAIN_AUTH = "domain_auth"  # inbound, from the domain_auth settings (mailgate/domain_auth)
    VIRUS = "virus"
    SPAM = "spam"
    CONTENT = "content"
    DLP = "dlp"


CATEGORY_ORDER = tuple(RuleCategory)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scope(_Strict):
    """Whom a rule applies to: the envelope sender and recipients (``*`` wildcards); an empty
    list means anyone. A rule applies to a message when the sender is in scope and at least one
    recipient is, neither excepted."""

    senders: list[AddressPattern] = Field(default_factory=list, max_length=MAX_VALUES)
    recipients: list[AddressPattern] = Field(default_factory=list, max_length=MAX_VALUES)
    except_senders: list[AddressPattern] = Field(default_factory=list, max_length=MAX_VALUES)
    except_recipients: list[AddressPattern] = Field(default_factory=list, max_length=MAX_VALUES)


class Keywords(_Strict):
    """Literal keywords, or regular expressions when ``regex``; case-insensitive."""

    values: list[str] = Field(min_length=1, max_length=MAX_VALUES)
    regex: bool = False

    @model_validator(mode="after")
    def _valid(self) -> Keywords:
        keywords.validate(self.values, self.regex)
        return self

    def as_list(self) -> keywords.KeywordList:
        return keywords.KeywordList(tuple(self.values), self.regex)

    @cached_property
    def matcher(self) -> keywords.Matcher:
        """The compiled list, found once per rule instead of once per message and text."""
        return keywords.matcher(self.as_list())


# Conditions: each names what it looks at; the engine's condition units read the message
# model and the evidence and do no I/O.


class ThreatCondition(_Strict):
    """A detection by an engine (spam, malware, phishing, …) as evidence producers report it."""

    type: Literal["threat"] = "threat"
    threat: ThreatType
    level: SpamLevel | None = None  # spam only: detected when the score exceeds its threshold
    subtypes: list[str] = Field(default_factory=list, max_length=20)  # empty: any
    methods: list[str] = Field(default_factory=list, max_length=20)  # empty: any
    # domain_auth only: the SPF results the finding must report (empty: any).
    results: list[str] = Field(default_factory=list, max_length=len(SPF_RESULTS))

    @model_validator(mode="after")
    def _known(self) -> ThreatCondition:
        info = THREAT_TYPES[self.threat]
        for subtype in self.subtypes:
            if subtype not in info.subtypes:
                raise ValueError(f"'{subtype}' is not a subtype of {self.threat}")
        for method in self.methods:
            if method not in info.methods:
                raise ValueError(f"'{method}' is not a detection method of {self.threat}")
        for result in self.results:
            if self.threat is not ThreatType.DOMAIN_AUTH or result not in SPF_RESULTS:
                raise ValueError(f"'{result}' is not an SPF result of a domain_auth condition")
        if (self.level is None) != (self.threat is not ThreatType.SPAM):
            raise ValueError("a spam condition needs a level, and only a spam condition has one")
        return self


class SenderEmpty(_Strict):
    type: Literal["sender_empty"] = "sender_empty"


class FromDiffersFromSender(_Strict):
    type: Literal["from_differs_from_sender"] = "from_differs_from_sender"


class FromDiffersFromReplyTo(_Strict):
    type: Literal["from_differs_from_reply_to"] = "from_differs_from_reply_to"


class HeaderKeywords(_Strict):
    type: Literal["header_keywords"] = "header_keywords"
    header: str = Field(pattern=r"^[!-9;-~]{1,76}$")  # an RFC 5322 field name
    keywords: Keywords


class SubjectKeywords(_Strict):
    type: Literal["subject_keywords"] = "subject_keywords"
    keywords: Keywords


class SubjectEmpty(_Strict):
    type: Literal["subject_empty"] = "subject_empty"


class BodyKeywords(_Strict):
    type: Literal["body_keywords"] = "body_keywords"
    keywords: Keywords


class BodyEmpty(_Strict):
    type: Literal["body_empty"] = "body_empty"


class AttachmentKeywords(_Strict):
    type: Literal["attachment_keywords"] = "attachment_keywords"
    keywords: Keywords


class AttachmentActiveContent(_Strict):
    type: Literal["attachment_active_content"] = "attachment_active_content"


class RecipientCount(_Strict):
    type: Literal["recipient_count"] = "recipient_count"
    over: int = Field(50, ge=0, le=100_000)


class MessageSize(_Strict):
    type: Literal["message_size"] = "message_size"
    over_bytes: int = Field(10 * 1024 * 1024, ge=0)


class AttachmentName(_Strict):
    """File names with ``*`` wildcards (``invoice*.pdf``), or extensions (``exe``, ``.exe``)."""

    type: Literal["attachment_name"] = "attachment_name"
    names: list[str] = Field(min_length=1, max_length=MAX_VALUES)


class AttachmentMimeType(_Strict):
    """Declared MIME types (``application/zip``, ``image/*``)."""

    type: Literal["attachment_mime_type"] = "attachment_mime_type"
    mime_types: list[Annotated[str, Field(pattern=r"^[a-z0-9.+-]+/(\*|[a-z0-9.+-]+)$")]] = Field(
        min_length=1, max_length=MAX_VALUES
    )


class AttachmentTrueType(_Strict):
    """True file types from the content's magic bytes, as extensions (``exe``, ``zip``)."""

    type: Literal["attachment_true_type"] = "attachment_true_type"
    extensions: list[Annotated[str, Field(pattern=r"^[a-z0-9]{1,10}$")]] = Field(
        min_length=1, max_length=MAX_VALUES
    )


class AttachmentSize(_Strict):
    type: Literal["attachment_size"] = "attachment_size"
    over_bytes: int = Field(5 * 1024 * 1024, ge=0)


class AttachmentCount(_Strict):
    type: Literal["attachment_count"] = "attachment_count"
    over: int = Field(20, ge=0, le=100_000)


class AttachmentPasswordProtected(_Strict):
    type: Literal["attachment_password_protected"] = "attachment_password_protected"


class Dlp(_Strict):
    """Sensitive data in the subject, body or attachments: at least ``threshold`` validated
    matches of the templates together."""

    type: Literal["dlp"] = "dlp"
    templates: list[DlpTemplate] = Field(min_length=1, max_length=len(DlpTemplate))
    threshold: int = Field(1, ge=1, le=10_000)


Condition = Annotated[
    ThreatCondition
    | SenderEmpty
    | FromDiffersFromSender
    | FromDiffersFromReplyTo
    | HeaderKeywords
    | SubjectKeywords
    | SubjectEmpty
    | BodyKeywords
    | BodyEmpty
    | AttachmentKeywords
    | AttachmentActiveContent
    | RecipientCount
    | MessageSize
    | AttachmentName
    | AttachmentMimeType
    | AttachmentTrueType
    | AttachmentSize
    | AttachmentCount
    | AttachmentPasswordProtected
    | Dlp,
    Field(discriminator="type"),
]


# Actions: one intercept, any modifications, any monitoring.


class NoIntercept(_Strict):
    action: Literal[PolicyAction.NONE] = PolicyAction.NONE


class Delete(_Strict):
    action: Literal[PolicyAction.DELETE] = PolicyAction.DELETE


class QuarantineIt(_Strict):
    action: Literal[PolicyAction.QUARANTINE] = PolicyAction.QUARANTINE


class ChangeRecipient(_Strict):
    action: Literal[PolicyAction.CHANGE_RECIPIENT] = PolicyAction.CHANGE_RECIPIENT
    recipients: list[Address] = Field(min_length=1, max_length=100)


class DeliverNow(_Strict):
    action: Literal[PolicyAction.DELIVER_NOW] = PolicyAction.DELIVER_NOW
    server: MailServer


Intercept = Annotated[
    NoIntercept | Delete | QuarantineIt | ChangeRecipient | DeliverNow,
    Field(discriminator="action"),
]

NotifyTarget = Literal["%SENDER%", "%RCPTS%"] | Address


class Notification(_Strict):
    """A message about the detection; ``%SENDER%``, ``%RCPTS%``, ``%SUBJECT%`` and
    ``%RULENAME%`` in the subject and body are replaced (``%RCPTS%`` hides Bcc recipients)."""

    to: list[NotifyTarget] = Field(min_length=1, max_length=20)
    subject: str = Field("[mailgate] %RULENAME%: message from %SENDER%", max_length=500)
    body: str = Field(
        "The rule %RULENAME% matched a message from %SENDER% to %RCPTS% "
        "with the subject %SUBJECT%.",
        max_length=10_000,
    )


class Actions(_Strict):
    intercept: Intercept = Field(default_factory=NoIntercept)
    tag_subject: str | None = Field(None, min_length=1, max_length=100)
    stamp: str | None = Field(None, min_length=1, max_length=5000)
    strip_attachments: bool = False  # the attachments the rule's conditions matched
    notify: list[Notification] = Field(default_factory=list, max_length=5)
    bcc: list[Address] = Field(default_factory=list, max_length=10)


class RuleInput(_Strict):
    """A rule as a tenant writes it (the id and editability are the service's)."""

    name: str = Field(min_length=1, max_length=100)
    category: RuleCategory
    enabled: bool = True
    scope: Scope = Field(default_factory=Scope)
    match: Literal["any", "all"] = "any"
    # No condition: the rule matches every message in scope and writes no policy event.
    conditions: list[Condition] = Field(default_factory=list, max_length=MAX_CONDITIONS)
    actions: Actions = Field(default_factory=Actions)


class Rule(RuleInput):
    id: str = Field(pattern=r"^[a-z0-9-]{1,64}$")
    editable: bool = True  # False: the rule is always on and cannot be changed or deleted

    @classmethod
    def create(cls, rule: RuleInput, rule_id: str | None = None) -> Rule:
        return cls(id=rule_id or uuid.uuid4().hex, **rule.model_dump())


def _default_rule(policy: DefaultPolicy) -> Rule:
    slug = re.sub(r"[^a-z0-9]+", "-", policy.name.lower()).strip("-")
    category = (
        RuleCategory.SPAM if policy.condition.threat is ThreatType.SPAM else RuleCategory.VIRUS
    )
    intercept: NoIntercept | QuarantineIt = (
        QuarantineIt() if policy.action is PolicyAction.QUARANTINE else NoIntercept()
    )
    condition = ThreatCondition(
        threat=policy.condition.threat,
        level=policy.level,
        methods=sorted(policy.condition.methods),
    )
    return Rule(
        id=f"default-{policy.direction}-{slug}",
        name=policy.name,
        category=category,
        enabled=policy.enabled,
        editable=policy.editable,
        conditions=[condition],
        actions=Actions(intercept=intercept),
    )


def default_rules(direction: Direction) -> list[Rule]:
    return [_default_rule(p) for p in DEFAULT_POLICIES if p.direction is direction]


class Policies(_Strict):
    inbound: list[Rule] = Field(
        default_factory=lambda: default_rules(Direction.INBOUND), max_length=MAX_RULES
    )
    outbound: list[Rule] = Field(
        default_factory=lambda: default_rules(Direction.OUTBOUND), max_length=MAX_RULES
    )

    @model_validator(mode="after")
    def _consistent(self) -> Policies:
        for direction in Direction:
            rules = self.rules(direction)
            ids = [rule.id for rule in rules]
            names = [rule.name.casefold() for rule in rules]
            for seen, what in ((ids, "id"), (names, "name")):
                twice = next((value for value in seen if seen.count(value) > 1), None)
                if twice is not None:
                    raise ValueError(f"{direction}: two rules have the {what} '{twice}'")
            for rule in rules:
                if rule.category is RuleCategory.DOMAIN_AUTH:
                    raise ValueError(
                        f"rule '{rule.name}': domain-based authentication is set in the "
                        "domain_auth section of the configuration"
                    )
                if direction is Direction.OUTBOUND and any(
                    isinstance(c, SenderEmpty) for c in rule.conditions
                ):
                    raise ValueError(
                        f"outbound rule '{rule.name}': 'sender is empty' applies to inbound "
                        "mail only"
                    )
                if not rule.editable and not rule.enabled:
                    raise ValueError(f"the rule '{rule.name}' is always enabled")
        return self

    def rules(self, direction: Direction) -> list[Rule]:
        return self.inbound if direction is Direction.INBOUND else self.outbound

    def in_evaluation_order(self, direction: Direction) -> list[Rule]:
        """The rules by category in the catalog's order, the tenant's order within one; the
        disabled ones too, so a release can find its place after a rule since disabled."""
        return sorted(self.rules(direction), key=lambda rule: CATEGORY_ORDER.index(rule.category))
