"""A batch as it runs, and its results as a grid: rows are the prompt variants, columns the
models (or the sizes, or both), each cell the thumbnail of its result (enter opens it in the
viewer). p pauses or continues the batch, x cancels what is not sent yet (sent tasks are
followed to the end and downloaded), e writes the grid as a contact sheet.
"""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, ScrollableContainer, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static

from evolink_tui.core import batch_store as bs
from evolink_tui.core.errors import ValidationError, describe
from evolink_tui.core.text import excerpt

from ..format import plain
from ..widgets.keybar import KeyBar
from ..widgets.thumbnail import ThumbnailView

if TYPE_CHECKING:
    from evolink_tui.core.batch import BatchSummary
    from evolink_tui.core.history import TaskRecord

    from ..app import EvolinkApp

ROW_LABEL_WIDTH = 18
MIN_CELL, MAX_CELL = 16, 32  # columns of one cell of the grid


MIN_CELL_HEIGHT = 7


def cell_size(screen: tuple[int, int], columns: int, rows: int) -> tuple[int, int]:
    """(width, height) of a cell: the columns share the screen's width and the rows its
    height (scrolling below MIN_CELL / MIN_CELL_HEIGHT); never taller than a square picture
    in half-blocks (half as tall as wide) with its border and label line needs."""
    screen_width, screen_height = screen
    width = max(MIN_CELL, min(MAX_CELL, (screen_width - ROW_LABEL_WIDTH - 2) // max(1, columns)))
    height = max(MIN_CELL_HEIGHT, min(width // 2 + 3, (screen_height - 5) // max(1, rows)))
    return width, height


class Layout(NamedTuple):
    """Where each task of the batch sits: rows (prompt variants), columns (models, sizes)."""

    rows: list[str]
    columns: list[str]
    place: dict[int, tuple[int, int]]  # seq -> (row, column)


def grid_layout(summary: BatchSummary) -> Layout:
    """Rows: one per prompt (its variant choices); columns: one per model, per size, or per
    model and size when both vary."""
    items = summary.items
    row_keys: dict[tuple, str] = {}
    col_keys: dict[tuple, str] = {}
    models = {item.cell.model for item in items}
    sizes = {item.cell.size for item in items}
    for item in items:
        cell = item.cell
        row = (cell.template_index, cell.choices, cell.prompt)
        row_keys.setdefault(row, " · ".join(c for c in cell.choices if c) or cell.prompt)
        size = cell.size or "default"
        if len(sizes) > 1 and len(models) == 1:
            label = size
        elif len(sizes) > 1:
            label = f"{size} {cell.model}"  # the size first: a long model name is cut, never the size
        else:
            label = cell.model
        col_keys.setdefault((cell.model, cell.size), label)
    rows, columns = list(row_keys), list(col_keys)
    place = {
        item.seq: (
            rows.index((item.cell.template_index, item.cell.choices, item.cell.prompt)),
            columns.index((item.cell.model, item.cell.size)),
        )
        for item in items
    }
    return Layout(list(row_keys.values()), list(col_keys.values()), place)


def live_state(record: TaskRecord) -> str:
    """What a task being worked on is doing now."""
    if not record.task_id:
        return "sending"
    if record.state == "completed":
        return "downloading"
    if record.state == "processing":
        return f"running {record.progress}%"
    return "queued" if record.state == "pending" else record.state


class MatrixCell(Vertical, can_focus=True):
    """One task of the grid: its thumbnail (once downloaded) and where it stands."""

    def __init__(self, seq: int, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="matrix-cell")
        self.seq = seq
        self.record_id: int | None = None
        self.files: list[str] = []

    def compose(self) -> ComposeResult:
        yield ThumbnailView(classes="matrix-thumb")
        yield Static("", classes="matrix-label", markup=False)

    def show(self, state: str, record: TaskRecord | None, busy: bool = False) -> None:
        """``state``: the batch's word for the task; ``busy``: this process is sending,
        following or downloading it now (then what it is doing is said instead)."""
        self.record_id = record.id if record else None
        label = f"#{self.seq} {live_state(record) if busy and record else state}"
        self.query_one(".matrix-label", Static).update(Content(label))
        files = list(record.files) if record is not None else []
        if files != self.files:
            self.files = files
            self.query_one(ThumbnailView).set_source(files[0] if files else None)


class BatchScreen(Screen[None]):
    """See the module docstring."""

    CSS_PATH = "../screens.tcss"

    BINDINGS = [
        Binding("enter,v", "view", "View", id="batch.view"),
        Binding("p", "pause", "Pause/continue", id="batch.pause"),
        Binding("x", "cancel_batch", "Cancel batch", id="batch.cancel"),
        Binding("e", "export_sheet", "Contact sheet", id="batch.export"),
        Binding("escape", "back", "Back", id="batch.back"),
        Binding("f1,question_mark", "app.show_help", "Help", show=False, id="batch.help"),
        Binding("left", "move(0,-1)", "Left", show=False, id="batch.left"),
        Binding("right", "move(0,1)", "Right", show=False, id="batch.right"),
        Binding("up", "move(-1,0)", "Up", show=False, id="batch.up"),
        Binding("down", "move(1,0)", "Down", show=False, id="batch.down"),
    ]

    app: EvolinkApp

    def __init__(self, batch_id: str) -> None:
        super().__init__(id="batch")
        self.batch_id = batch_id
        self.matrix: Layout | None = None
        self._held = ""
        self._cells: dict[int, MatrixCell] = {}  # seq -> cell
        self._records: dict[int, int] = {}  # record id -> seq

    def compose(self) -> ComposeResult:
        summary = self.app.studio.batches.summary(self.batch_id)
        self.matrix = layout = grid_layout(summary)
        yield KeyBar()
        yield Static(id="batch-status", markup=False)
        width, height = cell_size((self.app.size.width, self.app.size.height), len(layout.columns), len(layout.rows))
        with ScrollableContainer(id="batch-scroll"):
            grid = Grid(id="batch-grid")
            grid.styles.grid_size_columns = len(layout.columns) + 1
            grid.styles.grid_size_rows = len(layout.rows) + 1
            grid.styles.grid_columns = f"{ROW_LABEL_WIDTH} " + " ".join([str(width)] * len(layout.columns))
            grid.styles.grid_rows = f"1 {' '.join([str(height)] * len(layout.rows))}"
            grid.styles.width = ROW_LABEL_WIDTH + width * len(layout.columns)
            grid.styles.height = 1 + height * len(layout.rows)
            with grid:
                yield Static("", classes="matrix-corner")
                for column in layout.columns:
                    yield Static(Content(excerpt(plain(column, 200), width - 1)), classes="matrix-head")
                by_place = {place: seq for seq, place in layout.place.items()}
                for r, row in enumerate(layout.rows):
                    yield Static(Content(excerpt(plain(row, 400), 3 * ROW_LABEL_WIDTH)), classes="matrix-row")
                    for c in range(len(layout.columns)):
                        seq = by_place.get((r, c))
                        if seq is None:
                            yield Static("", classes="matrix-empty")
                            continue
                        cell = MatrixCell(seq, id=f"cell-{seq}")
                        self._cells[seq] = cell
                        yield cell

    def on_mount(self) -> None:
        self.refresh_batch()
        first = min(self._cells) if self._cells else None
        if first is not None:
            self._cells[first].focus()

    # -- what it shows --------------------------------------------------------------------

    def refresh_batch(self) -> None:
        batches = self.app.studio.batches
        summary = batches.summary(self.batch_id)
        for item in summary.items:
            cell = self._cells.get(item.seq)
            if cell is None:
                continue
            record = self.app.studio.record(item.record_id) if item.record_id else None
            record = record or summary.records.get(item.record_id or -1)
            if record is not None:
                self._records[record.id] = item.seq
            cell.show(summary.outcome(item), record, self._sending(record))
        self._status(summary)

    def _status(self, summary: BatchSummary) -> None:
        batch = summary.batch
        state = batch.state + (f" ({batch.reason})" if batch.reason and batch.reason != batch.state else "")
        busy = self.app.studio.in_flight
        running = sum(1 for r in summary.records.values() if r.id in busy)
        done = sum(1 for r in summary.records.values() if r.is_finished and r.id not in busy)
        parts = [
            f"{batch.id} · {state}",
            f"{done}/{summary.total} done",
            f"{running} running",
            f"{summary.unsent} not sent",
            f"{summary.credits:g} credits charged",
        ]
        if self._held and batch.state == bs.RUNNING:
            parts.append(self._held)
        hint = {
            bs.PAUSED: "p continues it",
            bs.RUNNING: "p pauses (sent tasks finish), x cancels what is not sent",
        }.get(batch.state, "")
        text = " · ".join(parts) + (f"\n{hint}" if hint else "")
        self.query_one("#batch-status", Static).update(Content(text))

    def show_event(self, event: object) -> None:
        from evolink_tui.core import batch_events as be
        from evolink_tui.core import events as ev

        if not self.is_attached:
            return
        match event:
            case be.SubmitsHeld(batch_id=batch_id, seconds=seconds) if batch_id == self.batch_id:
                self._held = f"rate limited: every submit waits {seconds:.0f} s (Retry-After)"
                self.refresh_batch()
            case be.BatchTaskSent(batch_id=batch_id) if batch_id == self.batch_id:
                self._held = ""
                self.refresh_batch()
            case (
                be.BatchStarted(batch_id=batch_id)
                | be.BatchTaskEnded(batch_id=batch_id)
                | be.BudgetStop(batch_id=batch_id)
                | be.BatchEnded(batch_id=batch_id)
            ) if batch_id == self.batch_id:
                self.refresh_batch()
            case ev.TaskEvent(record_id=record_id) if record_id in self._records:
                record = self.app.studio.record(record_id)
                seq = self._records[record_id]
                if record is not None and seq in self._cells:
                    from evolink_tui.core.recovery import outcome

                    self._cells[seq].show(outcome(record), record, self._sending(record))
            case _:
                return

    def _sending(self, record: TaskRecord | None) -> bool:
        """Its submit is on its way now (not an uncertain one left by a stop)."""
        return record is not None and record.id in self.app.studio.in_flight

    # -- keys ------------------------------------------------------------------------------

    def _focused_cell(self) -> MatrixCell | None:
        return self.focused if isinstance(self.focused, MatrixCell) else None

    def action_move(self, rows: int, columns: int) -> None:
        cell, layout = self._focused_cell(), self.matrix
        if cell is None or layout is None:
            return
        r, c = layout.place[cell.seq]
        by_place = {place: seq for seq, place in layout.place.items()}
        r, c = r + rows, c + columns
        while 0 <= r < len(layout.rows) and 0 <= c < len(layout.columns):
            seq = by_place.get((r, c))
            if seq is not None and seq in self._cells:
                self._cells[seq].focus()
                self._cells[seq].scroll_visible()
                return
            r, c = r + rows, c + columns

    def action_view(self) -> None:
        """The focused result in the viewer; ←/→ there step through the grid's results."""
        cell = self._focused_cell()
        shown = [c for seq, c in sorted(self._cells.items(), key=lambda kv: self._order(kv[0])) if c.files]
        if cell is None or cell not in shown or cell.record_id is None:
            self.notify("No result here yet.", markup=False)
            return
        items = [(c.record_id, 0) for c in shown if c.record_id is not None]
        try:  # the viewer's public entry (issue 13): open_viewer(app, items, index)
            open_viewer = importlib.import_module(f"{__package__}.viewer").open_viewer
        except (ImportError, AttributeError):  # TODO(coordinator): drop once the viewer screen is merged
            self.notify("The viewer is not in this build yet.", markup=False)
            return
        open_viewer(self.app, items, shown.index(cell))

    def _order(self, seq: int) -> tuple[int, int]:
        assert self.matrix is not None
        return self.matrix.place[seq]

    def action_pause(self) -> None:
        from .. import batch_flow

        batches = self.app.studio.batches
        batch = batches.summary(self.batch_id).batch
        if batch.state == bs.RUNNING and self.batch_id in batches.active:
            batches.pause(self.batch_id)
            self.notify("Batch paused: nothing more is sent; tasks already sent finish. p continues.", markup=False)
        elif batch.state in (bs.PAUSED, bs.RUNNING):
            if self.batch_id in batches.active:
                self.notify("Its sent tasks are still finishing: continue it once they have.", markup=False)
                return
            batch_flow.run_batch(self.app, self.batch_id)
            self.notify("Batch continued.", markup=False)
        else:
            self.notify(f"This batch is {batch.state}: nothing left to send.", markup=False)
        self.refresh_batch()

    def action_cancel_batch(self) -> None:
        from .confirm import ConfirmScreen

        summary = self.app.studio.batches.summary(self.batch_id)
        if summary.batch.state in (bs.DONE, bs.CANCELLED):
            self.notify(f"This batch is {summary.batch.state}: nothing left to cancel.", markup=False)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                count = self.app.studio.batches.cancel(self.batch_id)
                self.notify(
                    f"Batch cancelled: {count} unsent task{'s' if count != 1 else ''} will never be sent; "
                    "sent ones finish and are downloaded.",
                    markup=False,
                )
                self.refresh_batch()

        body = f"{summary.unsent} task(s) not sent yet will never be sent. Tasks already sent run to their end."
        self.app.push_screen(ConfirmScreen("Cancel batch?", body, yes="Cancel batch", no="Keep", danger=True), answered)

    def action_export_sheet(self) -> None:
        self.app.start(self._export(), name=f"contact sheet {self.batch_id}", group="export")

    async def _export(self) -> None:
        from evolink_tui.core.export import contact_sheet
        from evolink_tui.core.gallery import GalleryItem

        summary = self.app.studio.batches.summary(self.batch_id)
        ordered = sorted((item for item in summary.items if item.seq in self._cells), key=lambda i: self._order(i.seq))
        items = [
            GalleryItem(record, index, Path(path))
            for item in ordered
            if (record := summary.records.get(item.record_id or -1)) is not None
            for index, path in enumerate(record.files)
        ]
        dest = Path(self.app.settings.download_dir) / f"{self.batch_id}-contact-sheet.png"
        try:
            report = await asyncio.to_thread(contact_sheet, items, dest)
        except (ValidationError, OSError) as err:
            self.notify(f"No contact sheet: {describe(err)}", severity="error", markup=False)
            return
        self.notify(f"Contact sheet of {len(items) - len(report.skipped)} results: {plain(dest)}", markup=False)

    def action_back(self) -> None:
        self.dismiss(None)
