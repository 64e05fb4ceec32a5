"""The gallery: every result of every completed task, as a grid of thumbnails that costs the
same with 10,000 results as with 100.

Only the cards on screen exist: a fixed set of :class:`GalleryCard` (columns x rows, from
the terminal's size) that show other results as the grid scrolls. The results come from a
:class:`~evolink_tui.core.gallery_feed.GalleryFeed`, which holds a few pages of them and
says which page to read next (in a thread worker: SQLite). Moving the selection within
the screen restyles two cards; scrolling by a row gives each card its next result, and a
card's thumbnail comes from the memory cache (the disk cache behind it: a result seen in
an earlier run is not decoded again). The results just off screen are decoded ahead in a
thread, so scrolling shows them at once.

Filters (text, model, favourites, status) and the sort start the feed again; marks,
stars and deletions are kept in the history or on the screen, not in the cards.
"""

from __future__ import annotations

import dataclasses
import importlib
import threading
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.content import Content
from textual.message import Message
from textual.widgets import Input

from evolink_tui.core.dates import when
from evolink_tui.core.gallery import SORT_ORDERS, GalleryItem, GalleryPage, GalleryQuery, gallery_page, read_filter
from evolink_tui.core.gallery_feed import GalleryFeed

from ..format import plain
from ..result_actions import ResultScreen
from ..widgets.gallery_card import GalleryCard, gallery_label
from ..widgets.keybar import KeyBar

if TYPE_CHECKING:
    from evolink_tui.core.gallery import Deletion
    from evolink_tui.core.history import TaskRecord


class CardSize(NamedTuple):
    width: int  # cells a card is at least wide (with its gutter)
    height: int  # rows a card aims for: a thumbnail, two lines of label and the prompt's lines
    min_height: int


# Each card size (core/preferences.CARD_SIZES: z cycles them, the choice kept in the config
# file). Large: thumbnails about twice as wide and high (the picture keeps its aspect) and
# two lines of prompt instead of one.
CARD_LAYOUT = {"small": CardSize(24, 12, 9), "large": CardSize(48, 23, 17)}
STATUS_NAMES = {"completed": "all", "downloaded": "on disk", "undownloaded": "not downloaded", "expired": "expired"}
_SAVING = threading.Lock()  # one write of the card size to the config file at a time
VIEWER_REACH = 200  # results either side of the selection the viewer steps through


class GalleryRead(Message):
    """A page of the feed, read in a thread for query ``generation``."""

    def __init__(self, generation: int, page: int, read: GalleryPage, states: dict[tuple[int, int], str]) -> None:
        super().__init__()
        self.generation = generation
        self.page = page
        self.read = read
        self.states = states


class GalleryCounted(Message):
    def __init__(self, generation: int, records: int, models: list[str]) -> None:
        super().__init__()
        self.generation = generation
        self.records = records
        self.models = models


class GalleryChanged(Message):
    """A record changed here (a star, a deleted file): show it as it is now."""

    def __init__(self, record: TaskRecord, states: dict[tuple[int, int], str], note: str = "") -> None:
        super().__init__()
        self.record = record
        self.states = states
        self.note = note


class GalleryAsk(Message):
    """What deleting a result's file would remove, read in a thread: ask first."""

    def __init__(self, deletion: Deletion) -> None:
        super().__init__()
        self.deletion = deletion


def read_states(items: list[GalleryItem]) -> dict[tuple[int, int], str]:
    """Each item's state (on disk, deleted...): it stats the file, so a thread calls it."""
    return {item.ref: item.state for item in items}


class GalleryFilter(Input):
    """The text filter: results whose prompt (or task id) has every word, as you type."""

    BINDINGS = [
        Binding("escape,enter,down", "screen.focus_grid", "Back to the grid", id="gallery.filter_done"),
    ]


class GalleryGrid(Container, can_focus=True):
    """The cards on screen; arrows move the selection, the wheel scrolls."""

    BORDER_TITLE = "Gallery"

    BINDINGS = [
        Binding("left", "screen.move(-1)", "Left", show=False, id="gallery.left"),
        Binding("right", "screen.move(1)", "Right", show=False, id="gallery.right"),
        Binding("up", "screen.move_row(-1)", "Up", show=False, id="gallery.up"),
        Binding("down", "screen.move_row(1)", "Down", show=False, id="gallery.down"),
        Binding("pageup", "screen.move_page(-1)", "Page up", show=False, id="gallery.page_up"),
        Binding("pagedown", "screen.move_page(1)", "Page down", show=False, id="gallery.page_down"),
        Binding("home", "screen.first", "First", show=False, id="gallery.first"),
        Binding("end", "screen.last", "Last", show=False, id="gallery.last"),
        Binding("enter", "screen.view", "View", id="gallery.view"),
        Binding("space", "screen.mark", "Mark", id="gallery.mark"),
        Binding("asterisk", "screen.star", "Star", id="gallery.star"),
        Binding("e", "screen.export", "Export", id="gallery.export"),
        Binding("d,delete", "screen.delete", "Delete file", id="gallery.delete"),
        Binding("slash", "screen.focus_filter", "Filter", id="gallery.filter"),
        Binding("z", "screen.cycle_card_size", "Card size", id="gallery.card_size"),
        Binding("m", "screen.cycle_model", "Model", show=False, id="gallery.model"),
        Binding("F", "screen.toggle_favourites", "Starred only", show=False, id="gallery.favourites"),
        Binding("T", "screen.cycle_status", "Status", show=False, id="gallery.status"),
        Binding("O", "screen.cycle_sort", "Sort", show=False, id="gallery.sort"),
        Binding("x", "screen.clear_filters", "Clear filters", show=False, id="gallery.clear_filters"),
        Binding("U", "screen.unmark_all", "Unmark all", show=False, id="gallery.unmark_all"),
        Binding("o", "screen.open_result", "Open", show=False, id="gallery.open"),
        Binding("c", "screen.copy_path", "Copy path", show=False, id="gallery.copy_path"),
        Binding("u", "screen.copy_url", "Copy URL", show=False, id="gallery.copy_url"),
        Binding("s", "screen.show_sidecar", "Sidecar", show=False, id="gallery.sidecar"),
        Binding("f", "screen.use_as_reference", "Use as ref", show=False, id="gallery.use_ref"),
        Binding("r", "screen.regenerate", "Regenerate", show=False, id="gallery.regenerate"),
        Binding("i", "screen.iterate", "Iterate", show=False, id="gallery.iterate"),
        Binding("l", "screen.show_lineage", "Lineage", show=False, id="gallery.lineage"),
    ]

    def on_resize(self, event: events.Resize) -> None:
        screen = self.screen
        if isinstance(screen, GalleryScreen):
            screen.lay_out(self.content_size.width, self.content_size.height)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        screen = self.screen
        if isinstance(screen, GalleryScreen):
            screen.scroll_rows(1)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        screen = self.screen
        if isinstance(screen, GalleryScreen):
            screen.scroll_rows(-1)


class GalleryScreen(ResultScreen):
    CSS_PATH = "../screens.tcss"  # parsed with the first of these screens to open, not at startup

    BINDINGS = [
        Binding("escape,f4", "app.pop_screen", "Back", id="gallery.back"),
        Binding("f1,question_mark", "app.show_help", "Help", id="gallery.help"),
    ]

    _filter_problem: str | None = None  # a date in the filter box that cannot be read

    def __init__(self, query: GalleryQuery | None = None) -> None:
        super().__init__(id="gallery")
        self.gallery_query = query or GalleryQuery()
        self.feed = GalleryFeed(self.gallery_query)
        self._generation = 0
        self._reading: set[int] = set()  # pages on their way for this generation
        self._states: dict[tuple[int, int], str] = {}
        self.marks: dict[tuple[int, int], None] = {}  # marked results, in the order marked
        self.selected = 0
        self.top = 0  # the first row on screen
        self._shown_top = 0  # the first row the cards show (behind ``top`` until the next frame)
        self._catching_up = False
        self.columns = 0
        self.rows = 0
        self._cards: list[GalleryCard] = []
        self._records: int | None = None  # tasks that match, once counted
        self._models: list[str] = []
        self._to_end = False  # End pressed: follow the pages to the last result
        # Where keys typed past the results read so far asked to go (a held key outrunning the
        # page reads): taken up as the next page arrives, so no key press is lost.
        self._ahead: int | None = None
        self.card_size = "small"  # a key of CARD_LAYOUT; the saved one is read as the screen mounts

    def compose(self) -> ComposeResult:
        yield GalleryFilter(
            placeholder="/ filter by prompt or task id; since:YYYY-MM-DD until:… on:…",
            id="gallery-filter",
            compact=True,
        )
        yield GalleryGrid(id="gallery-grid")
        yield KeyBar()

    def on_mount(self) -> None:
        grid = self.query_one(GalleryGrid)
        saved = self.app.studio.batches.prefs.gallery_cards  # the config file, read once a run
        self.card_size = saved if saved in CARD_LAYOUT else "small"
        grid.set_class(self.card_size == "large", "-large")
        grid.focus()
        self._restart(self.gallery_query)

    # -- the cards on screen ----------------------------------------------------------------------

    def lay_out(self, width: int, height: int) -> None:
        """As many cards as fit ``width`` x ``height`` cells; the same cards when that did not change."""
        size = CARD_LAYOUT[self.card_size]
        columns = max(1, width // size.width)
        rows = max(1, min(height // size.min_height, round(height / size.height)))
        if (columns, rows) == (self.columns, self.rows):
            return
        if self.columns:  # the first result on screen stays on screen (then the selection)
            self.top = self._shown_top * self.columns // columns
        self.columns, self.rows = columns, rows
        grid = self.query_one(GalleryGrid)
        grid.styles.grid_size_columns = columns
        grid.styles.grid_size_rows = rows
        wanted = columns * rows
        for card in self._cards[wanted:]:
            card.remove()
        added = [GalleryCard(slot) for slot in range(len(self._cards), wanted)]
        self._cards = self._cards[:wanted] + added
        if added:
            grid.mount_all(added)
        self._follow()
        self._fill()

    def _follow(self) -> None:
        """Scroll so that the selected result is on screen."""
        if not self.columns:
            return
        row = self.selected // self.columns
        if row < self.top:
            self.top = row
        elif row >= self.top + self.rows:
            self.top = row - self.rows + 1

    def _recycle(self, rows: int) -> None:
        """The screen moved ``rows`` rows (down if positive): the cards that still show a
        result on screen keep it (and their decoded thumbnail); only the rows that went off
        screen are moved to the other end, to show the rows that came on."""
        if not 0 < abs(rows) < self.rows:
            return  # a screen or more: every card shows another result anyway
        grid = self.query_one(GalleryGrid)
        count = abs(rows) * self.columns
        if rows > 0:
            moved, kept = self._cards[:count], self._cards[count:]
            anchor = self._cards[-1]
            for card in moved:  # in order, after the last card
                grid.move_child(card, after=anchor)
                anchor = card
            self._cards = kept + moved
        else:
            kept, moved = self._cards[:-count], self._cards[-count:]
            anchor = self._cards[0]
            for card in reversed(moved):  # in order, before the first card
                grid.move_child(card, before=anchor)
                anchor = card
            self._cards = moved + kept

    def _window(self) -> tuple[int, int]:
        first = self._shown_top * self.columns
        return first, first + len(self._cards) - 1

    def _card_at(self, position: int) -> GalleryCard | None:
        first, last = self._window()
        return self._cards[position - first] if first <= position <= last else None

    def _show(self, card: GalleryCard, position: int) -> None:
        item = self.feed.item(position) if position < self.feed.known else None
        if item is None:
            card.show(position if position < self.feed.known else None, None, Content(""), None)
        else:
            state = self._states.get(item.ref, "on disk")
            path = str(item.path) if item.path is not None and state == "on disk" else None
            card.show(position, item, gallery_label(item, item.ref in self.marks, state), path)
        card.set_class(item is not None and item.ref in self.marks, "-marked")
        card.set_class(position == self.selected and item is not None, "-selected")

    def _fill(self) -> None:
        """Every card shows the result at its place; then read what is missing nearby."""
        self._shown_top = self.top
        first, _ = self._window()
        for slot, card in enumerate(self._cards):
            self._show(card, first + slot)
        self._title()
        self._ensure()

    def _ensure(self) -> None:
        """Read the page the screen (and a screen either side) needs, if any."""
        if not self._cards:
            return
        first, last = self._window()
        margin = len(self._cards)
        page = self.feed.wanted(first - margin, last + margin)
        if page is not None and page not in self._reading:
            self._reading.add(page)
            self._read(self._generation, page, self.feed.offset_of(page))

    def _title(self) -> None:
        grid = self.query_one(GalleryGrid)
        known, feed = self.feed.known, self.feed
        if not known:
            where = "no results match" if feed.done else "reading…"
        else:
            where = f"result {self.selected + 1:,} of {known:,}{'' if feed.done else '+'}"
        tasks = f" · {self._records:,} tasks" if self._records is not None else ""
        title = f"Gallery · {where}{tasks}"
        if str(grid.border_title) != title:  # an unchanged title draws nothing (the last row: no frame)
            grid.border_title = Content(title)
        query = self.gallery_query
        chips = [
            f"model {query.model or 'any'}",
            f"status {STATUS_NAMES[query.status]}",
            "starred only" if query.favourites else "all stars",
            query.sort,
        ]
        if query.since is not None or query.until is not None:
            last = when(query.until - 1).split()[0] if query.until is not None else "now"
            chips.insert(0, f"{when(query.since).split()[0] if query.since is not None else 'start'} to {last}")
        if query.text:
            chips.insert(0, f"“{plain(query.text, 30)}”")
        if self._filter_problem:
            chips.insert(0, plain(self._filter_problem, 80))
        if self.marks:
            chips.append(f"{len(self.marks)} marked")
        subtitle = " · ".join(chips)
        if str(grid.border_subtitle) != subtitle:
            grid.border_subtitle = Content(subtitle)

    # -- reading ------------------------------------------------------------------------------------

    def _restart(self, query: GalleryQuery) -> None:
        """Show ``query``'s results from the first."""
        self.gallery_query = query
        self.feed = GalleryFeed(query)
        self._generation += 1
        self._reading.clear()
        self._states.clear()
        self.selected = self.top = 0
        self._records = None
        self._to_end = False
        self._ahead = None
        self._fill()
        self._count(self._generation, query)

    def _read(self, generation: int, page: int, offset: int) -> None:
        history, query, size = self.app.studio.history, self.gallery_query, self.feed.page_size

        def work() -> None:
            read = gallery_page(history, query, offset=offset, limit=size)
            self.post_message(GalleryRead(generation, page, read, read_states(read.items)))

        self.run_worker(work, thread=True, group="gallery-read", exit_on_error=False, name="gallery page")

    def _count(self, generation: int, query: GalleryQuery) -> None:
        from evolink_tui.core.gallery import gallery_count

        history = self.app.studio.history

        def work() -> None:
            self.post_message(GalleryCounted(generation, gallery_count(history, query), history.models()))

        self.run_worker(work, thread=True, group="gallery-count", exclusive=True, exit_on_error=False)

    @on(GalleryRead)
    def _page_read(self, message: GalleryRead) -> None:
        if message.generation != self._generation:
            return
        self._reading.discard(message.page)
        if not self.feed.add(message.page, message.read):
            return
        if len(self._states) > 4 * self.feed.max_pages * self.feed.page_size:
            self._states.clear()  # bounded: what is dropped is read again with its page
        self._states.update(message.states)
        if self._to_end:  # End: page after page, drawn only at the last
            if not self.feed.done:
                self._title()
                self._reading.add(page := self.feed.pages_read)
                self._read(self._generation, page, self.feed.offset_of(page))
                return
            self._to_end = False
            self.selected = max(0, self.feed.known - 1)
            self._follow()
        if self._ahead is not None:  # keys went past what was read: they count now
            ahead, self._ahead = self._ahead, None
            self._select(ahead)
        self._fill()
        self._prefetch()

    @on(GalleryCounted)
    def _counted(self, message: GalleryCounted) -> None:
        if message.generation == self._generation:
            self._records = message.records
            self._models = message.models
            self._title()

    def _prefetch(self) -> None:
        """Decode the thumbnails of the rows just off screen into the memory cache, in a
        thread, so scrolling to them draws them at once."""
        from ..widgets.thumbnail import ThumbnailView

        if not self._cards or not self._cards[0].is_mounted:
            return
        cols, rows = self._cards[0].query_one(ThumbnailView).content_size
        if cols < 1 or rows < 1:
            return
        first, last = self._window()
        around = [*range(first - self.columns, first), *range(last + 1, last + 1 + self.columns)]
        paths = []
        for position in around:
            item = self.feed.item(position) if 0 <= position < self.feed.known else None
            if item is not None and item.path is not None and self._states.get(item.ref) == "on disk":
                paths.append(str(item.path))
        if not paths:
            return

        def work() -> None:
            from evolink_tui.core.thumbnails import cached_thumbnail

            for path in paths:
                try:
                    cached_thumbnail(path, cols, rows)
                except Exception:  # shown as unreadable when it comes on screen
                    continue

        self.run_worker(work, thread=True, group="gallery-prefetch", exclusive=True, exit_on_error=False)

    # -- moving -------------------------------------------------------------------------------------

    def _select(self, position: int) -> None:
        """Select result ``position`` (kept within what is known)."""
        known = self.feed.known
        if not known:
            return
        self._ahead = position if position >= known and not self.feed.done else None
        position = max(0, min(known - 1, position))
        old, self.selected = self.selected, position
        self._follow()
        if self.top != self._shown_top or self._catching_up:
            # The screen scrolls: once, after the keys already typed (a held key's repeats
            # are one scroll of many rows, drawn in one frame).
            if not self._catching_up:
                self._catching_up = True
                self.call_after_refresh(self._catch_up)
            return
        for where in (old, position):  # the same screen: restyle two cards
            card = self._card_at(where)
            if card is not None:
                card.set_class(where == position and card.ref is not None, "-selected")
        self._title()
        self._ensure()

    def _catch_up(self) -> None:
        self._catching_up = False
        self._recycle(self.top - self._shown_top)
        self._fill()
        self._prefetch()

    @property
    def _aim(self) -> int:
        """Where the next move starts: the selection, or where earlier keys asked to go."""
        return self.selected if self._ahead is None else self._ahead

    def action_move(self, step: int) -> None:
        self._select(self._aim + step)

    def action_move_row(self, step: int) -> None:
        self._select(self._aim + step * max(1, self.columns))

    def action_move_page(self, step: int) -> None:
        self._select(self._aim + step * max(1, len(self._cards)))

    def action_first(self) -> None:
        self._to_end = False
        self._select(0)

    def action_last(self) -> None:
        self._select(self.feed.known - 1)
        self._to_end = not self.feed.done
        self._ensure()

    def scroll_rows(self, rows: int) -> None:
        """The wheel: the screen moves by rows, the selection with it."""
        self._select(self._aim + rows * max(1, self.columns))

    def on_gallery_card_clicked(self, message: GalleryCard.Clicked) -> None:
        if message.card.position is not None and message.card.ref is not None:
            self._select(message.card.position)
        self.query_one(GalleryGrid).focus()

    def action_cycle_card_size(self) -> None:
        """Small cards, large cards: fewer a row, each thumbnail about twice as big; the same
        result stays selected. The choice is saved in the config file (``gallery_cards``)."""
        import asyncio

        from evolink_tui.core.config import update_config_file
        from evolink_tui.core.preferences import CARD_SIZES

        self.card_size = CARD_SIZES[(CARD_SIZES.index(self.card_size) + 1) % len(CARD_SIZES)]
        grid = self.query_one(GalleryGrid)
        grid.set_class(self.card_size == "large", "-large")
        self.lay_out(grid.content_size.width, grid.content_size.height)
        batches = self.app.studio.batches
        batches.prefs = dataclasses.replace(batches.prefs, gallery_cards=self.card_size)
        path = self.app.settings.config_path

        def save() -> None:
            with _SAVING:  # z pressed twice quickly: the last write says the last choice
                update_config_file({"gallery_cards": batches.prefs.gallery_cards}, path)

        self.app.start(asyncio.to_thread(save), name="save card size", group="config")

    # -- filters ------------------------------------------------------------------------------------

    def action_focus_filter(self) -> None:
        self.query_one(GalleryFilter).focus()

    def action_focus_grid(self) -> None:
        self.query_one(GalleryGrid).focus()

    @on(Input.Changed, "#gallery-filter")
    def _text_changed(self, event: Input.Changed) -> None:
        typed = read_filter(event.value)
        self._filter_problem = typed.problem
        self._restart(dataclasses.replace(self.gallery_query, text=typed.words, since=typed.since, until=typed.until))

    def action_clear_filters(self) -> None:
        """Every result again, in the same order; the marks stay."""
        with self.prevent(Input.Changed):
            self.query_one(GalleryFilter).value = ""
        self._filter_problem = None
        self._restart(GalleryQuery(sort=self.gallery_query.sort))

    def action_cycle_model(self) -> None:
        choices: list[str | None] = [None, *self._models]
        at = choices.index(self.gallery_query.model) if self.gallery_query.model in choices else 0
        self._restart(dataclasses.replace(self.gallery_query, model=choices[(at + 1) % len(choices)]))

    def action_toggle_favourites(self) -> None:
        self._restart(dataclasses.replace(self.gallery_query, favourites=not self.gallery_query.favourites))

    def action_cycle_status(self) -> None:
        statuses = list(STATUS_NAMES)
        at = statuses.index(self.gallery_query.status)
        self._restart(dataclasses.replace(self.gallery_query, status=statuses[(at + 1) % len(statuses)]))

    def action_cycle_sort(self) -> None:
        at = SORT_ORDERS.index(self.gallery_query.sort)
        self._restart(dataclasses.replace(self.gallery_query, sort=SORT_ORDERS[(at + 1) % len(SORT_ORDERS)]))

    # -- the selected result ------------------------------------------------------------------------

    def selected_item(self) -> GalleryItem | None:
        return self.feed.item(self.selected) if self.selected < self.feed.known else None

    def current_result(self) -> tuple[TaskRecord, int | None] | None:
        item = self.selected_item()
        if item is None:
            return None
        path = str(item.path) if item.path is not None else None
        return item.record, (item.record.files.index(path) if path in item.record.files else None)

    def _item_or_warn(self) -> GalleryItem | None:
        item = self.selected_item()
        if item is None:
            self.notify("No result selected.", severity="warning", markup=False)
        return item

    def action_view(self) -> None:
        """Open the selected result in the viewer; ←/→ there step through the results with a
        file on disk around it (as many as the feed holds, up to VIEWER_REACH either side)."""
        item = self._item_or_warn()
        if item is None:
            return
        if self._file_of(item) is None:
            self.notify("This result has no file on disk to view.", severity="warning", markup=False)
            return
        try:  # the viewer's public entry (issue 13), looked up by name until it is on main
            open_viewer = importlib.import_module("evolink_tui.tui.screens.viewer").open_viewer
        except (ImportError, AttributeError):  # no viewer screen in this build: the system viewer
            self.action_open_result()
            return
        items: list[tuple[int, int]] = []
        index = 0
        for position in range(max(0, self.selected - VIEWER_REACH), self.selected + VIEWER_REACH + 1):
            found = self.feed.item(position) if position < self.feed.known else None
            file = self._file_of(found) if found is not None else None
            if found is None or file is None:
                continue
            if position == self.selected:
                index = len(items)
            items.append((found.record.id, file))  # the viewer takes (record id, file index)
        open_viewer(self.app, items, index)

    def _file_of(self, item: GalleryItem) -> int | None:
        """Which of its record's files ``item`` is, if that file is on disk."""
        if item.path is None or self._states.get(item.ref) != "on disk":
            return None
        path = str(item.path)
        return item.record.files.index(path) if path in item.record.files else None

    def action_mark(self) -> None:
        item = self._item_or_warn()
        if item is None:
            return
        if item.ref in self.marks:
            del self.marks[item.ref]
        else:
            self.marks[item.ref] = None
        card = self._card_at(self.selected)
        if card is not None:
            self._show(card, self.selected)
        self._title()

    def action_unmark_all(self) -> None:
        self.marks.clear()
        self._fill()

    def action_star(self) -> None:
        item = self._item_or_warn()
        if item is None:
            return
        history, on_now = self.app.studio.history, not item.favourite
        record_id, index = item.ref

        def work() -> None:
            from evolink_tui.core.gallery import set_favourite

            set_favourite(history, record_id, index, on_now)
            record = history.get(record_id)
            if record is not None:
                self.post_message(GalleryChanged(record, {}))

        self.run_worker(work, thread=True, group="gallery-write", exit_on_error=False, name="star")

    @on(GalleryChanged)
    def _changed(self, message: GalleryChanged) -> None:
        self._states.update(message.states)
        for position in self.feed.replace(message.record):
            card = self._card_at(position)
            if card is not None:
                self._show(card, position)
        if message.note:
            self.notify(message.note, markup=False)

    def action_delete(self) -> None:
        item = self._item_or_warn()
        if item is None:
            return
        record = item.record

        def work() -> None:
            from evolink_tui.core.gallery import deletion_of

            self.post_message(GalleryAsk(deletion_of(record, item.index)))

        self.run_worker(work, thread=True, group="gallery-write", exit_on_error=False, name="what to delete")

    @on(GalleryAsk)
    def _ask_delete(self, message: GalleryAsk) -> None:
        from .confirm import ConfirmScreen

        deletion = message.deletion
        if not deletion.paths:
            self.notify("This result has no file on disk to delete.", severity="warning", markup=False)
            return
        names = "\n".join(f"  {plain(str(path))}" for path in deletion.paths)
        body = Content(
            f"Delete the file of #{deletion.record_id} result {deletion.index + 1}?\n{names}\n"
            "The task stays in the history (its prompt, settings and URLs) and says the file was deleted."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(deletion)

        self.app.push_screen(ConfirmScreen("Delete file", body, yes="Delete", danger=True), answered)

    def _delete(self, deletion: Deletion) -> None:
        history = self.app.studio.history

        def work() -> None:
            from evolink_tui.core.gallery import delete_result_file, items_of

            removed = delete_result_file(history, deletion)
            record = history.get(deletion.record_id)
            if record is not None:
                note = f"Deleted {len(removed)} file{'s' if len(removed) != 1 else ''} of #{deletion.record_id}."
                self.post_message(GalleryChanged(record, read_states(items_of(record)), note))

        self.run_worker(work, thread=True, group="gallery-write", exit_on_error=False, name="delete file")

    def action_export(self) -> None:
        refs = list(self.marks) or ([item.ref] if (item := self.selected_item()) is not None else [])
        if not refs:
            self.notify("Mark results with space first (or select one).", severity="warning", markup=False)
            return
        from .gallery_export import ExportScreen

        folder = Path(self.app.settings.download_dir)

        def chosen(answer: tuple[str, Path] | None) -> None:
            if answer is not None:
                self._export(refs, *answer)

        self.app.push_screen(ExportScreen(len(refs), folder), chosen)

    def _export(self, refs: list[tuple[int, int]], kind: str, dest: Path) -> None:
        history = self.app.studio.history

        async def job() -> None:
            import asyncio

            from evolink_tui.core.export import choose, contact_sheet, export_zip

            def write():
                items = choose(history, [(record_id, index) for record_id, index in refs])
                return (contact_sheet if kind == "sheet" else export_zip)(items, dest)

            report = await asyncio.to_thread(write)
            done = f"Exported {len(report.written)} result{'s' if len(report.written) != 1 else ''} to {report.path}"
            if report.skipped:
                reasons = sorted({why for _, why in report.skipped})
                done += f" ({len(report.skipped)} skipped: {'; '.join(reasons)})"
            self.app.notify(plain(done), markup=False, timeout=8)

        self.app.start(job(), name="export", group="export")
