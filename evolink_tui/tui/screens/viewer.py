"""The viewer: one result as large as the terminal allows, or 2 to 4 side by side.

Opened with :func:`open_viewer` from any place that shows results (the task list, the
preview, the gallery, the palette's "View result"). ``items`` are (record id, file index)
pairs in the order ←/→ steps through them; esc returns to the screen underneath, which was
never touched, so its selection is as it was.

Each picture is a :class:`~evolink_tui.tui.widgets.picture.Picture` (kitty, iTerm2, sixel
or half-block cells; zoom resamples from the original file, in a thread). With a picture
zoomed in the arrows pan it; at fit, ← and → step to the previous and next result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.errors import NoWidget
from textual.widgets import Static

from evolink_tui.core.history import TaskRecord
from evolink_tui.core.timing import time_taken

from ..format import duration, plain, state_label, task_credits
from ..result_actions import ResultScreen, result_path
from ..widgets.keybar import KeyBar
from ..widgets.picture import Picture

if TYPE_CHECKING:
    from textual.app import App

MAX_UP = 4
"""At most this many results side by side."""
PAN_STEP = 0.25
"""An arrow press pans by a quarter of what shows."""
PROMPT_EXCERPT = 200

Item = tuple[int, int]


def open_viewer(app: App, items: Sequence[tuple[int, int]], index: int = 0, *, compare: bool = False) -> None:
    """Open the viewer on ``items`` ((record id, result index) pairs, in stepping order) at
    ``index``; ``compare``: side by side (2 to 4 up) rather than one at a time."""
    chosen = [(int(record_id), int(result)) for record_id, result in items]
    if not chosen:
        app.notify("No result to view yet.", severity="warning", markup=False)
        return
    app.push_screen(ViewerScreen(chosen, max(0, min(index, len(chosen) - 1)), compare=compare))


class Pane(Vertical):
    """One picture and, side by side, the label naming its model."""

    def __init__(self, slot: int) -> None:
        super().__init__(classes="viewer-pane", id=f"viewer-pane-{slot}")
        self.slot = slot
        self.item: Item | None = None
        self.path: str | None = None

    def compose(self) -> ComposeResult:
        yield Picture(id=f"viewer-picture-{self.slot}")
        yield Static(classes="viewer-label")

    @property
    def picture(self) -> Picture:
        return self.query_one(Picture)

    def show(self, item: Item, record: TaskRecord | None, label: Content) -> None:
        path = result_path(record, item[1]) if record is not None and item[1] < len(record.files) else None
        if item != self.item or path != self.path:
            self.item, self.path = item, path
            self.picture.set_source(path)
        self.query_one(".viewer-label", Static).update(label)

    def on_click(self, event: events.Click) -> None:
        screen = self.screen
        if isinstance(screen, ViewerScreen) and self.item is not None:
            screen.choose_slot(self.slot)


class ViewerScreen(ResultScreen):
    """One result full size (zoom, pan), or a comparison side by side."""

    # Its own small style sheet, not screens.tcss: a screen's CSS_PATH makes Textual parse
    # every style sheet again (measured: most of the CPU between v and the first frame).
    SCOPED_CSS = False
    DEFAULT_CSS = """
    ViewerScreen #viewer-caption {
        height: 1;
        padding: 0 1;
        background: $panel;
    }
    ViewerScreen #viewer-panes {
        height: 1fr;
    }
    ViewerScreen .viewer-pane {
        width: 1fr;
        height: 1fr;
    }
    ViewerScreen .viewer-label {
        display: none;
        height: 1;
        text-align: center;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    ViewerScreen.-compare .viewer-label {
        display: block;
    }
    ViewerScreen.-compare .viewer-pane {
        border: round $primary 30%;
    }
    ViewerScreen.-compare .viewer-pane.-chosen {
        border: round $accent;
    }
    """

    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Back", id="viewer.back"),
        Binding("left", "left", "Prev", id="viewer.left"),
        Binding("right", "right", "Next", id="viewer.right"),
        Binding("up", "pan(0,-1)", "Pan up", show=False, id="viewer.up"),
        Binding("down", "pan(0,1)", "Pan down", show=False, id="viewer.down"),
        Binding("home", "go_to(0)", "First", show=False, id="viewer.first"),
        Binding("end", "go_to(-1)", "Last", show=False, id="viewer.last"),
        Binding("pageup", "step(-1)", "Previous result", show=False, id="viewer.previous"),
        Binding("pagedown", "step(1)", "Next result", show=False, id="viewer.next"),
        Binding("plus,equals_sign", "zoom_in", "Zoom", id="viewer.zoom_in"),
        Binding("minus", "zoom_out", "Zoom out", show=False, id="viewer.zoom_out"),
        Binding("0", "zoom_fit", "Fit", id="viewer.fit"),
        Binding("x", "toggle_compare", "Compare", id="viewer.compare"),
        Binding("enter", "one_up", "One-up", id="viewer.one_up"),
        # The result actions of task_result_bindings, written out: no t (retry) or v (here already),
        # and literal so `evolink-tui keys` reads them from the source.
        Binding("r", "screen.regenerate", "Regenerate", id="viewer.regenerate"),
        Binding("i", "screen.iterate", "Iterate", id="viewer.iterate"),
        Binding("c", "screen.copy_path", "Copy path", id="viewer.copy_path"),
        Binding("u", "screen.copy_url", "Copy URL", id="viewer.copy_url"),
        Binding("o", "screen.open_result", "Open", id="viewer.open"),
        Binding("s", "screen.show_sidecar", "Sidecar", id="viewer.sidecar"),
        Binding("f", "screen.use_as_reference", "Use as ref", id="viewer.use_ref"),
        Binding("l", "screen.show_lineage", "Lineage", show=False, id="viewer.lineage"),
        Binding("f1,question_mark", "app.show_help", "Help", show=False, id="viewer.help"),
    ]

    def __init__(self, items: list[Item], index: int = 0, *, compare: bool = False) -> None:
        super().__init__(id="viewer")
        self.items = items
        self.index = index
        self._explicit = compare and 2 <= len(items) <= MAX_UP  # the caller's own set, all shown
        self.compare = compare and len(items) > 1
        self._records: dict[int, TaskRecord | None] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="viewer-caption")
        with Horizontal(id="viewer-panes"):
            for slot in range(min(MAX_UP, len(self.items))):
                yield Pane(slot)
        yield KeyBar()

    def on_mount(self) -> None:
        self.show_items()

    # -- what is shown --------------------------------------------------------------------------

    def record(self, record_id: int) -> TaskRecord | None:
        """The record from the Studio's index, else from the history (a gallery page older
        than what the task list has loaded)."""
        studio = self.app.studio
        found = studio.record(record_id)
        if found is not None:
            return found
        if record_id not in self._records:
            self._records[record_id] = studio.history.get(record_id)
        return self._records[record_id]

    def shown_range(self) -> range:
        """The positions of ``items`` on screen: the chosen one, or its comparison set."""
        if not self.compare:
            return range(self.index, self.index + 1)
        if self._explicit:
            return range(len(self.items))
        start, stop = self.index, self.index + 1
        group = self._group(self.index)
        if group:  # the run of neighbours from the same comparison (or task)
            while start > 0 and self._group(start - 1) == group:
                start -= 1
            while stop < len(self.items) and self._group(stop) == group:
                stop += 1
        if stop - start < 2:  # no comparison here: the neighbours instead
            start, stop = self.index, min(len(self.items), self.index + MAX_UP)
            start = max(0, stop - MAX_UP)
        # At most MAX_UP at a time, a page of them (the chosen one's).
        start += (self.index - start) // MAX_UP * MAX_UP
        stop = min(stop, start + MAX_UP)
        return range(start, stop)

    def _group(self, position: int) -> str | None:
        """What the result at ``position`` is compared with: its comparison run, else the
        other results of its own task."""
        record = self.record(self.items[position][0])
        if record is None:
            return None
        return record.group_id or f"task {record.id}"

    def show_items(self) -> None:
        shown = self.shown_range()
        panes = list(self.query(Pane))
        for slot, pane in enumerate(panes):
            if slot < len(shown):
                position = shown[slot]
                item = self.items[position]
                record = self.record(item[0])
                pane.display = True
                pane.set_class(self.compare and position == self.index, "-chosen")
                pane.show(item, record, self._label(record, item) if self.compare else Content(""))
            else:
                pane.display = False
        self.set_class(self.compare, "-compare")
        self.show_caption()

    def chosen_pane(self) -> Pane:
        slot = self.index - self.shown_range().start
        return self.query_one(f"#viewer-pane-{slot}", Pane)

    @property
    def picture(self) -> Picture:
        """The chosen picture (the one zoom and pan act on)."""
        return self.chosen_pane().picture

    def _label(self, record: TaskRecord | None, item: Item) -> Content:
        if record is None:
            return Content("(not in the history)")
        parts: list = [(plain(record.model, 40), "bold")]
        if len(record.files) > 1:
            parts.append(f" #{item[1] + 1}")
        if record.state == "completed":
            parts.append(f" · {duration(time_taken(record))} · {task_credits(record, item[1])}")
        else:
            label, role = state_label(record)
            parts.extend([" · ", (label, f"${role}")])
        return Content.assemble(*parts)

    def show_caption(self) -> None:
        item = self.items[self.index]
        record = self.record(item[0])
        caption = self.query_one("#viewer-caption", Static)
        if record is None:
            caption.update(Content(f"{self.index + 1}/{len(self.items)} · result no longer in the history"))
            return
        label, role = state_label(record)
        parts: list = [(f"{self.index + 1}/{len(self.items)} ", "dim"), (plain(record.model, 40), "bold")]
        if len(record.files) > 1:
            parts.append(f" #{item[1] + 1}")
        parts.extend([" · ", (label, f"${role}")])
        size = self._size_text(record)
        if size:
            parts.append(f" · {size}")
        taken = time_taken(record)
        if taken is not None:
            parts.append(f" · {duration(taken)}")
        if record.credits is not None:
            parts.append(f" · {task_credits(record, item[1])}")
        picture = self.picture
        if picture.image_size is not None and picture.zoom > 1.001:
            parts.append((f" · zoom {picture.zoom:.1f}x", "$accent"))
        if record.prompt:
            parts.extend([" · ", (plain(record.prompt, PROMPT_EXCERPT), "dim")])
        caption.update(Content.assemble(*parts))

    def _size_text(self, record: TaskRecord) -> str:
        found = self.picture.image_size
        if found is not None:
            return f"{found[0]}x{found[1]}"
        size = record.request.get("size") if isinstance(record.request, dict) else None
        return plain(size, 20) if size else ""

    @on(Picture.Shown)
    @on(Picture.Failed)
    def _picture_news(self) -> None:
        self.show_caption()

    # -- the Studio's events: a result of ours that arrives or changes is redrawn -------------------

    def show_event(self, event: object) -> None:
        from evolink_tui.core import events as ev

        match event:
            case ev.TaskEvent(record_id=record_id) if any(item[0] == record_id for item in self.items):
                self._records.pop(record_id, None)
                self.show_items()
            case _:
                return

    # -- stepping ---------------------------------------------------------------------------------

    def action_step(self, step: int) -> None:
        self.go(self.index + step)

    def action_go_to(self, position: int) -> None:
        self.go(position if position >= 0 else len(self.items) + position)

    def go(self, position: int) -> None:
        position = max(0, min(len(self.items) - 1, position))
        if position != self.index:
            self.index = position
            self.show_items()

    def choose_slot(self, slot: int) -> None:
        self.go(self.shown_range().start + slot)

    def _zoomed(self) -> bool:
        return self.picture.zoom > 1.001

    def action_left(self) -> None:
        if self._zoomed():
            self.action_pan(-1, 0)
        else:
            self.action_step(-1)

    def action_right(self) -> None:
        if self._zoomed():
            self.action_pan(1, 0)
        else:
            self.action_step(1)

    def action_pan(self, dx: int, dy: int) -> None:
        if self._zoomed():
            self.picture.pan(dx * PAN_STEP, dy * PAN_STEP)

    # -- zoom ---------------------------------------------------------------------------------------

    def action_zoom_in(self) -> None:
        self.picture.zoom_in()

    def action_zoom_out(self) -> None:
        self.picture.zoom_out()

    def action_zoom_fit(self) -> None:
        self.picture.zoom_fit()

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._wheel(event, zoom_in=True)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self._wheel(event, zoom_in=False)

    def _wheel(self, event: events.MouseEvent, *, zoom_in: bool) -> None:
        event.stop()
        try:
            under, _ = self.get_widget_at(event.screen_x, event.screen_y)
        except NoWidget:  # off every widget
            under = None
        for node in (under, *(under.ancestors if under is not None else ())):
            if isinstance(node, Pane) and node.item is not None:
                self.choose_slot(node.slot)
                break
        if zoom_in:
            self.action_zoom_in()
        else:
            self.action_zoom_out()

    # -- compare and one-up -------------------------------------------------------------------------

    def action_toggle_compare(self) -> None:
        if len(self.items) < 2:
            self.notify("Only one result here: nothing to compare it with.", markup=False)
            return
        self.compare = not self.compare
        self.show_items()
        self.refresh_bindings()  # enter (one-up) shows only side by side

    def action_one_up(self) -> None:
        if self.compare:
            self.action_toggle_compare()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "one_up":
            return self.compare  # only side by side
        return True

    # -- the result the actions act on --------------------------------------------------------------

    def current_result(self) -> tuple[TaskRecord, int | None] | None:
        record_id, index = self.items[self.index]
        record = self.record(record_id)
        if record is None:
            return None
        return record, index if index < len(record.files) else None
