"""How events reach their listeners: :class:`EventBus`.

The client, the runner and the :class:`~evolink_tui.core.studio.Studio` each have one. A
listener is any callable taking one event (the types are in :mod:`.events`). A listener that
raises never stops the others nor the work that emitted the event: the error is written to
the log file with its traceback (:mod:`.log`) and reported once through ``on_failure`` (the
app shows a notification, the headless commands a line on stderr). Apart from
:mod:`.events` so that the app can hold a bus at startup without defining every event type.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

Listener = Callable[[Any], None]


class ListenerFailure(NamedTuple):
    """A listener raised: who, on which event, what, and where the traceback was written."""

    listener: str
    event: str
    error: BaseException
    log: Path | None


def describe(listener: Listener) -> str:
    """A listener's name for the log and the report: its qualified name, or its type's."""
    name = getattr(listener, "__qualname__", None) or type(listener).__qualname__
    module = getattr(listener, "__module__", None) or type(listener).__module__
    return f"{module}.{name}"


class EventBus:
    """Listeners called in the order they subscribed, each on its own."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._reported: set[tuple[str, type]] = set()
        self.on_failure: Callable[[ListenerFailure], None] | None = None

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` for every event from now on; returns the way to stop."""
        self._listeners.append(listener)
        return lambda: self.unsubscribe(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def __len__(self) -> int:
        return len(self._listeners)

    def emit(self, event: object) -> None:
        for listener in tuple(self._listeners):  # a listener may unsubscribe while called
            self.call(listener, event)

    def call(self, listener: Listener, event: object) -> None:
        """Call one listener with ``event``; a failure is logged and reported, not raised."""
        try:
            listener(event)
        except Exception as error:
            self.failed(listener, event, error)

    def failed(self, listener: Listener, event: object, error: BaseException) -> None:
        """Log a listener's failure; report it the first time that listener fails so."""
        from .log import log_failure

        name = describe(listener)
        path = log_failure(f"{name} raised on {type(event).__name__}", error)
        key = (name, type(error))
        if key in self._reported:
            return
        self._reported.add(key)
        if self.on_failure is not None:
            try:
                self.on_failure(ListenerFailure(name, type(event).__name__, error, path))
            except Exception as report_error:  # the report itself failed: the log has both
                log_failure(f"reporting the failure of {name}", report_error)
