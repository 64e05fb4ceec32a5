"""Themes that follow the terminal: Textual's ansi-dark and ansi-light work through a whole
generation (task list, preview, thumbnails), and a terminal of 8 or 16 colours starts in
ansi-dark without saving it; thumbnails show the same pixels in every theme."""

from __future__ import annotations

import pytest

from evolink_tui.core.config import read_config_file
from evolink_tui.tui.widgets.thumbnail import ThumbnailView

from .helpers import demo_app, finished, notes_text, screen_text, type_text, wait_until


async def generate_and_read_thumbnail(app) -> tuple[str, dict[tuple[int, int], tuple]]:
    """Generate once: the theme, and the colours (top pixel, bottom pixel) of every cell of
    the first thumbnail, by position in the picture."""
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.studio.client is not None, what="the client")
        await type_text(pilot, "a red fox in the snow")
        await pilot.press("ctrl+j")
        await wait_until(pilot, finished(app), what="the task done")
        await wait_until(
            pilot,
            lambda: any(v.thumbnail is not None for v in app.screen.query(ThumbnailView)),
            what="the thumbnail",
        )
        await pilot.pause()
        assert "done" in screen_text(app)
        view = next(v for v in app.screen.query(ThumbnailView) if v.thumbnail is not None)
        thumbnail = view.thumbnail
        region = view.content_region
        left = region.x + (region.width - thumbnail.width) // 2
        cells = {}
        for row in range(thumbnail.height):
            for col in range(thumbnail.width):
                style = app.screen.get_style_at(left + col, region.y + row)
                cells[col, row] = (style.color.triplet, style.bgcolor.triplet)
        theme = app.theme
    assert "went wrong" not in notes_text(app) and "failed to show" not in notes_text(app)
    return theme, cells


def save_theme(isolated_env, theme: str) -> None:
    config = isolated_env["config"]
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'theme = "{theme}"\n')


@pytest.mark.parametrize("theme", ["ansi-dark", "ansi-light"])
async def test_an_ansi_theme_runs_a_generation_and_shows_the_same_thumbnail(isolated_env, theme, monkeypatch, tmp_path):
    theme_before, reference = await generate_and_read_thumbnail(demo_app())
    assert theme_before == "textual-dark"
    assert len(reference) > 50 and all(top and bottom for top, bottom in reference.values())  # truecolor pixels
    assert len(set(reference.values())) > 10  # a picture, not a flat colour
    # the same task again, in the ANSI theme, from a fresh history and demo server
    monkeypatch.setenv("EVOLINK_TUI_DATA_DIR", str(tmp_path / "data-2"))
    monkeypatch.setenv("EVOLINK_DOWNLOAD_DIR", str(tmp_path / "downloads-2"))
    save_theme(isolated_env, theme)
    theme_after, cells = await generate_and_read_thumbnail(demo_app())
    assert theme_after == theme
    assert cells == reference


async def test_a_16_colour_terminal_starts_in_ansi_dark_without_saving_it(isolated_env, monkeypatch):
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.delenv("COLORTERM")
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.console.color_system == "standard"
        assert app.theme == "ansi-dark"
    assert "theme" not in read_config_file(isolated_env["config"])[0]

    monkeypatch.setenv("TERM", "xterm-256color")  # 256 colours: textual-dark, as before
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.theme == "textual-dark"

    save_theme(isolated_env, "nord")  # a theme the user chose always wins
    monkeypatch.setenv("TERM", "xterm")
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.theme == "nord"
