"""How the Studio's events reach the screens.

The App listens to the Studio's event bus and posts each event to itself as one
:class:`StudioEvent` message (thread-safe, and handled on the App's message loop, never
inside the worker that emitted it). Its handler collects them (:class:`News`): once the
next frame is drawn, each event, in order, goes to the App's own handler and then to every
screen on the stack that is an :class:`EventView`; each view ``match``-es on the event's
type (see :mod:`evolink_tui.core.events`). A view that raises is logged and reported once,
and the other views still get the event. While keys are typed in the prompt, the events wait
for the next key and are shown in its frame (:class:`~evolink_tui.tui.pacing.Typing`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from textual.message import Message

from .pacing import Typing

if TYPE_CHECKING:
    from textual.timer import Timer

    from .app import EvolinkApp


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


class News:
    """Studio events handed to the views once a frame, after it: 200 tasks finishing together
    send hundreds of events between two frames, and a key typed meanwhile waited behind the
    work of every one of them before its frame was drawn. ``show`` is the App's own handler.

    While keys are typed in the prompt (``typing``), the events are held and handed over as
    the next key is (:meth:`typed`: drawn in the frame that echoes it), or once typing pauses:
    no frame of their own comes between two keys to delay the second one's echo."""

    STUCK = 0.5  # seconds: a pass asked for and not run by then (its screen went away) runs anyway

    def __init__(self, app: EvolinkApp, show: Callable[[object], None], typing: Typing | None = None) -> None:
        self._app = app
        self._show = show
        self.typing = typing or Typing(0.0)
        self._news: list[object] = []
        self._asked = False  # a pass is asked for and has not run yet
        self._rescue: Timer | None = None  # runs a pass asked for whose screen went away first
        self._held: Timer | None = None  # hands over the news held once typing pauses
        self._views: dict[type, bool] = {}  # screen class -> an EventView (a Protocol check is slow)

    def add(self, event: object) -> None:
        self._news.append(event)
        if self._asked:
            return
        wait = self.typing.left()
        if not wait:
            self._ask()
        elif self._held is None:
            self._held = self._app.set_timer(wait, self._paused)

    def _ask(self) -> None:
        self._asked = True
        self._app.call_after_refresh(self.deliver)
        if self._rescue is None:
            self._rescue = self._app.set_interval(self.STUCK, self.deliver, pause=True)
        self._rescue.reset()
        self._rescue.resume()

    def typed(self) -> None:
        """A key typed in the prompt: the news held is handed over now, to be drawn in the
        frame that echoes the key, and news waits for the next key while keys come."""
        self.typing.typed()
        if self._news:  # also news already asked for after the next frame: that frame is this key's
            self.deliver()

    def release(self) -> None:
        """Typing is over (the prompt was sent): the news held, and news from now on, is
        shown as it comes."""
        self.typing.ended()
        if self._news and not self._asked:
            self._ask()

    def _paused(self) -> None:
        self._held = None
        if not self._news or self._asked:
            return
        wait = self.typing.left()
        if wait:  # a key came meanwhile: held until the next pause
            self._held = self._app.set_timer(wait, self._paused)
        else:
            self._ask()

    def deliver(self) -> None:
        """Every event collected, in order, to the App's handler and each view on the stack."""
        self._asked = False
        if self._rescue is not None:
            self._rescue.pause()
        news, self._news = self._news, []
        bus = self._app.studio.events
        for event in news:
            bus.call(self._show, event)
            for screen in list(self._app.screen_stack):
                if self._is_view(screen) and screen.is_attached:
                    bus.call(screen.show_event, event)  # type: ignore[attr-defined]

    def _is_view(self, screen: object) -> bool:
        kind = type(screen)
        if kind not in self._views:
            self._views[kind] = isinstance(screen, EventView)
        return self._views[kind]
