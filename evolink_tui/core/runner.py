"""Runs generations end to end and keeps the history current at every step.

Used through the :class:`~evolink_tui.core.studio.Studio` by the TUI (one async worker per
task, all on one shared client) and by the headless commands: validate -> record the request
-> upload local references -> submit with one idempotency key -> poll -> download -> record
the files. Every step is reported as a typed event (:mod:`.events`) on :attr:`Runner.events`;
nothing here knows about screens.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .bus import EventBus
from .downloads import Download, download_results, download_state
from .errors import EvolinkError, ValidationError
from .events import (
    ReferenceUploaded,
    ResultDownloaded,
    ResumeFailed,
    SubmitStarted,
    SubmitUncertain,
    TaskCompleted,
    TaskEvent,
    TaskFailed,
    TaskFinished,
    TaskGone,
    TaskOffline,
    TaskProgressed,
    TaskSubmitted,
    TaskTimedOut,
)
from .history import History, HistoryError, TaskRecord, UnrecordedSubmit
from .jobs import upload_references
from .polling import PollPolicy, TaskTimeout, follow_task
from .text import one_line
from .validation import GenerationRequest, validate
from .wire import Task

if TYPE_CHECKING:  # httpx (through the client) loads with the first client, not with the TUI
    from .client import EvolinkClient


def _net_unknown(err: EvolinkError) -> bool:
    """A failure after which the server may or may not have created the task.

    A network error or an unreadable (or oversized) answer, or a 5xx (a server error may
    come after the task was stored): such a submit is ``uncertain`` and is resent only with
    its own key.
    """
    if err.kind == "local" and err.code in ("network", "malformed", "too_large"):
        return True
    return err.kind == "http" and err.status is not None and err.status >= 500


def task_gone(err: EvolinkError) -> bool:
    """Evolink answered 404 for a task id: it no longer knows the task. Not an outage (the
    reference does not retry a 404): for a task on record, a final state. So is a task id
    from the server that cannot even be polled (``bad_task_id``)."""
    return (err.kind == "http" and err.status == 404) or (err.kind == "local" and err.code == "bad_task_id")


def _progress_only(before: Task, after: Task) -> bool:
    """A read of a running task that says nothing new but its progress and time left."""
    return (
        after.is_active
        and after.status == before.status
        and after.error is None
        and before.error is None
        and after.results == before.results
    )


def _call_later(delay: float, callback: Callable[[], None]) -> object:
    import asyncio

    return asyncio.get_running_loop().call_later(delay, callback)


def not_found_error(task_id: str, err: EvolinkError) -> EvolinkError:
    if err.code == "bad_task_id":  # says why itself
        return err
    said = f" ({err.message})" if err.message and err.message != err.meaning else ""
    return EvolinkError("local", "task_not_found", f"HTTP 404{said}", task_id=task_id, status=404)


def interrupted_error(record: TaskRecord) -> EvolinkError:
    """Why a record left in ``submitting`` by a stopped app is now ``uncertain``."""
    if record.attempted_at is None:
        message = "the app stopped before the submit was sent: nothing was charged"
    else:
        message = "the app stopped while the submit was in flight: it may have reached Evolink"
    return EvolinkError("local", "interrupted", message)


class Runner:
    def __init__(
        self,
        client: EvolinkClient,
        history: History,
        download_dir: Path,
        *,
        policy: PollPolicy | None = None,
        on_event: Callable[[TaskEvent], None] | None = None,
        progress_every: float = 0.0,
        later: Callable[[float, Callable[[], None]], object] | None = None,
    ):
        self.client = client
        self.history = history
        self.download_dir = Path(download_dir)
        self.policy = policy or PollPolicy()
        self.events = EventBus()  # a listener that raises is logged and reported, never breaks a task
        if on_event is not None:
            self.events.subscribe(on_event)
        # Progress news (a read of a running task that brought nothing but progress and time
        # left) is written and told at most every ``progress_every`` seconds, for every task
        # at once, in one transaction; anything else at once (0: everything at once). 200
        # tasks polling make ten reads a second: a write and a pass of the views each.
        # ``later(delay, callback)`` schedules the write (the event loop's call_later).
        self.progress_every = progress_every
        self._later = later
        self._progress: dict[int, Task] = {}  # record id -> its latest progress news, not yet written
        self._progress_failed: dict[int, HistoryError] = {}  # raised in the task's own follow
        self._progress_due = False

    def _emit(self, event: TaskEvent) -> None:
        self.events.emit(event)

    def _record(self, record_id: int) -> TaskRecord:
        record = self.history.get(record_id)
        if record is None:  # records are never deleted: a caller passed an id of another history
            raise LookupError(f"no record {record_id} in {self.history.path}")
        return record

    def prepare(
        self,
        request: GenerationRequest,
        *,
        group_id: str | None = None,
        parent: tuple[int, int] | None = None,
        idempotency_key: str | None = None,
    ) -> int:
        """Validate (raises ValidationError, nothing recorded) and record the request, with the
        (record id, result index) it iterates on (``iterate.Iteration.parent``) and
        ``idempotency_key`` when one was chosen earlier (a batch chooses its keys when planned)."""
        from .client import new_idempotency_key

        validate(request)
        key = idempotency_key or new_idempotency_key()
        return self.history.record_submission(request.to_body(), key, group_id=group_id, parent=parent)

    async def run(self, record_id: int, request: GenerationRequest | None = None, *, follow: bool = True) -> TaskRecord:
        """Submit a prepared record (or resend an uncertain one with its own key) and see it
        through; with ``follow=False`` return once the server has accepted it.

        Local references are uploaded first (a failure there is ``submit_failed``: nothing
        was submitted). The record is marked as being sent just before the submit goes out,
        so a crash from then on leaves it ``uncertain``, never silently sent twice.
        """
        record = self._record(record_id)
        if record.task_id is not None:  # already accepted: never submit again, just see it through
            if not follow:
                return record
            return await self.resume(record) or self._record(record_id)
        if request is None:
            request = record.generation_request()
        self._emit(SubmitStarted(record_id))
        started = self.client.clock.now()
        try:
            sendable, uploads = await upload_references(
                self.client,
                request,
                tag=record.idempotency_key,
                on_upload=lambda ref, info: self._emit(ReferenceUploaded(record_id, ref, info.file_url or "")),
            )
        except (EvolinkError, ValidationError, OSError) as exc:
            if isinstance(exc, EvolinkError):
                err = exc
            else:  # a reference file changed or vanished since it was validated
                text = str(exc) if isinstance(exc, ValidationError) else f"{exc.filename or ''}: {exc.strerror or exc}"
                err = EvolinkError("local", "reference", text)
            error = {**err.to_json(), "stage": "upload"}
            self.history.mark_submit_failed(record_id, error)
            self._emit(TaskFailed(record_id, err, None))
            return self._record(record_id)
        body = sendable.to_body()
        if uploads:
            self.history.update_request(record_id, body)
        self.history.mark_sending(record_id)
        task: Task | None = None
        try:  # from here on a history failure must not be reported as "nothing was sent"
            try:
                task = await self.client.submit(sendable, record.idempotency_key)
            except EvolinkError as err:
                if _net_unknown(err):
                    self.history.mark_uncertain(record_id, err.to_json())
                    self._emit(SubmitUncertain(record_id, err))
                else:
                    self.history.mark_submit_failed(record_id, err.to_json())
                    self._emit(TaskFailed(record_id, err, None))
                return self._record(record_id)
            holder = self.history.update_task(record_id, task)
            if holder != record_id:  # the task is another record's already: linked there, not followed twice
                linked = EvolinkError(
                    "local",
                    "linked",
                    f"Evolink answered with task {one_line(task.id)}, already recorded as #{holder}: "
                    "one task, followed on that record",
                    task_id=task.id,
                )
                self._emit(TaskFailed(record_id, linked, None))
                return self._record(record_id)
            self._emit(TaskSubmitted(record_id, task))
            if not follow:
                return self._record(record_id)
            return await self.follow(record_id, task, started_at=started, polls_done=0)
        except HistoryError as exc:
            raise UnrecordedSubmit(exc, record_id, task.id if task is not None else None) from exc

    async def follow(
        self, record_id: int, task: Task, *, started_at: float | None = None, polls_done: int = 1
    ) -> TaskRecord:
        """Poll to the end, then download. Errors are recorded and reported, never raised."""

        last = task  # the latest read (or the submit's answer): what a read's news is judged against

        def update(current: Task) -> None:
            nonlocal last
            failed = self._progress_failed.pop(record_id, None)
            if failed is not None:  # its progress news could not be written: as if this write failed
                raise failed
            before, last = last, current
            if self.progress_every > 0 and _progress_only(before, current):
                self._hold_progress(record_id, current)
                return
            self._progress.pop(record_id, None)  # superseded by this news, written now
            self.history.update_task(record_id, current)
            self._emit(TaskProgressed(record_id, current))

        def problem(err: EvolinkError) -> None:
            self._emit(TaskOffline(record_id, task.id, err))

        try:
            final = await follow_task(
                self.client,
                task,
                policy=self.policy,
                started_at=started_at,
                on_update=update,
                on_problem=problem,
                polls_done=polls_done,
            )
        except TaskTimeout as timeout:
            self.history.set_notice(record_id, timeout.notice)
            self._emit(TaskTimedOut(record_id, timeout.task, timeout.notice))
            return self._record(record_id)
        except EvolinkError as err:
            if task_gone(err):
                return self._not_found(record_id, task.id, err)
            self.history.set_error(record_id, err.to_json())
            self._emit(TaskFailed(record_id, err, task))
            return self._record(record_id)
        finally:  # what it said last is written and told from here on, never after it
            self._progress.pop(record_id, None)
            self._progress_failed.pop(record_id, None)
        if final is task:  # over before any read; else the last read's news is written (update)
            self.history.update_task(record_id, final)
        if final.status != "completed":
            failure = (
                final.error.as_exception(final.id)
                if final.error
                else EvolinkError("task", "unknown_error", f"task {final.status}", task_id=final.id)
            )
            self._emit(TaskFailed(record_id, failure, final))
            return self._record(record_id)
        self._emit(TaskCompleted(record_id, final))
        await self.download(record_id, final)
        return self._record(record_id)

    def _hold_progress(self, record_id: int, task: Task) -> None:
        self._progress[record_id] = task
        if not self._progress_due:
            self._progress_due = True
            (self._later or _call_later)(self.progress_every, self._write_progress)

    def _write_progress(self) -> None:
        """The progress news held, written in one transaction and told, task by task in the order
        their news first came.
        A history that cannot be written fails each of those tasks at its next read, as a
        write of its own would have."""
        self._progress_due = False
        news, self._progress = list(self._progress.items()), {}
        if not news:
            return
        try:
            self.history.update_tasks(news)
        except HistoryError as exc:
            self._progress_failed.update((record_id, exc) for record_id, _ in news)
            return
        for record_id, task in news:
            self._emit(TaskProgressed(record_id, task))

    async def download(self, record_id: int, task: Task) -> list[Download]:
        """Fetch the results of a completed task; the outcome is recorded (``download_state``)."""
        from .recipe import record_fields  # its recipe goes into each file and sidecar

        record = self.history.get(record_id)
        body = record.request if record else {"model": task.model}
        finished = record.finished_at if record and record.finished_at else self.client.clock.now()
        downloads = await download_results(
            self.client,
            task,
            body,
            self.download_dir,
            completed_at=finished,
            url_expires_at=record.url_expires_at if record else None,
            extra=record_fields(self.history, record) if record else None,
            on_download=lambda d: self._emit(ResultDownloaded(record_id, task, d)),
        )
        state, err = download_state(downloads)
        if not task.results:
            state, err = (
                "done",
                EvolinkError(
                    "task", "generation_failed_no_content", "the task completed without result URLs", task_id=task.id
                ),
            )
        self.history.set_downloads(
            record_id, [str(d.path) for d in downloads if d.ok], state, err.to_json() if err else None
        )
        self._emit(TaskFinished(record_id, task, tuple(downloads)))
        return downloads

    async def _download_record(self, record: TaskRecord) -> TaskRecord:
        """Fetch what a completed record has not on disk yet, while its URLs last."""
        task = record.as_task()
        if not record.urls_valid(self.client.clock.now()):
            err = EvolinkError(
                "local",
                "expired",
                "the result URLs expired before they could be downloaded (they last 24 hours)",
                task_id=record.task_id,
            )
            self.history.set_downloads(record.id, record.files, "expired", err.to_json())
            downloads = tuple(Download(url=url, error=err) for url in task.results)
            self._emit(TaskFinished(record.id, task, downloads, err))
            return self._record(record.id)
        await self.download(record.id, task)
        return self._record(record.id)

    async def retry_downloads(self, record: TaskRecord) -> TaskRecord:
        """Results of a completed record not yet on disk ("retried later"): fetched while the
        URLs last, else the record is marked expired (and kept)."""
        return await self._download_record(record)

    def _not_found(self, record_id: int, task_id: str, err: EvolinkError) -> TaskRecord:
        """The record's task is gone from Evolink: its final state, reported as a failure."""
        error = not_found_error(task_id, err)
        self.history.mark_not_found(record_id, error.to_json())
        self._emit(TaskGone(record_id, task_id, error))
        return self._record(record_id)

    def task_not_found(self, task_id: str, err: EvolinkError) -> TaskRecord | None:
        """After ``err`` reading ``task_id``: if Evolink no longer knows a task the history
        holds, record its final state and return the record; else None (raise ``err``)."""
        if not task_gone(err):
            return None
        record = self.history.by_task_id(task_id.strip())
        return self._not_found(record.id, record.task_id or task_id, err) if record is not None else None

    async def check(self, task_id: str) -> TaskRecord:
        """ "Check task by ID": fetch it, record it, follow it if it still runs. A 404 for a
        task on record ends it ``not_found``; for an id never seen, the error is raised."""
        try:
            task = await self.client.get_task(task_id)
        except EvolinkError as err:
            known = self.task_not_found(task_id, err)
            if known is None:
                raise
            return known
        record_id = self.history.add_task_id(task)
        self._emit(TaskProgressed(record_id, task))
        if task.is_active:
            return await self.follow(record_id, task, polls_done=1)
        if task.status == "completed":
            self._emit(TaskCompleted(record_id, task))
            await self.download(record_id, task)
        elif task.error:
            self._emit(TaskFailed(record_id, task.error.as_exception(task.id), task))
        return self._record(record_id)

    async def resume(self, record: TaskRecord) -> TaskRecord | None:
        """After a restart: poll an unfinished task again, or fetch results not yet on disk.

        An ``uncertain`` or ``submitting`` record is not resent here: it is marked
        ``uncertain`` and the caller offers to resend it with its own idempotency key
        (``run(record.id)``). None when nothing could be done now (the record says why).
        """
        if record.task_id is None:
            if record.state == "submitting":
                self.history.mark_uncertain(record.id, interrupted_error(record).to_json())
                self._emit(SubmitUncertain(record.id, interrupted_error(record)))
            return None
        if record.needs_download:
            return await self._download_record(record)
        if record.is_finished:
            return record
        try:
            task = await self.client.get_task(record.task_id, from_server=True)
        except EvolinkError as err:
            if task_gone(err):  # Evolink no longer knows it: final, said once
                return self._not_found(record.id, record.task_id, err)
            if not err.retryable:  # keep the record and say why
                self.history.set_error(record.id, err.to_json())
            self._emit(ResumeFailed(record.id, record.task_id, err))
            return None
        self.history.update_task(record.id, task)
        if task.is_active:
            return await self.follow(record.id, task, polls_done=1)
        if task.status == "completed":
            return await self.follow(record.id, task)
        return self.history.get(record.id)
