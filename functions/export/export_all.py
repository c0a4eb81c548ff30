"""The "export all" worker's logic: page through the task's query (tracking rows or policy
events), up to 50,000 rows, writing
them as they come into a zip streamed to S3; then mark the task complete, or failed.

A task that fails here (a fault of ours, since its input was validated when it was asked for)
gives its quota slot back: the tenant did not get the export it counted for."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from functions.export.notify import ExportNotifier
from mailgate.api.models import EventSearch, TrackingSearch
from mailgate.catalog import EXPORT_ALL_MAX_ROWS, ExportStatus
from mailgate.export import formats
from mailgate.export.archive import write_zipped
from mailgate.export.cells import time_zone
from mailgate.export.columns import EVENTS, TRACKING, ColumnSet
from mailgate.jobs import ExportJob
from mailgate.observability import logger
from mailgate.records import ExportTaskRecord
from mailgate.search import events as event_search
from mailgate.search import tracking as tracking_search
from mailgate.search.period import Period
from mailgate.storage.export_files import ExportFiles
from mailgate.storage.exports import ExportStore
from mailgate.storage.policy_events import PolicyEventStore
from mailgate.storage.tracking import TrackingStore

T = TypeVar("T")
PROGRESS_EVERY = 1000  # rows: one page of the search, one small write
FAILED_REASON = "The export could not be written; start it again (it did not count in the quota)."


class Capped(Iterable[T]):
    """The first ``limit`` items of ``items``; ``truncated`` tells, once they are read, whether
    there were more."""

    def __init__(self, items: Iterable[T], limit: int) -> None:
        self._items = iter(items)
        self._limit = limit
        self.truncated = False

    def __iter__(self) -> Iterator[T]:
        for count, item in enumerate(self._items):
            if count == self._limit:
                self.truncated = True
                return
            yield item


class Progress(Iterable[T]):
    """``items``, telling ``report`` the count so far every ``every`` items."""

    def __init__(self, items: Iterable[T], every: int, report: Callable[[int], None]) -> None:
        self._items, self._every, self._report = items, every, report

    def __iter__(self) -> Iterator[T]:
        for count, item in enumerate(self._items, 1):
            yield item
            if count % self._every == 0:
                self._report(count)


class ExportAll:
    def __init__(
        self,
        tracking: TrackingStore,
        events: PolicyEventStore,
        exports: ExportStore,
        files: ExportFiles,
        notifier: ExportNotifier,
    ) -> None:
        self._tracking = tracking
        self._events = events
        self._exports = exports
        self._files = files
        self._notifier = notifier

    def run(self, job: ExportJob) -> None:
        task = self._exports.task(job.tenant_id, job.task_id)
        if task is None or task.status is not ExportStatus.PROCESSING:
            return  # a redelivered job of a finished (or forgotten) task
        period = Period(job.period_start, job.period_end)
        if task.log == "events":
            query = event_search.query_of(job.tenant_id, EventSearch.model_validate(job.query))
            events = event_search.all_events(self._events, query, period)
            self._export(task, job, EVENTS, events)
            return
        tracking = tracking_search.query_of(job.tenant_id, TrackingSearch.model_validate(job.query))
        rows = tracking_search.all_rows(self._tracking, tracking, period)
        self._export(task, job, TRACKING[task.type], rows)

    def _export(
        self, task: ExportTaskRecord, job: ExportJob, columns: ColumnSet[T], items: Iterable[T]
    ) -> None:
        format = formats.Format(task.format)
        capped = Capped(items, EXPORT_ALL_MAX_ROWS)
        rows = Progress(capped, PROGRESS_EVERY, lambda count: self._exports.progress(task, count))
        zone = time_zone(job.time_zone)
        member = task.file_name.removesuffix(".zip")
        try:
            if format is formats.Format.PARQUET:  # compressed already, and read as it is
                # imported here: pyarrow costs every other export 60 MB of memory
                from mailgate.export import parquet

                with self._files.upload(task.object_key, format.media_type) as out:
                    written = parquet.write(out, columns, rows, job.locale, zone)
            else:
                with self._files.upload(task.object_key, "application/zip") as out:
                    written = write_zipped(
                        out,
                        member,
                        lambda text: formats.write(text, format, columns, rows, job.locale, zone),
                    )
        except Exception:
            logger.exception("export failed")
            if self._exports.finish(task, ExportStatus.FAILED, reason=FAILED_REASON):
                self._exports.give_back_quota(task.tenant_id, task.quota_day)
                failed = {"status": ExportStatus.FAILED, "reason": FAILED_REASON}
                self._notifier.finished(task.model_copy(update=failed))
            return
        truncated = capped.truncated
        if self._exports.finish(task, ExportStatus.COMPLETE, rows=written, truncated=truncated):
            done = {"status": ExportStatus.COMPLETE, "rows": written, "truncated": truncated}
            self._notifier.finished(task.model_copy(update=done))
        logger.info("export complete", extra={"rows": written, "truncated": truncated})
