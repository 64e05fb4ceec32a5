"""Notices that reach you while the app is not in front: the bell and a desktop notification
(OSC 9 / OSC 777, wrapped for tmux), sent when a task or a batch ends while the terminal is
not focused, another screen is in front, or no key was pressed for a while.

The decision is :class:`~evolink_tui.core.notify.Attention`'s and the bytes are
:func:`~evolink_tui.core.notify.notice_sequence`'s; this module feeds the one and writes the
other. Textual owns the terminal while the app runs (nothing may write to it beside it), so
the sequence goes out inside Textual's own output: a zero-size widget on the screen in front
renders it once, as a zero-width control segment, the way the Picture widget sends its
kitty images, and removes itself.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from rich.segment import ControlType, Segment
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from evolink_tui.core.notify import Attention, notice_sequence
from evolink_tui.core.text import excerpt

if TYPE_CHECKING:
    from .app import EvolinkApp

_ZERO_WIDTH = ((ControlType.CURSOR_FORWARD, 0),)


class NoticeEscape(Widget):
    """Writes ``sequence`` to the terminal once, with the next frame, then goes away."""

    DEFAULT_CSS = """
    NoticeEscape {
        width: 1;
        height: 1;
        layer: notice;
        dock: top;
        background: transparent;
    }
    """

    def __init__(self, sequence: str) -> None:
        super().__init__()
        self.sequence = sequence
        self.sent = False

    def render_lines(self, crop: Region) -> list[Strip]:
        # Drawn here, not in render_line: Textual keeps the lines render_line gives and
        # reuses them whenever something else on that row is redrawn, which would send the
        # notice again. This gives the sequence once, then only blanks until it is removed.
        lines = [Strip.blank(crop.width) for _ in range(crop.height)]
        if not self.sent and crop.height and crop.y == 0:
            self.sent = True
            lines[0] = Strip([Segment(self.sequence, None, _ZERO_WIDTH), *lines[0]], crop.width)
            self.call_later(self.remove)
        return lines


class Notifier:
    """The App's notices: when to send one (``Attention``) and what it says."""

    def __init__(self, app: EvolinkApp) -> None:
        self.app = app
        # The preferences (bell, desktop, idle time) are read when a notice may go: they live
        # with the batches' (built on first use), which the app's first events need not load.
        self.attention = Attention()
        self.sent: list[str] = []  # every sequence sent (what the tests read)

    def focus(self, focused: bool) -> None:
        self.attention.focus(focused)

    def input(self) -> None:
        self.attention.input(self.app.studio.now())

    def _in_front(self, batch: bool) -> bool:
        from .screens.main import MainScreen

        screen = self.app.screen
        if isinstance(screen, MainScreen):
            return True
        if not batch:
            return False
        from .screens.batch import BatchScreen  # loaded here only when another screen is in front

        return isinstance(screen, BatchScreen)

    def show_event(self, event: object) -> None:
        from evolink_tui.core import events as ev
        from evolink_tui.core.batch_events import BatchEnded

        studio = self.app.studio
        match event:
            case (
                ev.TaskFinished(record_id=record_id)
                | ev.TaskFailed(record_id=record_id)
                | ev.TaskGone(record_id=record_id)
            ):
                record = studio.record(record_id)
                if record is None or (record.group_id and record.group_id in studio.batches.groups):
                    return  # a batch's task: the batch's end says it once
                state = {"completed": "done"}.get(record.state, record.state)
                self.notice(False, f"evolink-tui: task #{record_id} {state}", f"{record.model}: {record.prompt}")
            case BatchEnded(batch_id=batch_id, summary=summary):
                counts = ", ".join(f"{count} {name}" for name, count in sorted(summary.counts.items()))
                self.notice(True, f"evolink-tui: batch {summary.batch.state}", f"{batch_id}: {counts}")

    def notice(self, batch: bool, title: str, body: str) -> None:
        """Send one notice if the user is away (and the settings allow it)."""
        prefs = self.app.studio.batches.prefs
        self.attention.idle_after = prefs.notify_idle_seconds
        self.attention.front(self._in_front(batch))
        if not self.attention.away(self.app.studio.now()):
            return
        sequence = notice_sequence(
            title, excerpt(body, 150), bell=prefs.notify_bell, desktop=prefs.notify_desktop, environ=os.environ
        )
        if not sequence:
            return
        self.sent.append(sequence)
        self.app.screen.mount(NoticeEscape(sequence))
