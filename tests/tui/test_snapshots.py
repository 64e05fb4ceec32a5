"""Snapshots of the main screens: fixed size, no blinking cursor, a deterministic simulator
(numbered task ids, seeded images) and clock. Update with ``pytest --snapshot-update`` only
after looking at the report."""

from __future__ import annotations

from evolink_tui.core.validation import GenerationRequest
from evolink_tui.tui.screens.gallery import GalleryScreen
from evolink_tui.tui.widgets.thumbnail import ThumbnailView

from .helpers import (
    StepClock,
    comparison_mid_run,
    demo_app,
    finished,
    generate,
    picker_marking_fast_models,
    type_text,
    viewer_side_by_side,
    wait_until,
)

SIZE = (100, 30)


async def ready(pilot) -> None:
    """The main screen is composed and the client is built."""
    await wait_until(pilot, lambda: pilot.app.studio.client is not None and bool(pilot.app.main.query("#prompt")))
    await pilot.pause()


async def settle(pilot, screen=None) -> None:
    """Every thumbnail drawn, no toast left."""
    app = pilot.app
    root = screen or app.screen
    drawn = lambda v: v.source is None or v.thumbnail is not None  # noqa: E731  (empty gallery cards have none)
    await wait_until(pilot, lambda: all(drawn(v) for v in root.query(ThumbnailView)), what="thumbs")
    # "Saved" notices of tasks finishing together are said a second later, together: wait them out
    await wait_until(pilot, lambda: app.wave.idle, timeout=15, what="the saved notices said")
    app.clear_notifications()
    await pilot.pause()


def test_main_screen_mid_run(snap_compare):
    clock = StepClock()
    app = demo_app(clock)

    async def run_before(pilot):
        await comparison_mid_run(pilot, clock)
        await pilot.pause()
        app.clear_notifications()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_model_picker(snap_compare):
    app = demo_app()

    async def run_before(pilot):
        await ready(pilot)
        await picker_marking_fast_models(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_failed_task(snap_compare):
    app = demo_app(faults="fail:content_policy_violation@submit*1")

    async def run_before(pilot):
        await ready(pilot)
        await type_text(pilot, "a forbidden scene")
        await pilot.press("ctrl+j")
        await wait_until(pilot, finished(app))
        app.main.tasks.focus()
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_gallery(snap_compare):
    app = demo_app()

    async def run_before(pilot):
        await ready(pilot)
        app.main.composer.fill(GenerationRequest("three moons over a desert", model="z-image-turbo", n=2))
        await pilot.press("ctrl+j")
        await generate(pilot, GenerationRequest("a koi pond", model="gpt-image-1.5-lite", size="16:9"), count=2)
        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(app.screen, GalleryScreen))
        await wait_until(pilot, lambda: sum(v.thumbnail is not None for v in app.screen.query(ThumbnailView)) == 3)
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_viewer_side_by_side(snap_compare):
    app = demo_app()

    async def run_before(pilot):
        await viewer_side_by_side(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
