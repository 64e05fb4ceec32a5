"""The live task list: one two-line row per task, newest first, cheap to update one row.

Line 1: model, status, time left. Line 2: prompt excerpt, progress bar (or error code),
credits and age. Rows come from history a page at a time; scrolling near the end asks for
the next page (``NeedMore``).

Our own widget on Textual's Line API (a ``ScrollView`` that draws one line at a time), not a
``DataTable``: any cell update makes a DataTable draw every cell in sight again (the 1 s
countdown: every running row, every second; a wave of 200 tasks finishing: the whole list
per frame), and it finds a row's place by adding up the heights of every row above it
(10,000 tasks: each page down drew rows far slower than with 40). Here every row is two lines
high (row ``i`` is lines ``2i`` and ``2i + 1``), each row keeps its drawn lines until what it
shows changes, and an update repaints that row's two lines only.
"""

from __future__ import annotations

import bisect
import itertools
from collections import OrderedDict
from collections.abc import Callable

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from evolink_tui.core.history import TaskRecord

from ..format import age, bar, credits, eta_left, plain, state_label, theme_colour
from ..result_actions import task_result_bindings

STATUS_WIDTH = 14
INFO_WIDTH = 11
MIN_TASK_WIDTH = 12
ROW_HEIGHT = 2
HEADER_HEIGHT = 1
PADDING = 1  # a space either side of every cell
KEPT_ROWS = 256  # rows whose drawn lines are kept (a 160x50 list shows about 24)
TICK_ROWS = 4  # rows a frame brought up to date at the clock's tick (see _draw_stale_step)

SegmentLines = list[list[Segment]]


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


class _Row:
    """What one row shows (its three cells' text) and how it was last drawn. ``epoch`` is the
    clock tick its text was built at: a row built before the last tick is built again before
    it is drawn (its age and time left moved)."""

    __slots__ = ("cells", "dirty", "drawn", "epoch", "plains", "strips", "strips_key")

    def __init__(self) -> None:
        self.cells: tuple[Text, Text, Text] | None = None
        self.plains: tuple[str, str, str] = ("", "", "")
        self.epoch = -1
        self.dirty = True
        # per cell: (its text, the look it was drawn in) -> its two lines of segments
        self.drawn: list[tuple[tuple, SegmentLines] | None] = [None, None, None]
        self.strips_key: tuple | None = None
        self.strips: tuple[Strip, Strip] | None = None


class TaskList(ScrollView, can_focus=True):
    """Every task: model, prompt, status, progress, time left, credits, age."""

    BORDER_TITLE = "Tasks"

    COMPONENT_CLASSES = {"tasklist--header", "tasklist--cursor", "tasklist--hover"}

    # The look of Textual's DataTable, which this list replaced (same theme variables).
    DEFAULT_CSS = """
    TaskList {
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        &:focus {
            background-tint: $foreground 5%;
            & > .tasklist--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .tasklist--header {
                background-tint: $foreground 5%;
            }
        }
        & > .tasklist--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .tasklist--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .tasklist--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .tasklist--hover {
            background: $block-hover-background;
        }
    }
    """

    BINDINGS = [
        *task_result_bindings("task"),
        Binding("enter", "choose", "Open", show=False, id="task.choose"),
        Binding("up", "cursor_up", "Cursor up", show=False, id="task.up"),
        Binding("down", "cursor_down", "Cursor down", show=False, id="task.down"),
        Binding("pageup", "page_up", "Page up", show=False, id="task.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="task.page_down"),
        Binding("home", "first_row", "First task", show=False, id="task.first"),
        Binding("end", "last_row", "Last loaded task", show=False, id="task.last"),
        Binding("ctrl+home", "first_row", "Top", show=False, id="task.top"),
        Binding("ctrl+end", "last_row", "Bottom", show=False, id="task.bottom"),
        Binding("x", "screen.dismiss_task", "Dismiss", show=False, id="task.dismiss"),
        Binding("ctrl+z", "screen.undo_dismiss", "Undo dismiss", show=False, id="task.undo_dismiss"),
    ]
    SUBTITLE = "keys act here · typing goes to the prompt"

    class Selected(Message):
        """The highlighted task changed."""

        def __init__(self, record_id: int | None) -> None:
            super().__init__()
            self.record_id = record_id

    class Chosen(Message):
        """Enter on a task, or a click on the one already highlighted."""

        def __init__(self, record_id: int | None) -> None:
            super().__init__()
            self.record_id = record_id

    class NeedMore(Message):
        """The user scrolled near the end of what is loaded."""

    def __init__(self, *, id: str | None = None, width_hint: Callable[[], int] | None = None) -> None:
        """``width_hint``: the width this list will have once laid out, asked for before the
        first layout, so the first frame already has the columns at their width."""
        super().__init__(id=id)
        self._width_hint = width_hint
        self._records: dict[int, TaskRecord] = {}
        self._order: list[int] = []  # record ids, newest first (always sorted): row i shows _order[i]
        self._rows: OrderedDict[int, _Row] = OrderedDict()  # the rows drawn lately, least recent first
        self._flags: dict[int, str] = {}  # record id -> "offline, retrying" while its reads fail
        self._cursor = 0
        self._hover: int | None = None  # the row under the mouse
        self._epoch = 0  # clock ticks so far
        self._stale_pass = False  # a tick's rows are being drawn, a few at each key (draw_stale_step)
        self._now = 0.0
        self._task_width = 0
        self._look: tuple = ()
        self._header: tuple[tuple, Strip] | None = None

    # -- sizes --------------------------------------------------------------------------

    def _wanted_task_width(self) -> int:
        width = self.scrollable_content_region.width or self.size.width
        if not width and self._width_hint is not None:  # not laid out yet
            width = self._width_hint() - self.styles.gutter.width
            # the scrollbar's column is kept for it (scrollbar-gutter: stable), shown or not
            width -= self.styles.scrollbar_size_vertical
        return max(MIN_TASK_WIDTH, width - STATUS_WIDTH - INFO_WIDTH - 6 - 1)

    def _widths(self) -> tuple[int, int, int]:
        """Each column's width with its padding."""
        return (self._task_width + 2 * PADDING, STATUS_WIDTH + 2 * PADDING, INFO_WIDTH + 2 * PADDING)

    def _sight(self) -> range:
        """The rows on screen (partly, at the edges)."""
        top = round(self.scroll_y)
        height = max(0, self.size.height - HEADER_HEIGHT)  # no horizontal scrollbar: all of it
        return range(top // ROW_HEIGHT, min(len(self._order), (top + height + ROW_HEIGHT - 1) // ROW_HEIGHT))

    def _refresh_row(self, row: int) -> None:
        """Repaint the row's two lines, if it is in sight (else it is drawn when it comes into it)."""
        if row in self._sight():
            y = HEADER_HEIGHT + row * ROW_HEIGHT - round(self.scroll_y)
            self.refresh(Region(0, y, self.size.width, ROW_HEIGHT))

    def _set_virtual_size(self) -> None:
        self.virtual_size = Size(0, HEADER_HEIGHT + ROW_HEIGHT * len(self._order))

    # -- what a row shows ------------------------------------------------------------------

    def _colour(self, role: str) -> Style:
        return Style(color=theme_colour(self.app, role), bold=True)

    def _cells(self, record: TaskRecord) -> tuple[Text, Text, Text]:
        label, role = state_label(record)
        task = Text(no_wrap=True, overflow="ellipsis", end="")
        task.append(plain(record.model) or "?", "bold")
        if record.group_id:
            task.append(" ⇆", "dim")
        task.append("\n")
        task.append(plain(record.prompt, 200) or "(task checked by id)", "dim")

        status = Text(no_wrap=True, overflow="ellipsis", end="")
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
        info = Text(first, no_wrap=True, overflow="ellipsis", end="", justify="right")
        info.append("\n")
        info.append(second, "dim")
        return info

    def _row(self, record_id: int) -> _Row:
        """The row of ``record_id``, its text brought up to date with its record and the clock."""
        row = self._rows.get(record_id)
        if row is None:
            row = self._rows[record_id] = _Row()
            while len(self._rows) > KEPT_ROWS:
                self._rows.popitem(last=False)
        else:
            self._rows.move_to_end(record_id)
        if row.dirty or row.epoch != self._epoch:
            row.cells = self._cells(self._records[record_id])
            row.plains = (row.cells[0].plain, row.cells[1].plain, row.cells[2].plain)
            row.dirty, row.epoch = False, self._epoch
        return row

    def record_ids(self) -> list[int]:
        """The record ids of the rows, top to bottom."""
        return list(self._order)

    def row_text(self, record_id: int) -> tuple[str, str, str] | None:
        """The row's three cells as plain text (task, status, time·credits·age), as it is
        drawn; None when the record is not in the list."""
        if record_id not in self._records:
            return None
        return self._row(record_id).plains

    # -- drawing ----------------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        # What every line drawn in this pass shares: the widths and the styles (focus changes them).
        self._task_width = self._wanted_task_width()
        self._look = (
            self.size.width,
            self._task_width,
            self.rich_style,
            self.get_component_rich_style("tasklist--cursor"),
            self.get_component_rich_style("tasklist--hover"),
            self.get_component_styles("tasklist--header").rich_style,
        )
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        if not self._look:  # drawn outside render_lines
            return Strip.blank(self.size.width, self.rich_style)
        if y < HEADER_HEIGHT:
            return self._header_strip()
        line = y - HEADER_HEIGHT + round(self.scroll_y)
        row, half = divmod(line, ROW_HEIGHT)
        if row >= len(self._order):  # below the last row: blank, in the pass's style (rich_style walks the ancestors)
            return Strip.blank(self._look[0], self._look[2])
        return self._row_strips(row)[half]

    def _draw_cell(self, text: Text, width: int, height: int, style: Style, highlight: Style | None) -> SegmentLines:
        """One cell's lines, padded a space either side, as the DataTable drew it (Rich's Text
        in a Padding, no wrap, cut with an ellipsis): the row's style under the cell's own, the
        cursor's colour over it. Made here line by line: Rich's renderer costs several times as
        much for the same segments."""
        pre = style + highlight if highlight is not None else style
        post = Style.from_color(color=highlight.color) if highlight is not None else Style.null()
        blank = pre + post
        inner = width - 2 * PADDING
        console = self.app.console
        right = text.justify == "right"
        parts = text.split("\n", allow_blank=True)
        lines: SegmentLines = []
        for number in range(height):
            part = parts[number] if number < len(parts) else Text()
            if right:
                part.rstrip()
            part.truncate(inner, overflow="ellipsis")
            gap = max(0, inner - part.cell_len)
            line = [Segment(" " * (PADDING + gap) if right else " " * PADDING, blank)]
            line.extend(Segment.apply_style(part.render(console), pre, post))
            line.append(Segment(" " * (PADDING if right else gap + PADDING), blank))
            lines.append(line)
        return lines

    def _line(self, cells: list[list[Segment]], fill: Style) -> Strip:
        width, base = self._look[0], self._look[2]
        used = sum(self._widths())
        segments = [segment for cell in cells for segment in cell]
        segments.append(Segment(" " * max(0, width - used), fill))
        return Strip(segments).adjust_cell_length(width, base).simplify()

    def _header_strip(self) -> Strip:
        if self._header is None or self._header[0] != self._look:
            header_style = self._look[5]
            labels = (Text("Task"), Text("Status"), Text("left·cr·age"))
            widths = self._widths()
            cells = [self._draw_cell(t, w, 1, header_style, None)[0] for t, w in zip(labels, widths, strict=True)]
            self._header = (self._look, self._line(cells, header_style))
        return self._header[1]

    def _row_strips(self, index: int) -> tuple[Strip, Strip]:
        record_id = self._order[index]
        row = self._row(record_id)
        assert row.cells is not None
        highlight = None
        if index == self._cursor:
            highlight = self._look[3]
        elif index == self._hover:
            highlight = self._look[4]
        look = (self._look, highlight)
        base = self._look[2]
        key = (look, row.plains)
        if row.strips is None or row.strips_key != key:
            drawn: list[SegmentLines] = []
            for column, (text, width) in enumerate(zip(row.cells, self._widths(), strict=True)):
                cell_key = (text.plain, look)
                kept = row.drawn[column]
                if kept is None or kept[0] != cell_key:
                    lines = self._draw_cell(text, width, ROW_HEIGHT, base, highlight)
                    kept = row.drawn[column] = (cell_key, lines)
                drawn.append(kept[1])
            fill = base + highlight if highlight is not None else base
            first = self._line([cell[0] for cell in drawn], fill)
            second = self._line([cell[1] for cell in drawn], fill)
            row.strips, row.strips_key = (first, second), key
        return row.strips

    # -- rows ---------------------------------------------------------------------------

    def _place(self, record_id: int) -> int | None:
        """The row of ``record_id``: found by bisection, as the rows are kept in id order
        (newest first), so adding or dismissing a row never costs a pass over all of them."""
        at = self._insertion(record_id)
        return at if at < len(self._order) and self._order[at] == record_id else None

    def _insertion(self, record_id: int) -> int:
        return bisect.bisect_left(self._order, -record_id, key=lambda other: -other)

    def _rows_changed(self, had: int) -> None:
        """Rows were added, removed or reordered: lay out, draw all, and when the list was empty
        the first row is highlighted."""
        self._set_virtual_size()
        self.refresh()
        if not had and self._order:
            self._cursor = 0
            # said once the news already queued is shown: more rows may come above it meanwhile
            self.call_later(self._highlighted)

    def upsert(self, record: TaskRecord, now: float) -> None:
        """Show ``record``: a new row at the top, or its existing row updated in place."""
        self._now = now
        old = self._records.get(record.id)
        self._records[record.id] = record
        if old is None:
            had = len(self._order)
            at = self._insertion(record.id)
            self._order.insert(at, record.id)
            if had and at <= self._cursor:  # the highlighted task stays highlighted, one row lower
                self._cursor += 1
            self._rows_changed(had)
            return
        if not _progress_only(old, record):  # progress alone waits for the 1 s clock (tick)
            self._redraw(record.id)

    def _redraw(self, record_id: int) -> None:
        """The row is behind its record: built again when next drawn, and repainted now if in sight."""
        row = self._rows.get(record_id)
        if row is not None:
            row.dirty = True
        place = self._place(record_id)
        if place is not None:
            self._refresh_row(place)

    def _draw_if_stale(self, index: int) -> bool:
        """Bring row ``index`` up to date and repaint it if its text changed; whether it was
        behind (built before the last tick, or changed since it was built)."""
        record_id = self._order[index]
        row = self._rows.get(record_id)
        if row is not None and not (row.dirty or row.epoch != self._epoch):
            return False
        before = row.plains if row is not None else None
        # built now (not when next drawn): the pass moves on even while the list is not drawn
        if self._row(record_id).plains != before:
            self._refresh_row(index)
        return True

    def draw_stale_step(self) -> None:
        """Part of a tick made while keys are typed: at most ``TICK_ROWS`` rows in sight brought
        up to date and repainted, in the frame of the key that asked (the main screen calls this
        at each key in the prompt). A tick changes the time cells of every row in sight at once
        (a countdown, an age); drawn in one frame, those were the slowest frames a key met, and
        drawn a few a frame in frames of their own, each such frame delayed the next key's."""
        if not self._stale_pass:
            return
        done = 0
        for index in self._sight():
            if self._draw_if_stale(index):
                done += 1
                if done == TICK_ROWS:
                    return
        self._stale_pass = False

    def add_older(self, records: list[TaskRecord], now: float) -> None:
        """A page of older history, appended below (records newest first)."""
        self._now = now
        had = len(self._order)
        added = [record for record in records if record.id not in self._records]
        if not added:
            return
        for record in added:
            self._records[record.id] = record
            self._order.append(record.id)
        joined = self._order[max(0, had - 1) :]
        if any(above < below for above, below in itertools.pairwise(joined)):
            # a task was shown ahead of its page (from the history search), or the page came out
            # of order: the rows stay newest first (``_place`` depends on it)
            selected = self.selected_id
            self._order.sort(reverse=True)
            if selected is not None:
                self._cursor = self._place(selected) or 0
        self._rows_changed(had)

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

    def tick(self, now: float, *, typing: bool = False) -> None:
        """Time moved: ages and time left change, and progress news waits for this. The rows
        in sight are built again and repainted where their text changed (only the cells that
        changed are drawn again); the others when they come into sight. ``typing``: keys
        are being typed, the rows are drawn a few at each key (:meth:`draw_stale_step`); else
        all at once (one frame is the cheapest)."""
        self._now = now
        self._epoch += 1
        if typing:
            self._stale_pass = True
            return
        self._stale_pass = False
        for index in self._sight():
            self._draw_if_stale(index)

    def clear_records(self) -> None:
        self._records.clear()
        self._order.clear()
        self._rows.clear()
        self._cursor = 0
        self._hover = None
        self._rows_changed(0)

    def refresh_colours(self) -> None:
        """The theme changed: every row is built again in its colours."""
        self._rows.clear()
        self._header = None
        self.refresh()

    def remove_record(self, record_id: int) -> None:
        """The row of ``record_id`` taken off the list (a dismiss: the history keeps it)."""
        if self._records.pop(record_id, None) is None:
            return
        self._flags.pop(record_id, None)
        self._rows.pop(record_id, None)
        at = self._place(record_id)
        assert at is not None  # every record shown has its row
        del self._order[at]
        if at < self._cursor:  # a row above the highlighted one: the same task stays highlighted
            self._cursor -= 1
        self._rows_changed(len(self._order) + 1)
        if self._order and self._cursor >= len(self._order):
            self.move_cursor(row=len(self._order) - 1)

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

    # -- the cursor ---------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._order)

    @property
    def cursor_row(self) -> int:
        return self._cursor

    def move_cursor(self, *, row: int, scroll: bool = True) -> None:
        """Highlight row ``row`` (kept within the list) and, with ``scroll``, bring it into sight."""
        if not self._order:
            return
        row = max(0, min(row, len(self._order) - 1))
        old, self._cursor = self._cursor, row
        if scroll:
            self._scroll_to_cursor()
        if old != row:
            self._refresh_row(old)
            self._refresh_row(row)
            self._highlighted()

    def _scroll_to_cursor(self) -> None:
        top = self._cursor * ROW_HEIGHT
        height = max(ROW_HEIGHT, self.scrollable_content_region.height - HEADER_HEIGHT)
        y = round(self.scroll_y)
        if top < y:
            self.scroll_to(y=top, animate=False)
        elif top + ROW_HEIGHT > y + height:
            self.scroll_to(y=top + ROW_HEIGHT - height, animate=False)

    def _highlighted(self) -> None:
        self.post_message(self.Selected(self.selected_id))
        if self._cursor >= len(self._order) - 5:
            self.post_message(self.NeedMore())

    def _page(self) -> int:
        return max(1, (self.scrollable_content_region.height - HEADER_HEIGHT) // ROW_HEIGHT)

    def _keyed(self) -> None:
        """The keys move the cursor: the mouse's highlight goes."""
        if self._hover is not None:
            hover, self._hover = self._hover, None
            self._refresh_row(hover)

    def action_cursor_up(self) -> None:
        self._keyed()
        self.move_cursor(row=self._cursor - 1)

    def action_cursor_down(self) -> None:
        self._keyed()
        self.move_cursor(row=self._cursor + 1)

    def action_page_up(self) -> None:
        self._keyed()
        page = self._page()
        self.scroll_to(y=max(0, round(self.scroll_y) - page * ROW_HEIGHT), animate=False)
        self.move_cursor(row=self._cursor - page)

    def action_page_down(self) -> None:
        self._keyed()
        page = self._page()
        self.scroll_to(y=round(self.scroll_y) + page * ROW_HEIGHT, animate=False)
        self.move_cursor(row=self._cursor + page)

    def action_first_row(self) -> None:
        self._keyed()
        self.move_cursor(row=0)

    def action_last_row(self) -> None:
        self._keyed()
        self.move_cursor(row=max(0, len(self._order) - 1))

    def action_choose(self) -> None:
        if self._order:
            self.post_message(self.Chosen(self.selected_id))

    @property
    def selected_id(self) -> int | None:
        if not self._order or not 0 <= self._cursor < len(self._order):
            return None
        return self._order[self._cursor]

    def record(self, record_id: int) -> TaskRecord | None:
        return self._records.get(record_id)

    def select(self, record_id: int) -> None:
        place = self._place(record_id)
        if place is not None:
            self.move_cursor(row=place)

    # -- the mouse ------------------------------------------------------------------------

    def _row_at(self, event: events.MouseEvent) -> int | None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < HEADER_HEIGHT:
            return None
        row = (offset.y - HEADER_HEIGHT + round(self.scroll_y)) // ROW_HEIGHT
        return row if row < len(self._order) else None

    def on_click(self, event: events.Click) -> None:
        row = self._row_at(event)
        if row is None:
            return
        event.stop()
        if row == self._cursor:  # a click on the highlighted task chooses it, as enter does
            self.post_message(self.Chosen(self.selected_id))
        else:
            self.move_cursor(row=row)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        row = self._row_at(event)
        if row != self._hover:
            old, self._hover = self._hover, row
            for changed in (old, row):
                if changed is not None:
                    self._refresh_row(changed)

    def on_leave(self, event: events.Leave) -> None:
        self._keyed()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        if self.scroll_y >= self.max_scroll_y - 4:
            self.post_message(self.NeedMore())
