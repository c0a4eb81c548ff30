"""Exports for one tenant, behind the routes: the selected rows as a file at once, or an "export
all" task (quota, task, job), and the task list with download links."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from functions.export.notify import ExportNotifier
from mailgate.api.errors import BadRequest, NotFound, TooManyRequests
from mailgate.api.models import (
    EventSearch,
    ExportRequest,
    ExportTask,
    ExportTaskDetail,
    SelectedRow,
    TrackingSearch,
)
from mailgate.catalog import EXPORT_QUOTA_MESSAGE, EXPORTS_PER_DAY, ExportStatus
from mailgate.clock import iso, utcnow
from mailgate.export import formats
from mailgate.export.cells import time_zone
from mailgate.export.columns import EVENTS, TRACKING, ColumnSet
from mailgate.jobs import ExportJob
from mailgate.ports import Domains
from mailgate.records import ExportTaskRecord
from mailgate.resources import EXPORT_QUEUE
from mailgate.search import period as periods
from mailgate.storage.export_files import ExportFiles, export_key
from mailgate.storage.exports import ExportStore
from mailgate.storage.policy_events import PolicyEventStore
from mailgate.storage.queues import JobQueue
from mailgate.storage.tracking import TrackingStore

RowT = TypeVar("RowT")

# Objects expire by the bucket's lifecycle after 7 days; the task is forgotten with its file.
KEPT = timedelta(days=7)
NOT_STARTED = "The export could not be started; it did not count in today's quota."
# A job's last receive ends this long after its first at the latest, when SQS moves it to the
# dead-letter queue; the margin covers a wait in the queue before the first receive. A task
# still processing past it was abandoned by its worker (a timeout, a crash).
ABANDONED_AFTER = EXPORT_QUEUE.max_receive_count * EXPORT_QUEUE.visibility_timeout_s + 1800
ABANDONED = "The export did not finish; start it again (it did not count in the quota)."


@dataclass(frozen=True)
class ExportFile:
    name: str
    media_type: str
    text: str


@dataclass(frozen=True)
class Quota:
    remaining: int
    reset: datetime  # the next 00:00 UTC


def archive_name(format: formats.Format) -> str:
    """A random name, as the seed shows: ``78e3f115-dc78-43d3-80b5-a4632f8c1ad2.csv.zip``;
    a Parquet file, compressed already, is not zipped: ``<uuid4>.parquet``."""
    if format is formats.Format.PARQUET:
        return f"{uuid.uuid4()}.parquet"
    return f"{uuid.uuid4()}.{format.extension}.zip"


def _file(request: ExportRequest, columns: ColumnSet[RowT], rows: list[RowT]) -> ExportFile:
    out = io.StringIO(newline="")
    formats.write(out, request.format, columns, rows, request.locale, time_zone(request.time_zone))
    name = columns.file.file_name.removesuffix(".csv") + f".{request.format.extension}"
    return ExportFile(name, request.format.media_type, out.getvalue())


def _task(record: ExportTaskRecord) -> ExportTask:
    return ExportTask(
        task_id=record.task_id,
        created_at=iso(record.created_at),
        status=record.status,
        rows=record.rows,
        rows_written=record.rows if record.rows is not None else record.rows_written,
        truncated=record.truncated,
        file_name=record.file_name,
        format=formats.Format(record.format),
        expires_at=iso(record.expires_at),
        reason=record.reason,
    )


class ExportService:
    def __init__(
        self,
        tracking: TrackingStore,
        events: PolicyEventStore,
        exports: ExportStore,
        files: ExportFiles,
        queue: JobQueue,
        domains: Domains,
        notifier: ExportNotifier,
    ) -> None:
        self._tracking = tracking
        self._events = events
        self._exports = exports
        self._files = files
        self._queue = queue
        self._domains = domains
        self._notifier = notifier

    def selected(
        self, tenant_id: str, request: ExportRequest, select: list[SelectedRow] | list[str]
    ) -> ExportFile:
        """The ``select``-ed rows (of the query's type) or events as one file; NotFound when
        none of them is the tenant's."""
        query = request.query
        newest_first = query.sort == "desc"
        if isinstance(query, EventSearch):
            events = self._events.events(tenant_id, [id for id in select if isinstance(id, str)])
            if not events:
                raise NotFound("rows_not_found", "None of the selected events is in your logs.")
            events.sort(key=lambda event: (event.time, event.event_id), reverse=newest_first)
            return _file(request, EVENTS, events)
        found = self._tracking.rows(
            tenant_id,
            ((row.message_uuid, row.recipient) for row in select if isinstance(row, SelectedRow)),
        )
        rows = [row for row in found if row.type is query.type]
        if not rows:
            raise NotFound(
                "rows_not_found", f"None of the selected rows is in your {query.type} traffic."
            )
        rows.sort(key=lambda row: (row.time, row.message_uuid), reverse=newest_first)
        return _file(request, TRACKING[query.type], rows)

    def start(self, tenant_id: str, request: ExportRequest) -> ExportTaskRecord:
        """Count the export in today's quota (TooManyRequests when it is used up), record the
        task and queue its job."""
        now = utcnow()
        period = periods.requested(request.query.period, now)
        if request.notify is not None:
            self._check_own(tenant_id, request.notify)
        if not self._exports.take_quota(tenant_id, now.date(), EXPORTS_PER_DAY):
            raise TooManyRequests("export_quota", EXPORT_QUOTA_MESSAGE.text(request.locale))
        file_name = archive_name(request.format)
        task = ExportTaskRecord(
            tenant_id=tenant_id,
            task_id=str(uuid.uuid4()),
            created_at=now,
            log=request.log,
            **({"type": query.type} if isinstance(query := request.query, TrackingSearch) else {}),
            format=request.format,
            file_name=file_name,
            object_key=export_key(tenant_id, file_name),
            quota_day=now.date(),
            expires_at=now + KEPT,
            notify=request.notify,
            locale=request.locale,
        )
        job = ExportJob(
            tenant_id=tenant_id,
            task_id=task.task_id,
            created_at=task.created_at,
            query=request.query.model_dump(mode="json", exclude={"cursor", "limit"}),
            period_start=period.start,
            period_end=period.end,
            locale=request.locale,
            time_zone=request.time_zone,
        )
        try:
            self._exports.create(task)
            self._queue.send(job)
        except Exception:
            self._exports.finish(task, ExportStatus.FAILED, reason=NOT_STARTED)
            self._exports.give_back_quota(tenant_id, task.quota_day)
            raise
        return task

    def _check_own(self, tenant_id: str, address: str) -> None:
        """The gateway mails notices only to the tenant's own domains: any other address would
        make it an open relay, sending mail of our choosing to anyone a key holder names."""
        domain = self._domains.domain(address.rpartition("@")[2])
        if domain is None or domain.tenant_id != tenant_id:
            raise BadRequest(
                "invalid_request",
                "notify must be an address of one of your domains (the gateway sends no mail "
                "to other domains on your behalf).",
            )

    def tasks(self, tenant_id: str) -> list[ExportTask]:
        return [_task(record) for record in self._settled(tenant_id)]

    def task(self, tenant_id: str, task_id: str) -> ExportTaskDetail:
        record = next((r for r in self._settled(tenant_id) if r.task_id == task_id), None)
        if record is None:
            raise NotFound("task_not_found", f"No export task {task_id} in your exports.")
        url = (
            self._files.download_url(record.object_key, record.file_name)
            if record.status is ExportStatus.COMPLETE
            else None
        )
        return ExportTaskDetail(**_task(record).model_dump(), download_url=url)

    def quota(self, tenant_id: str) -> Quota:
        self._settled(tenant_id)  # an abandoned task gives its slot back first
        today = utcnow().date()
        used = self._exports.quota_used(tenant_id, today)
        return Quota(max(0, EXPORTS_PER_DAY - used), _midnight_after(today))

    def _settled(self, tenant_id: str) -> list[ExportTaskRecord]:
        """The tenant's tasks, newest first, each abandoned one failed (and its quota slot
        given back) on the way: its job is in the dead-letter queue, and nothing else will
        finish it."""
        abandoned_before = utcnow() - timedelta(seconds=ABANDONED_AFTER)
        tasks = self._exports.tasks(tenant_id)
        for n, task in enumerate(tasks):
            if task.status is not ExportStatus.PROCESSING or task.created_at >= abandoned_before:
                continue
            if self._exports.finish(task, ExportStatus.FAILED, reason=ABANDONED):
                self._exports.give_back_quota(tenant_id, task.quota_day)
                tasks[n] = task.model_copy(
                    update={"status": ExportStatus.FAILED, "reason": ABANDONED}
                )
                self._notifier.finished(tasks[n])
            else:  # finished meanwhile, by its worker or another request
                tasks[n] = self._exports.task(tenant_id, task.task_id) or task
        return tasks


def _midnight_after(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), UTC)
