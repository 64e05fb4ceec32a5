"""Thumbnails: pixels to half-block cells (core), and the widget that draws them."""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PIL import Image
from rich.color import ColorSystem
from rich.console import Console
from textual.app import App, ComposeResult
from textual.worker import WorkerCancelled

from evolink_tui.core import thumbnails
from evolink_tui.core.thumbnails import (
    MAX_PIXELS,
    Thumbnail,
    ThumbnailCache,
    cached_thumbnail,
    key_for,
    make_thumbnail,
    palette_rgb,
    to_256,
)
from evolink_tui.tui.widgets.thumbnail import UNREADABLE, ThumbnailView, raster_strips, thumbnail_strips

from .support import app_cells

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def quadrants(size: int = 64) -> Image.Image:
    """Top-left red, top-right green, bottom-left blue, bottom-right white."""
    image = Image.new("RGB", (size, size))
    half = size // 2
    image.paste(RED, (0, 0, half, half))
    image.paste(GREEN, (half, 0, size, half))
    image.paste(BLUE, (0, half, half, size))
    image.paste(WHITE, (half, half, size, size))
    return image


@pytest.fixture
def png(tmp_path: Path) -> Path:
    path = tmp_path / "quads.png"
    quadrants().save(path, "PNG")
    return path


@pytest.fixture
def jpeg(tmp_path: Path) -> Path:
    path = tmp_path / "quads.jpg"
    quadrants().save(path, "JPEG", quality=90)
    return path


def close(actual, expected, tolerance: int) -> bool:
    return actual is not None and all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=False))


def assert_quadrants(thumb: Thumbnail, tolerance: int) -> None:
    """Sample a cell a quarter of the way in from each corner, top and bottom pixel."""
    w, h = thumb.width, thumb.height
    for (x, y), colour in {
        (w // 4, h // 4): RED,
        (3 * w // 4, h // 4): GREEN,
        (w // 4, 3 * h // 4): BLUE,
        (3 * w // 4, 3 * h // 4): WHITE,
    }.items():
        top, bottom = thumb.cells[y][x]
        assert close(top, colour, tolerance), (x, y, top, colour)
        assert close(bottom, colour, tolerance), (x, y, bottom, colour)


# --- core ------------------------------------------------------------------------------


def test_core_never_imports_textual_or_rich_and_defers_pillow() -> None:
    code = (
        "import sys, evolink_tui.core.thumbnails as t;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'PIL'));"
        "print(','.join(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


@pytest.mark.parametrize("kind, tolerance", [("png", 0), ("jpeg", 24)])
def test_quadrant_colours(kind: str, tolerance: int, request: pytest.FixtureRequest) -> None:
    path = request.getfixturevalue(kind)
    thumb = make_thumbnail(path, 16, 8)
    assert (thumb.width, thumb.height) == (16, 8)  # 64x64 into 16x16 pixels
    assert len(thumb.cells) == 8 and all(len(row) == 16 for row in thumb.cells)
    assert_quadrants(thumb, tolerance)
    assert (thumb.image_width, thumb.image_height) == (64, 64)
    assert thumb.source == str(path)
    assert thumb.size == path.stat().st_size


def test_bytes_source(png: Path) -> None:
    thumb = make_thumbnail(png.read_bytes(), 8, 4)
    assert thumb.source == "" and (thumb.width, thumb.height) == (8, 4)
    assert_quadrants(thumb, 0)


def test_aspect_ratio_wide_and_tall() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (400, 200), RED).save(buffer, "PNG")
    wide = make_thumbnail(buffer.getvalue(), 40, 40)
    # 2:1 fills the width: 40 pixels wide, 20 pixels tall = 10 cell rows.
    assert (wide.width, wide.pixel_height, wide.height) == (40, 20, 10)
    assert wide.width == 2 * wide.pixel_height

    buffer = io.BytesIO()
    Image.new("RGB", (100, 400), RED).save(buffer, "PNG")
    tall = make_thumbnail(buffer.getvalue(), 40, 10)  # 20 pixels tall is the limit
    assert (tall.width, tall.pixel_height, tall.height) == (5, 20, 10)


def test_small_images_are_not_enlarged_and_odd_heights_leave_the_last_bottom_empty() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (6, 5), GREEN).save(buffer, "PNG")
    thumb = make_thumbnail(buffer.getvalue(), 80, 40)
    assert (thumb.width, thumb.pixel_height, thumb.height) == (6, 5, 3)
    assert thumb.cells[0][0] == (GREEN, GREEN)
    assert thumb.cells[2][0] == (GREEN, None)
    assert thumb.is_full_size()


def test_alpha_is_composited_over_dark_background() -> None:
    image = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    image.paste((0, 0, 255, 255), (0, 0, 4, 8))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    thumb = make_thumbnail(buffer.getvalue(), 8, 4)
    assert thumb.cells[0][0] == (BLUE, BLUE)
    assert thumb.cells[0][7] == (thumbnails.BACKGROUND, thumbnails.BACKGROUND)


def test_palette_and_sixteen_bit_images() -> None:
    buffer = io.BytesIO()
    quadrants(16).convert("P").save(buffer, "PNG")
    assert_quadrants(make_thumbnail(buffer.getvalue(), 16, 8), 0)

    buffer = io.BytesIO()
    Image.new("I;16", (4, 4), 32896).save(buffer, "PNG")  # 32896 / 257 = 128
    top, bottom = make_thumbnail(buffer.getvalue(), 4, 2).cells[0][0]
    assert close(top, (128, 128, 128), 1) and close(bottom, (128, 128, 128), 1)


def test_exif_orientation_is_applied() -> None:
    image = Image.new("RGB", (40, 20), RED)
    image.paste(BLUE, (0, 0, 20, 20))  # blue left half
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to view"
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=95)
    thumb = make_thumbnail(buffer.getvalue(), 40, 40)
    assert (thumb.image_width, thumb.image_height) == (20, 40)
    assert (thumb.width, thumb.pixel_height) == (20, 40)
    assert close(thumb.cells[2][10][0], BLUE, 40)  # the left half is now on top
    assert close(thumb.cells[17][10][0], RED, 40)


def test_refit_without_decoding(png: Path) -> None:
    thumb = make_thumbnail(png, 32, 16)
    smaller = thumb.fit(8, 2)
    assert (smaller.width, smaller.height) == (4, 2)
    assert smaller.fit(8, 2) is smaller
    assert_quadrants(smaller, 0)


def test_decompression_bomb_is_refused(tmp_path: Path) -> None:
    # A header that claims 8000x8000 (64 Mpx) decodes nothing: 1-bit and tiny on disk.
    path = tmp_path / "bomb.png"
    Image.new("1", (8000, 8000)).save(path, "PNG")
    assert path.stat().st_size < 100_000 and 8000 * 8000 > MAX_PIXELS
    with pytest.raises(ValueError, match="too large"):
        make_thumbnail(path, 64, 32)


def test_bad_input() -> None:
    with pytest.raises(OSError):  # PIL.UnidentifiedImageError
        make_thumbnail(b"not an image", 10, 10)
    with pytest.raises(ValueError):
        make_thumbnail(b"", 0, 10)


def test_cache_decodes_once_per_file_state(png: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    decodes = []
    real = thumbnails.make_thumbnail

    def counting(source, cols, rows):
        decodes.append((source, cols, rows))
        return real(source, cols, rows)

    monkeypatch.setattr(thumbnails, "make_thumbnail", counting)
    cache = ThumbnailCache(capacity=2)
    first = cached_thumbnail(png, 16, 8, cache)
    assert cached_thumbnail(png, 16, 8, cache) is first
    assert len(decodes) == 1

    cached_thumbnail(png, 8, 4, cache)  # another budget is another entry
    assert len(decodes) == 2

    stat = png.stat()
    os.utime(png, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert cached_thumbnail(png, 16, 8, cache) is not first  # the file changed
    assert len(decodes) == 3
    assert len(cache) == 2  # LRU capacity holds


def test_cache_key_and_lru(png: Path) -> None:
    key = key_for(png, 10, 5)
    assert key[0] == str(png.resolve()) and key[3:] == (10, 5)
    assert ThumbnailCache.key_for(png, 10, 5) == key
    cache = ThumbnailCache(capacity=2)
    a, b, c = (make_thumbnail(png, n, n) for n in (2, 3, 4))
    cache.put("a", a)
    cache.put("b", b)
    assert cache.get("a") is a  # "a" is now the most recent
    cache.put("c", c)
    assert cache.get("b") is None and cache.get("a") is a and cache.get("c") is c


def test_cache_is_thread_safe(png: Path) -> None:
    cache = ThumbnailCache(capacity=8)
    thumb = make_thumbnail(png, 4, 2)
    errors = []

    def hammer(offset: int) -> None:
        try:
            for i in range(2000):
                cache.put((offset, i % 20), thumb)
                cache.get((offset, (i * 7) % 20))
        except Exception as error:  # pragma: no cover - the failure being tested for
            errors.append(error)

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(cache) == 8


@pytest.mark.parametrize(
    "rgb, index",
    [
        ((0, 0, 0), 16),
        ((255, 0, 0), 196),
        ((0, 255, 0), 46),
        ((0, 0, 255), 21),
        ((255, 255, 255), 231),
        ((255, 255, 0), 226),
        ((95, 135, 175), 67),
        ((8, 8, 8), 232),
        ((128, 128, 128), 244),
        ((238, 238, 238), 255),
        ((120, 110, 100), 242),  # nearly grey: the ramp beats the cube
    ],
)
def test_to_256(rgb, index) -> None:
    assert to_256(rgb) == index


def test_to_256_round_trips_every_palette_colour() -> None:
    for index in range(16, 256):
        rgb = palette_rgb(index)
        assert palette_rgb(to_256(rgb)) == rgb, index


# --- widget ----------------------------------------------------------------------------


def cell_colours(strip) -> list[tuple]:
    """(top, bottom) RGB per cell of a rendered strip, None where there is no colour."""
    cells = []
    for segment in strip:
        style = segment.style
        top = style.color.triplet if style and style.color else None
        bottom = style.bgcolor.triplet if style and style.bgcolor else None
        pair = (tuple(top) if top else None, tuple(bottom) if bottom else None)
        cells.extend([pair] * len(segment.text))
    return cells


def test_strips_merge_runs_and_draw_half_blocks(png: Path) -> None:
    thumb = make_thumbnail(png, 16, 8)
    strips = thumbnail_strips(thumb)
    assert len(strips) == 8 and all(strip.cell_length == 16 for strip in strips)
    assert len(list(strips[0])) == 2  # a red run and a green run
    assert "".join(segment.text for segment in strips[0]) == "▀" * 16


@pytest.mark.parametrize("size", [(16, 8), (7, 5)])  # an odd pixel row: the last row's cells have no bottom
def test_strips_from_a_raster_are_those_from_its_cells(size: tuple[int, int]) -> None:
    """The viewer builds its strips straight from the pixels; they must be the cells' own."""
    rng = random.Random(13)
    width, height = size
    image = Image.new("RGB", size)
    image.putdata([rng.choice([(255, 0, 0), (0, 0, 255), (rng.randrange(256), 7, 9)]) for _ in range(width * height)])
    from_cells = thumbnail_strips(thumbnails.thumbnail_from_image(image))
    from_raster = raster_strips(width, height, image.tobytes())
    assert [list(strip) for strip in from_raster] == [list(strip) for strip in from_cells]
    assert [strip.cell_length for strip in from_raster] == [width] * len(from_cells)


def test_256_colour_terminals_get_palette_codes(png: Path) -> None:
    """Rich's downgrade turns the truecolor styles into palette codes on its own."""
    strip = thumbnail_strips(make_thumbnail(png, 16, 8))[0]
    console = Console(color_system="256", force_terminal=True, file=io.StringIO())
    assert console._color_system == ColorSystem.EIGHT_BIT
    ansi = strip.render(console)
    assert "38;5;196" in ansi and "48;5;46" in ansi and "38;2;" not in ansi


class ThumbApp(App):
    def __init__(self, view: ThumbnailView) -> None:
        super().__init__()
        self.view = view
        self.seen: list[str] = []

    def compose(self) -> ComposeResult:
        yield self.view

    def on_thumbnail_view_loaded(self, message: ThumbnailView.Loaded) -> None:
        self.seen.append("loaded")

    def on_thumbnail_view_failed(self, message: ThumbnailView.Failed) -> None:
        self.seen.append("failed")


async def settle(pilot) -> None:
    """Wait for the decode workers. ``workers.wait_for_complete()`` raises
    WorkerCancelled when an exclusive worker was superseded, so wait one by one."""
    for worker in list(pilot.app.workers):
        try:
            await worker.wait()
        except WorkerCancelled:
            pass
    await pilot.pause()


def visible_cells(view: ThumbnailView) -> dict[tuple[int, int], tuple]:
    """(x, y) -> (top, bottom) for every half-block cell the view renders."""
    width, height = view.size
    grid = {}
    for y in range(height):
        strip = view.render_line(y)
        assert strip.cell_length == width
        chars = "".join(segment.text for segment in strip)
        for x, (char, pair) in enumerate(zip(chars, cell_colours(strip), strict=False)):
            if char == "▀":
                grid[x, y] = pair
    return grid


async def test_view_draws_quadrants_centred(png: Path) -> None:
    view = ThumbnailView(png, cache=ThumbnailCache())
    app = ThumbApp(view)
    async with app.run_test(size=(40, 20)) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert app.seen == ["loaded"]
        thumb = view.thumbnail
        assert thumb is not None and (thumb.width, thumb.height) == (40, 20)

        grid = visible_cells(view)
        assert len(grid) == 40 * 20
        assert grid[5, 3] == (RED, RED)
        assert grid[35, 3] == (GREEN, GREEN)
        assert grid[5, 17] == (BLUE, BLUE)
        assert grid[35, 17] == (WHITE, WHITE)

        # What reaches the screen (as Textual exports it): the same half blocks and colours.
        screen = app_cells(pilot.app)
        for (x, y), colour in {(5, 3): RED, (35, 3): GREEN, (5, 17): BLUE, (35, 17): WHITE}.items():
            assert screen[y][x] == ("▀", colour, colour)


async def test_view_centres_and_refits_on_resize(png: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    decodes = []
    real = thumbnails.make_thumbnail
    monkeypatch.setattr(thumbnails, "make_thumbnail", lambda *a: decodes.append(a[1:]) or real(*a))
    view = ThumbnailView(png, cache=ThumbnailCache())
    app = ThumbApp(view)
    async with app.run_test(size=(40, 20)) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert decodes == [(40, 20)]

        await pilot.resize_terminal(30, 10)  # shrink: refit the raster, no decode
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert decodes == [(40, 20)]
        thumb = view.thumbnail
        assert (thumb.width, thumb.height) == (20, 10)
        grid = visible_cells(view)
        xs = sorted({x for x, _ in grid})
        assert (xs[0], xs[-1]) == (5, 24)  # centred in 30 columns
        assert grid[6, 1][0] == RED and grid[23, 8][0] == WHITE

        await pilot.resize_terminal(60, 30)  # grow past the decode: decode again
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert decodes[-1] == (60, 30)
        assert (view.thumbnail.width, view.thumbnail.height) == (60, 30)


async def test_thumbnail_can_be_set_directly_and_wide_images_centre_vertically(png: Path) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 8), BLUE).save(buffer, "PNG")
    thumb = make_thumbnail(buffer.getvalue(), 40, 20)  # 40x4 cells
    view = ThumbnailView()
    app = ThumbApp(view)
    async with app.run_test(size=(40, 20)) as pilot:
        view.thumbnail = thumb
        await pilot.pause()
        rows = sorted({y for _, y in visible_cells(view)})
        assert rows == [8, 9, 10, 11]


async def test_unreadable_file_shows_inert_text(tmp_path: Path) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n[/bold] not really")  # markup-ish, never parsed
    view = ThumbnailView(path, cache=ThumbnailCache())
    app = ThumbApp(view)
    async with app.run_test(size=(40, 20)) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert app.seen == ["failed"]
        assert view.thumbnail is None
        text = "".join("".join(s.text for s in view.render_line(y)) for y in range(20))
        assert UNREADABLE in text
        assert app.is_running  # nothing crashed


async def test_latest_source_wins(tmp_path: Path, png: Path) -> None:
    other = tmp_path / "blue.png"
    Image.new("RGB", (32, 32), BLUE).save(other, "PNG")
    view = ThumbnailView(cache=ThumbnailCache())
    app = ThumbApp(view)
    async with app.run_test(size=(40, 20)) as pilot:
        view.set_source(png)
        view.set_source(other)
        await settle(pilot)
        assert view.source == other
        assert set(visible_cells(view).values()) == {(BLUE, BLUE)}
        view.set_source(None)
        await pilot.pause()
        assert visible_cells(view) == {}


async def test_no_color_shows_a_placeholder(png: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    view = ThumbnailView(png, cache=ThumbnailCache())
    app = ThumbApp(view)
    async with app.run_test(size=(40, 20)) as pilot:
        assert app.no_color
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        lines = ["".join(s.text for s in view.render_line(y)) for y in range(20)]
        assert any("[image 64x64]" in line for line in lines)
        assert not any("▀" in line for line in lines)


class WaitingApp(ThumbApp):
    CSS = "ThumbnailView { background: #102030; } ThumbnailView.-waiting { background: #a05000; color: #ffffff; }"


async def test_a_waiting_view_takes_its_picture_in_its_own_colours_everywhere() -> None:
    """A card waits in its waiting colours (caption and all); with its picture and without the
    class, every line on screen, the blank ones above and below the picture too, is in the
    view's own background: the style the view reads once a frame follows the class."""
    buffer = io.BytesIO()
    Image.new("RGB", (40, 8), BLUE).save(buffer, "PNG")
    view = ThumbnailView(caption="running 40%", classes="-waiting", cache=ThumbnailCache())
    app = WaitingApp(view)
    async with app.run_test(size=(40, 20)) as pilot:
        await pilot.pause()
        cells = app_cells(pilot.app)
        assert "running 40%" in "".join(cell.char for cell in cells[9])
        assert {cell.bg for row in cells for cell in row} == {(0xA0, 0x50, 0x00)}

        view.set_source(buffer.getvalue())  # 40x4 cells, on rows 8-11
        view.remove_class("-waiting")
        await settle(pilot)
        cells = app_cells(pilot.app)
        assert "running" not in "".join(cell.char for row in cells for cell in row)
        assert {cell.bg for y in (*range(8), *range(12, 20)) for cell in cells[y]} == {(0x10, 0x20, 0x30)}
        assert {(cell.char, cell.fg, cell.bg) for y in range(8, 12) for cell in cells[y]} == {("▀", BLUE, BLUE)}
