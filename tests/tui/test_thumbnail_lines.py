"""A thumbnail view draws its lines itself (Textual's styles cache would only hand them back,
at a tenth of a millisecond a line): what reaches the screen must be what the styles cache
makes of the same lines, in colour and under NO_COLOR, whole or in part, and a view that
does have a border or padding still goes through the styles cache."""

from __future__ import annotations

import random

import pytest
from PIL import Image
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.geometry import Region
from textual.widget import Widget

from evolink_tui.core.thumbnails import thumbnail_from_image
from evolink_tui.tui.widgets.thumbnail import ThumbnailView

CSS = """
.card ThumbnailView.-waiting { color: $text-muted; background: $boost; }
#framed { border: round $accent; padding: 0 1; }
"""


class Cards(App):
    CSS = CSS

    def compose(self) -> ComposeResult:
        with Vertical(classes="card"):
            yield ThumbnailView(None, caption="running 37%", classes="-waiting", id="waiting")
        with Vertical(classes="card"):
            yield ThumbnailView(None, id="picture")
        with Vertical(classes="card"):
            yield ThumbnailView(None, caption="framed", id="framed")


def _photo(width: int, rows: int) -> Image.Image:
    noise = random.Random(3).randbytes(width * rows * 2 * 3)
    return Image.frombytes("RGB", (width, rows * 2), noise)


def _cells(strips) -> list[list[tuple[str, object]]]:
    """Each line as (character, style) cells: the same picture however its segments are cut."""
    return [[(ch, seg.style) for seg in strip for ch in seg.text] for strip in strips]


@pytest.mark.parametrize("no_color", [False, True])
async def test_a_views_own_lines_are_what_the_styles_cache_makes_of_them(
    monkeypatch: pytest.MonkeyPatch, no_color: bool
) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    app = Cards()
    async with app.run_test(size=(60, 36)) as pilot:
        picture = app.query_one("#picture", ThumbnailView)
        picture.thumbnail = thumbnail_from_image(_photo(20, 6))
        await pilot.pause()
        for view in app.query(ThumbnailView):
            width, height = view.size
            assert width > 10 and height > 3
            for crop in (Region(0, 0, width, height), Region(3, 1, width - 5, height - 2)):
                own = view.render_lines(crop)
                generic = Widget.render_lines(view, crop)
                assert _cells(own) == _cells(generic), (view.id, crop)
        drawn = _cells(picture.render_lines(Region(0, 0, *picture.size)))
        assert any(ch == "▀" for line in drawn for ch, _ in line)  # the picture itself, not a caption
        framed = app.query_one("#framed", ThumbnailView)
        assert not framed._plain() and app.query_one("#waiting", ThumbnailView)._plain()
