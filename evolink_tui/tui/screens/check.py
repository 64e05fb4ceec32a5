"""One-line questions in a small modal: a task id to check (F3), and the bases of the other
dialogs that ask for one value (a prompt file, an image to reopen)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class AskScreen(ModalScreen[str | None]):
    """A sentence, an input, enter answers (what :meth:`answer` makes of the text, if
    anything), esc cancels. Subclasses set the texts and ids (and their own BINDINGS, with
    ids for the keymap)."""

    CSS_PATH = "../screens.tcss"  # parsed with the first of these screens to open, not at startup

    BOX_ID = ""
    HEADING = ""
    HINT = ""  # the box's lower border, e.g. "enter checks · esc cancels"
    TEXT = ""
    PLACEHOLDER = ""
    INPUT_ID = ""

    def compose(self) -> ComposeResult:
        with Vertical(id=self.BOX_ID, classes="modal-box") as box:
            box.border_title = self.HEADING
            box.border_subtitle = self.HINT
            yield Static(self.TEXT, markup=False)  # a Static wraps (a Label cut the sentence at 100 columns)
            yield Input(placeholder=self.PLACEHOLDER, id=self.INPUT_ID)

    def answer(self, text: str) -> str | None:
        return text.strip() or None

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        value = self.answer(event.value)
        if value:
            self.dismiss(value)


class CheckTaskScreen(AskScreen):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="check.cancel")]

    BOX_ID = "check-box"
    HEADING = "Check task by ID"
    HINT = "enter checks · esc cancels"
    TEXT = (
        "Any task id, for example task-unified-1757156493-imcg5zqt. It joins the task list and is followed to the end."
    )
    PLACEHOLDER = "task id"
    INPUT_ID = "task-id"
