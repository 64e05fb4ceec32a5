"""How the Studio's events reach the screens.

The App listens to the Studio's event bus and posts each event to itself as one
:class:`StudioEvent` message (thread-safe, and handled on the App's message loop, never
inside the worker that emitted it). Its handler then gives the event to every screen on
the stack that is an :class:`EventView`; each view ``match``-es on the event's type (see
:mod:`evolink_tui.core.events`). A view that raises is logged and reported once, and the
other views still get the event.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from textual.message import Message


class StudioEvent(Message):
    """One event from the Studio (a task transition, a history page, the connection, the
    Files API...)."""

    def __init__(self, event: object) -> None:
        super().__init__()
        self.event = event


@runtime_checkable
class EventView(Protocol):
    """A screen that shows the Studio's events: ``show_event`` is called for each one,
    after the Studio's index is up to date (``app.studio.record(event.record_id)``)."""

    def show_event(self, event: object) -> None: ...
