"""Helpers for the TUI tests: the app on the in-process simulator with deterministic task
ids, two clocks (``FakeClock``: every wait is instant; ``StepClock``: time moves only when
the test says, so a task can be looked at mid-run) and small waiting helpers."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import NamedTuple

from evolink_tui.core.config import load_settings
from evolink_tui.core.validation import GenerationRequest
from evolink_tui.runtime import make_client
from evolink_tui.simulator import FakeClock, FaultPlan
from evolink_tui.tui.app import EvolinkApp

from ..support import app_text

START = 1_800_000_000.0


class StepClock(FakeClock):
    """A clock whose ``sleep`` waits until the test advances time past its deadline."""

    def __init__(self, start: float = START) -> None:
        super().__init__(start)
        self._waiters: list[tuple[float, asyncio.Future]] = []

    async def sleep(self, seconds: float) -> None:
        deadline = self.now() + max(0.0, float(seconds))
        if deadline <= self.now():
            await asyncio.sleep(0)
            return
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((deadline, future))
        await future

    def advance(self, seconds: float) -> float:
        now = super().advance(seconds)
        for entry in list(self._waiters):
            deadline, future = entry
            if deadline <= now:
                self._waiters.remove(entry)
                if not future.done():
                    future.get_loop().call_soon_threadsafe(_resolve, future)
        return now


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


def deterministic_client(faults: str | None = None) -> Callable:
    """A client factory: the demo simulator with numbered task ids and optional faults."""
    counter = itertools.count(1)

    def factory(settings, clock=None):
        client = make_client(settings, clock=clock)
        if not hasattr(client, "simulator"):
            return client
        sim = client.simulator.state.sim
        sim.new_task_id = lambda created: f"task-unified-{int(created)}-demo{next(counter):04d}"
        if faults:
            sim.faults = FaultPlan.parse(faults)
        return client

    return factory


class Note(NamedTuple):
    message: str
    title: str
    severity: str


class RecordingApp(EvolinkApp):
    """The app, remembering every notification it was asked to show (``notes``), in order.
    ``clear_notifications`` forgets them too."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.notes: list[Note] = []

    def notify(self, message: str, *, title: str = "", severity="information", timeout=None, markup=True) -> None:
        self.notes.append(Note(str(message), str(title), str(severity)))
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def clear_notifications(self) -> None:
        self.notes.clear()
        super().clear_notifications()


def notes_text(app: RecordingApp) -> str:
    """Every notification shown so far, one ``title: message`` a line."""
    return "\n".join(f"{n.title}: {n.message}" for n in app.notes)


def demo_app(
    clock=None,
    *,
    faults: str | None = None,
    demo: bool = True,
    client_factory=None,
    app_class: type[RecordingApp] = RecordingApp,
    **kwargs,
) -> RecordingApp:
    clock = clock if clock is not None else FakeClock(START)
    factory = client_factory or deterministic_client(faults)
    return app_class(load_settings(demo=demo), clock=clock, client_factory=factory, cursor_blink=False, **kwargs)


async def wait_until(pilot, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Let the app run until ``predicate()`` holds (real time, small steps), then until the
    messages already posted are handled and the screen redrawn: the Studio's state moves
    first, the screens follow with the next messages."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await pilot.pause(0.02)
    await pilot.pause()


async def type_text(pilot, text: str) -> None:
    await pilot.press(*[("space" if ch == " " else ch) for ch in text])


async def run_for(pilot, clock: StepClock, seconds: float, step: float = 0.5) -> None:
    """Move a StepClock forward ``seconds``, letting the app work after each step."""
    moved = 0.0
    while moved < seconds:
        clock.advance(step)
        moved += step
        await pilot.pause(0.01)


def finished(app: EvolinkApp, count: int = 1) -> Callable[[], bool]:
    return lambda: (
        len(app.studio.records) >= count
        and all(r.is_finished and (r.files or r.state != "completed") for r in app.studio.records.values())
        and not any(w.is_running for w in app.workers if w.group == "tasks")
    )


async def generate(pilot, request: GenerationRequest, *, count: int = 1, what: str = "the task") -> None:
    """Fill the composer with ``request``, press ctrl+j, and wait until ``count`` tasks are finished."""
    pilot.app.main.composer.fill(request)
    await pilot.press("ctrl+j")
    await wait_until(pilot, finished(pilot.app, count), what=what)


def screen_text(app: EvolinkApp) -> str:
    """What the terminal shows now, as plain text (one line per row)."""
    return app_text(app)


def problems_text(app: EvolinkApp) -> str:
    """The composer's inline problems (the box is mounted with the first one)."""
    found = app.main.query("#problems")
    return str(found.first().content) if found and found.first().display else ""


# -- scenes shared by the snapshot tests and scripts/make_screenshots.py ---------------------------


async def comparison_mid_run(pilot, clock: StepClock) -> None:
    """A two-model comparison run, one result done and one still running."""
    app = pilot.app
    await wait_until(
        pilot, lambda: app.studio.client is not None and bool(app.main.query("#prompt")), what="the client"
    )
    await pilot.pause()
    await type_text(pilot, "a lighthouse at dusk, oil painting")
    app.main.composer.set_models(["gpt-image-1.5", "z-image-turbo"])
    await pilot.press("ctrl+j")
    await wait_until(
        pilot, lambda: len(app.studio.records) == 2 and all(r.task_id for r in app.studio.records.values())
    )
    await run_for(pilot, clock, 3.0)
    await wait_until(pilot, lambda: any(r.state == "processing" for r in app.studio.records.values()))
    from evolink_tui.tui.widgets.thumbnail import ThumbnailView

    # The finished result is drawn before the scene is looked at (a loaded machine decodes late).
    await wait_until(
        pilot,
        lambda: (
            any(r.state == "completed" and r.files for r in app.studio.records.values())
            # (a card whose result is on its way has a view with no source yet)
            and all(view.source is None or view.thumbnail is not None for view in app.screen.query(ThumbnailView))
        ),
        what="the finished result's thumbnail",
    )


async def picker_marking_fast_models(pilot) -> None:
    """The model picker filtered to "fast", two models marked."""
    from evolink_tui.tui.screens.picker import ModelPicker

    await pilot.press("f2")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ModelPicker), what="the picker")
    await type_text(pilot, "fast")
    await pilot.press("down", "space", "down", "down", "space")
    await pilot.pause()


async def viewer_side_by_side(pilot) -> None:
    """Three models' results, finished, in the viewer side by side (every picture drawn)."""
    from evolink_tui.core.validation import GenerationRequest
    from evolink_tui.tui.screens.viewer import ViewerScreen
    from evolink_tui.tui.widgets.picture import Picture

    app = pilot.app
    await wait_until(pilot, lambda: app.studio.client is not None and bool(app.main.query("#prompt")))
    app.main.composer.fill(GenerationRequest("a koi pond seen from above"))
    app.main.composer.set_models(["gpt-image-1.5", "doubao-seedream-4.5", "nano-banana-2-lite"])
    await pilot.press("ctrl+j")
    await wait_until(pilot, finished(app, 3), timeout=30)
    app.main.tasks.focus()
    app.main.tasks.select(min(app.studio.records))
    await wait_until(pilot, lambda: app.main.preview.record_id == min(app.studio.records))
    await pilot.press("enter")
    pictures = lambda: list(app.screen.query(Picture))  # noqa: E731
    await wait_until(
        pilot,
        lambda: isinstance(app.screen, ViewerScreen) and all(p.frame is not None for p in pictures()),
        what="the viewer's pictures",
    )
    app.clear_notifications()
    await pilot.pause()


async def confirm_spend(pilot) -> None:
    """t (or another key that is not Generate) asked before spending credits: say yes."""
    from evolink_tui.tui.screens.confirm import ConfirmScreen

    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen), what="the spend question")
    assert "spends credits" in screen_text(pilot.app)
    await pilot.press("y")
