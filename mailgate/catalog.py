"""The product's fixed vocabularies: codes and their English/Japanese labels.

Mirrors ``spec/catalog.md``; ``tests/unit/test_catalog.py`` checks the two agree. Where the spec
gives no English label, the English here is ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Literal

from mailgate.resources import RETENTION_DAYS

Locale = Literal["en", "ja"]


@dataclass(frozen=True)
class Label:
    en: str
    ja: str

    def text(self, locale: Locale) -> str:
        return self.ja if locale == "ja" else self.en


# Directions and log types


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"

    def label(self, locale: Locale) -> str:
        return DIRECTIONS[self].text(locale)


DIRECTIONS: Mapping[Direction, Label] = {
    Direction.INBOUND: Label("Inbound", "受信"),
    Direction.OUTBOUND: Label("Outbound", "送信"),
}


class TrackingType(StrEnum):
    ACCEPTED = "accepted"
    BLOCKED = "blocked"

    def label(self, locale: Locale) -> str:
        return TRACKING_TYPES[self].text(locale)


TRACKING_TYPES: Mapping[TrackingType, Label] = {
    TrackingType.ACCEPTED: Label("Scanned traffic", "検索されたトラフィック"),
    TrackingType.BLOCKED: Label("Blocked traffic", "ブロックされたトラフィック"),
}


# Processing status of accepted traffic (per recipient; the latest wins)


class Status(StrEnum):
    PROCESSING = "processing"
    DELIVERED = "delivered"
    BOUNCED = "bounced"
    TEMPORARY_ERROR = "temporary_error"
    EXPIRED = "expired"
    DELETED = "deleted"
    QUARANTINED = "quarantined"
    REDIRECTED = "redirected"
    SANDBOX = "sandbox"
    PASSWORD_ANALYSIS = "password_analysis"  # noqa: S105 (a status, not a secret)
    DEAD_LETTERED = "dead_lettered"  # ours, beyond catalog.md: see OWN_STATUSES

    def label(self, locale: Locale) -> str:
        return STATUSES[self].text(locale)


STATUSES: Mapping[Status, Label] = {
    Status.PROCESSING: Label("Processing", "処理中"),
    Status.DELIVERED: Label("Delivered", "配信済み"),
    Status.BOUNCED: Label("Bounced", "返送済み"),
    Status.TEMPORARY_ERROR: Label("Temporary delivery error", "一時的な配信エラー"),
    Status.EXPIRED: Label("Expired", "期限切れ"),
    Status.DELETED: Label("Deleted", "削除済み"),
    Status.QUARANTINED: Label("Quarantined", "隔離済み"),
    Status.REDIRECTED: Label("Redirected", "リダイレクト済み"),
    Status.SANDBOX: Label("Submitted to sandbox", "サンドボックスに送信済み"),
    Status.PASSWORD_ANALYSIS: Label("Password analysis in progress", "パスワード解析中"),
    Status.DEAD_LETTERED: Label("Held for an operator", "運用者の対応待ち"),
}
# Statuses of the project beyond catalog.md (whose codes are kept as they are). dead_lettered:
# the job of a stage failed every run for a reason of ours, not the destination's, and waits in
# the stage's dead-letter queue until an operator redrives it (docs/records.md).
OWN_STATUSES: frozenset[Status] = frozenset({Status.DEAD_LETTERED})

# Delivery is over for these; the others may still move on (a quarantined message can be
# released, a temporary error retried).
FINAL_STATUSES: frozenset[Status] = frozenset(
    {Status.DELIVERED, Status.BOUNCED, Status.EXPIRED, Status.DELETED, Status.REDIRECTED}
)


# Stage-1 block reasons (blocked traffic)


class BlockReasonGroup(StrEnum):
    SENDER_IP = "sender_ip"
    SENDER = "sender"
    RECIPIENT = "recipient"
    RATE_LIMIT = "rate_limit"


class BlockReason(StrEnum):
    SENDER_IP_QIL = "sender_ip_qil"
    SENDER_IP_KSSL = "sender_ip_kssl"
    SENDER_IP_DUL = "sender_ip_dul"
    SENDER_IP_ETL = "sender_ip_etl"
    SENDER_IP_BLOCKLIST = "sender_ip_blocklist"
    RECIPIENT_INVALID = "recipient_invalid"
    SENDER_IP_NOT_ALLOWED = "sender_ip_not_allowed"
    SENDER_DOMAIN_NOT_FOUND = "sender_domain_not_found"
    RECIPIENT_DOMAIN_NOT_FOUND = "recipient_domain_not_found"
    TLS_NOT_AVAILABLE = "tls_not_available"
    MESSAGE_TOO_BIG = "message_too_big"
    RATE_LIMIT_COUNT_IP = "rate_limit_count_ip"
    RATE_LIMIT_COUNT_ADDRESS = "rate_limit_count_address"
    RATE_LIMIT_SIZE_IP = "rate_limit_size_ip"
    RATE_LIMIT_SIZE_ADDRESS = "rate_limit_size_address"
    RATE_LIMIT_SIZE_DOMAIN = "rate_limit_size_domain"
    RECIPIENT_BLOCKED = "recipient_blocked"
    SENDER_IP_BLOCKED = "sender_ip_blocked"
    SENDER_BLOCKED = "sender_blocked"
    POLICY_MATCHING_ERROR = "policy_matching_error"
    SENDER_DOMAIN_MALFORMED = "sender_domain_malformed"
    RECIPIENT_DOMAIN_MALFORMED = "recipient_domain_malformed"
    REVERSE_DNS_FAILED = "reverse_dns_failed"
    OTHER = "other"

    def label(self, locale: Locale) -> str:
        return BLOCK_REASONS[self].label.text(locale)


@dataclass(frozen=True)
class BlockReasonInfo:
    label: Label  # en is also the REST API's `reason`
    group: BlockReasonGroup | None  # heading in the search form; None: listed on its own


_G = BlockReasonGroup
BLOCK_REASONS: Mapping[BlockReason, BlockReasonInfo] = {
    BlockReason.SENDER_IP_QIL: BlockReasonInfo(
        Label("Sender IP found in QIL", "送信者のIPをQILで検出"), _G.SENDER_IP
    ),
    BlockReason.SENDER_IP_KSSL: BlockReasonInfo(
        Label("Sender IP found in KSSL", "送信者のIPをKSSLで検出"), _G.SENDER_IP
    ),
    BlockReason.SENDER_IP_DUL: BlockReasonInfo(
        Label("Sender IP found in DUL", "送信者のIPをDULで検出"), _G.SENDER_IP
    ),
    BlockReason.SENDER_IP_ETL: BlockReasonInfo(
        Label("Sender IP found in ETL", "送信者のIPをETLで検出"), _G.SENDER_IP
    ),
    BlockReason.SENDER_IP_BLOCKLIST: BlockReasonInfo(
        Label("Sender IP found in block list", "送信者のIPをブロックリストで検出"), _G.SENDER_IP
    ),
    BlockReason.RECIPIENT_INVALID: BlockReasonInfo(
        Label("Recipient invalid", "無効な受信者"), _G.RECIPIENT
    ),
    BlockReason.SENDER_IP_NOT_ALLOWED: BlockReasonInfo(
        Label("Sender IP not allowed", "許可されない送信者のIP"), _G.SENDER_IP
    ),
    BlockReason.SENDER_DOMAIN_NOT_FOUND: BlockReasonInfo(
        Label("Sender domain not found", "不明な送信者ドメイン"), _G.SENDER
    ),
    BlockReason.RECIPIENT_DOMAIN_NOT_FOUND: BlockReasonInfo(
        Label("Recipient domain not found", "不明な受信者ドメイン"), _G.RECIPIENT
    ),
    BlockReason.TLS_NOT_AVAILABLE: BlockReasonInfo(Label("TLS not available", "TLS利用不可"), None),
    BlockReason.MESSAGE_TOO_BIG: BlockReasonInfo(
        Label("Message too big", "メッセージサイズの上限超過"), None
    ),
    BlockReason.RATE_LIMIT_COUNT_IP: BlockReasonInfo(
        Label(
            "Rate limit exceeded - message count (by IP address)",
            "上限超過 - メッセージ数 (IPアドレス別)",
        ),
        _G.RATE_LIMIT,
    ),
    BlockReason.RATE_LIMIT_COUNT_ADDRESS: BlockReasonInfo(
        Label(
            "Rate limit exceeded - message count (by email address)",
            "上限超過 - メッセージ数 (メールアドレス別)",
        ),
        _G.RATE_LIMIT,
    ),
    BlockReason.RATE_LIMIT_SIZE_IP: BlockReasonInfo(
        Label(
            "Rate limit exceeded - data size (by IP address)",
            "上限超過 - データサイズ (IPアドレス別)",
        ),
        _G.RATE_LIMIT,
    ),
    BlockReason.RATE_LIMIT_SIZE_ADDRESS: BlockReasonInfo(
        Label(
            "Rate limit exceeded - data size (by email address)",
            "上限超過 - データサイズ (メールアドレス別)",
        ),
        _G.RATE_LIMIT,
    ),
    BlockReason.RATE_LIMIT_SIZE_DOMAIN: BlockReasonInfo(
        Label(
            "Rate limit exceeded - data size (by domain)",
            "上限超過 - データサイズ (ドメイン別)",
        ),
        _G.RATE_LIMIT,
    ),
    BlockReason.RECIPIENT_BLOCKED: BlockReasonInfo(
        Label("Recipient blocked", "受信者のブロック"), _G.RECIPIENT
    ),
    BlockReason.SENDER_IP_BLOCKED: BlockReasonInfo(
        Label("Sender IP blocked", "送信者IPのブロック"), _G.SENDER_IP
    ),
    BlockReason.SENDER_BLOCKED: BlockReasonInfo(
        Label("Sender blocked", "ブロック済み送信者"), _G.SENDER
    ),
    BlockReason.POLICY_MATCHING_ERROR: BlockReasonInfo(
        Label("Policy matching error", "ポリシー不一致エラー"), None
    ),
    BlockReason.SENDER_DOMAIN_MALFORMED: BlockReasonInfo(
        Label("Sender domain malformed", "不正な形式の送信者ドメイン"), _G.SENDER
    ),
    BlockReason.RECIPIENT_DOMAIN_MALFORMED: BlockReasonInfo(
        Label("Recipient domain malformed", "不正な形式の受信者ドメイン"), _G.RECIPIENT
    ),
    BlockReason.REVERSE_DNS_FAILED: BlockReasonInfo(
        Label("Reverse DNS validation failed", "逆引きDNS検証に失敗"), None
    ),
    BlockReason.OTHER: BlockReasonInfo(Label("Other", "その他"), None),
}


# Threat types, their subtypes and detection methods (policy events), CEF `cs1`


class ThreatType(StrEnum):
    DOMAIN_AUTH = "domain_auth"
    RANSOMWARE = "ransomware"
    TARGETED_ATTACK = "targeted_attack"
    MALWARE = "malware"
    SUSPICIOUS_OBJECT = "suspicious_object"
    SCAN_EXCLUSION = "scan_exclusion"
    SPAM = "spam"
    BEC = "bec"
    PHISHING = "phishing"
    GRAYMAIL = "graymail"
    WEB_REPUTATION = "web_reputation"
    CONTENT = "content"
    ATTACHMENT = "attachment"
    DLP = "dlp"

    def label(self, locale: Locale) -> str:
        return THREAT_TYPES[self].label.text(locale)


@dataclass(frozen=True)
class ThreatTypeInfo:
    label: Label
    cs1: str
    subtypes: Mapping[str, Label] = field(default_factory=dict)
    methods: Mapping[str, Label] = field(default_factory=dict)


THREAT_TYPES: Mapping[ThreatType, ThreatTypeInfo] = {
    ThreatType.DOMAIN_AUTH: ThreatTypeInfo(
        Label("Domain-based authentication", "ドメインベース認証"),
        cs1="anti_spoof",
        subtypes={
            "sender_ip_match": Label("Sender IP match", "送信者IP照合"),
            "spf": Label("SPF", "SPF"),
            "dkim": Label("DKIM", "DKIM"),
            "dmarc_spf": Label("DMARC - SPF", "DMARC - SPF"),
            "dmarc_dkim": Label("DMARC - DKIM", "DMARC - DKIM"),
            "dmarc_alignment": Label("DMARC - Alignment", "DMARC - アライメント"),
            "dmarc_availability": Label("DMARC - Availability", "DMARC - 可用性"),
        },
    ),
    ThreatType.RANSOMWARE: ThreatTypeInfo(
        Label("Ransomware", "ランサムウェア"),
        cs1="ransomware",
        methods={
            "web_reputation": Label("Detected by Web Reputation", "Webレピュテーションで検出"),
            "pattern": Label(
                "Detected by pattern-based scan", "パターンファイルに基づく検索で検出"
            ),
            "machine_learning": Label("Detected by machine learning", "機械学習型検索で検出"),
            "sandbox": Label("Detected by sandbox", "仮想アナライザで検出"),
            "antispam": Label("Detected by anti-spam", "スパムメール対策で検出"),
        },
    ),
    ThreatType.TARGETED_ATTACK: ThreatTypeInfo(
        Label("Targeted attack", "標的型サイバー攻撃"),
        cs1="apt",
        subtypes={
            "analyzed_threat_file": Label(
                "Analyzed advanced threat (file)", "解析済みの高度な脅威 (ファイル)"
            ),
            "analyzed_threat_url": Label(
                "Analyzed advanced threat (URL)", "解析済みの高度な脅威 (URL)"
            ),
            "probable_threat": Label("Probable advanced threat", "高度な脅威の可能性"),
        },
    ),
    ThreatType.MALWARE: ThreatTypeInfo(
        Label("Malware", "不正プログラム"),
        cs1="virus",
        methods={
            "machine_learning": Label("Machine learning scan", "機械学習型検索"),
            "pattern": Label("Pattern-based scan", "パターンファイルに基づく検索"),
        },
    ),
    ThreatType.SUSPICIOUS_OBJECT: ThreatTypeInfo(
        Label("Suspicious object", "不審オブジェクト"),
        cs1="ctd",
        subtypes={
            "suspicious_file": Label("Suspicious file", "不審ファイル"),
            "suspicious_url": Label("Suspicious URL", "不審URL"),
        },
    ),
    ThreatType.SCAN_EXCLUSION: ThreatTypeInfo(
        Label("Scan exclusion", "検索除外"),
        cs1="scan_limitation",
        subtypes={
            "sandbox_exclusion": Label("Sandbox scan exclusion", "仮想アナライザの検索除外"),
            "sandbox_quota_exclusion": Label(
                "Sandbox submission quota exclusion", "仮想アナライザの送信割り当ての除外"
            ),
            "password_protected": Label(
                "Password-protected attachment", "パスワード保護された添付ファイル"
            ),
            # Also used when a scan engine returns an error.
            "other_exclusion": Label("Other exclusion", "その他の除外"),
        },
    ),
    ThreatType.SPAM: ThreatTypeInfo(Label("Spam", "スパムメール"), cs1="spam"),
    ThreatType.BEC: ThreatTypeInfo(
        Label("Business email compromise (BEC)", "ビジネスメール詐欺 (BEC)"),
        cs1="bec",
        methods={
            "antispam_engine": Label(
                "Detected by anti-spam engine", "スパムメール対策エンジンで検出"
            ),
            "writing_style": Label(
                "Detected by writing style analysis", "ライティングスタイル分析で検出"
            ),
            "antispam_engine_probable": Label(
                "Judged probable by anti-spam engine",
                "スパムメール対策エンジンで可能性ありと判定",
            ),
        },
    ),
    ThreatType.PHISHING: ThreatTypeInfo(Label("Phishing", "フィッシング"), cs1="phishing"),
    ThreatType.GRAYMAIL: ThreatTypeInfo(
        Label("Graymail", "グレーメール"),
        cs1="graymail",
        subtypes={
            "marketing": Label(
                "Marketing messages and newsletters", "マーケティングメッセージとニュースレター"
            ),
            "social_network": Label("Social network notifications", "ソーシャルネットワーク通知"),
            "forum": Label("Forum notifications", "フォーラム通知"),
            "bulk": Label("Bulk email messages", "バルクメールメッセージ"),
        },
    ),
    ThreatType.WEB_REPUTATION: ThreatTypeInfo(
        Label("Web Reputation", "Webレピュテーション"), cs1="web_reputation"
    ),
    ThreatType.CONTENT: ThreatTypeInfo(Label("Content", "コンテンツ"), cs1="content"),
    ThreatType.ATTACHMENT: ThreatTypeInfo(Label("Attachment", "添付ファイル"), cs1="attachment"),
    ThreatType.DLP: ThreatTypeInfo(Label("Data loss prevention", "情報漏えい対策"), cs1="dlp"),
}


# Policy actions (stage 2)


class ActionKind(StrEnum):
    INTERCEPT = "intercept"
    MODIFY = "modify"
    MONITOR = "monitor"


class PolicyAction(StrEnum):
    DELETE = "delete"
    QUARANTINE = "quarantine"
    CHANGE_RECIPIENT = "change_recipient"
    DELIVER_NOW = "deliver_now"
    NONE = "none"
    TAG_SUBJECT = "tag_subject"
    STAMP = "stamp"
    STRIP_ATTACHMENTS = "strip_attachments"
    NOTIFY = "notify"
    BCC = "bcc"

    def label(self, locale: Locale) -> str:
        return POLICY_ACTIONS[self].label.text(locale)


@dataclass(frozen=True)
class PolicyActionInfo:
    kind: ActionKind
    label: Label


POLICY_ACTIONS: Mapping[PolicyAction, PolicyActionInfo] = {
    PolicyAction.DELETE: PolicyActionInfo(
        ActionKind.INTERCEPT, Label("Delete entire message", "メッセージ全体を削除")
    ),
    PolicyAction.QUARANTINE: PolicyActionInfo(ActionKind.INTERCEPT, Label("Quarantine", "隔離")),
    PolicyAction.CHANGE_RECIPIENT: PolicyActionInfo(
        ActionKind.INTERCEPT, Label("Change recipient", "受信者を変更")
    ),
    PolicyAction.DELIVER_NOW: PolicyActionInfo(
        ActionKind.INTERCEPT, Label("Deliver now", "今すぐ配信")
    ),
    PolicyAction.NONE: PolicyActionInfo(
        ActionKind.INTERCEPT, Label("Do not intercept", "メッセージをインターセプトしない")
    ),
    PolicyAction.TAG_SUBJECT: PolicyActionInfo(
        ActionKind.MODIFY, Label("Tag subject", "件名にタグを挿入")
    ),
    PolicyAction.STAMP: PolicyActionInfo(
        ActionKind.MODIFY, Label("Insert stamp", "スタンプを挿入")
    ),
    PolicyAction.STRIP_ATTACHMENTS: PolicyActionInfo(
        ActionKind.MODIFY, Label("Delete attachments", "添付ファイルを削除")
    ),
    PolicyAction.NOTIFY: PolicyActionInfo(
        ActionKind.MONITOR, Label("Send notification", "通知送信")
    ),
    PolicyAction.BCC: PolicyActionInfo(ActionKind.MONITOR, Label("BCC", "BCC")),
}


# Spam detection levels: detected when the score exceeds the level's threshold


class SpamLevel(StrEnum):
    LOW = "low"
    MEDIUM_LOW = "medium_low"
    MEDIUM_HIGH = "medium_high"
    HIGH = "high"
    HIGHEST = "highest"

    def label(self, locale: Locale) -> str:
        return SPAM_LEVELS[self].label.text(locale)


@dataclass(frozen=True)
class SpamLevelInfo:
    label: Label
    threshold: float


SPAM_LEVELS: Mapping[SpamLevel, SpamLevelInfo] = {
    SpamLevel.LOW: SpamLevelInfo(Label("Low", "低"), 8.0),
    SpamLevel.MEDIUM_LOW: SpamLevelInfo(Label("Medium-low", "中低"), 7.0),
    SpamLevel.MEDIUM_HIGH: SpamLevelInfo(Label("Medium-high", "中高"), 5.0),
    SpamLevel.HIGH: SpamLevelInfo(Label("High", "高"), 4.5),
    SpamLevel.HIGHEST: SpamLevelInfo(Label("Highest", "最高"), 4.0),
}


# Domain-based authentication: the SPF results of RFC 7208 (a tenant acts on each its own way).
SPF_RESULTS = ("pass", "fail", "softfail", "neutral", "none", "temperror", "permerror")


def spam_result_string(score: float, threshold: float) -> str:
    return f"1{int(score > threshold)}-{score:.6f}-{threshold:.6f}"


@dataclass(frozen=True)
class PolicyCondition:
    """What a rule looks for: a threat type, and for types with detection methods, which ones.

    An empty ``methods`` means any detection method of the threat type.
    """

    threat: ThreatType
    methods: frozenset[str] = frozenset()

    def __str__(self) -> str:
        if not THREAT_TYPES[self.threat].methods:
            return str(self.threat)
        named = ", ".join(sorted(self.methods)) or "any detection method"
        return f"{self.threat} ({named})"


@dataclass(frozen=True)
class DefaultPolicy:
    direction: Direction
    name: str
    condition: PolicyCondition
    level: SpamLevel | None  # spam rules only
    enabled: bool
    action: PolicyAction
    editable: bool  # False: always enabled, cannot be changed


_SPAM = PolicyCondition(ThreatType.SPAM)
_MALWARE = PolicyCondition(ThreatType.MALWARE)

DEFAULT_POLICIES: tuple[DefaultPolicy, ...] = (
    DefaultPolicy(
        Direction.INBOUND,
        "Spam or Phish",
        _SPAM,
        SpamLevel.MEDIUM_LOW,
        enabled=True,
        action=PolicyAction.QUARANTINE,
        editable=True,
    ),
    DefaultPolicy(
        Direction.INBOUND,
        "Newsletter or spam-like",
        _SPAM,
        SpamLevel.MEDIUM_HIGH,
        enabled=True,
        action=PolicyAction.QUARANTINE,
        editable=True,
    ),
    DefaultPolicy(
        Direction.OUTBOUND,
        "Global Outbound Policy (Spam or Phish)",
        _SPAM,
        SpamLevel.HIGHEST,
        enabled=True,
        action=PolicyAction.NONE,
        editable=False,
    ),
    DefaultPolicy(
        Direction.OUTBOUND,
        "Outbound - Spam or Phish",
        _SPAM,
        SpamLevel.MEDIUM_LOW,
        enabled=False,
        action=PolicyAction.QUARANTINE,
        editable=True,
    ),
    DefaultPolicy(
        Direction.INBOUND,
        "Virus",
        _MALWARE,
        None,
        enabled=True,
        action=PolicyAction.QUARANTINE,
        editable=True,
    ),
    DefaultPolicy(
        Direction.OUTBOUND,
        "Outbound - Virus",
        _MALWARE,
        None,
        enabled=True,
        action=PolicyAction.QUARANTINE,
        editable=True,
    ),
)


# An engine that gives no verdict (down, timeout, error answer, a limit reached): after retries
# the message goes on with a scan_exclusion/other_exclusion event and this action — fail closed
# for the virus engine, fail open for the spam engine.
ENGINE_FAILURE_EVENT = (ThreatType.SCAN_EXCLUSION, "other_exclusion")
ENGINE_FAILURE_ACTIONS: Mapping[ThreatType, PolicyAction] = {
    ThreatType.MALWARE: PolicyAction.QUARANTINE,
    ThreatType.SPAM: PolicyAction.NONE,
}


# Display

RECIPIENT_SEPARATOR = Label(", ", "、")  # policy events: one row per message
NOT_AVAILABLE = Label("N/A", "該当なし")  # e.g. Reply-To when the header is absent


# Search and export limits

RETENTION = timedelta(days=RETENTION_DAYS)
PERIOD_PRESETS: Mapping[str, timedelta] = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "14d": timedelta(days=14),
    "30d": timedelta(days=30),
}
CUSTOM_RANGE_MAX = timedelta(days=60)
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100
EXPORT_ALL_MAX_ROWS = 50_000
EXPORTS_PER_DAY = 5  # per tenant and UTC day
EXPORT_QUOTA_MESSAGE = Label(
    f"You can export all queried logs up to {EXPORTS_PER_DAY} times per day.",
    f"クエリが実行されたすべてのログを1日あたり最大{EXPORTS_PER_DAY}回エクスポートできます。",
)


class ExportStatus(StrEnum):
    PROCESSING = "processing"
    COMPLETE = "complete"
    FAILED = "failed"

    def label(self, locale: Locale) -> str:
        return EXPORT_STATUSES[self].text(locale)


EXPORT_STATUSES: Mapping[ExportStatus, Label] = {
    ExportStatus.PROCESSING: Label("Processing...", "処理しています..."),
    ExportStatus.COMPLETE: Label("Complete", "完了"),
    ExportStatus.FAILED: Label("Failed", "失敗"),
}


# CSV exports: file name of a selected-rows export, and the columns in order


@dataclass(frozen=True)
class CsvFile:
    file_name: str
    columns: tuple[Label, ...]


ACCEPTED_CSV = CsvFile(
    "tracking_log_accepted.csv",
    (
        Label("Date", "日時"),
        Label("Type", "種類"),
        Label("Direction", "方向"),
        Label("Sender", "送信者"),
        Label("Recipient", "受信者"),
        Label("Sender IP", "送信者IP"),
        Label("Delivered to", "配信先"),
        Label("Action", "処理"),
        Label("Upstream TLS", "アップストリームTLS"),
        Label("Downstream TLS", "ダウンストリームTLS"),
        Label("Downstream DANE", "ダウンストリームDANE"),
        Label("Downstream MTA-STS", "ダウンストリームMTA-STS"),
        Label("Subject", "件名"),
        Label("Size (KB)", "サイズ (KB)"),
        Label("Message ID", "メッセージID"),
        Label("Attachments", "添付ファイル"),
        Label("Message UUID", "メッセージUUID"),
    ),
)
BLOCKED_CSV = CsvFile(
    "tracking_log_blocked.csv",
    (
        Label("Date", "日時"),
        Label("Type", "種類"),
        Label("Direction", "方向"),
        Label("Sender", "送信者"),
        Label("Recipient", "受信者"),
        Label("Sender IP", "送信者IP"),
        Label("Upstream TLS", "アップストリームTLS"),
        Label("Block reason", "ブロックの理由"),
        Label("Message UUID", "メッセージUUID"),
    ),
)
EVENTS_CSV = CsvFile(
    "event_log.csv",
    (
        Label("Date", "日時"),
        Label("Sender", "送信者"),
        Label("Recipient", "受信者"),
        Label("Threat type", "脅威の種類"),
        Label("Subtype", "サブタイプ"),
        Label("Detection method", "検出方法"),
        Label("Threat name", "脅威名"),
        Label("Action", "処理"),
        Label("Subject", "件名"),
        Label("Message ID", "メッセージID"),
        Label("Message size", "メッセージサイズ"),
        Label("Direction", "方向"),
        Label("Rule name", "ルール名"),
        Label("Domain", "ドメイン名"),
        Label("Violating file", "違反したファイル"),
    ),
)
