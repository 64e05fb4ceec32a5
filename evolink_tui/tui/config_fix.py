"""At start: the config file holds the API key and other users can read it. Offer to fix
its mode (0600) instead of only warning (issue 11, point 10)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from evolink_tui.core.config import fix_config_mode

from .format import plain

if TYPE_CHECKING:
    from .app import EvolinkApp


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
