"""The two dialogs of iterating and reopening (``iterate.py``): the editing model to iterate
with, when the task's own takes no references, and the path of an image to reopen. Loaded when
first asked for, not at startup."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ..format import plain
from .check import AskScreen
from .iterate import clean_path


class EditingModelScreen(ModalScreen[str | None]):
    """The task's model takes no reference images: choose one that does."""

    CSS_PATH = "../screens.tcss"

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="iterate.cancel")]

    def __init__(self, model: str, editing: tuple[str, ...]) -> None:
        super().__init__()
        self._model = model
        self._editing = editing

    def compose(self) -> ComposeResult:
        with Vertical(id="iterate-box", classes="modal-box") as box:
            box.border_title = "Iterate with an editing model"
            box.border_subtitle = "enter chooses · esc cancels"
            yield Static(
                Content(
                    f"{plain(self._model, 60)} does not take reference images, so it cannot start from this "
                    "result. Choose a model that does (its prompt and settings come along):"
                )
            )
            yield OptionList(*(Option(Content(m), id=m) for m in self._editing), id="iterate-models")

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class ReopenScreen(AskScreen):
    """Reopen an image: a path typed or pasted."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="reopen.cancel")]

    BOX_ID = "reopen-box"
    HEADING = "Reopen an image"
    HINT = "enter reopens · esc cancels"
    TEXT = (
        "The path of an image made by evolink-tui (PNG, JPEG or WebP; moved or renamed is fine) or of "
        "its .json sidecar. The composer is refilled with its prompt and settings; nothing is sent."
    )
    PLACEHOLDER = "path, e.g. ~/Pictures/evolink/lighthouse_1.png"
    INPUT_ID = "reopen-path"

    def answer(self, text: str) -> str | None:
        value = clean_path(text)
        return str(Path(value).expanduser()) if value else None
