"""The live task list: one two-line row per task, newest first, cheap to update one row.

Line 1: model, status, time left. Line 2: prompt excerpt, progress bar (or error code),
credits and age. Rows come from history a page at a time; scrolling near the end asks for
the next page (``NeedMore``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from rich.console import Console, ConsoleOptions
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable

from evolink_tui.core.history import TaskRecord

from ..format import age, bar, credits, eta_left, plain, state_label, theme_colour
from ..pacing import Pace
from ..result_actions import task_result_bindings

STATUS_WIDTH = 14
INFO_WIDTH = 11
MIN_TASK_WIDTH = 12
ROW_HEIGHT = 2
OFFSCREEN_ROWS = 4  # rows either side of the window kept up to date too (a scroll step lands on them)
# In a wave (200 tasks finishing together) the rows are drawn at most this often, as often as
# the 1 s clock's countdown: each pass renders every row in sight again (13-21 ms for a list
# of 6-10 rows on a 2-core machine), which landed in the frame of a key typed meanwhile.
WAVE_GAP = 1.0


class _Cell(Text):
    """A cell's text that remembers how it was drawn. Any cell update makes the DataTable
    render every cell in sight again (the 1 s countdown: every running row's time cell); a
    cell whose text did not change hands back the segments it made the last time, at the
    same width. Never changed once in the table (a change is a new cell)."""

    _drawn: tuple[tuple, list[Segment]] | None = None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        key = (id(console), options.max_width, options.justify, options.overflow, options.no_wrap)
        if self._drawn is None or self._drawn[0] != key:
            self._drawn = (key, list(super().__rich_console__(console, options)))
        yield from self._drawn[1]


class _TaskCell(_Cell):
    """The first cell of a row; remembers its record id so rows sort newest first."""

    record_id: int = 0


def _progress_only(old: TaskRecord, new: TaskRecord) -> bool:
    """A running task's poll brought nothing but progress and time left."""
    return (
        not new.is_finished
        and new.state == old.state
        and new.error == old.error
        and new.notice == old.notice
        and new.model == old.model
        and new.prompt == old.prompt
    )


def _charged(record: TaskRecord) -> str:
    """The task's credits as charged (costs.charge): a failed task none, an unsure one "?"."""
    from evolink_tui.core.costs import NOT_CHARGED, UNCERTAIN, charge

    spent = charge(record)
    if spent.kind == UNCERTAIN:
        return "?"
    return "0" if spent.kind == NOT_CHARGED and record.task_id else credits(spent.credits)


class TaskList(DataTable):
    """Every task: model, prompt, status, progress, time left, credits, age."""

    BORDER_TITLE = "Tasks"

    BINDINGS = [
        *task_result_bindings("task"),
        Binding("home", "first_row", "First task", show=False, id="task.first"),
        Binding("end", "last_row", "Last loaded task", show=False, id="task.last"),
        Binding("x", "screen.dismiss_task", "Dismiss", show=False, id="task.dismiss"),
        Binding("ctrl+z", "screen.undo_dismiss", "Undo dismiss", show=False, id="task.undo_dismiss"),
    ]
    SUBTITLE = "keys act here · typing goes to the prompt"

    class Selected(Message):
        """The highlighted task changed."""

        def __init__(self, record_id: int | None) -> None:
            super().__init__()
            self.record_id = record_id

    class NeedMore(Message):
        """The user scrolled near the end of what is loaded."""

    def __init__(self, *, id: str | None = None, width_hint: Callable[[], int] | None = None) -> None:
        """``width_hint``: the width this table will have once laid out, asked for before the
        first layout, so the columns built then already fit (else the first frame shows them
        too narrow and they are rebuilt a frame later)."""
        super().__init__(id=id, cursor_type="row", zebra_stripes=False, cell_padding=1)
        self._width_hint = width_hint
        self._records: dict[int, TaskRecord] = {}
        self._shown: dict[int, tuple] = {}  # what each row shows, to skip needless updates
        self._flags: dict[int, str] = {}  # record id -> "offline, retrying" while its reads fail
        # Rows whose cells may be behind their record: brought up to date in one pass once the
        # news already queued is handled, and only those in sight (the rest when they scroll
        # into it). Any cell update makes the DataTable render every visible row again.
        self._stale: set[int] = set()
        self._draw_queued = False
        # In a wave (200 tasks finishing together) rows are drawn at most every WAVE_GAP: any
        # cell update makes the DataTable render every visible row again, which in a wave cost
        # more of each frame than the key typed meanwhile.
        self._pace = Pace(gap=WAVE_GAP)
        self._task_width = 0
        self._now = 0.0

    # -- columns ----------------------------------------------------------------------

    def on_mount(self) -> None:
        self._ensure_columns()
        self.watch(self, "scroll_y", self._scrolled, init=False)

    def _ensure_columns(self) -> None:
        """Built once, by whatever comes first: the mount, a first resize, or rows (the
        history read ahead can arrive before the table has mounted)."""
        if not self.columns:
            self._build_columns()

    def _wanted_task_width(self) -> int:
        width = self.scrollable_content_region.width or self.size.width
        if not width and self._width_hint is not None:  # not laid out yet
            width = self._width_hint() - self.styles.gutter.width
            # the scrollbar's column is kept for it (scrollbar-gutter: stable), shown or not
            width -= self.styles.scrollbar_size_vertical
        return max(MIN_TASK_WIDTH, width - STATUS_WIDTH - INFO_WIDTH - 6 - 1)

    def _build_columns(self) -> None:
        self._task_width = self._wanted_task_width()
        # Text, not str: a str label is parsed as Rich markup (which loads Rich's emoji table)
        self.add_column(_Cell("Task"), width=self._task_width, key="task")
        self.add_column(_Cell("Status"), width=STATUS_WIDTH, key="status")
        self.add_column(_Cell("left·cr·age"), width=INFO_WIDTH, key="info")

    def on_resize(self, event: events.Resize) -> None:
        if self._wanted_task_width() != self._task_width:
            self._rebuild()
        self.draw_stale()  # more rows may be in sight

    def _rebuild(self) -> None:
        selected = self.selected_id
        self.clear(columns=True)
        self._shown.clear()
        self._build_columns()
        for record_id in sorted(self._records, reverse=True):
            self._add(self._records[record_id])
        if selected is not None:
            self.select(selected)

    # -- rows -------------------------------------------------------------------------

    def _colour(self, role: str) -> Style:
        return Style(color=theme_colour(self.app, role), bold=True)

    def _cells(self, record: TaskRecord) -> tuple[Text, Text, Text]:
        label, role = state_label(record)
        task = _TaskCell(no_wrap=True, overflow="ellipsis", end="")
        task.record_id = record.id
        task.append(plain(record.model) or "?", "bold")
        if record.group_id:
            task.append(" ⇆", "dim")
        task.append("\n")
        task.append(plain(record.prompt, 200) or "(task checked by id)", "dim")

        status = _Cell(no_wrap=True, overflow="ellipsis", end="")
        flag = self._flags.get(record.id)
        if flag:  # "offline, retrying": its two words on the two lines
            first, _, second = flag.partition(", ")
            status.append(first, self._colour("warning"))
            status.append("\n")
            status.append(f"{second}…" if second else "", self._colour("warning"))
            return task, status, self._info_cell(*self._info(record))
        status.append(label, self._colour(role))
        if not record.is_finished and record.state == "processing":
            status.append(f" {record.progress}%")
        status.append("\n")
        if record.error and record.state in ("failed", "submit_failed", "uncertain"):
            status.append(plain(record.error.get("code") or "error", STATUS_WIDTH), self._colour("error"))
        else:
            status.append(bar(record.progress, STATUS_WIDTH - 2), self._colour(role))

        return task, status, self._info_cell(*self._info(record))

    def _info(self, record: TaskRecord) -> tuple[str, str]:
        """The Left/cr/age cell's two lines: cheap, as the clock ticks them for every row."""
        left = eta_left(record, self._now)
        first = f"{left}s left" if left else ("…" if not record.is_finished and record.state != "uncertain" else "")
        return first, f"{_charged(record)} · {age(self._now - record.created_at)}"

    @staticmethod
    def _info_cell(first: str, second: str) -> Text:
        info = _Cell(first, no_wrap=True, overflow="ellipsis", end="", justify="right")
        info.append("\n")
        info.append(second, "dim")
        return info

    def _add(self, record: TaskRecord) -> None:
        self._ensure_columns()
        cells = self._cells(record)
        self._shown[record.id] = tuple(c.plain for c in cells)
        self.add_row(*cells, height=ROW_HEIGHT, key=str(record.id))

    def upsert(self, record: TaskRecord, now: float) -> None:
        """Show ``record``: a new row at the top, or its existing row updated in place."""
        self._now = now
        old = self._records.get(record.id)
        self._records[record.id] = record
        if old is None:
            self._add(record)
            if self.row_count > 1 and record.id > min(self._records):
                self.sort("task", key=lambda cell: -cell.record_id)
            return
        if not _progress_only(old, record):  # progress alone waits for the 1 s clock (tick)
            self._redraw(record.id)

    def _redraw(self, record_id: int) -> None:
        """The row is behind its record: drawn with the next pass (see ``draw_stale``), soon
        after the news already queued, or in a wave a moment after the last (``pacing``)."""
        self._stale.add(record_id)
        wait = self._pace.news()
        if self._draw_queued:
            return
        self._draw_queued = True
        if wait:
            self.set_timer(wait, self.draw_stale)
        else:
            self.call_later(self.draw_stale)

    def draw_stale(self) -> None:
        """Bring the rows in sight (and a few either side) up to date with their records; the
        others stay marked until they scroll into sight."""
        self._draw_queued = False
        self._pace.ran()
        if not self._stale or not self.row_count:
            return
        top = int(self.scroll_y)
        height = self.scrollable_content_region.height or self.size.height
        first = max(0, top // ROW_HEIGHT - OFFSCREEN_ROWS)
        for row in self.ordered_rows[first : (top + height) // ROW_HEIGHT + OFFSCREEN_ROWS]:
            record_id = int(row.key.value or 0)
            if record_id in self._stale:
                self._stale.discard(record_id)
                if record_id in self._records:
                    self._update(self._records[record_id])

    def _scrolled(self) -> None:
        if self._stale:
            self.draw_stale()

    def _update(self, record: TaskRecord) -> None:
        cells = self._cells(record)
        shown = tuple(c.plain for c in cells)
        old = self._shown.get(record.id)
        if old == shown:
            return
        self._shown[record.id] = shown
        columns = ("task", "status", "info")
        for column, cell, before, after in zip(columns, cells, old or (None,) * 3, shown, strict=False):
            if before != after:
                self.update_cell(str(record.id), column, cell)

    def add_older(self, records: list[TaskRecord], now: float) -> None:
        """A page of older history, appended below (records newest first)."""
        self._now = now
        lowest = min(self._records, default=None)
        added = [record for record in records if record.id not in self._records]
        for record in added:
            self._records[record.id] = record
            self._add(record)
        if lowest is not None and any(record.id > lowest for record in added):
            # an older task was shown ahead of its page (from the history search): keep the order
            selected = self.selected_id
            self.sort("task", key=lambda cell: -cell.record_id)
            if selected is not None:
                self.select(selected)

    def set_flag(self, record_id: int, flag: str | None) -> None:
        """Show ``flag`` (such as "offline, retrying") in place of the row's status, or clear it."""
        if (self._flags.get(record_id) or None) == (flag or None):
            return
        if flag:
            self._flags[record_id] = flag
        else:
            self._flags.pop(record_id, None)
        if record_id in self._records:
            self._redraw(record_id)

    def flag(self, record_id: int) -> str | None:
        return self._flags.get(record_id)

    def tick(self, now: float) -> None:
        """Time moved: ages and time left change, and progress news waits for this. Only the
        rows in sight are redrawn now, only cells whose text changed; in a wave, with the
        pass already asked for (one render of the rows in sight, not two)."""
        self._now = now
        self._stale.update(self._records)
        if not self._draw_queued:
            self.draw_stale()

    def clear_records(self) -> None:
        self._records.clear()
        self._rebuild()

    def refresh_colours(self) -> None:
        self._rebuild()

    def remove_record(self, record_id: int) -> None:
        """The row of ``record_id`` taken off the list (a dismiss: the history keeps it)."""
        if self._records.pop(record_id, None) is None:
            return
        self._shown.pop(record_id, None)
        self._flags.pop(record_id, None)
        self._stale.discard(record_id)
        self.remove_row(str(record_id))

    # -- keys: the list's letters act at once; any other printable key is typed in the prompt -----

    def on_focus(self) -> None:
        self.border_subtitle = self.SUBTITLE

    def on_blur(self) -> None:
        self.border_subtitle = ""

    def on_key(self, event: events.Key) -> None:
        if not event.is_printable or not event.character:
            return
        # A key that arrives after focus left (a burst: typed before the focus moved) goes where
        # the focus went; an unbound one (typing with focus here by mistake) starts the prompt.
        if self.screen.focused is self and event.key in self.screen.active_bindings:
            return
        type_in_prompt = getattr(self.screen, "type_in_prompt", None)
        if type_in_prompt is not None:
            event.stop()
            event.prevent_default()
            type_in_prompt(event.character)

    # -- selection ----------------------------------------------------------------------

    def action_first_row(self) -> None:
        self.move_cursor(row=0)

    def action_last_row(self) -> None:
        self.move_cursor(row=max(0, self.row_count - 1))

    @property
    def selected_id(self) -> int | None:
        if not self.row_count or self.cursor_row < 0:
            return None
        try:
            key = self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key
        except Exception:
            return None
        return int(key.value) if key.value is not None else None

    def record(self, record_id: int) -> TaskRecord | None:
        return self._records.get(record_id)

    def select(self, record_id: int) -> None:
        try:
            index = self.get_row_index(str(record_id))
        except Exception:
            return
        self.move_cursor(row=index)

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.post_message(self.Selected(self.selected_id))
        if self.cursor_row >= self.row_count - 5:
            self.post_message(self.NeedMore())

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        if self.scroll_y >= self.max_scroll_y - 4:
            self.post_message(self.NeedMore())
