"""The preview of the selected task: its prompt and settings, its error or notice, and its
results as thumbnails side by side. A comparison run shows every model's results, each
labelled with the model, the time taken and the credits.

Cards are rebuilt only when the set of files changes; a ThumbnailView decodes in a thread
and its cache keeps a decoded file from being decoded again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, cast

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from evolink_tui.core.history import TaskRecord
from evolink_tui.core.timing import time_taken

from ..format import duration, error_lines, lineage_text, plain, request_summary, state_label, task_credits
from ..result_actions import task_result_bindings

if TYPE_CHECKING:
    from textual.css.styles import RulesMap

    from ..app import EvolinkApp


class ResultRef(NamedTuple):
    """One result: which record, which of its files (or None while there is none)."""

    record_id: int
    file: int | None  # which of the record's files (None while it has none)


def card_label(record: TaskRecord, index: int | None, many: bool) -> Content:
    """Two lines: the model (and result number), then time taken and credits, or the state."""
    label, role = state_label(record)
    parts: list = [(plain(record.model, 40), "bold")]
    if index is not None and many:
        parts.append(f" #{index + 1}")
    parts.append("\n")
    if record.state == "completed":
        parts.append(f"{duration(time_taken(record))} · {task_credits(record, index)}")
    else:
        parts.append((label, f"${role}"))
    return Content.assemble(*parts)


class ResultCard(Vertical):
    """A thumbnail (or what stands in for one) above its label."""

    # No border and no content of its own (its children cover it): Textual draws it as blank
    # lines at once, where drawing each of its lines the usual way was an eighth of a frame
    # with eight cards on screen.
    BLANK = True

    def __init__(self, ref: ResultRef, path: str | None, label: Content, placeholder: str) -> None:
        super().__init__(classes="card")
        self.ref = ref
        self._path = path
        self._label = label
        self._placeholder = placeholder

    def compose(self) -> ComposeResult:
        from .thumbnail import ThumbnailView  # with the first card: not at startup

        # One view for the card's whole life: a caption while the result is on its way, then the
        # picture in place of it (a swap of widgets would lay out the whole screen, each time a
        # result arrives)
        yield ThumbnailView(self._path, caption=self._placeholder, classes="card-picture" + self._waiting())
        yield Static(self._label, classes="card-label")

    def _waiting(self) -> str:
        return "" if self._path else " -waiting"

    def take(self, other: ResultCard) -> None:
        """Show ``other``'s result here instead of mounting ``other``: mounting whole cards
        costs a long frame (while scrolling the task list, or as results arrive)."""
        self.ref, self._placeholder = other.ref, other._placeholder
        from .thumbnail import ThumbnailView

        path, self._path = self._path, other._path
        label, self._label = self._label, other._label
        if not self.children:  # not composed yet: compose() will use the new values
            return
        view = self.query_one(ThumbnailView)
        view.caption = self._placeholder
        if path != self._path:
            view.set_source(self._path)
            view.set_class(not self._path, "-waiting")  # colours only: a repaint
        if not _same(self._label, label):
            # sized by the stylesheet, not by its text: repainted in place, no layout
            self.query_one(".card-label", Static).update(self._label, layout=False)

    class Clicked(Message):
        def __init__(self, ref: ResultRef) -> None:
            super().__init__()
            self.ref = ref

    def on_click(self, event: events.Click) -> None:
        self.post_message(self.Clicked(self.ref))


def _arriving(record: TaskRecord) -> bool:
    """Its results are still to come: running, or completed with the files not yet on disk."""
    return not record.is_finished or (
        record.state == "completed" and record.download_state == "pending" and not record.files
    )


def _same(new: Content, old: Content | None) -> bool:
    """The same text in the same styles (Content's own == compares the text only)."""
    return old is not None and new.plain == old.plain and new.spans == old.spans


class Preview(Vertical, can_focus=True):
    """The selected task (and its comparison group) in detail."""

    BORDER_TITLE = "Preview"

    if TYPE_CHECKING:
        app: EvolinkApp

    BINDINGS = [
        Binding("left", "move(-1)", "Previous result", id="preview.left", show=False),
        Binding("right", "move(1)", "Next result", id="preview.right", show=False),
        Binding("enter", "screen.view_result", "View", id="preview.view_enter", show=False),
        *task_result_bindings("preview"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._signature: tuple = ()
        self._cards: list[ResultCard] = []  # in order; removed cards may linger in the DOM a moment
        self._refs: list[ResultRef] = []
        self._selected = 0
        self.record_id: int | None = None
        self._children: tuple[int, list[TaskRecord]] | None = None  # (record id, what iterated on it)
        self._shown: TaskRecord | None = None
        self._said: tuple[Content | None, Content | None] = (None, None)  # the head and body on screen

    def compose(self) -> ComposeResult:
        yield Static(Content("No task selected. Write a prompt and press ctrl+j."), id="preview-head")
        # The body (#preview-body) is mounted with the first task shown, and the row of result
        # cards (#cards) with the first results: an empty history starts with the head alone.

    # -- what is shown -------------------------------------------------------------------

    def show(self, record: TaskRecord | None, group: list[TaskRecord]) -> None:
        """Show ``record``; ``group`` is every record of its comparison run (or just it)."""
        moved = (record.id if record else None) != self.record_id
        self.record_id = record.id if record else None
        if record is None:
            self._say(head=Content("No task selected. Write a prompt and press ctrl+j."), body=Content(""))
            self._set_cards([], ())
            return
        label, role = state_label(record)
        head_parts: list = [(plain(record.model), "bold"), " · ", (label, f"bold ${role}")]
        if record.state == "processing":
            head_parts.append(f" {record.progress}%")
        if len(group) > 1:
            head_parts.append(f" · comparison of {len(group)}")
        self._shown = record
        self._say(head=Content.assemble(*head_parts), body=self._body(record))
        if moved:
            self._read_children(record.id)
        signature = tuple((r.id, r.state, tuple(r.files), r.finished_at, r.credits) for r in group)
        if signature != self._signature:
            self._set_cards(group, signature)
        elif moved:
            self._selected = self._first_of(record.id)
            self._mark()

    def _say(self, *, head: Content | None = None, body: Content | None = None) -> None:
        """Put ``head`` and ``body`` on screen, each only if it changed: a poll of the task in
        sight changes its progress, rarely its text, and every update of a Static lays out
        the whole screen (the head is one line: it is redrawn in place, never laid out)."""
        said_head, said_body = self._said
        if head is not None and not _same(head, said_head):
            self.query_one("#preview-head", Static).update(head, layout=False)
        if body is not None and not _same(body, said_body):
            text = self.query_one_optional("#preview-body", Static)
            if text is None and body.plain:  # the first task shown: its body comes below the head
                self.mount(Static(body, id="preview-body"), after="#preview-head")
            elif text is not None:
                # a layout (of the whole screen, every card drawn again) only when the body takes
                # more or fewer lines: a task id or a state in the same lines is repainted in place
                width, rules = text.content_size.width, cast("RulesMap", text.styles)
                moves = (
                    not width
                    or said_body is None
                    or body.get_height(rules, width) != said_body.get_height(rules, width)
                )
                text.update(body, layout=moves)
        self._said = (self._said[0] if head is None else head, self._said[1] if body is None else body)

    def _body(self, record: TaskRecord) -> Content:
        lines: list[Content] = []
        # Where it came from, first: one short line a short panel (80x24) still shows.
        children = self._children[1] if self._children and self._children[0] == record.id else []
        if family := lineage_text(record, children):
            lines.append(Content.styled(f"{family} (l: lineage)", "$accent"))
        if record.prompt:
            lines.append(Content(plain(record.prompt, 400)))
        facts = [request_summary(record.request)]
        if record.task_id:
            facts.append(plain(record.task_id))
        lines.append(Content.styled(" · ".join(facts), "dim"))
        # What to do next comes before the details, so a short panel still shows it.
        if record.state == "uncertain":
            lines.append(
                Content.styled(
                    "The submit's outcome is unknown: press t to resend it with its own key (never a double charge).",
                    "$warning",
                )
            )
        # Not while the files are on their way ("pending": downloading now, or at the next
        # start): the line would come and go as each result arrives, a layout each time.
        if record.needs_download and record.download_state != "pending":
            lines.append(
                Content.styled(
                    "Not all on disk: press t to download again while the URLs last (the next start tries too).",
                    "$warning",
                )
            )
        for name, value in error_lines(record.error):
            lines.append(
                Content.assemble((f"{name}: ", "bold $error" if name == "Error" else "bold"), plain(value, 300))
            )
        if record.notice:
            lines.append(Content.assemble(("Notice: ", "bold $warning"), plain(record.notice, 300)))
            lines.append(Content.styled("It keeps running: press t to check it again.", "dim"))
        return Content("\n").join(lines)

    def _set_cards(self, group: list[TaskRecord], signature: tuple) -> None:
        self._signature = signature
        refs: list[ResultRef] = []
        cards: list[ResultCard] = []
        for record in group:
            many = len(record.files) > 1
            if record.files:
                for index, path in enumerate(record.files):
                    ref = ResultRef(record.id, index)
                    refs.append(ref)
                    cards.append(ResultCard(ref, path, card_label(record, index, many), ""))
            elif len(group) > 1 or _arriving(record):
                from evolink_tui.core.costs import images_of  # with the first task: not at startup

                label, _ = state_label(record)
                text = f"{label} {record.progress}%" if not record.is_finished and record.task_id else label
                # A task on its way (running, or done with its files still downloading) has a
                # card for each image it asked for: its results take those cards in place as
                # they arrive (no card mounted, removed or moved along the row: each would lay
                # out the whole screen while a comparison's results come in).
                slots = (len(record.results) or images_of(record.request)) if _arriving(record) else 1
                for index in range(slots):
                    ref = ResultRef(record.id, None)
                    refs.append(ref)
                    number = index if slots > 1 else None
                    cards.append(ResultCard(ref, None, card_label(record, number, slots > 1), text))
        old = self._refs[self._selected] if self._refs and self._selected < len(self._refs) else None
        self._refs = refs
        self._selected = refs.index(old) if old in refs else self._first_of(self.record_id)
        shown = self._cards
        for card, new in zip(shown, cards, strict=False):
            card.take(new)
        for card in shown[len(cards) :]:
            card.remove()
        added = cards[len(shown) :]
        self._cards = shown[: len(cards)] + added
        box = self.query_one_optional("#cards", Horizontal)
        if box is None and added:  # the first cards: their row is mounted with them, not at startup
            box = Horizontal(id="cards")
            self.mount(box)
        if box is not None:
            if added:
                box.mount_all(added)  # in order, after the cards already there
            box.display = bool(cards)
        self.set_class(bool(cards), "-has-cards")
        self._mark()

    def _first_of(self, record_id: int | None) -> int:
        for position, ref in enumerate(self._refs):
            if ref.record_id == record_id:
                return position
        return 0

    def _mark(self) -> None:
        for position, card in enumerate(self._cards):
            card.set_class(position == self._selected, "-selected")

    @work(thread=True, exclusive=True, group="children", exit_on_error=False)
    def _read_children(self, record_id: int) -> None:
        """What iterated on the record shown (one indexed query, off the event loop)."""
        children = self.app.studio.history.children(record_id)
        self.app.call_from_thread(self._children_read, record_id, children)

    def _children_read(self, record_id: int, children: list[TaskRecord]) -> None:
        self._children = (record_id, children)
        record = self._shown
        if record is not None and record.id == record_id and children:
            self._say(body=self._body(record))

    # -- the selected result ---------------------------------------------------------------

    @property
    def selected(self) -> ResultRef | None:
        if not self._refs:
            return None
        return self._refs[min(self._selected, len(self._refs) - 1)]

    def on_result_card_clicked(self, message: ResultCard.Clicked) -> None:
        message.stop()
        self.select_card(message.ref)
        self.focus()

    def select_card(self, ref: ResultRef) -> None:
        if ref in self._refs:
            self._selected = self._refs.index(ref)
            self._mark()

    def action_move(self, step: int) -> None:
        if self._refs:
            self._selected = (self._selected + step) % len(self._refs)
            self._mark()
