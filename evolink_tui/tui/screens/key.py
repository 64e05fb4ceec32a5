"""First run without a key: paste one (saved 0600, shown masked) or continue in demo mode."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from evolink_tui.core.config import Settings, api_key_problem, load_settings, save_api_key

from ..format import plain

if TYPE_CHECKING:
    from ..app import EvolinkApp

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


def ask_for_key(app: EvolinkApp) -> None:
    """Offer the key dialog: a pasted key is saved (0600) and used at once, leaving demo mode
    if it was on; "demo" switches to the simulator, with its own history."""
    settings = app.settings

    def chosen(answer: str | None) -> None:
        if answer == DEMO:
            switch_mode(app, load_settings(demo=True, download_dir=settings.download_dir_given))
            app.notify("Demo mode: the built-in simulator answers. No key, no network, no credits.", markup=False)
        elif answer:
            app.start(save_key(app, answer), name="save key", group="config")
        app.main.focus_prompt()

    app.push_screen(KeyScreen(str(settings.config_path)), chosen)


async def save_key(app: EvolinkApp, key: str) -> None:
    path = await asyncio.to_thread(save_api_key, key, app.settings.config_path)
    if app.settings.demo:
        switch_mode(app, load_settings(download_dir=app.settings.download_dir_given))
    app.settings.api_key = key.strip()
    app.settings.key_source = "config"
    app.main.show_identity()
    app.notify(f"Key {app.settings.masked_key} saved to {plain(path)} (readable only by you).", markup=False)


def switch_mode(app: EvolinkApp, settings: Settings) -> None:
    """Another mode (demo or real): its own client, and its own history."""
    old_client = app.studio.switch(settings)
    if old_client is not None:
        app.start(old_client.aclose(), name="close client", group="config")
    app.main.show_identity()
