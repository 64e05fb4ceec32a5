"""One card of the gallery: a thumbnail above two lines (mark, star, ``#record`` or
``#record:result``, model; then when, time taken and credits, or what became of the file)
and the start of the prompt (as many lines as the card gives it, cut with …).

The gallery keeps a fixed set of these and shows a different result in each as it scrolls
(``show``): the thumbnail's source and the label change, the widget stays. Selection and
marks are classes, so moving the selection restyles two cards.
"""

from __future__ import annotations

import time

from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from evolink_tui.core.gallery import GalleryItem
from evolink_tui.core.timing import time_taken

from ..format import duration, plain, task_credits
from .thumbnail import ThumbnailView

STATE_NOTES = {"deleted": "file deleted", "missing": "file missing", "not downloaded": "not downloaded"}


def gallery_label(item: GalleryItem, marked: bool, state: str) -> Content:
    """The card's two lines; ``state`` is ``item.state`` (read in a thread: it stats the file)."""
    record = item.record
    head: list = []
    if marked:
        head.append(("✓ ", "bold $success"))
    if item.favourite:
        head.append(("★ ", "bold $warning"))
    many = max(len(record.results), len(record.files)) > 1
    head.append((f"#{record.id}:{item.index + 1} " if many else f"#{record.id} ", "dim"))  # as `export --ids` takes it
    head.append((plain(record.model, 40), "bold"))
    when = time.strftime("%m-%d %H:%M", time.localtime(record.created_at)) if record.created_at else ""
    if state in STATE_NOTES:
        tail: list = [(when + " · ", "dim"), (STATE_NOTES[state], "$warning")]
    else:
        # Credits first: a small card (about 23 cells) cuts the end of the line, and the day is
        # the least of the three there (the gallery is in date order; the filter takes on:/since:).
        tail = [(f"{task_credits(record, item.index)} · {duration(time_taken(record))} · {when}", "dim")]
    return Content.assemble(*head, "\n", *tail)


def prompt_lines(text: str, width: int, lines: int) -> list[Content]:
    """``text`` (already inert, on one line) word-wrapped to ``width`` cells in at most
    ``lines`` lines, the last cut with … when there is more."""
    if width < 1 or lines < 1 or not text:
        return []
    wrapped = Content(text).wrap(width)
    if len(wrapped) <= lines:
        return wrapped
    rest = " ".join(line.plain.strip() for line in wrapped[lines - 1 :])
    return [*wrapped[: lines - 1], Content(rest + " …").truncate(width, ellipsis=True)]


class CardPrompt(Widget):
    """The prompt excerpt under a card's label: inert text (never markup), as many lines as
    the widget is high, wrapped and cut for its width when drawn."""

    DEFAULT_CSS = """
    CardPrompt {
        height: 1;
        width: 1fr;
    }
    """

    def __init__(self, text: str = "", *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self.text = text
        self._drawn: tuple[str, int, int, Content] | None = None  # (text, width, lines, what was drawn)

    def set_text(self, text: str) -> None:
        if text != self.text:
            self.text = text
            self.refresh()

    def render(self) -> Content:
        width, lines = self.content_size
        if self._drawn is None or self._drawn[:3] != (self.text, width, lines):
            drawn = Content("\n").join(prompt_lines(self.text, width, lines))
            self._drawn = (self.text, width, lines, drawn)
        return self._drawn[3]


class GalleryCard(Vertical):
    """Shows one gallery result, or nothing (past the last one)."""

    DEFAULT_CSS = """
    GalleryCard {
        height: 1fr;
        width: 1fr;
    }
    GalleryCard > .gallery-card-label {
        height: 2;
        width: 1fr;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    class Clicked(Message):
        def __init__(self, card: GalleryCard) -> None:
            super().__init__()
            self.card = card

    def __init__(self, slot: int) -> None:
        super().__init__(classes="gallery-card")
        self.slot = slot  # where on the screen: 0 is the top left
        self.position: int | None = None  # which result of the feed is shown
        self.ref: tuple[int, int] | None = None
        self._label: Content = Content("")
        self._prompt = ""
        self._path: str | None = None

    def compose(self) -> ComposeResult:
        yield ThumbnailView(self._path, classes="gallery-card-picture")
        yield Static(self._label, classes="gallery-card-label")
        yield CardPrompt(self._prompt, classes="gallery-card-prompt")

    def show(self, position: int | None, item: GalleryItem | None, label: Content, path: str | None) -> None:
        """Show ``item`` (result ``position`` of the feed) with ``label``; None: an empty slot,
        or a result whose page is on its way (``position`` set)."""
        self.position = position
        self.ref = item.ref if item is not None else None
        composed = bool(self.children)  # else compose() uses the new values
        prompt = plain(item.record.prompt, 400) if item is not None else ""  # more than two lines of any card
        if prompt != self._prompt:
            self._prompt = prompt
            if composed:
                self.query_one(CardPrompt).set_text(prompt)
        if (label.plain, label.spans) != (self._label.plain, self._label.spans):  # Content == compares text only
            self._label = label
            if composed:
                self.query_one(".gallery-card-label", Static).update(label, layout=False)
        if path != self._path:
            self._path = path
            if composed:
                self.query_one(ThumbnailView).set_source(path)

    def on_click(self, event: events.Click) -> None:
        self.post_message(self.Clicked(self))
