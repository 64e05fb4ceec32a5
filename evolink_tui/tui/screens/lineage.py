"""The lineage of a result: the tree of everything iterated from its line, as thumbnails.

The tree is read in a thread (``core/lineage.lineage``: from the first of the line down,
bounded) and drawn one row per task, indented by generation, with its results as cards.
↑/↓ step through the tasks in tree order, ←/→ through a task's results, p goes to the
parent; enter opens the result in the viewer; the result keys (i iterate, r, c, u, o, s, f)
act on the selected one. The tree is read again when a task of it changes or a new one
joins it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from evolink_tui.core.errors import ValidationError
from evolink_tui.core.history import TaskRecord

from ..format import children_text, from_text, plain, state_label
from ..result_actions import ResultScreen, result_index
from ..widgets.keybar import KeyBar
from ..widgets.preview import ResultCard, ResultRef, card_label

if TYPE_CHECKING:
    from evolink_tui.core.lineage import Lineage

MAX_SHOWN = 60  # tasks drawn; a longer line says how many more there are
INDENT = 3  # cells per generation
MAX_INDENT = 8  # generations indented; deeper ones line up with the eighth


class LineageRead(Message):
    def __init__(self, tree: Lineage | None, error: str = "") -> None:
        super().__init__()
        self.tree = tree
        self.error = error


class LineageTree(VerticalScroll, can_focus=True):
    """The scrolling tree; the arrows move the selection."""

    BORDER_TITLE = "Lineage"

    BINDINGS = [
        Binding("up", "screen.move_node(-1)", "Previous task", show=False, id="lineage.up"),
        Binding("down", "screen.move_node(1)", "Next task", show=False, id="lineage.down"),
        Binding("left", "screen.move_result(-1)", "Previous result", show=False, id="lineage.left"),
        Binding("right", "screen.move_result(1)", "Next result", show=False, id="lineage.right"),
        Binding("p", "screen.to_parent", "Parent", id="lineage.parent"),
        Binding("enter,v", "screen.view", "View", id="lineage.view"),
        Binding("i", "screen.iterate", "Iterate", id="lineage.iterate"),
        Binding("r", "screen.regenerate", "Regenerate", show=False, id="lineage.regenerate"),
        Binding("c", "screen.copy_path", "Copy path", show=False, id="lineage.copy_path"),
        Binding("u", "screen.copy_url", "Copy URL", show=False, id="lineage.copy_url"),
        Binding("o", "screen.open_result", "Open", show=False, id="lineage.open"),
        Binding("s", "screen.show_sidecar", "Sidecar", show=False, id="lineage.sidecar"),
        Binding("f", "screen.use_as_reference", "Use as ref", show=False, id="lineage.use_ref"),
    ]


def node_title(record: TaskRecord, depth: int, focus: bool) -> Content:
    """``└ #14 · from #12 (result 2) · model · done · prompt``, the asked-for task marked."""
    label, role = state_label(record)
    parts: list = [("└ " if depth else "", "dim"), (f"#{record.id}", "bold")]
    origin = from_text(record)
    if origin:
        parts.append(f" · {origin}")
    parts += [" · ", (plain(record.model, 30), "bold"), " · ", (label, f"${role}")]
    if record.prompt:
        parts.append(f" · {plain(record.prompt, 80)}")
    if focus:
        parts.append((" ◂ this one", "$accent"))
    return Content.assemble(*parts)


class LineageScreen(ResultScreen):
    """The lineage of result ``index`` of record ``record_id`` (see the module docstring)."""

    CSS_PATH = "../screens.tcss"

    BINDINGS = [
        Binding("escape,l", "app.pop_screen", "Back", id="lineage.back"),
        Binding("f1,question_mark", "app.show_help", "Help", id="lineage.help"),
    ]

    def __init__(self, record_id: int, index: int = 0) -> None:
        super().__init__(id="lineage")
        self.record_id = record_id
        self.index = index
        self._records: list[tuple[int, TaskRecord]] = []  # (depth, record) in tree order
        self._cards: list[list[ResultCard]] = []  # each task's cards
        self._at = 0
        self._which = 0
        self._reading = False
        self._again = False

    def compose(self) -> ComposeResult:
        with LineageTree(id="lineage-tree"):
            yield Static(Content.styled("Reading the lineage…", "dim"), id="lineage-head")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(LineageTree).focus()
        self._load()

    # -- reading ---------------------------------------------------------------------------------

    def _load(self) -> None:
        if self._reading:
            self._again = True  # something changed while reading: read once more after
            return
        self._reading = True
        self._read(self.record_id)

    @work(thread=True, exit_on_error=False, group="lineage")
    def _read(self, record_id: int) -> None:
        from evolink_tui.core.lineage import lineage

        try:
            self.post_message(LineageRead(lineage(self.app.studio.history, record_id)))
        except ValidationError as err:
            self.post_message(LineageRead(None, str(err)))

    @on(LineageRead)
    def _read_done(self, message: LineageRead) -> None:
        self._reading = False
        if self._again:
            self._again = False
            self._load()
        head = self.query_one("#lineage-head", Static)
        if message.tree is None:
            head.update(Content(f"No lineage to show: {plain(message.error, 200)}"))
            return
        self._show(message.tree)

    def _show(self, tree: Lineage) -> None:
        selected = self._selected_ref()
        walked = list(tree.root.walk())
        shown = walked[:MAX_SHOWN]
        self._records = [(depth, node.record) for depth, node in shown]
        box = self.query_one(LineageTree)
        for row in list(box.query(".lineage-node")):
            row.remove()
        self._cards = []
        rows = []
        for depth, record in self._records:
            cards = self._cards_of(record)
            self._cards.append(cards)
            title = Static(node_title(record, depth, record.id == tree.focus), classes="lineage-title")
            row = Vertical(title, Horizontal(*cards, classes="lineage-cards"), classes="lineage-node")
            row.styles.padding = (0, 0, 0, min(depth, MAX_INDENT) * INDENT)
            rows.append(row)
        box.mount_all(rows)
        total = len(walked)
        more = f" (the first {MAX_SHOWN} of {total} shown)" if total > MAX_SHOWN else ""
        cut = " The line is longer than the history's bounds." if tree.truncated else ""
        generations = 1 + max((depth for depth, _ in walked), default=0)
        self.query_one("#lineage-head", Static).update(
            Content.assemble(
                (f"Lineage of #{tree.focus}", "bold"),
                f": {total} task{'s' if total != 1 else ''} over {generations} generation"
                f"{'s' if generations != 1 else ''}, from #{tree.root.record.id}{more}.{cut}",
            )
        )
        self.call_after_refresh(self._select, selected or (self.record_id, self.index))

    def _cards_of(self, record: TaskRecord) -> list[ResultCard]:
        many = len(record.files) > 1
        if record.files:
            return [
                ResultCard(ResultRef(record.id, file), path, card_label(record, file, many), "")
                for file, path in enumerate(record.files)
            ]
        label, _ = state_label(record)
        return [ResultCard(ResultRef(record.id, None), None, card_label(record, None, False), label)]

    # -- selection --------------------------------------------------------------------------------

    def _selected_ref(self) -> tuple[int, int] | None:
        if not self._records:
            return None
        record = self._records[self._at][1]
        return record.id, result_index(record, self._cards[self._at][self._which].ref.file)

    def _select(self, ref: tuple[int, int]) -> None:
        """Select result ``ref[1]`` (from 0) of record ``ref[0]``, or the nearest there is."""
        record_id, index = ref
        for position, (_, record) in enumerate(self._records):
            if record.id == record_id:
                self._at = position
                files = [result_index(record, card.ref.file) for card in self._cards[position]]
                self._which = files.index(index) if index in files else 0
                break
        self._mark()

    def _mark(self) -> None:
        for position, cards in enumerate(self._cards):
            for which, card in enumerate(cards):
                card.set_class(position == self._at and which == self._which, "-selected")
        if self._cards:
            self._bring_into_view(self._cards[self._at][self._which])

    def _bring_into_view(self, card: ResultCard, tries: int = 30) -> None:
        """Bring ``card`` into view once it is laid out: a scroll in the same refresh as the
        first layout of new rows leaves their thumbnails without the resize that draws them."""
        first = self._cards[0][0] if self._cards else card  # on screen until the tree scrolls
        if first.region.height:  # laid out: the scroll waits for the tree's new height too
            tree = self.query_one(LineageTree)
            self.call_after_refresh(tree.scroll_to_widget, card, animate=False)
        elif tries and card.is_attached:
            self.refresh()  # an idle screen would wait for a refresh that never comes
            self.call_after_refresh(self._bring_into_view, card, tries - 1)

    def action_move_node(self, step: int) -> None:
        if self._records:
            self._at = max(0, min(len(self._records) - 1, self._at + step))
            self._which = 0
            self._mark()

    def action_move_result(self, step: int) -> None:
        if self._cards:
            self._which = max(0, min(len(self._cards[self._at]) - 1, self._which + step))
            self._mark()

    def action_to_parent(self) -> None:
        if not self._records:
            return
        record = self._records[self._at][1]
        if record.parent is None:
            self.notify(f"#{record.id} is the first of its line.", markup=False)
            return
        if all(r.id != record.parent[0] for _, r in self._records):
            self.notify(f"#{record.id}'s parent, #{record.parent[0]}, is no longer in the history.", markup=False)
            return
        self._select(record.parent)

    def on_result_card_clicked(self, message: ResultCard.Clicked) -> None:
        message.stop()
        for position, cards in enumerate(self._cards):
            for which, card in enumerate(cards):
                if card.ref == message.ref:
                    self._at, self._which = position, which
        self._mark()
        self.query_one(LineageTree).focus()

    # -- what the result keys act on ------------------------------------------------------------------

    def current_result(self) -> tuple[TaskRecord, int | None] | None:
        if not self._records:
            return None
        return self._records[self._at][1], self._cards[self._at][self._which].ref.file

    @property
    def selected_text(self) -> str:
        """The selected task's lineage in words (for tests and the help line)."""
        if not self._records:
            return ""
        record = self._records[self._at][1]
        children = [r for _, r in self._records if r.parent and r.parent[0] == record.id]
        return " · ".join(p for p in (f"#{record.id}", from_text(record), children_text(children)) if p)

    def action_view(self) -> None:
        """The selected result in the viewer, ←/→ stepping through the tree's results."""
        items: list[tuple[int, int]] = []
        position = 0
        for node, (_, record) in enumerate(self._records):
            for which, card in enumerate(self._cards[node]):
                if card.ref.file is None:
                    continue
                if node == self._at and which == self._which:
                    position = len(items)
                items.append((record.id, result_index(record, card.ref.file)))
        if not items:
            self.notify("Nothing in this line has a downloaded result yet.", severity="warning", markup=False)
            return
        from .viewer import open_viewer

        open_viewer(self.app, items, position)

    # -- the Studio's events -----------------------------------------------------------------------------

    def show_event(self, event: object) -> None:
        from evolink_tui.core import events as ev

        match event:
            case ev.TaskSubmitted(record_id=record_id) | ev.TaskFinished(record_id=record_id):
                record = self.app.studio.record(record_id)
                ids = {r.id for _, r in self._records}
                if record_id in ids or (record is not None and record.parent and record.parent[0] in ids):
                    self._load()
            case _:
                return
