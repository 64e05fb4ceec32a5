"""The Picture widget: half-block cells checked on screen colours (fit, zoom, pan), kitty
frames sent once and not again on redraw, nothing drawn over a dialog or a toast."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from PIL import Image, ImageChops
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.screen import ModalScreen
from textual.widgets import Static

from evolink_tui.core.graphics import CellSize, TerminalGraphics, raster
from evolink_tui.core.graphics.view import View
from evolink_tui.tui.widgets.picture import Picture

from ..graphics_decode import decode_sixel, kitty_commands, kitty_images, kitty_placements, placeholder_cells
from ..test_graphics import BLUE, GREEN, RED, WHITE, quadrants


@pytest.fixture
def quads(tmp_path: Path) -> Path:
    path = tmp_path / "quads.png"
    quadrants(400, 400).save(path)
    return path


class PictureApp(App):
    def __init__(self, path: Path, method: str = "halfblock") -> None:
        super().__init__()
        self.path = path
        self.graphics = TerminalGraphics(method, CellSize(10, 20), True)
        self.frames: list = []

    def compose(self) -> ComposeResult:
        yield Picture(self.path, graphics=self.graphics)

    def on_picture_shown(self, message: Picture.Shown) -> None:
        self.frames.append(message.frame)


async def next_frame(pilot, count: int) -> None:
    """Wait until the app has seen ``count`` frames (a frame comes from a thread)."""
    for _ in range(500):
        if len(pilot.app.frames) >= count:
            await pilot.pause()
            return
        await pilot.pause(0.01)
    raise AssertionError(f"no frame {count}")


def colours(app: App, x: int, y: int) -> tuple[tuple, tuple]:
    style = app.screen.get_style_at(x, y)
    return tuple(style.color.triplet), tuple(style.bgcolor.triplet)


def assert_cell(app: App, x: int, y: int, top: tuple, bottom: tuple | None = None) -> None:
    assert colours(app, x, y) == (top, top if bottom is None else bottom), (x, y)


async def test_half_blocks_fill_the_widget_with_the_quadrants(quads: Path) -> None:
    app = PictureApp(quads)
    async with app.run_test(size=(120, 40)) as pilot:
        await next_frame(pilot, 1)
        frame = app.frames[0]
        # A square image in 120x40 cells of two pixels each: 80x40 cells, centred.
        assert (frame.layout.cols, frame.layout.rows, frame.layout.left) == (80, 40, 20)
        assert_cell(app, 25, 2, RED)
        assert_cell(app, 95, 2, GREEN)
        assert_cell(app, 25, 37, BLUE)
        assert_cell(app, 95, 37, WHITE)
        assert colours(app, 5, 20)[1] not in (RED, GREEN, BLUE, WHITE)  # beside the picture: background


async def test_zoom_to_native_and_pan_show_the_file_pixels(quads: Path) -> None:
    app = PictureApp(quads)
    async with app.run_test(size=(120, 40)) as pilot:
        await next_frame(pilot, 1)
        picture = app.query_one(Picture)
        assert picture.max_zoom == pytest.approx(5.0)  # 400 file pixels over 80 half-block pixels
        picture.zoom_native()
        await next_frame(pilot, 2)
        # 120x80 file pixels around the centre: the four quadrants meet in the middle.
        assert app.frames[1].layout.crop == pytest.approx((140, 160, 260, 240))
        assert_cell(app, 10, 5, RED)
        assert_cell(app, 110, 5, GREEN)
        assert_cell(app, 10, 35, BLUE)
        assert_cell(app, 110, 35, WHITE)
        picture.pan(-1, 0)  # a whole view to the left: only the left half shows
        await next_frame(pilot, 3)
        assert_cell(app, 110, 5, RED)
        assert_cell(app, 110, 35, BLUE)
        picture.pan(0, -10)  # far up: stops at the top edge, all red
        await next_frame(pilot, 4)
        assert app.frames[3].layout.crop[1] == pytest.approx(0)
        assert_cell(app, 60, 35, RED)
        picture.zoom_fit()
        await next_frame(pilot, 5)
        assert_cell(app, 25, 2, RED)
        assert_cell(app, 95, 37, WHITE)


async def test_an_unreadable_file_says_so(tmp_path: Path) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(b"not an image")
    failed = []

    class Broken(PictureApp):
        def on_picture_failed(self, message: Picture.Failed) -> None:
            failed.append(message.error)

    app = Broken(path)
    async with app.run_test(size=(60, 10)) as pilot:
        for _ in range(200):
            if failed:
                break
            await pilot.pause(0.01)
        await pilot.pause()
        assert "cannot show this image" in rendered(app.query_one(Picture))


def rendered(picture: Picture) -> str:
    width, height = picture.outer_size
    return "".join(segment.text for line in picture.render_lines(Region(0, 0, width, height)) for segment in line)


async def test_kitty_image_is_sent_once_at_its_screen_size_and_shown_by_placeholders(quads: Path) -> None:
    app = PictureApp(quads, "kitty")
    async with app.run_test(size=(120, 40)) as pilot:
        await next_frame(pilot, 1)
        picture = app.query_one(Picture)
        frame = app.frames[0]
        assert frame.sent  # went out with the first frame Textual wrote
        assert not kitty_commands(rendered(picture))  # redraws do not send it again
        picture.refresh()
        await pilot.pause()
        assert not kitty_commands(rendered(picture))
        # The placeholders name every cell of the 80x40-cell placement (800x800 pixels).
        cells = placeholder_cells(rendered(picture))
        assert len(cells) == 80 * 40 and cells[0][:2] == (0, 0) and cells[-1][:2] == (39, 79)
        assert {high for _, _, high in cells} == {frame.image_id >> 24}
        # The image as sent: 400x400 file pixels shown on 800x800 screen pixels, so it
        # travels at its own size (the terminal scales it to the cells).
        data = frame.escapes
        image = kitty_images(data)[frame.image_id]
        assert image.size == (400, 400)
        assert image.getpixel((100, 100)) == RED and image.getpixel((300, 300)) == WHITE
        assert kitty_placements(data) == {frame.image_id: (80, 40)}


async def test_a_new_kitty_frame_frees_the_old_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.png"
    quadrants(2048, 2048).save(path)
    app = PictureApp(path, "kitty")
    async with app.run_test(size=(120, 40)) as pilot:
        await next_frame(pilot, 1)
        first = app.frames[0]
        assert kitty_images(first.escapes)[first.image_id].size == (800, 800)  # 80x40 cells of 10x20
        picture = app.query_one(Picture)
        written: list[str] = []  # what the picture's lines carry, as Textual writes them
        render_lines = picture.render_lines

        def recording(crop):
            lines = render_lines(crop)
            written.append("".join(segment.text for line in lines for segment in line))
            return lines

        monkeypatch.setattr(picture, "render_lines", recording)
        picture.zoom_in()
        await next_frame(pilot, 2)
        await pilot.pause()
        second = app.frames[1]
        assert second.sent and second.image_id != first.image_id
        assert Picture._deletes == []  # the delete went out with the new image
        commands = [(keys.get("a"), keys.get("i")) for keys, _ in kitty_commands("".join(written))]
        freed, sent = commands.index(("d", str(first.image_id))), commands.index(("t", str(second.image_id)))
        assert freed < sent  # the old image freed, then the new one sent whole, in the lines written
        assert kitty_images("".join(written))[second.image_id].tobytes() == second.pixels.tobytes()


async def test_kitty_picture_turns_to_cells_under_a_dialog_and_back_without_resending(quads: Path) -> None:
    app = PictureApp(quads, "kitty")
    async with app.run_test(size=(120, 40)) as pilot:
        await next_frame(pilot, 1)
        picture = app.query_one(Picture)

        class Dialog(ModalScreen):
            def compose(self) -> ComposeResult:
                yield Static("a dialog")

        await app.push_screen(Dialog())
        await pilot.pause()
        under = rendered(picture)
        assert "\U0010eeee" not in under and "▀" in under  # dimmable cells, no image escape
        app.pop_screen()
        await pilot.pause()
        back = rendered(picture)
        assert placeholder_cells(back) and not kitty_commands(back)


async def test_sixel_is_drawn_only_when_nothing_covers_it(quads: Path) -> None:
    app = PictureApp(quads, "sixel")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await next_frame(pilot, 1)
        picture = app.query_one(Picture)
        clear = rendered(picture)
        size, pixels = decode_sixel(clear)
        frame = app.frames[0]
        assert size[1] % 6 == 0 and size[1] <= frame.layout.rows * 20  # never below its rows
        assert frame.layout.rows == 39  # off the terminal's last row (a sixel there scrolls)
        assert pixels[size[0] // 4, size[1] // 4] == RED
        app.notify("a toast over the picture", timeout=30)
        await pilot.pause(0.1)
        assert "\x1bP" not in rendered(picture)  # the toast stays on top
        for _ in range(300):  # the half-block cells in its place are made in a thread
            if "▀" in rendered(picture):
                break
            await pilot.pause(0.01)
        covered = rendered(picture)
        assert "\x1bP" not in covered and "▀" in covered
        app.clear_notifications()
        await pilot.pause(0.1)
        assert decode_sixel(rendered(picture))[0] == size  # clear again: the picture is back


async def test_the_fitted_view_comes_from_the_display_copy_and_zoom_from_the_file(tmp_path: Path, monkeypatch) -> None:
    """A result seen before (thumbnailed, so its display copy is on disk) shows fitted without
    waiting for its whole decode; zooming in shows the file's own pixels (issue 13: "zooming
    shows real detail"), here one-pixel stripes that the smaller copy blurs to grey."""
    import threading

    from evolink_tui.core import thumbcache, thumbnails
    from evolink_tui.core.graphics import raster

    path = tmp_path / "big.png"
    image = quadrants(1600, 1600)
    for x in range(0, 200):  # the top-left corner: black and white columns, one pixel each
        image.paste((0, 0, 0) if x % 2 == 0 else (255, 255, 255), (x, 0, x + 1, 200))
    image.save(path)
    disk = thumbcache.DiskThumbnailCache(tmp_path / "cache")
    monkeypatch.setattr(thumbnails, "shared_disk", disk)
    thumbnails.cached_thumbnail(path, 20, 10, thumbnails.ThumbnailCache())  # as the preview does
    raster._kept.clear()
    released = threading.Event()
    real_load = raster.load

    def held_load(source):  # the file's decode waits until the test lets it go
        released.wait(30)
        return real_load(source)

    monkeypatch.setattr(raster, "load", held_load)
    app = PictureApp(path)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await next_frame(pilot, 1)  # drawn while the decode is still held
            assert app.frames[0].from_copy
            assert_cell(app, 25, 12, RED)
            assert_cell(app, 95, 37, WHITE)
            released.set()
            picture = app.query_one(Picture)
            picture.zoom_native()
            picture.pan(-10, -10)  # the top-left corner, one file pixel a cell
            await next_frame(pilot, 2)
            while app.frames[-1].layout.view.zoom < picture.max_zoom or app.frames[-1].layout.crop[0] > 0:
                await next_frame(pilot, len(app.frames) + 1)  # the zoom's own frame, if it came first
            assert not app.frames[-1].from_copy
            assert app.frames[-1].layout.crop[:2] == pytest.approx((0, 0))
            for x in range(0, 8):
                shade = (0, 0, 0) if x % 2 == 0 else (255, 255, 255)
                assert_cell(app, x, 5, shade)
    finally:
        released.set()
        disk.close()


async def test_a_kitty_pan_sends_the_part_it_moved_to_resampling_only_what_came_into_view(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Noise, so a picture one pixel off would differ everywhere. A pan at one zoom keeps the
    pixels both views show and resamples only the rows and columns that came into view; what
    is sent is what a resample of the whole view gives (within rounding)."""
    path = tmp_path / "noise.bmp"
    Image.frombytes("RGB", (2000, 2000), random.Random(17).randbytes(2000 * 2000 * 3)).save(path)
    parts: list = []
    real = raster.render
    monkeypatch.setattr(raster, "render", lambda *a, **k: parts.append(k.get("part")) or real(*a, **k))
    app = PictureApp(path, "kitty")
    async with app.run_test(size=(120, 40)) as pilot:
        await next_frame(pilot, 1)
        picture = app.query_one(Picture)
        picture.set_view(View(2.25))  # wider than the box, and taller
        await next_frame(pilot, 2)
        zoomed = kitty_images(app.frames[1].escapes)[app.frames[1].image_id]
        parts.clear()
        picture.pan(0.25, 0.25)  # right and down a quarter view
        await next_frame(pilot, 3)
        frame = app.frames[2]
        sent = kitty_images(frame.escapes)[frame.image_id]
        assert sent.size == zoomed.size
        width, height = sent.size
        # whole screen pixels to the right and down
        dx = round(
            (frame.layout.crop[0] - app.frames[1].layout.crop[0])
            * width
            / (frame.layout.crop[2] - frame.layout.crop[0])
        )
        dy = round(
            (frame.layout.crop[1] - app.frames[1].layout.crop[1])
            * height
            / (frame.layout.crop[3] - frame.layout.crop[1])
        )
        assert 0 < dx < width // 2 and 0 < dy < height // 2
        # only the band below and the band to the right were resampled
        assert parts == [(0, height - dy, width, height), (width - dx, 0, width, height - dy)]
        # the part both show: the zoomed frame's pixels, moved up and left
        assert sent.crop((0, 0, width - dx, height - dy)).tobytes() == zoomed.crop((dx, dy, width, height)).tobytes()
        # and all of it as a resample of the whole view from the file
        whole = raster.render(raster.load(path), frame.layout, width, height)
        assert max(high for _, high in ImageChops.difference(sent, whole).getextrema()) <= 1
