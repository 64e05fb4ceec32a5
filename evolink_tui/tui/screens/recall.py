"""Recall an earlier prompt: type to search every prompt in history, enter to use one."""

from __future__ import annotations

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from evolink_tui.core.history import History

from ..format import plain


class PromptsFound(Message):
    """Earlier prompts matching a search, newest first."""

    def __init__(self, query: str, prompts: list[str]) -> None:
        super().__init__()
        self.query = query
        self.prompts = prompts


class PromptOptions(OptionList):
    def on_key(self, event: events.Key) -> None:
        if event.is_printable and event.character:
            event.stop()
            event.prevent_default()
            box = self.screen.query_one("#recall-filter", Input)
            box.insert_text_at_cursor(event.character)
            box.focus()


class RecallScreen(ModalScreen[str | None]):
    """Returns the chosen prompt, or None."""

    CSS_PATH = "../screens.tcss"  # parsed with the first of these screens to open, not at startup

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="recall.cancel"),
        Binding("down", "focus_list", "To the list", show=False, id="recall.down"),
    ]

    def __init__(self, history: History) -> None:
        super().__init__()
        self._history = history
        self._prompts: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="recall-box", classes="modal-box") as box:
            box.border_title = "Recall an earlier prompt"
            box.border_subtitle = "type to search · enter uses it · esc cancels"
            yield Input(placeholder="Search earlier prompts", id="recall-filter", compact=True, select_on_focus=False)
            yield PromptOptions(id="recall-list")
            yield Static(id="recall-count")

    def on_mount(self) -> None:
        self.query_one("#recall-filter", Input).cursor_blink = getattr(self.app, "cursor_blink", True)
        self._search("")

    @on(Input.Changed, "#recall-filter")
    def _changed(self, event: Input.Changed) -> None:
        self._search(event.value)

    @work(thread=True, exclusive=True, group="recall", exit_on_error=False)
    def _search(self, text: str) -> None:
        prompts = self._history.prompts(text, limit=200)
        if not get_current_worker().is_cancelled:
            self.post_message(PromptsFound(text, prompts))

    @on(PromptsFound)
    def _found(self, message: PromptsFound) -> None:
        if message.query != self.query_one("#recall-filter", Input).value:
            return  # the answer to an earlier search
        self._prompts = message.prompts
        options = self.query_one("#recall-list", PromptOptions)
        options.clear_options()
        options.add_options([Option(Content(plain(p, 300))) for p in message.prompts])
        if message.prompts:
            options.highlighted = 0
        count = len(message.prompts)
        text = f"{count} earlier prompt{'s' if count != 1 else ''}" if count else "No earlier prompts match."
        self.query_one("#recall-count", Static).update(Content.styled(text, "dim"))

    def action_focus_list(self) -> None:
        self.query_one("#recall-list", PromptOptions).focus()

    def _choose(self, index: int | None) -> None:
        if index is not None and 0 <= index < len(self._prompts):
            self.dismiss(self._prompts[index])

    @on(Input.Submitted, "#recall-filter")
    def _submitted(self) -> None:
        self._choose(self.query_one("#recall-list", PromptOptions).highlighted)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._choose(event.option_index)
