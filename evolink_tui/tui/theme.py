"""The theme: the one saved in config.toml, else one that suits the terminal's colours; a
theme the user picks (palette, ctrl+p) is saved and the colours drawn by hand follow it."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from textual.theme import Theme

from evolink_tui.core.config import update_config_file

if TYPE_CHECKING:
    from .app import EvolinkApp

# Terminals with 8 or 16 colours (Rich's "standard"; TERM=xterm or linux with no COLORTERM)
# start in ansi-dark: textual-dark brought down to 16 colours loses its contrast (grey bars,
# dark green on grey). With 256 colours textual-dark stays the default: it keeps the selected
# row and card visible, which ansi-dark does not. No theme is saved until the user picks one.
FEW_COLOURS = ("standard", "windows")


def follow_theme(app: EvolinkApp) -> None:
    """At mount: set the starting theme, then save each one the user picks."""
    settings = app.settings
    if settings.theme and settings.theme in app.available_themes:
        app.theme = settings.theme
    elif app.console.color_system in FEW_COLOURS:
        app.theme = "ansi-dark"  # the terminal's own 16 colours, not textual-dark squeezed into them
    saved = app.theme

    def changed(theme: Theme) -> None:
        nonlocal saved
        if theme.name != saved:
            saved = settings.theme = theme.name
            saving = asyncio.to_thread(update_config_file, {"theme": theme.name}, settings.config_path)
            app.start(saving, name="save theme", group="config")
        app.main.refresh_colours()

    app.theme_changed_signal.subscribe(app, changed)
