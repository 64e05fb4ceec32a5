"""The gallery: every downloaded result as a grid of thumbnails, loaded lazily.

History is read a page at a time in a thread worker; cards are mounted a screenful at a
time as the selection or the scroll nears the end, so a long history costs nothing until
it is looked at. Each card's thumbnail decodes in its own thread worker, once.
"""

from __future__ import annotations

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from evolink_tui.core.history import PAGE, TaskRecord

from ..result_actions import ResultScreen
from ..widgets.keybar import KeyBar
from ..widgets.preview import ResultCard, ResultRef, card_label

MOUNT_STEP = 24
CARD_WIDTH = 26


class GalleryPage(Message):
    """Records with downloaded files, read from history for the gallery."""

    def __init__(self, records: list[TaskRecord], next_offset: int, done: bool) -> None:
        super().__init__()
        self.records = records
        self.next_offset = next_offset
        self.done = done


class GalleryGrid(VerticalScroll, can_focus=True):
    """The scrolling grid; arrows move the selection."""

    BORDER_TITLE = "Gallery"

    BINDINGS = [
        Binding("left", "screen.move(-1)", "Left", show=False, id="gallery.left"),
        Binding("right", "screen.move(1)", "Right", show=False, id="gallery.right"),
        Binding("up", "screen.move_row(-1)", "Up", show=False, id="gallery.up"),
        Binding("down", "screen.move_row(1)", "Down", show=False, id="gallery.down"),
        Binding("enter,o", "screen.open_result", "Open", id="gallery.open"),
        Binding("c", "screen.copy_path", "Copy path", id="gallery.copy_path"),
        Binding("u", "screen.copy_url", "Copy URL", id="gallery.copy_url"),
        Binding("s", "screen.show_sidecar", "Sidecar", id="gallery.sidecar"),
        Binding("f", "screen.use_as_reference", "Use as ref", id="gallery.use_ref"),
        Binding("r", "screen.regenerate", "Regenerate", id="gallery.regenerate"),
        Binding("i", "screen.iterate", "Iterate", show=False, id="gallery.iterate"),
        Binding("l", "screen.show_lineage", "Lineage", show=False, id="gallery.lineage"),
    ]

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        if self.scroll_y >= self.max_scroll_y - 10:
            screen = self.screen
            if isinstance(screen, GalleryScreen):
                screen.mount_more()


class GalleryScreen(ResultScreen):
    CSS_PATH = "../screens.tcss"  # parsed with the first of these screens to open, not at startup

    BINDINGS = [
        Binding("escape,f4", "app.pop_screen", "Back", id="gallery.back"),
        Binding("f1,question_mark", "app.show_help", "Help", id="gallery.help"),
    ]

    def __init__(self) -> None:
        super().__init__(id="gallery")
        self._items: list[tuple[TaskRecord, int]] = []  # (record, file index), newest first
        self._mounted = 0
        self._selected = 0
        self._next_offset = 0
        self._done = False
        self._loading = False

    def compose(self) -> ComposeResult:
        with GalleryGrid(id="gallery-scroll"):
            yield Static(Content.styled("Loading results…", "dim"), id="gallery-empty")
            yield Grid(id="gallery-grid")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(GalleryGrid).focus()
        self._load()

    def on_resize(self, event: events.Resize) -> None:
        columns = max(1, event.size.width // CARD_WIDTH)
        self.query_one("#gallery-grid", Grid).styles.grid_size_columns = columns

    @property
    def columns(self) -> int:
        return max(1, self.size.width // CARD_WIDTH)

    # -- loading ----------------------------------------------------------------------------------

    def _load(self) -> None:
        if self._loading or self._done:
            return
        self._loading = True
        self._read(self._next_offset)

    @work(thread=True, exit_on_error=False, group="gallery")
    def _read(self, offset: int) -> None:
        history = self.app.studio.history
        found: list[TaskRecord] = []
        done = False
        while not found and not done:
            page = history.recent(PAGE, offset)
            offset += len(page)
            done = len(page) < PAGE
            found = [r for r in page if r.files]
        self.post_message(GalleryPage(found, offset, done))

    @on(GalleryPage)
    def _page(self, message: GalleryPage) -> None:
        self._loading = False
        self._next_offset = message.next_offset
        self._done = message.done
        for record in message.records:
            self._items.extend((record, index) for index in range(len(record.files)))
        empty = self.query_one("#gallery-empty", Static)
        if self._items:
            empty.display = False
        elif self._done:
            empty.update(Content.styled("No results yet: generate something, then come back (F4).", "dim"))
        self.mount_more()

    def mount_more(self) -> None:
        """Mount the next screenful of cards; read more history when those run out."""
        if self._mounted >= len(self._items):
            self._load()
            return
        batch = self._items[self._mounted : self._mounted + MOUNT_STEP]
        cards = [ResultCard(ResultRef(r.id, i), r.files[i], card_label(r, i, len(r.files) > 1), "") for r, i in batch]
        self._mounted += len(batch)
        self.query_one("#gallery-grid", Grid).mount_all(cards)
        self.call_after_refresh(self._mark)

    # -- selection -----------------------------------------------------------------------------

    def _mark(self) -> None:
        for position, card in enumerate(self.query(ResultCard)):
            selected = position == self._selected
            card.set_class(selected, "-selected")
            if selected:
                self.query_one(GalleryGrid).scroll_to_widget(card, animate=False)

    def action_move(self, step: int) -> None:
        if not self._mounted:
            return
        self._selected = max(0, min(self._mounted - 1, self._selected + step))
        if self._selected >= self._mounted - self.columns:
            self.mount_more()
        self._mark()

    def action_move_row(self, step: int) -> None:
        self.action_move(step * self.columns)

    def select_card(self, ref: ResultRef) -> None:
        for position, (record, index) in enumerate(self._items[: self._mounted]):
            if ResultRef(record.id, index) == ref:
                self._selected = position
                self._mark()
                return

    def on_result_card_clicked(self, message: ResultCard.Clicked) -> None:
        self.select_card(message.ref)
        self.query_one(GalleryGrid).focus()

    def current_result(self) -> tuple[TaskRecord, int | None] | None:
        if not self._mounted:
            return None
        record, index = self._items[self._selected]
        return record, index
