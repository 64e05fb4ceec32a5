"""EvolinkApp: the screens wired to one :class:`~evolink_tui.core.studio.Studio`.

The Studio does everything that is not a screen (client, runner, history, the index of
records, connection state, Files API, the decisions); the App only wires:

- startup: the main screen is drawn first (with the history read while Textual loaded);
  the client is built after that frame, then what an earlier run left is recovered;
- events: every Studio event becomes one :class:`StudioEvent` message; after the next frame
  the App shows the notification it calls for and hands it to each ``EventView`` screen;
- work: long jobs (a generation, an upload, a listing) run as workers on the App, which
  outlives every screen (:meth:`start`); a worker's failure becomes a notification;
- app-wide actions: the gallery, the files screen, help, the API key, the theme, the palette.

Screens own their flows and dialogs (generate, retry and references on the main screen,
uploads and deletes on the files screen).
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Awaitable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events, on
from textual.app import App
from textual.binding import Binding
from textual.events import DeliveryFailed
from textual.worker import Worker, WorkerState

from evolink_tui.core.config import Settings
from evolink_tui.core.errors import describe
from evolink_tui.core.rules import is_quota_full
from evolink_tui.core.studio import Studio
from evolink_tui.core.text import inert

from .commands import EvolinkCommands
from .messages import News, StudioEvent
from .notices import Notice, Notices, Wave, listener_failed
from .pacing import Typing
from .screens.main import MainScreen

if TYPE_CHECKING:
    from evolink_tui.core.studio.studio import ClientFactory

    from .attention import Notifier

# Young collections every 10,000 new objects (not 700) and full ones far more rarely: a full
# collection walks every object the app made since startup (25-45 ms with a few results
# shown), and at the default pace they came several times a second while results arrived.
GC_THRESHOLDS = (10_000, 20, 100)
# The event loop gets the interpreter back from a busy thread within 1 ms, not 5 (Python's
# default): while results arrive, threads check and write files (and the composer checks
# what is typed, Textual's writer sends frames), and a key waited for each of them in turn.
SWITCH_INTERVAL = 0.001


def _freeze() -> None:
    """``gc.freeze`` as a Python function: Textual reads the signature of a callback it is
    handed, and for a builtin that means parsing its text signature (about 4 ms the first time,
    between the first frame and the app's first answer to a key)."""
    gc.freeze()


PROGRESS_EVERY = 1.0  # seconds between two writes (and showings) of running tasks' progress
TYPING_PAUSE = 0.5  # seconds without a key in the prompt after which news is shown as it comes


class EvolinkApp(App[int]):
    """The Evolink Image API, keyboard first."""

    CSS_PATH = Path(__file__).parent / "styles.tcss"  # absolute: subclasses elsewhere (tests) find it too
    TITLE = "evolink-tui"
    COMMANDS = {EvolinkCommands}
    COMMAND_PALETTE_DISPLAY = "^p"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True, show=False, id="quit")]

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Any = None,
        client_factory: ClientFactory | None = None,
        cursor_blink: bool = True,
        history_ahead: Future | None = None,
    ) -> None:
        """``history_ahead``: the first page of history already being read (see
        :func:`~evolink_tui.core.history.read_ahead`), else the app reads it."""
        super().__init__()
        # Progress news of running tasks is shown once a second (the task list's clock) and so
        # written then, all tasks at once (Runner.progress_every). Tests drive a clock of
        # their own: each read is written and shown at once there.
        every = PROGRESS_EVERY if clock is None else 0.0
        self.studio = Studio(
            settings, clock=clock, client_factory=client_factory, history_ahead=history_ahead, progress_every=every
        )
        self.cursor_blink = cursor_blink
        self.notices = Notices(self.studio)
        self.wave = Wave(self._notify, self.set_timer, self.notices.saved_together)
        self.studio.events.on_failure = lambda failure: self._notify(listener_failed(failure))
        self.studio.events.subscribe(self._forward)
        # While keys are typed in the prompt, news waits for the next key (drawn in its frame);
        # tests drive a clock of their own, where news is shown as it comes.
        self.news = News(self, self._show_event, Typing(TYPING_PAUSE if clock is None else 0.0, self.studio.now))
        self._main = MainScreen(cursor_blink=cursor_blink)
        self._notifier: Notifier | None = None

    @property
    def settings(self) -> Settings:
        return self.studio.settings

    def get_default_screen(self) -> MainScreen:
        return self._main

    @property
    def main(self) -> MainScreen:
        return self._main

    # -- startup ----------------------------------------------------------------------------------

    def on_mount(self) -> None:
        from .theme import follow_theme

        follow_theme(self)
        if self.settings.keymap:  # [keymap] in config.toml: the user's own keys
            from evolink_tui.core.keymap import as_textual

            self.set_keymap(as_textual(self.settings.keymap))
        self.call_after_refresh(self._after_first_frame)

    def _after_first_frame(self) -> None:
        if not gc.isenabled():  # paused for startup (see cli._main)
            # What startup made lives as long as the app: out of the collector's sight, a full
            # collection later walks only what came after (else pauses of tens of ms).
            gc.freeze()
            gc.set_threshold(*GC_THRESHOLDS)
            gc.enable()
            sys.setswitchinterval(SWITCH_INTERVAL)
        from .config_fix import show_config_warnings

        show_config_warnings(self)  # the config's warnings; a key others can read: offer to fix it
        if self.settings.keymap:
            from .keys import check_keymap

            self.start(check_keymap(self, self.settings), name="check keymap", group="config")
        if not self.settings.has_key and not self.settings.demo:
            self.action_enter_key()

    def history_shown(self) -> None:
        """The first page of history is on screen: now the client (httpx; the demo's
        simulator) is built and what an earlier run left is recovered."""
        self.call_after_refresh(lambda: self.start(self._resume_then_recover(), name="recover"))
        # What startup made, and the rows of history, stay: full collections (pauses of tens of
        # ms while scrolling through thousands of rows) then walk only what came after.
        self.call_after_refresh(_freeze)
        self.call_after_refresh(self._thumbnails_on_disk)

    def _thumbnails_on_disk(self) -> None:
        """Thumbnails kept on disk by content (the cache dir): a result decoded once is not
        decoded again after a restart, wherever its file moved. After the first frame."""
        from evolink_tui.core.thumbcache import enable_disk_cache

        self._thumb_disk = enable_disk_cache()

    async def _resume_then_recover(self) -> None:
        """Batches a quit left running are taken up first (their tasks are theirs), then
        the rest is recovered. A worker: building the client (httpx; the demo's simulator)
        comes after the first frame's callbacks, never inside them."""
        from .batch_flow import resume_batches

        resume_batches(self)
        await self.studio.recover()

    async def on_unmount(self) -> None:
        await self.studio.aclose()
        if (disk := getattr(self, "_thumb_disk", None)) is not None:
            from evolink_tui.core.thumbcache import disable_disk_cache

            disable_disk_cache(disk)

    # -- the Studio's events -----------------------------------------------------------------------

    def _forward(self, event: object) -> None:
        from evolink_tui.core.events import RequestEvent

        if not isinstance(event, RequestEvent):  # views show the connection (ConnectionChanged) instead
            self.post_message(StudioEvent(event))  # thread-safe; handled on the App's loop

    @on(StudioEvent)
    def _studio_event(self, message: StudioEvent) -> None:
        self.news.add(message.event)  # to _show_event and the views once the next frame is drawn

    def _show_event(self, event: object) -> None:
        """What the App itself does with an event: notifications and app-wide dialogs."""
        from evolink_tui.core import events as ev

        from . import batch_flow

        self.notifier.show_event(event)  # the bell and a desktop notice, if you are away
        batch_flow.show_event(self, event)

        for notice in self.notices.for_event(event):
            self.wave.add(notice)
        match event:
            case ev.HistoryLoaded(first=True):
                self.history_shown()
            case ev.HistoryReset():
                self.start(self.studio.load_history(0), name="history", group="history")
            case ev.UploadNeedsConfirm(spec=spec, existing=existing):
                from .screens.upload import confirm_overwrite

                confirm_overwrite(self, spec, existing)
            case ev.UploadFailed(error=error) | ev.TaskFailed(error=error) if is_quota_full(error):
                from .screens.files import offer_files_for_quota

                offer_files_for_quota(self)

    def _notify(self, notice: Notice) -> None:
        self.notify(notice.text, title=notice.title, severity=notice.severity, timeout=notice.timeout, markup=False)

    # -- notices that reach you (bell, OSC 9/777) ---------------------------------------------------

    @property
    def notifier(self) -> Notifier:
        if self._notifier is None:
            from .attention import Notifier

            self._notifier = Notifier(self)
        return self._notifier

    def on_app_focus(self) -> None:
        self.notifier.focus(True)

    def on_app_blur(self) -> None:
        self.notifier.focus(False)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown)) and self._notifier is not None:
            self._notifier.input()  # a key or a click: the user is here
        await super().on_event(event)

    # -- work --------------------------------------------------------------------------------------

    def start(self, job: Awaitable[Any], *, name: str, group: str = "tasks", exclusive: bool = False) -> Worker:
        """Run ``job`` as a worker on the App: it outlives the screen that asked for it, and
        a failure becomes a notification (see ``on_worker_state_changed``), never a crash."""
        return self.run_worker(job, name=name, group=group, exclusive=exclusive, exit_on_error=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.notify(
                inert(describe(event.worker.error)),
                title="Something went wrong",
                severity="error",
                markup=False,
                timeout=10,
            )

    def needs_key(self) -> bool:
        """True (and the key dialog offered) when nothing can be sent: no key, no demo."""
        if self.settings.has_key:
            return False
        self.notify("No API key yet: paste one, or continue in demo mode.", severity="warning", markup=False)
        self.action_enter_key()
        return True

    async def back_to_main(self) -> MainScreen:
        while len(self.screen_stack) > 1 and self.screen is not self.main:
            await self.pop_screen()
        return self.main

    # -- screens and commands ------------------------------------------------------------------------

    async def run_command(self, action: str) -> None:
        """Run a palette command (see commands.py): ``app.`` on the App, ``files:`` on the
        files screen (opened if needed), anything else on the current screen if it has it,
        else on the main screen."""
        if action.startswith("app."):
            await self.run_action(action)
        elif action.startswith("files:"):
            self.action_open_files(action.removeprefix("files:"))
        else:
            if not hasattr(self.screen, f"action_{action}"):
                await self.back_to_main()
            await self.screen.run_action(action)

    def action_open_gallery(self) -> None:
        from .screens.gallery import GalleryScreen

        if not isinstance(self.screen, GalleryScreen):
            self.push_screen(GalleryScreen())

    def action_open_files(self, then: str = "") -> None:
        """The files screen; ``then``: an action of it to run (or to explain) once open."""
        from .screens.files import FilesScreen

        if isinstance(self.screen, FilesScreen):
            if then:
                self.call_later(self.screen.run_action, then)
        elif not self.needs_key():
            self.push_screen(FilesScreen(then=then))

    def on_delivery_failed(self, event: DeliveryFailed) -> None:
        from .web_open import delivery_failed

        delivery_failed(self, event)

    def action_show_help(self) -> None:
        from .screens.help import HelpScreen

        self.push_screen(HelpScreen(self.screen))

    # -- the API key and demo mode ----------------------------------------------------------------------

    def action_enter_key(self) -> None:
        from .screens.key import ask_for_key

        ask_for_key(self)
