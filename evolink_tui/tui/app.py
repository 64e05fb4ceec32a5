"""EvolinkApp: wires settings, the one shared client, history and the runner to the screens.

Startup never waits on the network: the main screen is drawn first; then the client is
built, history is read in a thread worker and unfinished tasks are resumed. Each
generation runs as its own async worker on the App (workers die with the node that
started them, and the App outlives every screen). The runner reports every transition;
each becomes one message (see ``messages.py``) whose handler updates the screens. Worker
errors are turned into notifications in one place and never end the app.
"""

from __future__ import annotations

import asyncio
import gc
import os
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.theme import Theme
from textual.worker import Worker, WorkerState

from evolink_tui.core import events as kinds
from evolink_tui.core.clock import RealClock
from evolink_tui.core.config import Settings, load_settings, save_api_key, update_config_file
from evolink_tui.core.errors import EvolinkError, ValidationError
from evolink_tui.core.events import TaskEvent
from evolink_tui.core.history import PAGE, History, TaskRecord, history_path
from evolink_tui.core.validation import GenerationRequest, problems
from evolink_tui.runtime import make_client

from .commands import EvolinkCommands
from .connection import Connection
from .files_flow import FilesFeature
from .format import plain, short_problem
from .messages import (
    ClientReady,
    ConnectionChanged,
    HistoryLoaded,
    KeySaved,
    RecordRefreshed,
    TaskChanged,
    task_message,
)
from .notices import notice_for
from .recovery_view import is_resendable, recover_at_start
from .screens.main import MainScreen
from .widgets.tasklist import TaskList

if TYPE_CHECKING:  # the runner (downloads, polling, uploads) loads with the client, after the first frame
    from evolink_tui.core.runner import Runner

# Young collections every 10,000 new objects (not 700) and full ones far more rarely: a full
# collection walks every object the app made since startup (25-45 ms with a few results
# shown), and at the default pace they came several times a second while results arrived.
GC_THRESHOLDS = (10_000, 20, 100)


def describe_error(error: BaseException) -> str:
    """A human message for any failure, from the error catalogue when it is ours."""
    if isinstance(error, EvolinkError):
        return error.explain()
    if isinstance(error, ValidationError):
        return str(error)
    return f"{type(error).__name__}: {error}"


class EvolinkApp(App[int], FilesFeature):
    """The Evolink Image API, keyboard first."""

    CSS_PATH = "styles.tcss"
    TITLE = "evolink-tui"
    COMMANDS = {EvolinkCommands}
    COMMAND_PALETTE_DISPLAY = "^p"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True, show=False, id="quit")]

    def __init__(
        self,
        settings: Settings,
        *,
        clock=None,
        client_factory=None,
        cursor_blink: bool = True,
        history_ahead: Future | None = None,
    ) -> None:
        """``history_ahead``: the first page of history already being read (see
        :func:`~evolink_tui.core.history.read_ahead`), else the app reads it."""
        super().__init__()
        self._history_ahead = history_ahead
        self.settings = settings
        self._clock_arg = clock
        self.clock = clock or RealClock()
        self.cursor_blink = cursor_blink
        self._client_factory = client_factory or make_client
        self.history = History(history_path(settings), clock=self.clock.now)
        self.client = None
        self.runner: Runner | None = None
        self.records: dict[int, TaskRecord] = {}
        self._groups: dict[str, set[int]] = {}
        self.session_ids: set[int] = set()
        self._history_offset = 0
        self._history_done = False
        self._history_loading = False
        self._warned_offline: set[int] = set()
        self.connection = Connection()  # what is failing and being retried: "offline, retrying"
        self._select_task_id: str | None = None
        self._main = MainScreen(cursor_blink=cursor_blink)

    def get_default_screen(self) -> MainScreen:
        return self._main

    @property
    def main(self) -> MainScreen:
        return self._main

    # -- startup --------------------------------------------------------------------------------

    def on_mount(self) -> None:
        if self.settings.theme and self.settings.theme in self.available_themes:
            self.theme = self.settings.theme
        self._saved_theme = self.theme
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self._history_loading = True
        ahead = self._history_ahead
        if ahead is not None and ahead.done() and ahead.exception() is None:  # read while Textual loaded
            self._history_ahead = None
            records, total = ahead.result()
            self.post_message(HistoryLoaded(records, 0, total, first=True))
        else:
            self._read_history(0, first=True)  # from disk, in a thread, while the first frame is drawn
        self.call_after_refresh(self._after_first_frame)
        self.set_interval(1.0, self._tick)

    def _after_first_frame(self) -> None:
        if not gc.isenabled():  # paused for startup (see cli._run_tui)
            # What startup made lives as long as the app: out of the collector's sight, a full
            # collection later walks only what came after (else pauses of tens of ms).
            gc.freeze()
            gc.set_threshold(*GC_THRESHOLDS)
            gc.enable()
        for warning in self.settings.warnings:
            self.notify(warning, severity="warning", markup=False, timeout=10)
        if not self.settings.has_key and not self.settings.demo:
            self.action_enter_key()

    def show_identity(self) -> None:
        """The top bar: DEMO label, masked key, a non-default endpoint."""
        bar = self.main.topbar
        bar.demo = self.settings.demo
        bar.key = self.settings.masked_key if self.settings.has_key else "none"
        default = self.settings.base_url.startswith("https://api.evolink.ai")
        bar.endpoint = "" if default or self.settings.demo else plain(self.settings.base_url, 40)

    def _start_client(self) -> Runner:
        """The one shared client and the runner on it (no network: nothing is sent here)."""
        self.client = self._client_factory(self.settings, clock=self._clock_arg)
        self.runner = self._new_runner()
        self.connection = Connection()  # a new client: nothing known to fail yet
        self.client.listeners.append(self._client_event)
        self.post_message(ConnectionChanged())
        self.post_message(ClientReady())
        return self.runner

    def _new_runner(self) -> Runner:
        from evolink_tui.core.runner import Runner

        return Runner(self.client, self.history, self.settings.download_dir, on_event=self._on_event)

    def _ensure_runner(self) -> Runner:
        return self.runner if self.runner is not None else self._start_client()

    @work(thread=True, exit_on_error=False, group="history")
    def _read_history(self, offset: int, first: bool = False) -> None:
        ahead, self._history_ahead = self._history_ahead, None
        if ahead is not None and offset == 0:
            records, total = ahead.result()
        else:
            records, total = self.history.recent(PAGE, offset), self.history.count()
        self.post_message(HistoryLoaded(records, offset, total, first=first))

    @on(HistoryLoaded)
    def _history_loaded(self, message: HistoryLoaded) -> None:
        if not self.main.ready:  # read before the main screen was composed: shown as it mounts
            self._early_history = message
            return
        self._history_loading = False
        self._history_offset = message.offset + len(message.records)
        self._history_done = self._history_offset >= message.total or not message.records
        for record in message.records:
            self._remember(record)
        if self.main.ready:
            self.main.show_older(message.records)
        if message.first:  # the client (httpx; the demo's simulator) is built after the frame that shows history
            self.call_after_refresh(
                lambda: self.run_worker(self._recover(), name="recover", group="tasks", exit_on_error=False)
            )
        # What startup made, and the rows of history, stay: full collections (pauses of tens of
        # ms while scrolling through thousands of rows) then walk only what came after.
        self.call_after_refresh(gc.freeze)

    _early_history: HistoryLoaded | None = None

    def show_early_history(self) -> None:
        """The main screen has just mounted: history read meanwhile is in its first frame."""
        message, self._early_history = self._early_history, None
        if message is not None:
            self._history_loaded(message)

    def load_more_history(self) -> None:
        if not self._history_loading and not self._history_done:
            self._history_loading = True
            self._read_history(self._history_offset)

    async def _recover(self) -> None:
        """What an earlier run left under way: shown at once, then polled, downloaded, or
        marked uncertain (see recovery_view.py); never what this run started itself."""

        def announce(notice) -> None:
            self.notify(notice.text, title=notice.title, severity=notice.severity, timeout=notice.timeout, markup=False)

        await recover_at_start(
            self._ensure_runner(),
            self.history,
            running=self.session_ids,
            show=lambda record: self.post_message(RecordRefreshed(record)),
            announce=announce,
        )

    async def on_unmount(self) -> None:
        if self.client is not None:
            await self.client.aclose()
        self.history.close()

    # -- task events -----------------------------------------------------------------------------

    def _on_event(self, event: TaskEvent) -> None:
        """Called by the runner inside a task worker: one message per transition."""
        self.post_message(task_message(event, self.history.get(event.record_id)))

    def _remember(self, record: TaskRecord) -> None:
        self.records[record.id] = record
        if record.group_id:
            self._groups.setdefault(record.group_id, set()).add(record.id)

    def group_records(self, record: TaskRecord) -> list[TaskRecord]:
        """Every task of ``record``'s comparison run, in order (or just ``record``)."""
        if not record.group_id:
            return [record]
        ids = sorted(self._groups.get(record.group_id, {record.id}))
        return [self.records[i] for i in ids if i in self.records]

    def _show(self, record: TaskRecord, *, select: bool = False) -> None:
        self._remember(record)
        if not self.main.ready:
            return
        if self._select_task_id and record.task_id == self._select_task_id:
            self._select_task_id, select = None, True
        self.main.show_record(record, select=select)
        self._update_totals()

    @on(RecordRefreshed)
    def _refreshed(self, message: RecordRefreshed) -> None:
        self._show(message.record)

    @on(TaskChanged)
    def _task_changed(self, message: TaskChanged) -> None:
        record = message.record
        if record is None:
            return
        self._show(record)
        self.files_task_changed(message)
        if message.kind == kinds.PROBLEM:
            if self.connection.problem(record.task_id, message.event.error):
                self._show_connection()
            if record.id in self._warned_offline:
                return  # "offline, retrying" once per task is enough
            self._warned_offline.add(record.id)
        elif self.connection.settle(record.task_id):
            self._show_connection()
        error = message.event.error
        if message.kind == kinds.UNCERTAIN and error is not None and error.code == "interrupted":
            return  # left by an earlier run: the startup notice said so (recovery_view.py)
        notice = notice_for(message, record, self.settings.download_dir)
        if notice is not None:
            self.notify(notice.text, title=notice.title, severity=notice.severity, timeout=notice.timeout, markup=False)

    def _update_totals(self) -> None:
        bar = self.main.topbar
        bar.spent = sum(self.records[i].credits or 0.0 for i in self.session_ids if i in self.records)
        bar.running = sum(1 for r in self.records.values() if not r.is_finished and r.state != "uncertain")
        bar.unsure = sum(1 for r in self.records.values() if is_resendable(r))

    # -- the connection: "offline, retrying" ------------------------------------------------------

    def _client_event(self, event: str, data: dict) -> None:
        """The client's listener (in a task worker, on this loop): a retry, or how a call ended."""
        if event == "retry":
            changed = self.connection.retrying(data.get("op", ""), data.get("path"), data.get("error"))
        else:
            changed = self.connection.answered(data.get("op", ""), data.get("path"))
        if changed:
            self.post_message(ConnectionChanged())

    @on(ConnectionChanged)
    def _show_connection(self) -> None:
        """The top bar and every task row say what is failing now."""
        if not self.main.ready:
            return
        self.main.topbar.offline = self.connection.label or ""
        tasks = self.main.tasks
        for record in self.records.values():
            if (record.task_id and not record.is_finished) or tasks.flag(record.id):
                tasks.set_flag(record.id, self.connection.task_label(record.task_id))

    def _tick(self) -> None:
        if self.main.ready:
            self.main.tick()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.notify(
                describe_error(event.worker.error),
                title="Something went wrong",
                severity="error",
                markup=False,
                timeout=10,
            )

    # -- generating ---------------------------------------------------------------------------------

    def _needs_key(self) -> bool:
        if self.settings.has_key:
            return False
        self.notify("No API key yet: paste one, or continue in demo mode.", severity="warning", markup=False)
        self.action_enter_key()
        return True

    def generate(self, requests: list[GenerationRequest]) -> list[int]:
        """Validate, record and start each request (several: a comparison run). Never blocks."""
        if not requests or self._needs_key():
            return []
        found = [err for request in requests for err in problems(request)]
        if found:
            self.main.composer.show_problem(short_problem(found[0]))
            self.notify(f"Not sent. {found[0]}", severity="error", markup=False)
            return []
        runner = self._ensure_runner()
        group = os.urandom(6).hex() if len(requests) > 1 else None
        record_ids = []
        for request in requests:
            try:
                record_ids.append(runner.prepare(request, group_id=group))
            except ValidationError as err:
                self.main.composer.show_problem(short_problem(err))
                break
        for position, record_id in enumerate(record_ids):
            self._start(record_id, select=position == 0)
        return record_ids

    def _start(self, record_id: int, *, select: bool = False) -> None:
        self.session_ids.add(record_id)
        record = self.history.get(record_id)
        if record is not None:
            self._show(record, select=select)
        self.run_worker(
            self._ensure_runner().run(record_id), name=f"task {record_id}", group="tasks", exit_on_error=False
        )

    def retry(self, record: TaskRecord) -> None:
        """Retry the way that is safe for the record's state."""
        if self._needs_key():
            return
        runner = self._ensure_runner()
        if self._in_flight(record.id):
            self.notify("This task is being sent or followed right now.", markup=False)
        elif record.state in ("uncertain", "submitting") and record.task_id is None:
            self.notify("Resending with the same idempotency key: the server will not charge twice.", markup=False)
            self._start(record.id, select=True)
        elif record.notice and not record.is_finished and record.task_id:
            self.history.set_notice(record.id, None)
            self.notify("Checking the task again.", markup=False)
            self.run_worker(
                runner.check(record.task_id), name=f"check {record.task_id}", group="tasks", exit_on_error=False
            )
        elif record.state in ("failed", "submit_failed", "cancelled"):
            error = record.error or {}
            if error and not error.get("retryable", True):
                self.notify(
                    f"Retrying will not help: {error.get('resolution') or 'see the error'}. "
                    "Press r to edit and regenerate.",
                    severity="warning",
                    markup=False,
                    timeout=8,
                )
                return
            request = record.generation_request()
            try:
                new_id = runner.prepare(request, group_id=record.group_id)
            except ValidationError as err:
                self.notify(f"Cannot retry: {err}", severity="error", markup=False)
                return
            self.notify("Retrying as a new task (with a new idempotency key).", markup=False)
            self._start(new_id, select=True)
        elif record.needs_download:
            self.notify("Downloading the results again (their URLs last 24 hours).", markup=False)
            self.run_worker(
                runner.retry_downloads(record), name=f"task {record.id}", group="tasks", exit_on_error=False
            )
        elif record.is_expired:
            self.notify(
                "The result URLs expired before they were downloaded (they last 24 hours); the record is "
                "kept. Press r to regenerate it.",
                severity="warning",
                markup=False,
                timeout=8,
            )
        elif record.is_finished:
            self.notify("This task completed: nothing to retry. Press r to regenerate it.", markup=False)
        else:
            self.notify("This task is still running.", markup=False)

    def _in_flight(self, record_id: int) -> bool:
        """A worker of this app is sending, following or downloading the record now."""
        return any(
            worker.name == f"task {record_id}" and worker.state in (WorkerState.PENDING, WorkerState.RUNNING)
            for worker in self.workers
        )

    def check_task(self, task_id: str) -> None:
        if self._needs_key():
            return
        self._select_task_id = task_id.strip()
        self.run_worker(
            self._ensure_runner().check(task_id), name=f"check {task_id}", group="tasks", exit_on_error=False
        )

    async def _back_to_main(self) -> None:
        while len(self.screen_stack) > 1 and self.screen is not self.main:
            await self.pop_screen()

    async def reveal(self, record: TaskRecord, *, retry: bool = False) -> None:
        """Show a task from the history search in the task list and the preview (with the
        rest of its comparison run), selected; ``retry``: then retry it (t)."""
        await self._back_to_main()
        if record.group_id:
            for sibling in self.history.in_group(record.group_id):
                self._show(sibling)
        self._show(self.history.get(record.id) or record, select=True)
        self.main.tasks.focus()
        if retry:
            self.retry(self.records[record.id])

    async def regenerate(self, record: TaskRecord) -> None:
        await self._back_to_main()
        request = record.generation_request()
        self.main.composer.fill(request)
        self.main.focus_prompt()
        self.notify(f"Composer refilled with task #{record.id}'s settings: change anything, then ctrl+j.", markup=False)

    async def use_as_reference(self, ref: str) -> None:
        await self._back_to_main()
        if self.main.composer.add_reference(ref):
            self.notify(f"Added as a reference image: {plain(Path(ref).name)}", markup=False)
            self.main.focus_reference_input()

    def open_in_viewer(self, command: str, path: str) -> None:
        self.run_worker(self._open(command, path), name="open viewer", exit_on_error=False)

    async def _open(self, command: str, path: str) -> None:
        process = await asyncio.create_subprocess_exec(
            command,
            path,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        if await process.wait():
            raise RuntimeError(f"{Path(command).name} could not open {path}")

    # -- screens and commands ---------------------------------------------------------------------

    async def run_command(self, action: str) -> None:
        """Run a palette command on the screen that has it (see commands.py)."""
        if action.startswith("app."):
            await self.run_action(action)
            return
        if not hasattr(self.screen, f"action_{action}"):
            await self._back_to_main()
        await self.screen.run_action(action)

    def action_open_gallery(self) -> None:
        from .screens.gallery import GalleryScreen

        if not isinstance(self.screen, GalleryScreen):
            self.push_screen(GalleryScreen())

    def action_show_help(self) -> None:
        from .screens.help import HelpScreen

        self.push_screen(HelpScreen(self.screen))

    def action_enter_key(self) -> None:
        from .screens.key import DEMO, KeyScreen

        def chosen(answer: str | None) -> None:
            if answer == DEMO:
                self.use_demo()
            elif answer:
                self._save_key(answer)
            self.main.focus_prompt()

        self.push_screen(KeyScreen(str(self.settings.config_path)), chosen)

    @work(thread=True, exit_on_error=False, group="config")
    def _save_key(self, key: str) -> None:
        path = save_api_key(key, self.settings.config_path)
        self.post_message(KeySaved(key.strip(), str(path)))

    @on(KeySaved)
    def _key_saved(self, message: KeySaved) -> None:
        if self.settings.demo:
            self._switch_settings(load_settings(download_dir=self.settings.download_dir))
        self.settings.api_key = message.key
        self.settings.key_source = "config"
        self.show_identity()
        self.notify(
            f"Key {self.settings.masked_key} saved to {plain(message.path)} (readable only by you).", markup=False
        )

    def use_demo(self) -> None:
        self._switch_settings(load_settings(demo=True, download_dir=self.settings.download_dir))
        self.notify("Demo mode: the built-in simulator answers. No key, no network, no credits.", markup=False)

    def _switch_settings(self, settings: Settings) -> None:
        """Another mode (demo or real): its own client, and its own history."""
        old_history = history_path(self.settings)
        self.settings = settings
        old_client = self.client
        self._start_client()
        if old_client is not None:
            self.run_worker(old_client.aclose(), name="close client", exit_on_error=False)
        if history_path(settings) != old_history:
            self.history.close()
            self.history = History(history_path(settings), clock=self.clock.now)
            self.runner = self._new_runner()
            self.records.clear()
            self._groups.clear()
            self.session_ids.clear()
            self.main.clear_tasks()
            self._history_offset, self._history_done, self._history_loading = 0, False, True
            self._read_history(0, first=True)
        self._update_totals()
        self.show_identity()

    # -- theme --------------------------------------------------------------------------------------

    def _theme_changed(self, theme: Theme) -> None:
        if theme.name != self._saved_theme:
            self._saved_theme = self.settings.theme = theme.name
            self._save_theme(theme.name)
        for tasks in self.main.query(TaskList):  # none before the first compose
            tasks.refresh_colours()

    @work(thread=True, exit_on_error=False, group="config")
    def _save_theme(self, name: str) -> None:
        update_config_file({"theme": name}, self.settings.config_path)
