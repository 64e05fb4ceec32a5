"""The JSON sidecar written next to a result: everything needed to reproduce it."""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import TextArea

from evolink_tui.core.text import inert


class SidecarScreen(ModalScreen[None]):
    CSS_PATH = "../screens.tcss"  # parsed with the first of these screens to open, not at startup

    BINDINGS = [Binding("escape,q", "dismiss", "Close", id="sidecar.close")]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._path = path

    def compose(self) -> ComposeResult:
        with Vertical(id="sidecar-box", classes="modal-box") as box:
            box.border_title = Content(inert(self._path.name, one_line=True))
            box.border_subtitle = "esc closes"
            yield TextArea("reading…", read_only=True, id="sidecar-text", soft_wrap=True)

    def on_mount(self) -> None:
        self._read()

    @work(thread=True, exit_on_error=False)
    def _read(self) -> None:
        try:
            text = self._path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            text = f"Could not read {self._path}: {exc}"
        self.app.call_from_thread(self._show, inert(text))

    def _show(self, text: str) -> None:
        self.query_one("#sidecar-text", TextArea).load_text(text)
