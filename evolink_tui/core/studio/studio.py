"""The Studio: everything the app does that is not a screen, in one object.

It owns the settings, the one shared client and the runner on it, the history, the index
of records (and of comparison groups) that views show, the connection state ("offline,
retrying"), the Files API operations (:attr:`Studio.files`) and the decisions (what a retry
may do, whether a submit is unsure). The TUI's App and the headless commands both stand on
it. Nothing here imports textual.

Its long operations are coroutines (:meth:`run`, :meth:`check`, :meth:`recover`,
:meth:`load_history`, the Files operations): the App runs each as a worker, a command
awaits it. Everything that happens is reported on :attr:`Studio.events` as the typed events
of :mod:`evolink_tui.core.events`, after the index and the connection state are up to date,
so a listener reads the fresh record with :meth:`record`. State changes only on the event
loop; disk reads that may be slow run in a thread and are folded in on the loop.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn

from ..bus import EventBus, ListenerFailure
from ..clock import RealClock
from ..history import PAGE, History, TaskRecord, history_path
from ..rules import CHECK, DOWNLOAD, NEW_TASK, RESEND, RetryAction, is_unsure, retry_action
from .connection import Connection

if TYPE_CHECKING:  # the client (httpx), the runner and the event types load with the first client
    from ..client import EvolinkClient
    from ..config import Settings
    from ..costs import Charge
    from ..iterate import Iteration
    from ..recovery import RecoverySummary
    from ..runner import Runner
    from ..validation import GenerationRequest
    from .batches import Batches
    from .files import Files

ClientFactory = Callable[..., "EvolinkClient"]


def _charge(record: TaskRecord) -> Charge:
    from ..costs import charge

    return charge(record)


def _default_factory() -> ClientFactory:
    from ...runtime import make_client  # httpx (and the demo's simulator) load with the first client

    return make_client


class Totals(NamedTuple):
    """What the top bar counts: credits reserved by this run, tasks running, unsure submits."""

    spent: float
    running: int
    unsure: int


class Retry(NamedTuple):
    """A retry as decided: what it does, the record to show, and the work to run (if any)."""

    action: RetryAction
    record_id: int
    job: Callable[[], Awaitable[Any]] | None


class _Counted(set[int]):
    """A set of record ids whose every change calls ``moved`` (the Studio's counts version):
    this run's records, those in flight, those dismissed. A view counts the top bar again only
    when the version has moved, and no change to these sets can forget to move it."""

    def __init__(self, moved: Callable[[], None]) -> None:
        super().__init__()
        self._moved = moved

    def add(self, item: int) -> None:
        if item not in self:
            super().add(item)
            self._moved()

    def discard(self, item: object) -> None:
        if item in self:
            super().discard(item)
            self._moved()

    def remove(self, item: int) -> None:
        super().remove(item)
        self._moved()

    def update(self, *others: Iterable[int]) -> None:
        before = len(self)
        super().update(*others)
        if len(self) != before:
            self._moved()

    def clear(self) -> None:
        if self:
            super().clear()
            self._moved()

    def _changed(self, *args: object, **kwargs: object) -> NoReturn:  # anything else that changes it in place
        raise TypeError("change a Studio's counted set with add, discard, remove, update or clear")

    pop = difference_update = intersection_update = symmetric_difference_update = _changed
    __ior__ = __iand__ = __isub__ = __ixor__ = _changed


class Studio:
    """See the module docstring. ``client_factory(settings, clock=...)`` builds the client
    (tests pass the simulator's); ``history_ahead``: the first page of history already
    being read (:func:`~evolink_tui.core.history.read_ahead`)."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Any = None,
        client_factory: ClientFactory | None = None,
        history_ahead: Future | None = None,
        progress_every: float = 0.0,
    ) -> None:
        self.settings = settings
        self.progress_every = progress_every  # the runner's (see Runner): 0 writes and tells each read at once
        self._clock_arg = clock
        self.clock = clock or RealClock()
        self._client_factory = client_factory
        self.history = History(history_path(settings), clock=self.now)
        self.events = EventBus()
        self.client: EvolinkClient | None = None
        self.runner: Runner | None = None
        self.connection = Connection()
        self.records: dict[int, TaskRecord] = {}
        self.groups: dict[str, set[int]] = {}
        # What totals() and not_charged() count moves counts_version by itself (see _Counted).
        self.session_ids: set[int] = _Counted(self._moved)  # records this run of the app started
        self.in_flight: set[int] = _Counted(self._moved)  # records being sent, followed or downloaded now
        # The top bar's counts, kept as records change (a wave of task events must not scan
        # every record on each one): ids running now, ids whose submit is uncertain.
        self._running: set[int] = set()
        self._uncertain: set[int] = set()
        self._charges: dict[int, Charge] = {}  # what each record counts for (costs.charge), as remembered
        # What each record counts for in totals() and not_charged(), and a number that moves
        # whenever any of it may have changed: a view counts again only then (200 polling
        # tasks bring 10 events a second, none of which changes a count).
        self._counted: dict[int, tuple] = {}
        self._counts_version = 0
        # Taken off the list by the user (the history keeps them, marked: see dismiss); this
        # run's dismisses in order, for undo.
        self.dismissed: set[int] = _Counted(self._moved)
        self._undo_dismiss: list[int] = []
        self._files: Files | None = None
        self._batches: Batches | None = None
        self._ahead = history_ahead
        self._history_offset = 0
        self._history_done = False
        self._history_loading = False

    def now(self) -> float:
        return float(self.clock.now())

    # -- the client ---------------------------------------------------------------------------

    def ensure_runner(self) -> Runner:
        """The runner on the one shared client, built on first use (no network: nothing is
        sent here)."""
        if self.runner is None:
            self._start_client()
        assert self.runner is not None
        return self.runner

    def _start_client(self) -> None:
        from ..runner import Runner

        self.client = (self._client_factory or _default_factory())(self.settings, clock=self._clock_arg)
        if self._clock_arg is None:  # one clock for all: the client's (tests may have swapped it)
            self.clock = self.client.clock
        self.client.events.on_failure = self._listener_failed
        self.client.events.subscribe(self._request_event)
        self.runner = Runner(self.client, self.history, self.settings.download_dir, progress_every=self.progress_every)
        self.runner.events.on_failure = self._listener_failed
        self.runner.events.subscribe(self._task_event)
        self.connection = Connection()  # a new client: nothing known to fail yet
        self._connection_changed()

    def _listener_failed(self, failure: ListenerFailure) -> None:
        if self.events.on_failure is not None:
            self.events.on_failure(failure)

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()
        self.history.close()

    @property
    def files(self) -> Files:
        """The Files API operations and what is known about the files host."""
        if self._files is None:
            from .files import Files

            self._files = Files(self)
        return self._files

    @property
    def batches(self) -> Batches:
        """Batches (plan, run, pause, cancel, resume) and the budget (built on first use)."""
        if self._batches is None:
            from .batches import Batches

            self._batches = Batches(self)
        return self._batches

    # -- events from the client and the runner ------------------------------------------------

    def _request_event(self, event: object) -> None:
        from ..events import RequestRetrying

        if isinstance(event, RequestRetrying):
            changed = self.connection.retrying(event.op, event.task_id, event.error)
        else:
            changed = self.connection.answered(event.op, event.task_id)  # type: ignore[attr-defined]
        self.events.emit(event)
        if changed:
            self._connection_changed()

    def _task_event(self, event: object) -> None:
        from ..events import ReferenceUploaded, TaskEvent, TaskOffline

        assert isinstance(event, TaskEvent)
        record = self.history.get(event.record_id)
        if record is not None:
            self.remember(record)
        if isinstance(event, TaskOffline):
            changed = self.connection.offline(event.task_id, event.error)
        else:
            changed = self.connection.settle(record.task_id if record else None)
        if isinstance(event, ReferenceUploaded) and self._files is not None:
            self._files.state.stale = True
        self.events.emit(event)
        if changed:
            self._connection_changed()

    def _connection_changed(self) -> None:
        from ..events import ConnectionChanged

        label, tasks = self.connection.snapshot()
        self.events.emit(ConnectionChanged(label, tasks))

    # -- the index of records ----------------------------------------------------------------------

    def remember(self, record: TaskRecord) -> None:
        self.records[record.id] = record
        if record.group_id:
            self.groups.setdefault(record.group_id, set()).add(record.id)
        running = not record.is_finished and record.state != "uncertain"
        (self._running.add if running else self._running.discard)(record.id)
        (self._uncertain.add if record.is_uncertain else self._uncertain.discard)(record.id)
        dismissed = record.dismissed_at is not None
        (self.dismissed.add if dismissed else self.dismissed.discard)(record.id)
        charge = self._charges[record.id] = _charge(record)
        counted = (running, record.is_uncertain, dismissed, charge, bool(record.task_id))
        if self._counted.get(record.id) != counted:
            self._counted[record.id] = counted
            self._counts_version += 1

    @property
    def counts_version(self) -> int:
        """Moves whenever :meth:`totals` or :meth:`not_charged` may count differently (a
        record's state, charge or dismissal, this run's records, what is being sent)."""
        return self._counts_version

    def _moved(self) -> None:
        self._counts_version += 1

    def record(self, record_id: int) -> TaskRecord | None:
        return self.records.get(record_id)

    def group_records(self, record: TaskRecord) -> list[TaskRecord]:
        """Every task of ``record``'s comparison run, in order (or just ``record``)."""
        if not record.group_id:
            return [record]
        ids = sorted(self.groups.get(record.group_id, {record.id}))
        return [self.records[i] for i in ids if i in self.records]

    def totals(self) -> Totals:
        """Credits reserved by this run, tasks running, unsure submits: from the counts kept
        by :meth:`remember` (only this run's records and the uncertain ones are visited)."""
        records, charges = self.records, self._charges
        # Each record's charge is worked out once, as it is remembered (costs.charge: failed ones nothing).
        spent = sum(charges[i].credits or 0.0 for i in self.session_ids if i in charges)
        hidden = self.dismissed
        running = sum(1 for i in self._running if i not in hidden)
        unsure = sum(1 for i in self._uncertain if i not in hidden and self.is_unsure(records[i]))
        return Totals(spent, running, unsure)

    def not_charged(self) -> int:
        """Tasks this run sent that failed or were refunded: shown apart from the credits."""
        from ..costs import NOT_CHARGED, REFUNDED

        records, charges = self.records, self._charges
        return sum(
            1
            for i in self.session_ids
            if i in charges and records[i].task_id and charges[i].kind in (NOT_CHARGED, REFUNDED)
        )

    def dismiss(self, record_id: int) -> None:
        """Take a record off the task list and the running count, also for later runs (the
        history keeps the record, marked); undoable with :meth:`undismiss`."""
        self._set_dismissed(record_id, True)
        if record_id in self._undo_dismiss:
            self._undo_dismiss.remove(record_id)
        self._undo_dismiss.append(record_id)

    def undismiss(self) -> int | None:
        """Bring back the record this run dismissed last (in the history too); its id, or None."""
        if not self._undo_dismiss:
            return None
        record_id = self._undo_dismiss.pop()
        self._set_dismissed(record_id, False)
        return record_id

    def _set_dismissed(self, record_id: int, on: bool) -> None:
        self.history.set_dismissed(record_id, on)
        record = self.history.get(record_id)
        if record is not None:
            self.remember(record)
        else:
            (self.dismissed.add if on else self.dismissed.discard)(record_id)

    def result_file(self, url: str) -> str | None:
        """The downloaded file of the result known by ``url`` (among the records in the
        index), or None: not a result of ours, not on disk, or deleted by the user."""
        for record in self.records.values():
            if url in record.results:
                index = record.results.index(url)
                if index < len(record.files) and not record.is_deleted(index):
                    return record.files[index]
        return None

    def reveal(self, record_id: int) -> list[TaskRecord]:
        """A record read afresh with the rest of its comparison run, all put in the index
        (to show a task found by a history search; a dismissed one is listed again); the
        record itself last."""
        record = self.history.get(record_id)
        if record is None:
            return []
        if record.dismissed_at is not None:  # shown on purpose: listed again, also after a restart
            self._set_dismissed(record_id, False)
            record = self.records.get(record_id, record)
        siblings = [r for r in self.history.in_group(record.group_id) if r.id != record.id] if record.group_id else []
        for found in (*siblings, record):
            self.remember(found)
        return [*siblings, record]

    # -- history pages --------------------------------------------------------------------------------

    def read_ahead_page(self) -> tuple[list[TaskRecord], int] | None:
        """The first page of history if the read started before the app has finished: its
        records (indexed) and the number of records; None if not read yet."""
        ahead = self._ahead
        if ahead is None or not ahead.done() or ahead.exception() is not None:
            return None
        self._ahead = None
        records, total = ahead.result()
        self._paged(records, 0, total)
        return records, total

    @property
    def history_loading(self) -> bool:
        """A page of history is being read now."""
        return self._history_loading

    @property
    def history_wanted(self) -> bool:
        """More history could be read (none is being read, and some is left)."""
        return not self._history_loading and not self._history_done

    async def load_history(self, offset: int | None = None) -> None:
        """Read a page of history in a thread (the first: ``offset`` 0; else the next one)
        and index it: ``HistoryLoaded``."""
        from ..events import HistoryLoaded

        first = offset == 0
        start = 0 if first else self._history_offset
        if not first and not self.history_wanted:
            return
        self._history_loading = True
        ahead, self._ahead = self._ahead, None
        try:
            if ahead is not None and first:
                records, total = await asyncio.wrap_future(ahead)
            else:
                records, total = await asyncio.to_thread(self._read_page, start)
        finally:
            self._history_loading = False
        self._paged(records, start, total)
        self.events.emit(HistoryLoaded(tuple(records), start, total, first))

    def _read_page(self, offset: int) -> tuple[list[TaskRecord], int]:
        return self.history.recent(PAGE, offset), self.history.count()

    def _paged(self, records: list[TaskRecord], offset: int, total: int) -> None:
        self._history_offset = offset + len(records)
        self._history_done = self._history_offset >= total or not records
        for record in records:
            self.remember(record)

    # -- generating ------------------------------------------------------------------------------------

    def prepare(self, requests: list[GenerationRequest], *, parent: tuple[int, int] | None = None) -> list[int]:
        """Validate and record each request (several: a comparison run, one group); the
        record ids, indexed and counted as this run's. ``parent``: the (record id, result
        index) they iterate on (see ``core/iterate.py``), recorded with each. Raises
        ``ValidationError`` naming the first problem (then nothing is recorded)."""
        from ..validation import problems

        for request in requests:
            found = problems(request)
            if found:
                raise found[0]
        runner = self.ensure_runner()
        group = os.urandom(6).hex() if len(requests) > 1 else None
        record_ids = [runner.prepare(request, group_id=group, parent=parent) for request in requests]
        self.in_flight.update(record_ids)  # from now: their workers are about to start
        for record_id in record_ids:
            self.session_ids.add(record_id)
            record = self.history.get(record_id)
            if record is not None:
                self.remember(record)
        return record_ids

    def iterate(self, record: TaskRecord, index: int) -> Iteration:
        """The request that iterates on result ``index`` (from 0) of ``record``, its URL
        judged by this Studio's clock (``core/iterate.py``; looks at the disk: a thread)."""
        from ..iterate import iterate

        return iterate(record, index, now=self.now())

    async def run(self, record_id: int) -> TaskRecord:
        """Submit a prepared record (or resend an unsure one with its own key) and see it
        through, downloads included."""
        self.in_flight.add(record_id)
        try:
            return await self.ensure_runner().run(record_id)
        finally:
            self.in_flight.discard(record_id)

    async def check(self, task_id: str) -> TaskRecord:
        """Fetch any task by id, record it, follow it if it still runs."""
        return await self.ensure_runner().check(task_id)

    # -- decisions --------------------------------------------------------------------------------------

    def is_unsure(self, record: TaskRecord) -> bool:
        """A submit whose outcome is unknown and that nothing sends now: the user may resend
        it with its own key."""
        return is_unsure(record, in_flight=record.id in self.in_flight)

    def retry_action(self, record: TaskRecord) -> RetryAction:
        """What a retry of ``record`` may safely do (see :func:`~evolink_tui.core.rules.retry_action`)."""
        return retry_action(record, in_flight=record.id in self.in_flight)

    def retry(self, record: TaskRecord) -> Retry:
        """Decide a retry and prepare it: a new task is recorded now (``ValidationError`` if
        its request no longer passes); ``job`` is the work to run, if any."""
        action = self.retry_action(record)
        runner = self.ensure_runner()
        if action.kind == RESEND:
            self.session_ids.add(record.id)
            self.in_flight.add(record.id)
            return Retry(action, record.id, lambda: self.run(record.id))
        if action.kind == CHECK:
            self.history.set_notice(record.id, None)
            task_id = record.task_id or ""
            return Retry(action, record.id, lambda: self.check(task_id))
        if action.kind == NEW_TASK:
            new_id = runner.prepare(record.generation_request(), group_id=record.group_id)
            self.session_ids.add(new_id)
            self.in_flight.add(new_id)
            fresh = self.history.get(new_id)
            if fresh is not None:
                self.remember(fresh)
            return Retry(action, new_id, lambda: self.run(new_id))
        if action.kind == DOWNLOAD:
            return Retry(action, record.id, lambda: self._retry_downloads(record))
        return Retry(action, record.id, None)

    async def _retry_downloads(self, record: TaskRecord) -> TaskRecord:
        self.in_flight.add(record.id)
        try:
            return await self.ensure_runner().retry_downloads(record)
        finally:
            self.in_flight.discard(record.id)

    # -- recovery ---------------------------------------------------------------------------------------

    async def recover(self) -> RecoverySummary:
        """What an earlier run left under way: said at once (``FolderUnwritable``,
        ``RecoveryStarted``), then polled, downloaded, or marked uncertain (never resent),
        ``RecoveryFinished``. Never touches what this run started itself."""
        from ..downloads import folder_problem
        from ..events import FolderUnwritable, RecoveryFinished, RecoveryStarted
        from ..recovery import plan_recovery, recover

        runner = self.ensure_runner()
        problem = await asyncio.to_thread(folder_problem, runner.download_dir)
        if problem:
            self.events.emit(FolderUnwritable(runner.download_dir, problem))
        plan = await asyncio.to_thread(plan_recovery, self.history)
        mine = self.session_ids | (self._batches.owned_records() if self._batches else set())
        unfinished, downloads, uncertain = (
            [r for r in records if r.id not in mine] for records in (plan.unfinished, plan.downloads, plan.uncertain)
        )
        for record in (*uncertain, *unfinished, *downloads):
            self.remember(record)
        self.events.emit(
            RecoveryStarted(
                tuple(r.id for r in unfinished), tuple(r.id for r in downloads), tuple(r.id for r in uncertain)
            )
        )
        summary = await recover(runner, self.history, exclude=mine)
        shown = [record for record in summary.records if record.id not in mine]
        for record in shown:
            self.remember(record)
        self.events.emit(RecoveryFinished(tuple(r.id for r in shown)))
        return summary

    # -- another mode --------------------------------------------------------------------------------------

    def switch(self, settings: Settings) -> EvolinkClient | None:
        """Use ``settings`` (demo mode, or a real key): a new client, and the history of
        that mode (``HistoryReset`` when it is another). Returns the old client, for the
        caller to close."""
        from ..events import HistoryReset

        old_path = history_path(self.settings)
        old_client = self.client
        self.settings = settings
        self.client = self.runner = None
        if history_path(settings) != old_path:
            self.history.close()
            self.history = History(history_path(settings), clock=self.now)
            self.records.clear()
            self.groups.clear()
            self._running.clear()
            self._uncertain.clear()
            self._charges.clear()
            self._counted.clear()
            self._moved()
            self.session_ids.clear()
            self.dismissed.clear()
            self._undo_dismiss.clear()
            self._history_offset, self._history_done, self._history_loading = 0, False, False
            self.events.emit(HistoryReset())
        self._start_client()
        return old_client
