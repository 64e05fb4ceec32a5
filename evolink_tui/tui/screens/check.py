"""Check task by ID: a small modal asking for any task id."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class CheckTaskScreen(ModalScreen[str | None]):
    CSS_PATH = "../screens.tcss"  # parsed with the first of these screens to open, not at startup

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="check.cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="check-box", classes="modal-box") as box:
            box.border_title = "Check task by ID"
            box.border_subtitle = "enter checks · esc cancels"
            yield Static(  # a Static wraps (a Label cut the sentence at 100 columns)
                "Any task id, for example task-unified-1757156493-imcg5zqt. "
                "It joins the task list and is followed to the end.",
                markup=False,
            )
            yield Input(placeholder="task id", id="task-id")

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if value:
            self.dismiss(value)
