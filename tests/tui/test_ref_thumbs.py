"""The composer's reference list shows a tiny thumbnail beside each name where the picture is
on this machine (issue 12 point 20): a local file, or the downloaded file of a result given
by its URL; nothing for another URL (nothing is fetched to draw it) or a file that is not a
picture. Checked on the cells' colours."""

from __future__ import annotations

from PIL import Image

from evolink_tui.core.validation import GenerationRequest
from evolink_tui.tui.widgets.reflist import RefThumb

from .helpers import demo_app, generate, screen_text, wait_until

RED = (220, 30, 30)


def thumbs(app) -> list[RefThumb]:
    return list(app.main.query(RefThumb))


def cell_colours(app, view: RefThumb) -> set[tuple[tuple, tuple]]:
    """The (top, bottom) colours of the thumbnail's cells as the screen shows them."""
    thumb = view.thumbnail
    assert thumb is not None
    region = view.content_region
    left = region.x + (region.width - thumb.width) // 2
    found = set()
    for row in range(thumb.height):
        for col in range(thumb.width):
            style = app.screen.get_style_at(left + col, region.y + row)
            found.add((tuple(style.color.triplet), tuple(style.bgcolor.triplet)))
    return found


def near(colour: tuple, target: tuple, tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, target, strict=True))


async def test_a_local_picture_gets_a_thumbnail_and_a_url_or_a_non_picture_none(tmp_path):
    picture = tmp_path / "red fox.png"
    Image.new("RGB", (96, 64), RED).save(picture)
    not_a_picture = tmp_path / "notes.png"
    not_a_picture.write_text("not an image")
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: bool(app.main.query("#ref-input")), what="the composer")
        composer = app.main.composer
        composer.set_models(["gpt-image-1.5"])
        for ref in (str(picture), "https://pictures.example/cat.png", str(not_a_picture)):
            assert composer.add_reference(ref)
        await wait_until(pilot, lambda: len(thumbs(app)) == 3, what="three rows")
        local, url, broken = thumbs(app)
        await wait_until(pilot, lambda: local.thumbnail is not None, what="the thumbnail decoded")
        await pilot.pause()
        cells = cell_colours(app, local)
        assert cells and all(near(top, RED) and near(bottom, RED) for top, bottom in cells), cells
        assert local.region.width == 4 and local.region.height == 1  # tiny: one row at 80x24
        assert url.source is None and url.thumbnail is None  # a URL not on disk: nothing fetched
        await wait_until(pilot, lambda: broken.unreadable, what="the non-picture tried")
        await pilot.pause()
        region = broken.region
        drawn = screen_text(app).splitlines()[region.y][region.x : region.right]
        assert broken.thumbnail is None and drawn.strip() == "", drawn  # blank, not words cut short
        text = screen_text(app)
        assert "red fox.png" in text and "cat.png" in text and "notes.png" in text  # the names stay


async def test_a_result_given_by_its_url_shows_its_downloaded_file():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await generate(pilot, GenerationRequest("a lighthouse", model="gpt-image-1.5"))
        [record] = app.studio.records.values()
        assert record.results[0].startswith("http") and record.files
        app.main.composer.add_reference(record.results[0])
        await wait_until(pilot, lambda: len(thumbs(app)) == 1, what="the row")
        [view] = thumbs(app)
        assert str(view.source) == record.files[0]
        await wait_until(pilot, lambda: view.thumbnail is not None, what="the thumbnail decoded")
        assert cell_colours(app, view)
