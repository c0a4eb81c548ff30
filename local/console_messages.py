"""Writes the admin console's message catalog (``web/messages.json``): the product's
vocabularies of ``mailgate.catalog`` and the console's own labels, in English and Japanese.
``make console-messages``; a test fails when the file is stale. A build step, like the OpenAPI
writer, so it lives with the local composition root and never ships."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from local import console_form_labels
from local.console_files import CONSOLE_DIR
from mailgate import catalog
from mailgate.catalog import Label

MESSAGES_PATH = CONSOLE_DIR / "messages.json"

# The console's own words. Column and field names that are also CSV columns come from the
# catalog's CSV files (``col.<name>``); {name} marks a value filled in by the console.
UI: Mapping[str, Label] = {
    "app.title": Label("mailgate admin console", "mailgate 管理コンソール"),
    "nav.label": Label("Screens", "画面"),
    "nav.tracking": Label("Mail tracking", "メール追跡"),
    "nav.events": Label("Policy events", "ポリシーイベント"),
    "nav.quarantine": Label("Quarantine", "隔離"),
    "nav.exports": Label("Exports", "エクスポート"),
    "nav.settings": Label("Settings", "設定"),
    "lang.label": Label("Language", "言語"),
    "signin.title": Label("Sign in", "サインイン"),
    "signin.key": Label("Tenant API key", "テナントのAPIキー"),
    "signin.hint": Label(
        "The key is kept in this browser tab only, until you sign out or close the tab.",
        "キーはこのブラウザタブにのみ保持され、サインアウトするかタブを閉じると消去されます。",
    ),
    "signin.submit": Label("Sign in", "サインイン"),
    "signout": Label("Sign out", "サインアウト"),
    "tz.shown": Label("Times are shown in {zone}.", "時刻は {zone} で表示しています。"),
    "field.period": Label("Period", "期間"),
    "period.1h": Label("Last hour", "過去1時間"),
    "period.24h": Label("Last 24 hours", "過去24時間"),
    "period.7d": Label("Last 7 days", "過去7日間"),
    "period.14d": Label("Last 14 days", "過去14日間"),
    "period.30d": Label("Last 30 days", "過去30日間"),
    "period.custom": Label("Custom range", "カスタム範囲"),
    "period.custom_hint": Label(
        "At most {days} days, within the last {retention} days.",
        "最長 {days} 日間、過去 {retention} 日以内。",
    ),
    "field.start": Label("From", "開始"),
    "field.end": Label("To", "終了"),
    "field.header_from": Label("Mail header (From)", "メールヘッダ (差出人)"),
    "field.header_to": Label("Mail header (To)", "メールヘッダ (宛先)"),
    "field.statuses": Label("Processing status", "処理"),
    "field.sort": Label("Date order", "日時の並び順"),
    "sort.desc": Label("Newest first", "新しい順"),
    "sort.asc": Label("Oldest first", "古い順"),
    "field.attachments_only": Label(
        "Only messages with attachments", "添付ファイルのあるメッセージのみ"
    ),
    "field.attachment_sha256": Label("Attachment SHA256 hash", "添付ファイルのSHA256ハッシュ"),
    "field.attachment_name": Label("Attachment name", "添付ファイル名"),
    "field.attachment_status": Label("Attachment status", "添付ファイルのステータス"),
    "field.password_analysis": Label(
        "Attachment password analysis", "添付ファイルのパスワード解析"
    ),
    "field.threats": Label("Threat type", "脅威の種類"),
    "field.reasons": Label("Detected as", "検出理由"),
    "field.rule_names": Label("Rule name", "ルール名"),
    "choice.any": Label("Any", "すべて"),
    "choice.none": Label("None", "なし"),
    "choice.yes": Label("Yes", "はい"),
    "choice.no": Label("No", "いいえ"),
    "multi.hint": Label(
        "Enter adds a value; pasting a list adds each line. * is a wildcard.",
        "Enter キーで追加、貼り付けたリストは1行ずつ追加されます。* はワイルドカードです。",
    ),
    "multi.remove": Label("Remove {value}", "{value} を削除"),
    "options.more": Label("Show more options", "さらにオプションを表示"),
    "options.fewer": Label("Hide more options", "オプションを隠す"),
    "options.waiting": Label(
        "Not searchable yet (the API does not take them): {fields}.",
        "まだ検索できない条件 (APIが未対応): {fields}。",
    ),
    "threats.subtypes": Label("Subtypes of {type}", "{type} のサブタイプ"),
    "threats.all_subtypes": Label(
        "No subtype ticked: every subtype.", "サブタイプを選ばなければすべてが対象です。"
    ),
    "search": Label("Search", "検索"),
    "results.label": Label("Results", "検索結果"),
    "results.count": Label("{n} rows on this page", "このページに {n} 件"),
    "page.next": Label("Next", "次へ"),
    "page.prev": Label("Previous", "前へ"),
    "page.number": Label("Page {n}", "{n} ページ"),
    "empty.start": Label(
        "Choose the filters and press Search.", "条件を選んで「検索」を押してください。"
    ),
    "empty.none": Label(
        "No data to show: nothing matched in the whole period. Widen the period or remove a "
        "filter.",
        "表示するデータはありません (期間全体で一致なし)。期間を広げるか条件を減らしてください。",
    ),
    "empty.partial": Label(
        "The search stopped before covering the whole period (it reached {time}); more rows may "
        "match. Press Next to search on.",
        "検索は期間全体を調べる前に停止しました ({time} まで)。さらに一致する可能性があります。"
        "「次へ」で続きを検索します。",
    ),
    "loading": Label("Loading…", "読み込み中…"),
    "select.row": Label("Select this row", "この行を選択"),
    "select.page": Label("Select every row of this page", "このページのすべての行を選択"),
    "select.count": Label("{n} selected", "{n} 件を選択中"),
    "open": Label("Open {what}", "{what} を開く"),
    "detail.title": Label("Detail log", "詳細ログ"),
    "detail.close": Label("Close", "閉じる"),
    "detail.summary": Label("Summary", "概要"),
    "detail.processing": Label("Processing", "処理"),
    "detail.received": Label("Received", "受信"),
    "detail.evaluated": Label("Evaluated policies", "評価済みポリシー"),
    "detail.no_match": Label("No match", "条件不一致"),
    "detail.delivery": Label("Delivery", "配信"),
    "detail.undelivered": Label("Undelivered", "未配信"),
    "detail.not_delivered": Label(
        "The message did not go on to delivery (stage 3).",
        "メッセージは配信 (ステージ3) に進みませんでした。",
    ),
    "detail.attachments": Label("Attachments", "添付ファイル"),
    "detail.timeline": Label("Timeline", "タイムライン"),
    "detail.related": Label("Related messages", "関連メッセージ"),
    "detail.related_loading": Label("Looking for related messages…", "関連メッセージを検索中…"),
    "detail.related_none": Label(
        "No other message shares this one's Message-ID.",
        "同じ Message-ID のメッセージはほかにありません。",
    ),
    "detail.related_missing": Label(
        "Related messages (the same Message-ID) cannot be shown: this API does not offer "
        "their route (GET /v1/tracking/{message_uuid}/related).",
        "関連メッセージ (同じ Message-ID) は表示できません。このAPIにはその機能 "
        "(GET /v1/tracking/{message_uuid}/related) がありません。",
    ),
    "detail.reply_to": Label("Reply-To", "Reply-To"),
    "detail.size": Label("Size (bytes)", "サイズ (バイト)"),
    "detail.helo": Label("HELO", "HELO"),
    "detail.tls": Label("TLS", "TLS"),
    "detail.server": Label("Server", "サーバ"),
    "detail.ip": Label("IP address", "IPアドレス"),
    "detail.reply": Label("Reply", "応答"),
    "detail.next_attempt": Label("Next attempt", "次回の再試行"),
    "detail.stage": Label("Stage", "ステージ"),
    "detail.event": Label("Event", "イベント"),
    "detail.detail": Label("Detail", "詳細"),
    "detail.received_at": Label("Received at", "受信日時"),
    "detail.violating_url": Label("Violating URL", "違反したURL"),
    "detail.engine": Label("Engine details", "エンジンの詳細"),
    "detail.sha256": Label("SHA256 hash", "SHA256ハッシュ"),
    "detail.password_protected": Label("Password protected", "パスワード保護"),
    "detail.state": Label("State", "状態"),
    "detail.released": Label("Released by {who} at {time}", "{time} に {who} が解放"),
    "detail.deleted": Label("Deleted by {who} at {time}", "{time} に {who} が削除"),
    "q.release_selected": Label("Release selected", "選択したメッセージを解放"),
    "q.delete_selected": Label("Delete selected", "選択したメッセージを削除"),
    "q.release_all": Label("Release all matching", "一致するすべてを解放"),
    "q.delete_all": Label("Delete all matching", "一致するすべてを削除"),
    "q.confirm_release": Label("Release {n} messages?", "{n} 件のメッセージを解放しますか?"),
    "q.confirm_delete": Label(
        "Delete {n} messages? This cannot be undone.",
        "{n} 件のメッセージを削除しますか? 元に戻せません。",
    ),
    "q.more_than": Label("more than {n}", "{n} 件を超える"),
    "q.done": Label("{ok} of {n} done.", "{n} 件中 {ok} 件を処理しました。"),
    "q.remaining": Label(
        "{n} more still match: run it again to go on.",
        "まだ {n} 件が一致します。もう一度実行して続けてください。",
    ),
    "q.state.quarantined": Label("Quarantined", "隔離中"),
    "q.state.releasing": Label("Releasing", "解放中"),
    "q.state.released": Label("Released", "解放済み"),
    "q.state.deleted": Label("Deleted", "削除済み"),
    "confirm.yes": Label("Yes, go ahead", "実行する"),
    "confirm.cancel": Label("Cancel", "キャンセル"),
    "ex.selected": Label("Export selected", "選択したログをエクスポート"),
    "ex.all": Label("Export all", "すべてエクスポート"),
    "ex.none_selected": Label(
        "Select rows to export first.", "先にエクスポートする行を選択してください。"
    ),
    "ex.quota": Label(
        "Export all: {n} of {max} left today (UTC).",
        "すべてエクスポート: 本日 (UTC) の残り {n} / {max} 回",
    ),
    "ex.started": Label(
        "The export task has started; it is listed under Exports.",
        "エクスポートタスクを開始しました。「エクスポート」に表示されます。",
    ),
    "ex.tasks": Label("Export tasks", "エクスポートタスク"),
    "ex.created": Label("Created", "作成日時"),
    "ex.status": Label("Status", "ステータス"),
    "ex.rows": Label("Rows", "行数"),
    "ex.file": Label("File", "ファイル"),
    "ex.download": Label("Download {file}", "{file} をダウンロード"),
    "ex.truncated": Label("first {n} rows only", "先頭の {n} 行のみ"),
    "ex.refresh": Label("Refresh", "更新"),
    "ex.empty": Label(
        "No export tasks yet: search a log and press Export all.",
        "エクスポートタスクはまだありません。ログを検索して「すべてエクスポート」を押してください。",
    ),
    "set.sections": Label("Configuration", "設定項目"),
    "set.policies": Label("Policy rules", "ポリシールール"),
    "set.version": Label("Configuration version {v}", "設定のバージョン {v}"),
    "set.save": Label("Save", "保存"),
    "set.saved": Label("Saved (version {v}).", "保存しました (バージョン {v})。"),
    "set.rule_saved": Label("The rule is saved.", "ルールを保存しました。"),
    "set.one_per_line": Label("One per line.", "1行に1つ。"),
    "set.reload": Label(
        "Load the current version (your changes here are lost)",
        "現在のバージョンを読み込む (ここでの変更は失われます)",
    ),
    "set.rule_created": Label("The rule is added.", "ルールを追加しました。"),
    "set.rule_deleted": Label("The rule is deleted.", "ルールを削除しました。"),
    "set.rule_moved": Label("The order is saved.", "順序を保存しました。"),
    "form.unset": Label("(not set)", "(未設定)"),
    "form.item": Label("Item {n}", "項目 {n}"),
    "form.add": Label("Add", "追加"),
    "form.add_to": Label("Add to {name}", "{name} に追加"),
    "form.remove": Label("Remove", "削除"),
    "form.remove_item": Label("Remove item {n}", "項目 {n} を削除"),
    "form.kind": Label("Kind", "種類"),
    "section.domains": Label("Domains", "ドメイン"),
    "section.sender_filter": Label("Sender filter", "送信者フィルタ"),
    "section.ip_reputation": Label("IP reputation", "IPレピュテーション"),
    "section.tls_peers": Label("TLS peers", "TLSピア"),
    "section.outbound_tls_peers": Label("Outbound TLS peers", "送信先のTLSピア"),
    "section.reverse_dns": Label("Reverse DNS validation", "逆引きDNS検証"),
    "section.limits": Label("Message size and rate limits", "メッセージサイズと流量の上限"),
    "section.threat_protection": Label("Threat protection", "脅威対策"),
    "section.domain_auth": Label("Domain-based authentication", "ドメインベース認証"),
    "rule.order": Label("Order", "順序"),
    "rule.category": Label("Category", "カテゴリ"),
    "rule.enabled": Label("Enabled", "有効"),
    "rule.edit": Label("Edit {name}", "{name} を編集"),
    "rule.up": Label("Move {name} up", "{name} を上へ"),
    "rule.down": Label("Move {name} down", "{name} を下へ"),
    "rule.locked": Label("Cannot be changed", "変更できません"),
    "rule.cancel": Label("Cancel", "キャンセル"),
    "rule.new": Label("Add a rule", "ルールを追加"),
    "rule.delete": Label("Delete {name}", "{name} を削除"),
    "rule.delete_confirm": Label(
        "Delete the rule {name}? This cannot be undone.",
        "ルール {name} を削除しますか? 元に戻せません。",
    ),
    "rule.on": Label("On", "オン"),
    "rule.off": Label("Off", "オフ"),
    "rule.by_category": Label(
        "Rules run by category (virus, spam, content, DLP), in this order within each; "
        "they move only within their category.",
        "ルールはカテゴリ順 (ウイルス、スパム、コンテンツ、DLP) に、カテゴリ内ではこの順に"
        "実行されます。移動はカテゴリ内でのみできます。",
    ),
    "rule.category.domain_auth": Label("Domain-based authentication", "ドメインベース認証"),
    "rule.category.virus": Label("Virus scan", "ウイルス検索"),
    "rule.category.spam": Label("Spam filter", "スパムメールフィルタ"),
    "rule.category.content": Label("Content filter", "コンテンツフィルタ"),
    "rule.category.dlp": Label("Data loss prevention", "情報漏えい対策"),
    "group.sender_ip": Label("Sender IP", "送信者IP"),
    "group.sender": Label("Sender", "送信者"),
    "group.recipient": Label("Recipient", "受信者"),
    "group.rate_limit": Label("Limits", "上限"),
    "err.network": Label(
        "The console could not reach the API; check the connection and try again.",
        "APIに接続できませんでした。接続を確認してもう一度お試しください。",
    ),
}


def key(english: str) -> str:
    """A column's key from its English name: ``Size (KB)`` → ``size_kb``."""
    return re.sub(r"[^a-z0-9]+", "_", english.lower()).strip("_")


def _labels(entries: Iterable[tuple[str, Label]]) -> dict[str, dict[str, str]]:
    return {str(code): {"en": label.en, "ja": label.ja} for code, label in entries}


def document() -> dict[str, Any]:
    columns = [
        column
        for csv in (catalog.ACCEPTED_CSV, catalog.BLOCKED_CSV, catalog.EVENTS_CSV)
        for column in csv.columns
    ]
    return {
        "ui": _labels({**UI, **console_form_labels.labels()}.items()),
        "columns": _labels((key(column.en), column) for column in columns),
        "directions": _labels(catalog.DIRECTIONS.items()),
        "tracking_types": _labels(catalog.TRACKING_TYPES.items()),
        "statuses": _labels(catalog.STATUSES.items()),
        "block_reasons": {
            str(code): {"en": info.label.en, "ja": info.label.ja, "group": info.group}
            for code, info in catalog.BLOCK_REASONS.items()
        },
        "threat_types": {
            str(code): {
                "en": info.label.en,
                "ja": info.label.ja,
                "subtypes": _labels(info.subtypes.items()),
                "methods": _labels(info.methods.items()),
            }
            for code, info in catalog.THREAT_TYPES.items()
        },
        "policy_actions": _labels((a, info.label) for a, info in catalog.POLICY_ACTIONS.items()),
        "spam_levels": _labels((s, info.label) for s, info in catalog.SPAM_LEVELS.items()),
        "export_statuses": _labels(catalog.EXPORT_STATUSES.items()),
        "not_available": _labels([("text", catalog.NOT_AVAILABLE)])["text"],
        "recipient_separator": _labels([("text", catalog.RECIPIENT_SEPARATOR)])["text"],
        "limits": {
            "period_presets": list(catalog.PERIOD_PRESETS),
            "custom_range_days": catalog.CUSTOM_RANGE_MAX.days,
            "retention_days": catalog.RETENTION.days,
            "max_page_size": catalog.MAX_PAGE_SIZE,
            "exports_per_day": catalog.EXPORTS_PER_DAY,
            "export_all_max_rows": catalog.EXPORT_ALL_MAX_ROWS,
        },
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def main() -> None:
    MESSAGES_PATH.write_text(render(document()), encoding="utf-8")


if __name__ == "__main__":
    main()
