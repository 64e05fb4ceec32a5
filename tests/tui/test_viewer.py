"""The viewer: opened from the task list, the preview and the palette; stepping, compare,
zoom and pan (real detail from the original file), esc back with the selection kept, and
the result actions; half-block cells checked on screen colours."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from textual import events

from evolink_tui.core.graphics import CellSize, TerminalGraphics, active, set_active
from evolink_tui.core.graphics.tmux import START as TMUX_START
from evolink_tui.core.validation import GenerationRequest
from evolink_tui.tui.screens.sidecar import SidecarScreen
from evolink_tui.tui.screens.viewer import Pane, ViewerScreen, open_viewer
from evolink_tui.tui.widgets.picture import Picture
from evolink_tui.tui.widgets.preview import Preview

from ..graphics_decode import kitty_commands, kitty_images, unwrap_all
from ..test_graphics import BLUE, GREEN, RED, WHITE, quadrants
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


def colours(app, x: int, y: int) -> tuple[tuple, tuple]:
    style = app.screen.get_style_at(x, y)
    return tuple(style.color.triplet), tuple(style.bgcolor.triplet)


async def test_half_blocks_fill_the_screen_with_the_quadrants_in_place():
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await generate(pilot, "four colours", ["z-image-turbo"])
        record = app.studio.records[max(app.studio.records)]
        quadrants(400, 400).save(record.files[0])
        app.main.tasks.focus()
        await pilot.press("v")
        await frames_shown(pilot, 1)
        layout = shown_pictures(app)[0].frame.layout
        # Between the caption and the key bar: 38 rows of two pixels, as wide as it is tall.
        assert (layout.rows, layout.cols) == (38, 76)
        left, top = layout.left, 1
        for (x, y), colour in {
            (left + 10, top + 5): RED,
            (left + 66, top + 5): GREEN,
            (left + 10, top + 33): BLUE,
            (left + 66, top + 33): WHITE,
        }.items():
            assert colours(app, x, y) == (colour, colour), (x, y)
        # The image fills over half of the screen's cells.
        assert layout.rows * layout.cols > 120 * 40 / 2


async def test_zoom_shows_detail_from_the_original_file_and_arrows_pan():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await generate(pilot, "a dot", ["z-image-turbo"])
        record = app.studio.records[max(app.studio.records)]
        # A white 600x600 image with a 6-pixel red dot at its centre: at fit (56 half-block
        # pixels tall) the dot is a tenth of a pixel and blends away; at native size it is
        # three cells of solid red. The thumbnail could not show it.
        image = Image.new("RGB", (600, 600), WHITE)
        image.paste(RED, (297, 297, 303, 303))
        image.save(record.files[0])
        app.main.tasks.focus()
        await pilot.press("v")
        await frames_shown(pilot, 1)
        picture = shown_pictures(app)[0]
        centre_x = picture.content_region.x + picture.frame.layout.left + picture.frame.layout.cols // 2
        centre_y = picture.content_region.y + picture.frame.layout.top + picture.frame.layout.rows // 2
        assert RED not in colours(app, centre_x, centre_y)
        frame = picture.frame
        while picture.zoom < picture.max_zoom:
            await pilot.press("plus")
            await wait_until(pilot, lambda f=frame: picture.frame is not f, what="zoomed frame")
            frame = picture.frame
        assert picture.max_zoom > 5
        assert "zoom" in screen_text(app).splitlines()[0]
        assert RED in colours(app, centre_x, centre_y)
        # Panned right, the dot leaves the centre; 0 fits again.
        await pilot.press("right")
        await wait_until(pilot, lambda: picture.frame is not frame, what="panned frame")
        assert RED not in colours(app, centre_x, centre_y)
        assert viewer(app).index == 0  # zoomed in, the arrow panned rather than stepped
        await pilot.press("0")
        await wait_until(pilot, lambda: picture.zoom == 1.0 and picture.frame.layout.view.zoom == 1.0, what="fit")
        assert "zoom" not in screen_text(app).splitlines()[0]


async def test_the_mouse_wheel_zooms():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await generate(pilot, "wheel", ["z-image-turbo"])
        Image.new("RGB", (600, 600), WHITE).save(app.studio.records[1].files[0])
        app.main.tasks.focus()
        await pilot.press("v")
        await frames_shown(pilot, 1)
        picture = shown_pictures(app)[0]
        region = picture.region
        x, y = region.x + region.width // 2, region.y + region.height // 2
        picture.post_message(events.MouseScrollUp(picture, 0, 0, 0, -1, 0, False, False, False, x, y))
        await wait_until(pilot, lambda: picture.zoom > 1.0, what="wheel zoom")
        picture.post_message(events.MouseScrollDown(picture, 0, 0, 0, 1, 0, False, False, False, x, y))
        await wait_until(pilot, lambda: picture.zoom == 1.0, what="wheel zoom out")


async def test_a_comparison_opens_side_by_side_and_enter_goes_one_up_on_the_chosen():
    app = demo_app()
    models = ["z-image-turbo", "nano-banana-2-lite", "gpt-image-1.5"]
    async with app.run_test(size=(160, 50)) as pilot:
        await generate(pilot, "three ways", models)
        app.main.tasks.focus()
        first = min(app.studio.records)
        app.main.tasks.select(first)
        await wait_until(pilot, lambda: app.main.preview.record_id == first, what="preview")
        await pilot.press("enter")
        await frames_shown(pilot, 3)
        screen = viewer(app)
        pictures = shown_pictures(app)
        # Each as large as its share allows: a third of the width each, nearly full height.
        assert all(p.content_size.width >= 50 and p.content_size.height >= 40 for p in pictures)
        labels = [str(pane.query_one(".viewer-label").render()) for pane in screen.query(Pane) if pane.display]
        assert [label.split(" ")[0] for label in labels] == models
        records = [app.studio.records[i] for i in sorted(app.studio.records)]
        assert [p.source for p in pictures] == [Path(r.files[0]) for r in records]
        await pilot.press("right", "right")  # choose the third
        await pilot.pause()
        assert screen.index == 2 and len(shown_pictures(app)) == 3
        assert "gpt-image-1.5" in screen_text(app).splitlines()[0]
        await pilot.press("enter")
        await frames_shown(pilot, 1)
        assert shown_pictures(app)[0].source == Path(app.studio.records[max(app.studio.records)].files[0])
        assert shown_pictures(app)[0].content_size.width > 100
        await pilot.press("x")  # and back side by side
        await frames_shown(pilot, 3)


async def test_the_result_actions_work_in_the_viewer(monkeypatch):
    app = demo_app()
    copied: list[str] = []
    monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
    async with app.run_test(size=(100, 30)) as pilot:
        await generate(pilot, "a harbour at noon", ["z-image-turbo"])
        record = app.studio.records[max(app.studio.records)]
        app.main.tasks.focus()
        await pilot.press("v")
        await frames_shown(pilot, 1)
        await pilot.press("c")
        assert copied[-1] == record.files[0]
        await pilot.press("u")
        assert copied[-1] == record.results[0]
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, SidecarScreen), what="sidecar")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ViewerScreen), what="viewer again")
        await pilot.press("f")
        await wait_until(pilot, lambda: app.screen is app.main, what="main")
        assert record.files[0] in app.main.composer.references
        open_viewer(app, [(record.id, 0)])
        await frames_shown(pilot, 1)
        app.main.composer.set_prompt("")
        await pilot.press("r")
        await wait_until(pilot, lambda: app.main.composer.prompt == "a harbour at noon", what="regenerate refill")
        assert app.screen is app.main


async def test_view_result_from_the_palette():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await generate(pilot, "palette", ["z-image-turbo"])
        await app.run_command("view_result")
        await frames_shown(pilot, 1)
        assert "palette" in screen_text(app).splitlines()[0]


async def test_with_kitty_in_tmux_the_compared_pictures_travel_wrapped_and_decode_to_the_results():
    app = demo_app()
    before = active()
    set_active(TerminalGraphics("kitty", CellSize(10, 20), True, tmux=True))
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await generate(pilot, "in tmux", ["z-image-turbo", "nano-banana-2-lite"])
            app.main.tasks.focus()
            await pilot.press("enter")
            await frames_shown(pilot, 2)
            await wait_until(pilot, lambda: all(p.frame.sent for p in shown_pictures(app)), what="sent")
            for picture in shown_pictures(app):
                frame = picture.frame
                assert frame.method == "kitty" and frame.escapes.startswith(TMUX_START)
                assert not kitty_commands(frame.escapes)  # nothing bare: all inside tmux's wrapper
                sent = kitty_images(unwrap_all(frame.escapes))[frame.image_id]
                with Image.open(picture.source) as original:
                    expected = original.convert("RGB").resize(sent.size)
                # The pixels sent are the result's own (the simulator's 96x96 image).
                assert sent.getpixel((20, 20)) == expected.getpixel((20, 20))
                assert sent.getpixel((70, 60)) == expected.getpixel((70, 60))
    finally:
        set_active(before)


async def test_x_compares_a_tasks_own_results_not_its_neighbours():
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await generate(pilot, "alone", ["z-image-turbo"])
        await wait_until(pilot, lambda: app.studio.client is not None, what="the client")
        app.main.composer.fill(GenerationRequest("two of them", model="z-image-turbo", n=2))
        await pilot.press("ctrl+j")
        await wait_until(pilot, finished(app, 2), what="finished")
        newest = app.studio.records[max(app.studio.records)]
        assert len(newest.files) == 2
        app.main.tasks.focus()
        await pilot.press("v")  # one-up: the newest task's first result
        await frames_shown(pilot, 1)
        await pilot.press("x")
        await frames_shown(pilot, 2)  # its two results, not the other task's as well
        assert [p.source for p in shown_pictures(app)] == [Path(f) for f in newest.files]
