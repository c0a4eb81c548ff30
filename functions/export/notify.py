"""Sending a finished task's notice through the outbound path (the tenant's own message,
tracked and delivered like any other). A notice that cannot be sent is logged: the task stays
finished."""

from __future__ import annotations

from mailgate.export import notice
from mailgate.observability import logger
from mailgate.origination import Originated, Originator, derived_uuid
from mailgate.records import ExportTaskRecord


class ExportNotifier:
    def __init__(self, originator: Originator, console_url: str) -> None:
        self._originator = originator
        self._console_url = console_url

    def finished(self, task: ExportTaskRecord) -> None:
        if task.notify is None:
            return
        try:
            self._originator.send(
                Originated(
                    tenant_id=task.tenant_id,
                    message_uuid=derived_uuid(task.task_id, f"export-{task.status.value}"),
                    sender="",
                    recipients=[task.notify],
                    raw=notice.build(task, self._console_url),
                    cause=f"notice of export task {task.task_id} ({task.status.value})",
                )
            )
        except Exception:
            logger.exception("export notice not sent", extra={"task_id": task.task_id})
