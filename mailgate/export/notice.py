"""The message that tells a tenant's address an export task is finished: complete (with the
console link, where the download is) or failed (with the reason)."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from mailgate.catalog import ExportStatus, Locale
from mailgate.clock import utcnow
from mailgate.records import ExportTaskRecord

_SUBJECTS = {
    (ExportStatus.COMPLETE, "en"): "Your export is ready",
    (ExportStatus.COMPLETE, "ja"): "エクスポートが完了しました",
    (ExportStatus.FAILED, "en"): "Your export failed",
    (ExportStatus.FAILED, "ja"): "エクスポートに失敗しました",
}


def console_link(console_url: str, task_id: str) -> str:
    return f"{console_url.rstrip('/')}/#/exports/{task_id}"  # the console routes by hash


def _body(task: ExportTaskRecord, link: str, locale: Locale) -> str:
    expires = task.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    if task.status is ExportStatus.COMPLETE:
        if locale == "ja":
            return (
                f"エクスポート {task.file_name} ({task.rows} 行) をダウンロードできます。\n\n"
                f"{link}\n\nファイルは {expires} に削除されます。\n"
            )
        return (
            f"The export {task.file_name} ({task.rows} rows) is ready to download.\n\n"
            f"{link}\n\nThe file is deleted at {expires}.\n"
        )
    if locale == "ja":
        return f"エクスポートを作成できませんでした。\n\n{task.reason}\n\n{link}\n"
    return f"The export could not be written.\n\n{task.reason}\n\n{link}\n"


def build(task: ExportTaskRecord, console_url: str) -> bytes:
    """The notice of ``task`` (finished, with a ``notify`` address), from the postmaster of
    that address's domain."""
    if task.notify is None or task.status is ExportStatus.PROCESSING:
        raise ValueError("only a finished task with a notify address has a notice")
    domain = task.notify.rpartition("@")[2]
    mail = EmailMessage(policy=SMTP)
    mail["From"] = f"Mail gateway <postmaster@{domain}>"
    mail["To"] = task.notify
    mail["Subject"] = _SUBJECTS[task.status, task.locale]
    mail["Date"] = format_datetime(utcnow())
    mail["Message-ID"] = make_msgid(domain=domain)
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-reply to this
    mail.set_content(_body(task, console_link(console_url, task.task_id), task.locale))
    return mail.as_bytes()
