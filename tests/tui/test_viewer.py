"""The viewer: opened from the task list, the preview and the palette; stepping, compare,
zoom and pan (real detail from the original file), esc back with the selection kept, and
the result actions; half-block cells checked on screen colours."""

from __future__ import annotations

from pathlib import Path

from evolink_tui.tui.screens.viewer import Pane, ViewerScreen, open_viewer
from evolink_tui.tui.widgets.picture import Picture
from evolink_tui.tui.widgets.preview import Preview

from .helpers import demo_app, finished, screen_text, type_text, wait_until


async def generate(pilot, prompt: str, models: list[str]) -> None:
    app = pilot.app
    before = len(app.studio.records)
    await wait_until(pilot, lambda: app.studio.client is not None, what="the client")
    await type_text(pilot, prompt)
    app.main.composer.set_models(models)
    await pilot.press("ctrl+j")
    await wait_until(pilot, finished(app, before + len(models)), what="finished")


def viewer(app) -> ViewerScreen:
    assert isinstance(app.screen, ViewerScreen), type(app.screen)
    return app.screen


def shown_pictures(app) -> list[Picture]:
    return [pane.picture for pane in app.screen.query(Pane) if pane.display]


async def frames_shown(pilot, count: int) -> None:
    app = pilot.app
    await wait_until(
        pilot,
        lambda: (
            isinstance(app.screen, ViewerScreen)
            and len(shown_pictures(app)) == count
            and all(p.frame is not None for p in shown_pictures(app))
        ),
        what=f"{count} pictures",
    )


async def test_enter_on_a_task_opens_it_full_size_and_esc_comes_back_to_it():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await generate(pilot, "a red kite", ["z-image-turbo"])
        await generate(pilot, "a blue boat", ["z-image-turbo"])
        tasks = app.main.tasks
        tasks.focus()
        await pilot.press("down")  # the older task: "a red kite"
        await wait_until(pilot, lambda: app.main.preview.record_id == min(app.studio.records), what="preview")
        selected = tasks.selected_id
        await pilot.press("enter")
        await frames_shown(pilot, 1)
        text = screen_text(app)
        assert "z-image-turbo" in text and "a red kite" in text and "done" in text and "96x96" in text
        picture = shown_pictures(app)[0]
        # As large as the screen allows: a square image spans the full height between the
        # caption and the key bar.
        assert picture.frame.layout.rows == 30 - 2
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.main, what="back")
        assert tasks.selected_id == selected
        assert app.focused is tasks


async def test_arrows_step_through_results_home_and_end():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await generate(pilot, "first", ["z-image-turbo"])
        await generate(pilot, "second", ["z-image-turbo"])
        await generate(pilot, "third", ["z-image-turbo"])
        app.main.tasks.focus()
        await pilot.press("v")  # the newest task
        await frames_shown(pilot, 1)
        screen = viewer(app)
        assert "third" in screen_text(app) and "1/3" in screen_text(app)
        await pilot.press("right")
        await wait_until(pilot, lambda: "second" in screen_text(app), what="stepped")
        assert "2/3" in screen_text(app)
        await pilot.press("end")
        await wait_until(pilot, lambda: "first" in screen_text(app), what="last")
        await pilot.press("right")  # past the end: stays
        await pilot.pause()
        assert screen.index == 2
        await pilot.press("home")
        await wait_until(pilot, lambda: "third" in screen_text(app), what="first")
        newest = app.studio.records[max(app.studio.records)]
        assert [p.source for p in shown_pictures(app)] == [Path(newest.files[0])]


async def test_open_viewer_with_nothing_says_so():
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        open_viewer(app, [])
        await pilot.pause()
        assert app.screen is app.main
        assert "No result to view" in app.notes[-1].message


async def test_a_preview_card_opens_that_result():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await generate(pilot, "two kinds", ["z-image-turbo", "nano-banana-2-lite"])
        preview = app.main.query_one(Preview)
        preview.focus()
        first = preview.selected
        await pilot.press("right")  # the other card
        chosen = preview.selected
        assert chosen != first
        model = app.studio.records[chosen.record_id].model
        await pilot.press("enter")
        await frames_shown(pilot, 1)  # one-up: the card chosen, not the comparison
        assert model in screen_text(app).splitlines()[0]
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.main, what="back")
        assert app.focused is preview and preview.selected == chosen
