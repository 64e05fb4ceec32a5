"""The main screen: composer on the left, the live task list and the preview on the right.

It shows the Studio's events: each task event redraws that task's row (and the preview when it
shows that task's comparison run). Its flows are its own: generating, retrying, checking by
id, showing a task found in the history and regenerating (``main.generation``), and the
composer's reference images and masks (``main.refs``).
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.message import Message
from textual.widgets import Input, TextArea

from evolink_tui.core.history import TaskRecord

from ..format import plain
from ..pacing import Pace
from ..result_actions import ResultScreen
from ..widgets.composer import Composer
from ..widgets.keybar import KeyBar
from ..widgets.preview import Preview
from ..widgets.tasklist import TaskList
from ..widgets.topbar import TopBar
from .generation import Generation
from .iterate import Iterating
from .references import References

if TYPE_CHECKING:
    from textual.timer import Timer

    from evolink_tui.core.imaging import Fitted as FittedImage


BLINK_FOR = 10.0  # seconds the prompt's cursor blinks after the last keystroke


class TaskBox(Container):
    """The task list's place on the screen. Textual draws again, at every frame, each widget
    whose container overlaps a change; in here the task list and its scrollbar are drawn only
    when they change, not at every key typed in the prompt (the screen contains the prompt). The
    box itself is blank (its ``render_lines`` is one blank line repeated) and never shows: the
    task list covers it."""

    BLANK = True


class MainScreen(ResultScreen):
    """Where people live: write, generate, watch, look."""

    VERTICAL_BREAKPOINTS = [(0, "-short"), (28, "-tall"), (40, "-big")]

    BINDINGS = [
        Binding("ctrl+j,ctrl+enter", "generate", "Generate", priority=True, id="generate"),
        Binding("f2,ctrl+o", "pick_models", "Models", id="pick_models"),
        Binding("f3,ctrl+t", "check_task", "Check ID", id="check_task"),
        Binding("f4,ctrl+g", "app.open_gallery", "Gallery", id="open_gallery"),
        Binding("f5", "app.open_files", "Files", id="open_files"),
        Binding("ctrl+r", "recall_prompt", "Recall", id="recall_prompt"),
        Binding("ctrl+f", "search_history", "History", id="search_history"),
        Binding("ctrl+b", "open_batch", "Batch", show=False, id="open_batch"),
        Binding("escape", "switch_panel", "Tasks/compose", show=False, id="switch_panel"),
        Binding("f1,question_mark", "app.show_help", "Help", id="show_help"),
    ]

    class ReferenceFitted(Message):
        """A reference over 4 MB and its smaller version (``fitted``), or why it cannot fit."""

        def __init__(self, ref: str, fitted: FittedImage | None, error: BaseException | None = None) -> None:
            super().__init__()
            self.ref = ref
            self.fitted = fitted
            self.error = error

    def __init__(self, *, cursor_blink: bool = True) -> None:
        super().__init__(id="main")
        self._cursor_blink = cursor_blink
        self._resend_shown = False  # what the key bar shows for t (see _sync_bindings)
        self.generation = Generation(self)
        self.refs = References(self)
        self.iterating = Iterating(self)

    def compose(self) -> ComposeResult:
        # The size class now, while the screen is empty: set by Textual on the first resize it
        # would restyle every widget once more before the first frame (Textual then finds it set).
        height = self.app.size.height
        fits = [name for least, name in sorted(self.VERTICAL_BREAKPOINTS) if height >= least]
        self.update_classes({name: name == fits[-1] for _, name in self.VERTICAL_BREAKPOINTS}, update=False)
        # No containers but the task list's box: the bars and the composer are split off the
        # edges (top, bottom, then left) and the task list and preview share what is left, top
        # to bottom.
        yield TopBar(id="topbar")
        yield KeyBar()
        yield Composer(id="composer", cursor_blink=self._cursor_blink)
        with TaskBox(id="tasks-box"):
            yield TaskList(id="tasks", width_hint=self._tasks_width)
        yield Preview(id="preview")

    def _tasks_width(self) -> int:
        """The task list's width before the first layout: the screen's, less the composer's
        (split off the left; its width, min and max resolved as the layout will)."""
        size = self.app.size
        styles = self.composer.styles
        width = styles.width.resolve(size, size) if styles.width else Fraction(0)
        if styles.min_width is not None:
            width = max(width, styles.min_width.resolve(size, size))
        if styles.max_width is not None:
            width = min(width, styles.max_width.resolve(size, size))
        return size.width - int(width)

    def on_mount(self) -> None:
        self._mounted = True
        self.show_identity()
        studio = self.app.studio
        page = studio.read_ahead_page()  # read while Textual loaded: shown in the first frame
        if page is not None:
            self.show_older(page[0])
            self.app.history_shown()
        else:  # from disk, in a thread, while the first frame is drawn
            self.app.start(studio.load_history(0), name="history", group="history")
        self.query_one("#prompt", TextArea).focus()
        self.composer.light(True)  # now, not after the first frame (when the focus news arrives)
        self._wake_cursor()
        self.set_interval(1.0, self._tick)

    # -- the prompt's cursor blinks a while after each keystroke, then stays lit: an idle app
    # does no periodic work but its 1 s clock (blinking costs a frame twice a second) ----------

    _blink_timer: Timer | None = None

    @on(TextArea.Changed, "#prompt")
    @on(TextArea.SelectionChanged, "#prompt")
    def _typed(self) -> None:
        """A key in the prompt: the news held while keys come, and a few rows of the clock's
        last tick, are drawn in the frame that echoes it (see pacing.Typing)."""
        self.app.news.typed()
        if self._totals_due and not self._totals_queued and self._totals_pace and self._totals_pace.due():
            self._queue_count()
        if self._mounted:
            self.tasks.draw_stale_step()
        self._wake_cursor()

    def _wake_cursor(self) -> None:
        if not self._cursor_blink:
            return
        self.query_one("#prompt", TextArea).cursor_blink = True
        if self._blink_timer is not None:
            self._blink_timer.stop()
        self._blink_timer = self.set_timer(BLINK_FOR, self._rest_cursor)

    def _rest_cursor(self) -> None:
        self._blink_timer = None
        self.query_one("#prompt", TextArea).cursor_blink = False

    # -- parts ------------------------------------------------------------------------------

    _mounted = False  # every panel composed: set as the screen mounts

    @property
    def ready(self) -> bool:
        """Composed and not yet torn down: events arriving around startup or exit are dropped."""
        if not self._mounted or not self.is_attached:
            return False
        tasks = self.query_one_optional("#tasks", TaskList)
        return tasks is not None and tasks.is_attached

    # By id: Textual caches id lookups, while a lookup by type walks the whole screen (every
    # task event and clock tick asks for these several times).

    @property
    def composer(self) -> Composer:
        return self.query_one("#composer", Composer)

    @property
    def tasks(self) -> TaskList:
        return self.query_one("#tasks", TaskList)

    @property
    def preview(self) -> Preview:
        return self.query_one("#preview", Preview)

    @property
    def topbar(self) -> TopBar:
        return self.query_one("#topbar", TopBar)

    def show_identity(self) -> None:
        """The top bar: DEMO label, masked key, a non-default endpoint."""
        settings = self.app.settings
        bar = self.topbar
        bar.demo = settings.demo
        bar.key = settings.masked_key if settings.has_key else "none"
        default = settings.base_url.startswith("https://api.evolink.ai")
        bar.endpoint = "" if default or settings.demo else plain(settings.base_url, 40)

    # -- the Studio's events ---------------------------------------------------------------------

    def show_event(self, event: object) -> None:
        from evolink_tui.core import events as ev

        if not self.ready:
            return
        match event:
            case ev.TaskFinished(record_id=record_id):
                self._show_id(record_id)
                self._price_stale = True  # what the models cost has news: read again at the next tick
            case ev.TaskEvent(record_id=record_id):
                self._show_id(record_id)
            case ev.HistoryLoaded(records=records):
                self.show_older(list(records))
            case ev.HistoryReset():
                self.clear_tasks()
            case ev.RecoveryStarted(unfinished=unfinished, downloads=downloads, uncertain=uncertain):
                for record_id in (*uncertain, *unfinished, *downloads):
                    self._show_id(record_id)
            case ev.RecoveryFinished(record_ids=record_ids):
                for record_id in record_ids:
                    self._show_id(record_id)
            case ev.ConnectionChanged(label=label, tasks=failing):
                self._show_connection(label, dict(failing))
            case ev.FileUploaded(spec=spec, info=info) if spec.purpose == "mask":
                self.refs.mask_uploaded(spec, info)
            case ev.FilesDeleted(deleted=deleted):
                self.refs.warn_if_used(list(deleted))
            case _:
                return
        self.update_totals()

    def _show_id(self, record_id: int) -> None:
        record = self.app.studio.record(record_id)
        if record is not None:
            self.show_record(record, select=self.generation.wanted(record))

    def show_record(self, record: TaskRecord, *, select: bool = False) -> None:
        """A record is new or changed: its row, and the preview if it shows this record's group."""
        if record.id in self.app.studio.dismissed and not select:
            return
        now = self.app.studio.now()
        self.tasks.upsert(record, now)
        if select:
            self.tasks.select(record.id)
        if record.id == self.tasks.selected_id:
            self._sync_bindings()  # t resends an unsure submit, else retries
        shown = self.preview.record_id
        if shown == record.id or select or (record.group_id and self._group_of(shown) == record.group_id):
            self._show_preview(self.tasks.selected_id if not select else record.id)

    def _group_of(self, record_id: int | None) -> str | None:
        record = self.tasks.record(record_id) if record_id is not None else None
        return record.group_id if record else None

    def _show_preview(self, record_id: int | None) -> None:
        record = self.tasks.record(record_id) if record_id is not None else None
        self.preview.show(record, self.app.studio.group_records(record) if record else [])

    def show_older(self, records: list[TaskRecord]) -> None:
        dismissed = self.app.studio.dismissed
        records = [record for record in records if record.id not in dismissed] if dismissed else records
        self.tasks.add_older(records, self.app.studio.now())
        if self.preview.record_id is None and self.tasks.selected_id is not None:
            self._show_preview(self.tasks.selected_id)
        self.update_totals()

    def clear_tasks(self) -> None:
        self.tasks.clear_records()
        self.preview.show(None, [])
        self.update_totals()

    def refresh_colours(self) -> None:
        if self.ready:
            self.tasks.refresh_colours()

    _totals_queued = False
    _totals_pace: Pace | None = None

    def update_totals(self) -> None:
        """The top bar's totals, counted once for all the news already queued (200 tasks
        finishing together send hundreds of events between two frames), and in a wave at most
        every pacing.GAP (each count redraws the top bar)."""
        if self.app.studio.counts_version == self._counted_version:
            return  # nothing counted changed since the last count (a poll's progress)
        if self._totals_pace is None:
            self._totals_pace = Pace()
        wait = self._totals_pace.news()
        if self._totals_queued:
            return
        if wait and self.app.news.typing.left():
            # counted at a key once the gap is over (_typed): a timer's count would be drawn
            # in a frame of its own, between two keys
            self._totals_due = True
            return
        self._queue_count(wait)

    _totals_due = False  # a count waits for a key (or the clock's tick once typing pauses)

    def _queue_count(self, wait: float = 0.0) -> None:
        self._totals_queued = True
        self._totals_due = False
        if wait:
            self.set_timer(wait, self._count_totals)
        else:
            self.call_later(self._count_totals)

    _counted_version = -1  # the Studio's counts_version when the top bar was last counted

    def _count_totals(self) -> None:
        self._totals_queued = False
        if self._totals_pace is not None:
            self._totals_pace.ran()
        if not self.ready:
            return
        studio = self.app.studio
        if studio.counts_version == self._counted_version:
            return  # nothing counted changed (a poll's progress): the top bar is right as it is
        self._counted_version = studio.counts_version
        spent, running, unsure = studio.totals()
        bar = self.topbar
        bar.spent, bar.running, bar.unsure = spent, running, unsure
        bar.not_charged = studio.not_charged()
        self._budget_stale = True  # read again at the next tick (it reads the history)

    _budget_stale = True

    def show_budget(self) -> None:
        """The budget bar: spent under the tightest cap (per run or per day), if one is set."""
        self._budget_stale = False
        if self.ready:
            found = self.app.studio.batches.bar()
            self.topbar.budget = (found.spent, found.limit, found.label) if found else None

    def _show_connection(self, label: str | None, failing: dict[str, str]) -> None:
        """The top bar and every task row say what is failing now."""
        self.topbar.offline = label or ""
        tasks = self.tasks
        for record in self.app.studio.records.values():
            if (record.task_id and not record.is_finished) or tasks.flag(record.id):
                tasks.set_flag(record.id, failing.get(record.task_id or ""))

    _price_stale = False

    def _tick(self) -> None:
        if self.ready:
            typing = bool(self.app.news.typing.left())
            self.tasks.tick(self.app.studio.now(), typing=typing)
            if typing:
                return  # the budget and prices wait for a pause (each would be a frame of its own)
            if self._totals_due and not self._totals_queued:
                self._queue_count()
            if self._budget_stale:
                self.show_budget()
            if self._price_stale:  # once a second at most: 200 tasks finishing together read it once
                self._price_stale = False
                self.composer.reprice()

    @on(TaskList.Selected)
    def _task_selected(self, message: TaskList.Selected) -> None:
        # The preview follows in the next frame: the frame that moves the cursor stays cheap,
        # and when keys come faster than frames only the last selection is drawn.
        self.call_after_refresh(self._selected_shown, message.record_id)

    def _selected_shown(self, record_id: int | None) -> None:
        if not self.ready or record_id != self.tasks.selected_id:
            return
        self._show_preview(record_id)
        self._sync_bindings()

    def _unsure_selected(self) -> bool:
        found = self.current_result() if self.ready else None
        return bool(found and self.app.studio.is_unsure(found[0]))

    def _sync_bindings(self) -> None:
        """Refresh the bindings only when t changes meaning: each refresh redraws the key bar
        (and asks every widget for its keys), on every poll of the selected task and scroll step."""
        unsure = self._unsure_selected()
        if unsure != self._resend_shown:
            self._resend_shown = unsure
            self.refresh_bindings()

    @on(TaskList.NeedMore)
    def _need_more(self) -> None:
        studio = self.app.studio
        if studio.history_wanted:
            self.app.start(studio.load_history(), name="history", group="history")

    @on(TaskList.Chosen)
    def _row_chosen(self) -> None:
        found = self.current_result()
        if found is not None and found[0].files:
            self.action_view_result()  # enter on a task with results: the viewer
        else:
            self.preview.focus()

    # -- the result the actions act on ------------------------------------------------------------

    def current_result(self) -> tuple[TaskRecord, int | None] | None:
        ref = self.preview.selected
        if ref is not None:
            record = self.tasks.record(ref.record_id)
            if record is not None:
                return record, ref.file
        record_id = self.tasks.selected_id
        record = self.tasks.record(record_id) if record_id is not None else None
        return (record, 0 if record.files else None) if record else None

    def view_items(self) -> tuple[list[tuple[int, int]], int, bool]:
        """The viewer steps through the task's comparison run (as the preview orders it, the
        task's own results among them), then every other task's results, newest first. From
        the task list a comparison opens side by side; from a preview card, that card alone."""
        found = self.current_result()
        if found is None or found[1] is None:
            return [], 0, False
        record, file = found
        studio = self.app.studio
        group = studio.group_records(record)
        items = [(r.id, i) for r in group for i in range(len(r.files))]
        in_group = {r.id for r in group}
        for other in sorted(studio.records.values(), key=lambda r: r.id, reverse=True):
            if other.id not in in_group:
                items.extend((other.id, i) for i in range(len(other.files)))
        chosen = (record.id, file)
        index = items.index(chosen) if chosen in items else 0
        with_files = sum(1 for r in group if r.files)
        return items, index, with_files > 1 and self.focused is not self.preview

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``resend`` (t, in the key bar as "Resend same key") only for an unsure submit."""
        if action == "resend":
            return self._unsure_selected()
        return True

    # -- generating and retrying -------------------------------------------------------------------

    def action_generate(self) -> None:
        # ctrl+j is a priority binding, handled as soon as it arrives, while keys typed just
        # before it may still wait in the focused field's queue (a paste-and-send burst).
        # Queueing the read behind them means the prompt sent is the prompt typed.
        self.app.news.release()  # typing is over: the new task's row is shown as it comes
        (self.focused or self).call_later(self.generation.generate)

    def action_retry(self) -> None:
        if found := self._result():
            self.generation.retry(found[0])

    def action_resend(self) -> None:
        self.action_retry()

    def action_resend_uncertain(self) -> None:
        self.generation.resend_uncertain()

    @on(Composer.GenerateRequested)
    def _generate_pressed(self) -> None:
        self.action_generate()

    # -- dialogs ------------------------------------------------------------------------------------------

    def action_search_history(self) -> None:
        from .history_search import HistorySearchScreen

        self.app.push_screen(HistorySearchScreen())

    def action_pick_models(self) -> None:
        from .picker import ModelPicker

        def chosen(models: list[str] | None) -> None:
            if models:
                self.composer.set_models(models)
                if len(models) > 1:
                    self.notify(f"Comparison run: one generate sends the prompt to {len(models)} models.", markup=False)
            self.focus_prompt()

        self.app.push_screen(ModelPicker(self.composer.models), chosen)

    @on(Composer.PickModelsRequested)
    def _pick_pressed(self) -> None:
        self.action_pick_models()

    def action_check_task(self) -> None:
        from .check import CheckTaskScreen

        def chosen(task_id: str | None) -> None:
            if task_id:
                self.generation.check_task(task_id)

        self.app.push_screen(CheckTaskScreen(), chosen)

    def action_recall_prompt(self) -> None:
        from .recall import RecallScreen

        def chosen(prompt: str | None) -> None:
            if prompt is not None:
                self.composer.set_prompt(prompt)
            self.focus_prompt()

        self.app.push_screen(RecallScreen(self.app.studio.history), chosen)

    # -- matrix runs and the budget (tui/batch_flow.py) ----------------------------------------------

    def action_open_batch(self) -> None:
        from .. import batch_flow

        batch_flow.open_batch(self.app)

    def action_plan_batch(self) -> None:
        from .. import batch_flow

        if requests := self.composer.requests():
            batch_flow.open_plan(self.app, requests)

    def action_load_prompt_file(self) -> None:
        from .. import batch_flow
        from .budget import PromptFileScreen

        def chosen(path: str | None) -> None:
            if path and (requests := self.composer.requests()):
                batch_flow.load_prompt_file(self.app, path, requests)

        self.app.push_screen(PromptFileScreen(), chosen)

    def action_set_budget(self) -> None:
        from .. import batch_flow

        batch_flow.set_budget(self.app)

    def action_make_mask(self) -> None:
        self.refs.make_mask()

    def action_reopen_file(self) -> None:
        self.iterating.ask_path()

    def action_reopen_reference(self) -> None:
        self.iterating.reopen_reference()

    @on(Composer.ReopenRequested)
    def _reopen_typed(self, message: Composer.ReopenRequested) -> None:
        self.app.call_later(self.iterating.reopen, message.path)

    def on_ref_list_removed(self) -> None:  # RefList.Removed (by name: the list loads with the first reference)
        self.iterating.mark()  # the composer (a child) has already dropped it

    def action_edit_prompt(self) -> None:
        self.composer.action_edit_prompt()

    @on(Composer.ReferenceAdded)
    def _reference_added(self, message: Composer.ReferenceAdded) -> None:
        self.refs.fit_if_big(message.ref)

    @on(ReferenceFitted)
    def _fitted(self, message: ReferenceFitted) -> None:
        self.refs.offer_fitted(message.ref, message.fitted, message.error)

    # -- focus --------------------------------------------------------------------------------------------

    def action_switch_panel(self) -> None:
        focused = self.focused
        if focused is self.preview:
            self.tasks.focus()
        elif focused is not None and self.composer in (focused, *focused.ancestors):
            self.tasks.focus()
        else:
            self.focus_prompt()

    def action_focus_preview(self) -> None:
        self.preview.focus()

    def focus_prompt(self) -> None:
        self.query_one("#prompt", TextArea).focus()

    def type_in_prompt(self, text: str) -> None:
        """Keys typed where nothing takes them (the task list): focus the prompt now (not on the
        next message: the rest of a burst must land there too) and type them."""
        area = self.query_one("#prompt", TextArea)
        self.set_focus(area)
        area.insert(text)

    def action_dismiss_task(self) -> None:
        """Take the selected task off the list and out of the running count; the history keeps it."""
        record_id = self.tasks.selected_id
        if record_id is None:
            return
        self.app.studio.dismiss(record_id)
        self.tasks.remove_record(record_id)
        self.update_totals()
        self._show_preview(self.tasks.selected_id)
        self.notify(
            f"Task #{record_id} dismissed from the list (the history keeps it: ctrl+f finds it). "
            "ctrl+z in the task list brings it back.",
            markup=False,
            timeout=6,
        )

    def action_undo_dismiss(self) -> None:
        record_id = self.app.studio.undismiss()
        if record_id is None:
            self.notify("Nothing dismissed to bring back.", markup=False, timeout=3)
            return
        self._show_id(record_id)
        self.tasks.select(record_id)
        self.update_totals()

    def focus_reference_input(self) -> None:
        self.query_one("#ref-input", Input).focus()
