"""The composer's list of reference images, mounted with the first reference."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import ListView


class RefList(ListView):
    """The reference images; delete removes the highlighted one."""

    BINDINGS = [
        Binding("delete,backspace", "remove", "Remove reference", id="refs.remove"),
        Binding("m", "screen.make_mask", "Make mask", id="refs.make_mask"),
        Binding("r", "screen.reopen_reference", "Reopen recipe", id="refs.reopen"),
    ]

    class Removed(Message):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def on_focus(self) -> None:
        """Tab onto the list highlights the first reference, so delete acts at once."""
        if self.index is None and self.children:
            self.index = 0

    def action_remove(self) -> None:
        if self.index is not None:
            self.post_message(self.Removed(self.index))
