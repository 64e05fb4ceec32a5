"""First run without a key: paste one (saved 0600, shown masked) or continue in demo mode."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from evolink_tui.core.config import api_key_problem

DEMO = "demo"


class KeyScreen(ModalScreen[str | None]):
    """Returns the pasted key, ``"demo"``, or None (later)."""

    CSS_PATH = "../screens.tcss"  # parsed with the first of these screens to open, not at startup

    BINDINGS = [Binding("escape", "dismiss(None)", "Not now", id="key.later")]

    def __init__(self, config_path: str) -> None:
        super().__init__()
        self._config_path = config_path

    def compose(self) -> ComposeResult:
        with Vertical(id="key-box", classes="modal-box") as box:
            box.border_title = "No API key"
            yield Static(
                Content.assemble(
                    ("No Evolink API key is configured", "bold"),
                    ", so nothing can be generated yet.\n\n"
                    "Paste your key (from evolink.ai/dashboard/keys) to save it to ",
                    (self._config_path, "bold"),
                    " (readable only by you), or continue in demo mode: the built-in simulator, "
                    "no key, no network, no credits.",
                )
            )
            yield Input(placeholder="paste your API key: sk-...", password=True, id="key-input")
            yield Static(id="key-problem")
            with Horizontal(classes="buttons"):
                yield Button("Save key", id="save", variant="primary", compact=True)
                yield Button("Continue in demo mode", id="demo", compact=True)
                yield Button("Not now", id="later", compact=True)

    def show_problem(self, text: str) -> None:
        self.query_one("#key-problem", Static).update(Content.styled(text, "$error"))

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        key = self.query_one("#key-input", Input).value.strip()
        if not key:
            self.show_problem("Paste a key first, or choose demo mode.")
            return
        if problem := api_key_problem(key):  # the same rule as every command (core.config)
            self.show_problem(f"This key cannot be used: {problem}. Paste it exactly as shown on evolink.ai.")
            return
        self.dismiss(key)

    @on(Button.Pressed, "#demo")
    def _demo(self) -> None:
        self.dismiss(DEMO)

    @on(Button.Pressed, "#later")
    def _later(self) -> None:
        self.dismiss(None)
