"""At start: the config file's warnings are shown; when it holds the API key and other users
can read it, fixing its mode (0600) is offered instead of only a warning (issue 11, point 10)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from evolink_tui.core.config import config_mode_problem, fix_config_mode

from .format import plain

if TYPE_CHECKING:
    from .app import EvolinkApp


def show_config_warnings(app: EvolinkApp) -> None:
    """Each warning of the config as a notice, except the readable key, which gets the offer."""
    settings = app.settings
    path = settings.config_path
    exposed = settings.key_source == "config" and config_mode_problem(path)
    for warning in settings.warnings:
        if not (exposed and warning.startswith(f"The config file {path} holds your API key")):
            app.notify(warning, severity="warning", markup=False, timeout=10)
    if exposed:
        offer_config_fix(app, path, exposed)


def offer_config_fix(app: EvolinkApp, path: Path, problem: str) -> None:
    """Ask; on yes the mode is changed in a thread and the result said."""
    from .screens.confirm import ConfirmScreen

    async def fix() -> None:
        await asyncio.to_thread(fix_config_mode, path)
        app.notify(f"{plain(path)} is now readable only by you (0600).", markup=False)

    def answered(yes: bool | None) -> None:
        if yes:
            app.start(fix(), name="fix config mode", group="config")
        else:
            app.notify(f"Left as it is: `chmod 600 {plain(path)}` fixes it later.", severity="warning", markup=False)

    body = (
        f"The config file {plain(path)} holds your API key and {problem}.\n\n"
        "Make it readable and writable by you only (mode 0600)?"
    )
    app.push_screen(ConfirmScreen("Your key is readable by others", body, yes="Fix it", no="Not now"), answered)
