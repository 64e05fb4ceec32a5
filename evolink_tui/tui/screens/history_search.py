"""Search history: every past task by prompt (or task id), model, status and date.

Results come newest first, a page at a time, read in a thread worker (the latest search
wins) and appended as the cursor nears the end, so a history of any length opens at once.
Enter shows the task in the task list and the preview; r regenerates it (the composer
refilled with its exact settings); t retries it, or resends an uncertain submit with its
own idempotency key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.style import Style
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Input, Select, Static
from textual.worker import get_current_worker

from evolink_tui.core.catalogue import load_catalogue
from evolink_tui.core.dates import DATE_HELP, day_range, when
from evolink_tui.core.errors import ValidationError
from evolink_tui.core.history import TaskRecord

from ..format import plain, state_label, theme_colour
from ..widgets.keybar import KeyBar

if TYPE_CHECKING:
    from ..app import EvolinkApp

PAGE = 100
ANY = ""
# (label, History.search status); the app's own words first, then the special searches.
STATUSES: tuple[tuple[str, str], ...] = (
    ("any status", ANY),
    ("done", "completed"),
    ("failed", "failed"),
    ("unfinished", "unfinished"),
    ("unsure (uncertain)", "uncertain"),
    ("not downloaded", "undownloaded"),
    ("expired", "expired"),
    ("queued", "pending"),
    ("running", "processing"),
    ("refused at submit", "submit_failed"),
    ("cancelled", "cancelled"),
)


@dataclass(frozen=True)
class Query:
    text: str = ""
    model: str = ANY
    status: str = ANY
    since: float | None = None
    until: float | None = None  # the end of the last day (exclusive)

    def arguments(self) -> dict:
        return dict(model=self.model or None, status=self.status or None, since=self.since, until=self.until)


class SearchPage(Message):
    """A page of matching records (newest first) for ``query``; ``total`` on the first page."""

    def __init__(self, query: Query, serial: int, offset: int, records: list[TaskRecord], total: int | None) -> None:
        super().__init__()
        self.query = query
        self.serial = serial
        self.offset = offset
        self.records = records
        self.total = total


class HistoryResults(DataTable):
    """The matching tasks; enter shows one in the task list."""

    BORDER_TITLE = "Results"

    BINDINGS = [
        Binding("enter", "screen.reveal", "Show in tasks", id="search.reveal"),
        Binding("r", "screen.regenerate", "Regenerate", id="search.regenerate"),
        Binding("t", "screen.retry", "Retry/resend", id="search.retry"),
        Binding("home", "first_row", "First", show=False, id="search.first"),
        Binding("end", "last_row", "Last loaded", show=False, id="search.last"),
        Binding("slash", "screen.focus_text", "Search text", show=False, id="search.slash"),
    ]

    def action_cursor_up(self) -> None:
        if self.cursor_row <= 0:  # up from the first result: back to the search text
            self.screen.query_one("#search-text", Input).focus()
            return
        super().action_cursor_up()

    def on_resize(self, event: events.Resize) -> None:
        screen = self.screen
        if isinstance(screen, HistorySearchScreen):
            screen.fit_columns()

    def action_first_row(self) -> None:
        self.move_cursor(row=0)

    def action_last_row(self) -> None:
        self.move_cursor(row=max(0, self.row_count - 1))

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        if self.scroll_y >= self.max_scroll_y - 4:
            self.screen.post_message(NeedMoreResults())


class NeedMoreResults(Message):
    """The cursor or the scroll neared the end of what is loaded."""


class HistorySearchScreen(Screen[None]):
    """Search every past task; the tasks found can be shown, regenerated or retried."""

    CSS_PATH = "../screens.tcss"  # parsed with the first of these screens to open, not at startup

    if TYPE_CHECKING:
        app: EvolinkApp

    DEFAULT_CSS = """
    #search-box {
        height: 1fr;
        border: round $accent;
        border-title-color: $accent;
        padding: 0 1;
    }
    #search-text { margin-bottom: 1; }
    #search-filters { height: 1; }
    #search-model { width: 1fr; min-width: 16; max-width: 32; }
    #search-status { width: 24; margin-left: 1; }
    #search-since, #search-until { width: 16; margin-left: 1; }
    #search-count { height: 1; margin-top: 1; }
    #search-results { height: 1fr; }
    """

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="search.back"),
        Binding("ctrl+f", "focus_text", "Search text", id="search.focus_text"),
        Binding("f1,question_mark", "app.show_help", "Help", id="search.help"),
    ]

    def __init__(self) -> None:
        super().__init__(id="history-search")
        self._query = Query()
        self._serial = 0
        self._records: list[TaskRecord] = []
        self._total = 0
        self._loading = False
        self._layout: tuple[bool, int] = (False, 0)

    def compose(self) -> ComposeResult:
        models = [("any model", ANY)] + [(m.id, m.id) for m in load_catalogue().models]
        with Vertical(id="search-box") as box:
            box.border_title = "Search history"
            box.border_subtitle = "enter shows it · r regenerates · t retries · esc back"
            yield Input(placeholder="Prompt or task id", id="search-text", compact=True, select_on_focus=False)
            with Horizontal(id="search-filters"):
                yield Select(models, id="search-model", allow_blank=False, compact=True)
                yield Select(list(STATUSES), id="search-status", allow_blank=False, compact=True)
                yield Input(
                    placeholder="from YYYY-MM-DD", id="search-since", compact=True, max_length=10, restrict=r"[0-9-]*"
                )
                yield Input(
                    placeholder="to YYYY-MM-DD", id="search-until", compact=True, max_length=10, restrict=r"[0-9-]*"
                )
            yield Static(id="search-count")
            yield HistoryResults(id="search-results", cursor_type="row", zebra_stripes=True)
        yield KeyBar()

    def on_mount(self) -> None:
        blink = getattr(self.app, "cursor_blink", True)
        for box in self.query(Input):
            box.cursor_blink = blink
        self.fit_columns()
        self.query_one("#search-text", Input).focus()
        self._search()

    def fit_columns(self) -> None:
        """Columns for the table's width: the prompt gets what the others leave."""
        table = self.query_one(HistoryResults)
        width = table.scrollable_content_region.width or table.size.width or self.size.width
        short = width < 96
        layout = (6, 11 if short else 16, 18 if short else 22, 10)
        prompt = max(12, width - sum(layout) - 2 * 5 - 1)
        if table.columns and self._layout == (short, prompt):
            return
        self._layout = (short, prompt)
        cursor = table.cursor_row
        table.clear(columns=True)
        for (name, key), size in zip(
            (("#", "id"), ("when", "when"), ("model", "model"), ("status", "status"), ("prompt", "prompt")),
            (*layout, prompt),
            strict=False,
        ):
            table.add_column(name, key=key, width=size)
        for record in self._records:
            table.add_row(*self._cells(record), key=str(record.id))
        if self._records:
            table.move_cursor(row=min(max(cursor, 0), len(self._records) - 1))

    # -- the query --------------------------------------------------------------------------------

    def _read_query(self) -> tuple[Query | None, str]:
        """The query the fields describe, or None and what is wrong with them."""
        model = self.query_one("#search-model", Select).value
        status = self.query_one("#search-status", Select).value
        typed = {name: self.query_one(f"#search-{name}", Input).value.strip() or None for name in ("since", "until")}
        try:
            since, until = day_range(typed["since"], typed["until"])  # both days whole
        except ValidationError as err:
            label = {"since": "From", "until": "To"}[err.field]
            return None, f"{label} {plain(typed[err.field], 12)!r}: {DATE_HELP}."
        text = self.query_one("#search-text", Input).value.strip()
        return Query(
            text, model if isinstance(model, str) else ANY, status if isinstance(status, str) else ANY, since, until
        ), ""

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self, event: Message) -> None:
        event.stop()
        self._search()

    def _search(self) -> None:
        query, problem = self._read_query()
        if query is None:
            self._show_count(Content.styled(problem, "$error"))
            return
        self._query = query
        self._serial += 1
        self._records = []
        self._total = 0
        self._loading = True
        self.query_one(HistoryResults).clear()
        self._read(query, self._serial, 0)

    def _more(self) -> None:
        if self._loading or len(self._records) >= self._total:
            return
        self._loading = True
        self._read(self._query, self._serial, len(self._records))

    @work(thread=True, exclusive=True, group="history-search", exit_on_error=False)
    def _read(self, query: Query, serial: int, offset: int) -> None:
        history = self.app.studio.history
        records = history.search(query.text, limit=PAGE, offset=offset, **query.arguments())
        total = history.count_matching(query.text, **query.arguments()) if offset == 0 else None
        if not get_current_worker().is_cancelled:
            self.post_message(SearchPage(query, serial, offset, records, total))

    @on(SearchPage)
    def _page(self, message: SearchPage) -> None:
        if message.serial != self._serial or message.offset != len(self._records):
            return  # the answer to an earlier search
        self._loading = False
        if message.total is not None:
            self._total = message.total
        self._records.extend(message.records)
        table = self.query_one(HistoryResults)
        for record in message.records:
            table.add_row(*self._cells(record), key=str(record.id))
        self._show_count()

    def _cells(self, record: TaskRecord) -> tuple:
        label, role = state_label(record)
        colour = theme_colour(self.app, role)
        return (
            Text(str(record.id), justify="right"),
            Text(when(record.created_at, short=self._layout[0])),
            Text(plain(record.model, 22) or "?", no_wrap=True, overflow="ellipsis"),
            Text(label, style=Style(color=colour, bold=True)),
            Text(
                plain(record.prompt, 200) or plain(record.task_id or "(task checked by id)", 200),
                no_wrap=True,
                overflow="ellipsis",
            ),
        )

    def _show_count(self, text: Content | None = None) -> None:
        if text is None:
            shown, total = len(self._records), self._total
            if not total:
                text = Content.styled("No task matches.", "dim")
            else:
                words = f"{total} task{'s' if total != 1 else ''} match"
                if shown < total:
                    words += f" · {shown} loaded, more as you scroll"
                text = Content.styled(words, "dim")
        self.query_one("#search-count", Static).update(text)

    # -- moving about -------------------------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#search-results")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if event.cursor_row >= len(self._records) - 5:
            self._more()

    @on(NeedMoreResults)
    def _need_more(self) -> None:
        self._more()

    @on(DataTable.RowSelected, "#search-results")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_reveal()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one(HistoryResults).focus()

    def on_key(self, event: events.Key) -> None:
        if event.key == "down" and isinstance(self.focused, Input):
            event.stop()
            self.query_one(HistoryResults).focus()

    def action_focus_text(self) -> None:
        self.query_one("#search-text", Input).focus()

    # -- acting on a result ---------------------------------------------------------------------------

    @property
    def selected(self) -> TaskRecord | None:
        table = self.query_one(HistoryResults)
        if not self._records or table.cursor_row < 0:
            return None
        row = min(table.cursor_row, len(self._records) - 1)
        record = self._records[row]
        return self.app.studio.history.get(record.id) or record  # it may have moved on since it was read

    def _chosen(self) -> TaskRecord | None:
        record = self.selected
        if record is None:
            self.notify("No task selected.", severity="warning", markup=False)
        return record

    def action_reveal(self) -> None:
        if record := self._chosen():
            self.app.call_later(self.app.main.generation.reveal, record)

    def action_regenerate(self) -> None:
        if record := self._chosen():
            self.app.call_later(self.app.main.generation.regenerate, record)

    def action_retry(self) -> None:
        if record := self._chosen():
            self.app.call_later(self.app.main.generation.reveal, record, retry=True)
