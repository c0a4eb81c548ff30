"""Labels of the settings forms the console builds from the API's schemas: a field by its name
(``prop.<name>``), a condition by its type (``variant.<type>``), an enum value (``enum.<value>``).
The intercept actions and DLP templates take their labels from the catalog."""

from __future__ import annotations

from collections.abc import Mapping

from mailgate.catalog import POLICY_ACTIONS, ActionKind, Label
from mailgate.policy import dlp

FIELDS: Mapping[str, Label] = {
    "actions": Label("Actions", "アクション"),
    "addresses": Label("Addresses", "アドレス"),
    "approved_ips": Label("Approved IPs (IP or CIDR)", "承認済みIP (IPまたはCIDR)"),
    "approved_senders": Label("Approved senders", "承認済み送信者"),
    "bcc": Label("Send a copy (BCC) to", "コピー (BCC) の送信先"),
    "blocked_countries": Label(
        "Blocked countries (two-letter codes, e.g. JP)", "ブロックする国 (2文字のコード。例: JP)"
    ),
    "blocked_ips": Label("Blocked IPs (IP or CIDR)", "ブロックするIP (IPまたはCIDR)"),
    "blocked_senders": Label("Blocked senders", "ブロック済み送信者"),
    "blocked_urls": Label("Blocked URLs and domains", "ブロックするURLとドメイン"),
    "body": Label("Body", "本文"),
    "bypass_spam_for_approved_ips": Label(
        "Approved IPs skip spam detection", "承認済みIPはスパム検出を省略"
    ),
    "category": Label("Category", "カテゴリ"),
    "conditions": Label("Conditions", "条件"),
    "count_address": Label("Messages per sender address", "送信者アドレスごとのメッセージ数"),
    "count_ip": Label("Messages per client IP", "クライアントIPごとのメッセージ数"),
    "dkim": Label("DKIM", "DKIM"),
    "dmarc": Label("DMARC", "DMARC"),
    "domain": Label("Domain", "ドメイン"),
    "domains": Label("Domains", "ドメイン"),
    "enabled": Label("Enabled", "有効"),
    "enforced_domains": Label("Domains that must sign", "署名を必須とするドメイン"),
    "except_recipients": Label("Except recipients", "除外する受信者"),
    "except_senders": Label("Except senders", "除外する送信者"),
    "executives": Label("Executives", "役員"),
    "extensions": Label("True file types (extensions)", "実際のファイル形式 (拡張子)"),
    "forward_confirmed": Label(
        "The name must resolve back to the IP (FCrDNS)", "名前がIPに正引きできること (FCrDNS)"
    ),
    "header": Label("Header field", "ヘッダフィールド"),
    "host": Label("Host", "ホスト"),
    "inbound": Label("Inbound", "受信"),
    "inbound_servers": Label("Inbound servers", "受信サーバ"),
    "intercept": Label("Intercept", "処理"),
    "keywords": Label("Keywords", "キーワード"),
    "level": Label("Spam detection level", "スパム検出レベル"),
    "limit": Label("Limit", "上限"),
    "lists": Label("Reputation lists", "レピュテーションリスト"),
    "match": Label("Conditions to match", "一致する条件"),
    "max_message_bytes": Label("Largest message (bytes)", "メッセージサイズの上限 (バイト)"),
    "methods": Label("Detection methods", "検出方法"),
    "mime_types": Label("Declared MIME types", "宣言されたMIMEタイプ"),
    "min_version": Label("Lowest TLS version", "TLSの最低バージョン"),
    "name": Label("Name", "名前"),
    "names": Label("File names or extensions", "ファイル名または拡張子"),
    "networks": Label("Sending networks (IP or CIDR)", "送信元ネットワーク (IPまたはCIDR)"),
    "no_record": Label(
        "Also when the domain publishes no DMARC record", "DMARCレコードのないドメインも対象"
    ),
    "notify": Label("Notifications", "通知"),
    "outbound": Label("Outbound", "送信"),
    "over": Label("More than", "次の数を超える"),
    "over_bytes": Label("More than (bytes)", "次のサイズを超える (バイト)"),
    "peer": Label("Peer (domain, IP or CIDR)", "ピア (ドメイン、IPまたはCIDR)"),
    "port": Label("Port", "ポート"),
    "recipients": Label("Recipients", "受信者"),
    "regex": Label("Regular expressions", "正規表現"),
    "results": Label("SPF results", "SPFの結果"),
    "scope": Label("Applies to", "適用対象"),
    "sender_ip_match": Label("Sender IP match", "送信元IPの一致"),
    "senders": Label("Senders", "送信者"),
    "sending_servers": Label("Sending servers (IP or CIDR)", "送信サーバ (IPまたはCIDR)"),
    "server": Label("Server", "サーバ"),
    "size_address": Label("Bytes per sender address", "送信者アドレスごとのバイト数"),
    "size_domain": Label("Bytes per sender domain", "送信者ドメインごとのバイト数"),
    "size_ip": Label("Bytes per client IP", "クライアントIPごとのバイト数"),
    "spf": Label("SPF", "SPF"),
    "stamp": Label("Stamp text appended to the body", "本文に追加するスタンプ"),
    "strip_attachments": Label("Remove the matched attachments", "一致した添付ファイルを削除"),
    "subject": Label("Subject", "件名"),
    "subtypes": Label("Threat subtypes", "脅威のサブタイプ"),
    "tag_subject": Label("Tag the subject with", "件名に付けるタグ"),
    "templates": Label("DLP templates", "DLPテンプレート"),
    "threat": Label("Threat type", "脅威の種類"),
    "threshold": Label("At least this many matches", "この数以上の一致"),
    "to": Label("To (%SENDER%, %RCPTS% or addresses)", "宛先 (%SENDER%、%RCPTS% またはアドレス)"),
    "valid_recipients": Label("Valid recipients", "有効な受信者"),
    "values": Label("Values", "値"),
    "window_s": Label("Window (seconds)", "期間 (秒)"),
}

CONDITIONS: Mapping[str, Label] = {
    "threat": Label("A threat was detected", "脅威を検出"),
    "sender_empty": Label("The envelope sender is empty", "エンベロープ送信者が空"),
    "from_differs_from_sender": Label(
        "From differs from the envelope sender", "From がエンベロープ送信者と異なる"
    ),
    "from_differs_from_reply_to": Label("From differs from Reply-To", "From が Reply-To と異なる"),
    "header_keywords": Label("A header contains keywords", "ヘッダにキーワードを含む"),
    "subject_keywords": Label("The subject contains keywords", "件名にキーワードを含む"),
    "subject_empty": Label("The subject is empty", "件名が空"),
    "body_keywords": Label("The body contains keywords", "本文にキーワードを含む"),
    "body_empty": Label("The body is empty", "本文が空"),
    "attachment_keywords": Label(
        "An attachment contains keywords", "添付ファイルにキーワードを含む"
    ),
    "attachment_active_content": Label(
        "An attachment has active content (macros, scripts)",
        "添付ファイルにアクティブコンテンツ (マクロ、スクリプト) がある",
    ),
    "recipient_count": Label("Number of recipients", "受信者数"),
    "message_size": Label("Message size", "メッセージサイズ"),
    "attachment_name": Label("Attachment name or extension", "添付ファイル名または拡張子"),
    "attachment_mime_type": Label("Attachment MIME type", "添付ファイルのMIMEタイプ"),
    "attachment_true_type": Label("Attachment true file type", "添付ファイルの実際の形式"),
    "attachment_size": Label("Attachment size", "添付ファイルのサイズ"),
    "attachment_count": Label("Number of attachments", "添付ファイル数"),
    "attachment_password_protected": Label(
        "A password-protected attachment", "パスワード保護された添付ファイル"
    ),
    "dlp": Label("Sensitive data (DLP)", "機密情報 (DLP)"),
}

ENUMS: Mapping[str, Label] = {
    "any": Label("Any condition", "いずれかの条件"),
    "all": Label("All conditions", "すべての条件"),
    "envelope_sender": Label("Envelope sender", "エンベロープ送信者"),
    "header_from": Label("Header From", "ヘッダ From"),
}


def labels() -> dict[str, Label]:
    """The forms' labels under the keys the console looks them up by."""
    intercepts = {
        f"variant.{action.value}": info.label
        for action, info in POLICY_ACTIONS.items()
        if info.kind is ActionKind.INTERCEPT
    }
    return {
        **{f"prop.{name}": label for name, label in FIELDS.items()},
        **{f"variant.{kind}": label for kind, label in CONDITIONS.items()},
        **intercepts,
        **{f"enum.{value}": label for value, label in ENUMS.items()},
        **{f"enum.{template.value}": label for template, label in dlp.LABELS.items()},
    }
