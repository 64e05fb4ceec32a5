"""An Input for dialogs of several fields that keys sent in one burst (a paste, a fast typist,
``tmux send-keys``) fill as aimed: ``path``, Tab, ``name`` puts each in its own field.

Textual hands each key to the widget focused when the key is read; Tab moves the focus only
when it has gone through the field that had it. Keys read in between were already handed to
the old field. Here Tab moves the focus as soon as the field takes it, and a printable key that
reaches a field no longer focused is typed where the focus went.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class BurstInput(Input):
    def on_key(self, event: events.Key) -> None:
        screen = self.screen
        if screen.focused is self:  # (has_focus changes only when the blur message is handled)
            if event.key in ("tab", "shift+tab"):
                event.stop()
                event.prevent_default()
                if event.key == "tab":
                    screen.focus_next()
                else:
                    screen.focus_previous()
            return
        target = screen.focused
        if event.is_printable and event.character and isinstance(target, Input) and target is not self:
            event.stop()
            event.prevent_default()
            target.insert_text_at_cursor(event.character)
