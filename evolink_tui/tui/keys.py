"""The user's ``[keymap]`` at start: the keys it gives to two actions at once, and the ids it
names that no binding has, said once as notifications (Textual applies the keymap itself:
``App.set_keymap``, in the App's ``on_mount``)."""

from __future__ import annotations

import asyncio

from textual.app import App
from textual.binding import Binding
from textual.widgets import Input, TextArea

from evolink_tui.core import keymap
from evolink_tui.core.config import Settings


def typing_keys() -> list[keymap.BindingInfo]:
    """The text fields' own keys (select line, cut, cursor moves...): while the cursor is in a
    field they win over every binding that is not a priority one."""
    return [
        keymap.BindingInfo(
            "", "text field", tuple(b.key.split(",")), b.action, (b.description or b.action).lower(), False
        )
        for widget in (TextArea, Input)
        for b in widget.BINDINGS
        if isinstance(b, Binding)
    ]


async def check_keymap(app: App, settings: Settings) -> None:
    """Read the bindings (from the source, in a thread: after the first frame) and report."""
    table = await asyncio.to_thread(keymap.bindings)
    conflicts, unknown = keymap.check(table, settings.keymap, typing_keys())
    for conflict in conflicts:
        app.notify(conflict.message(), title="Keymap conflict", severity="warning", markup=False, timeout=20)
    if unknown:
        where = f"[keymap] in {settings.config_path}"
        app.notify(keymap.unknown_message(unknown, where), title="Keymap", severity="warning", markup=False, timeout=20)
