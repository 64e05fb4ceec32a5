"""The preview uses the space it has: thumbnails grow with the terminal, a comparison of three
is not squeezed at 160x50, the prompt box takes the rows its prompt needs (issue 13)."""

from __future__ import annotations

import pytest
from textual.widgets import TextArea

from evolink_tui.tui.widgets.thumbnail import ThumbnailView

from .helpers import demo_app, finished, type_text, wait_until

THREE = ["z-image-turbo", "nano-banana-2-lite", "gpt-image-1.5"]


async def comparison(pilot, prompt: str = "three ways") -> list[ThumbnailView]:
    app = pilot.app
    await wait_until(pilot, lambda: app.studio.client is not None, what="the client")
    await type_text(pilot, prompt)
    app.main.composer.set_models(THREE)
    await pilot.press("ctrl+j")
    await wait_until(pilot, finished(app, 3), what="finished")
    views = lambda: list(app.main.preview.query(ThumbnailView))  # noqa: E731
    await wait_until(pilot, lambda: len(views()) == 3 and all(v.thumbnail for v in views()), what="thumbnails")
    return views()


@pytest.mark.parametrize(
    ("size", "least"),
    [((160, 50), (40, 20)), ((100, 30), (16, 8)), ((80, 24), (11, 6))],
)
async def test_three_thumbnails_grow_with_the_terminal(size, least):
    app = demo_app()
    async with app.run_test(size=size) as pilot:
        views = await comparison(pilot)
        for view in views:
            thumbnail = view.thumbnail
            assert thumbnail is not None
            # The simulator's images are square: the width in cells is the image's width.
            shown = (thumbnail.width, thumbnail.height)
            assert shown[0] >= least[0] and shown[1] >= least[1], (size, shown)
            assert view.size.width >= least[0]


async def test_the_prompt_box_takes_the_rows_its_prompt_needs_at_160x50():
    app = demo_app()
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: app.studio.client is not None, what="the client")
        prompt = app.main.query_one("#prompt", TextArea)
        assert prompt.size.height <= 3  # empty: three rows, not 35
        app.main.composer.set_prompt("word " * 200)  # about 18 rows of text at this width
        await pilot.pause()
        await wait_until(pilot, lambda: prompt.size.height == 12, what="grown to its limit")
        app.main.composer.set_prompt("one line")
        await wait_until(pilot, lambda: prompt.size.height <= 3, what="shrunk again")
