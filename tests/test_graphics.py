"""Terminal graphics encoders, checked by decoding what they write; the method setting;
layout, zoom and pan; resampling from the original file."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from evolink_tui.core.errors import ValidationError
from evolink_tui.core.graphics import CellSize, iterm, kitty, parse_method, raster, requested_method, sixel, tmux
from evolink_tui.core.graphics.view import FIT, View, layout, panned, zoomed

from .graphics_decode import (
    TMUX_WRAPPED,
    decode_sixel,
    iterm_images,
    kitty_commands,
    kitty_images,
    kitty_placements,
    placeholder_cells,
    unwrap_all,
)

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def quadrants(width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height))
    w, h = width // 2, height // 2
    for box, colour in (((0, 0, w, h), RED), ((w, 0, width, h), GREEN), ((0, h, w, height), BLUE)):
        image.paste(colour, box)
    image.paste(WHITE, (w, h, width, height))
    return image


def assert_quadrants(pixel, width: int, height: int, tolerance: int = 0) -> None:
    for (x, y), expected in {
        (width // 4, height // 4): RED,
        (3 * width // 4, height // 4): GREEN,
        (width // 4, 3 * height // 4): BLUE,
        (3 * width // 4, 3 * height // 4): WHITE,
    }.items():
        actual = pixel(x, y)
        assert all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True)), ((x, y), actual)


# --- kitty -------------------------------------------------------------------------------


def test_kitty_chunks_reassemble_to_the_pixels_sent() -> None:
    image = quadrants(120, 90)  # 32 KB of RGB: 11 chunks of base64
    escapes = kitty.transmit(7, 120, 90, image.tobytes(), 12, 5)
    data = "".join(escapes)
    commands = kitty_commands(data)
    assert len(commands) == len(escapes) > 3
    assert all(len(payload) <= kitty.CHUNK for _, payload in commands)
    assert [keys.get("m") for keys, _ in commands[:-1]] == ["1"] * (len(commands) - 2) + ["0"]
    assert all(keys.get("q") == "2" for keys, _ in commands)  # no replies to read back
    decoded = kitty_images(data)[7]
    assert decoded.size == (120, 90)
    assert decoded.tobytes() == image.tobytes()
    assert kitty_placements(data) == {7: (12, 5)}


def test_kitty_through_tmux_is_wrapped_with_doubled_escapes() -> None:
    image = quadrants(40, 40)
    escapes = kitty.transmit(9, 40, 40, image.tobytes(), 4, 2)
    wrapped = kitty.for_terminal(escapes, tmux=True)
    assert wrapped.startswith("\x1bPtmux;\x1b\x1b_G")
    # Outside its wrappers nothing is left: tmux would drop a bare kitty escape.
    assert TMUX_WRAPPED.sub("", wrapped) == ""
    unwrapped = unwrap_all(wrapped)
    assert unwrapped == "".join(escapes)
    assert kitty_images(unwrapped)[9].tobytes() == image.tobytes()


def test_tmux_wrap_round_trip_and_bad_wrappers() -> None:
    sequence = "\x1b_Ga=d,i=3\x1b\\"
    wrapped = tmux.wrap(sequence)
    assert wrapped == "\x1bPtmux;\x1b\x1b_Ga=d,i=3\x1b\x1b\\\x1b\\"
    assert tmux.unwrap(wrapped) == sequence
    with pytest.raises(ValueError):
        tmux.unwrap("\x1bPtmux;\x1b_G\x1b\\")  # an ESC not doubled
    with pytest.raises(ValueError):
        tmux.unwrap(sequence)


def test_kitty_placeholders_name_every_cell_and_the_image() -> None:
    image_id = kitty.new_image_id()
    high, low = kitty.id_parts(image_id)
    assert 1 <= low <= 255 and (image_id >> 8) & 0xFFFF == 0
    row = kitty.placeholder_row(3, 5, high)
    assert placeholder_cells(row) == [(3, col, high) for col in range(5)]
    assert len(kitty.MARKS) == kitty.MAX_CELLS == 297
    assert kitty.MARKS[0] == "\u0305" and kitty.MARKS[-1] == "\U0001d244"


def test_kitty_ids_are_distinct() -> None:
    ids = {kitty.new_image_id() for _ in range(2000)}
    assert len(ids) == 2000


def test_kitty_refuses_wrong_sizes() -> None:
    with pytest.raises(ValueError):
        kitty.transmit(1, 2, 2, b"\0" * 11, 1, 1)
    with pytest.raises(ValueError):
        kitty.transmit(1, 1, 1, b"\0" * 3, kitty.MAX_CELLS + 1, 1)
    with pytest.raises(ValueError):  # the base64 of 8 bytes, not of 2x2 pixels
        kitty.transmit_encoded(1, 2, 2, kitty.encode(b"\0" * 8), 1, 1)


# --- iTerm2 ------------------------------------------------------------------------------


def test_iterm_payload_decodes_to_the_pixels_and_is_sized_in_cells() -> None:
    image = quadrants(64, 48)
    escape = iterm.inline_image(iterm.png_bytes(64, 48, image.tobytes()), 16, 6)
    [(keys, decoded)] = iterm_images(escape)
    assert keys["inline"] == "1" and keys["width"] == "16" and keys["height"] == "6"
    assert keys["preserveAspectRatio"] == "0" and keys["doNotMoveCursor"] == "1"
    assert decoded.tobytes() == image.tobytes()
    assert iterm_images(unwrap_all(tmux.wrap(escape)))[0][1].size == (64, 48)


# --- sixel -------------------------------------------------------------------------------


def test_sixel_decodes_to_the_image() -> None:
    image = quadrants(50, 40)  # 40 rows: six full bands and a short one
    data = sixel.encode(50, 40, image.tobytes())
    size, pixels = decode_sixel(data)
    assert size == (50, 40)
    assert len(pixels) == 50 * 40  # every pixel drawn, none outside the image
    assert max(x for x, _ in pixels) == 49 and max(y for _, y in pixels) == 39
    assert_quadrants(lambda x, y: pixels[x, y], 50, 40, tolerance=3)
    assert "!" in data  # flat areas are run-length encoded


def test_sixel_keeps_a_gradient_within_the_palette() -> None:
    gradient = Image.linear_gradient("L").resize((96, 30)).convert("RGB")
    _, pixels = decode_sixel(sixel.encode(96, 30, gradient.tobytes()))
    worst = max(abs(pixels[x, y][0] - gradient.getpixel((x, y))[0]) for x in range(96) for y in range(30))
    assert worst <= 8


# --- the method setting ------------------------------------------------------------------


@pytest.mark.parametrize("value", ["auto", "KITTY", " iterm ", "sixel", "halfblock"])
def test_methods_are_read_case_and_space_insensitively(value: str) -> None:
    assert parse_method(value, "--graphics") == value.strip().lower()


def test_a_bad_method_names_field_value_and_choices() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_method("sixels", "--graphics")
    message = str(caught.value)
    assert "--graphics" in message and "'sixels'" in message
    assert "auto, kitty, iterm, sixel or halfblock" in message


def test_flag_then_environment_then_config_then_auto() -> None:
    env = {"EVOLINK_TUI_GRAPHICS": "sixel"}
    assert requested_method("kitty", env, "iterm", "graphics in the config file") == "kitty"
    assert requested_method(None, env, "iterm", "graphics in the config file") == "sixel"
    assert requested_method(None, {}, "iterm", "graphics in the config file") == "iterm"
    assert requested_method(None, {}, None, "graphics in the config file") == "auto"
    # A bad value is only an error where it is used, and names where it came from.
    assert requested_method("halfblock", {"EVOLINK_TUI_GRAPHICS": "bogus"}, None, "x") == "halfblock"
    with pytest.raises(ValidationError, match="EVOLINK_TUI_GRAPHICS"):
        requested_method(None, {"EVOLINK_TUI_GRAPHICS": "bogus"}, "kitty", "x")
    with pytest.raises(ValidationError, match="graphics in the config file"):
        requested_method(None, {}, "pixels", "graphics in the config file")


# --- layout, zoom, pan -------------------------------------------------------------------

CELL = CellSize(10, 20)


def test_fit_keeps_the_aspect_ratio_and_centres() -> None:
    wide = layout(2000, 1000, 120, 40, CELL)
    assert wide is not None and (wide.cols, wide.rows) == (120, 30) and (wide.left, wide.top) == (0, 5)
    assert (wide.pixel_width, wide.pixel_height) == (1200, 600)
    tall = layout(1000, 2000, 120, 40, CELL)
    assert tall is not None and (tall.cols, tall.rows) == (40, 40) and tall.left == 40
    assert layout(10, 10, 0, 5, CELL) is None


def test_zoom_stops_at_native_resolution_and_pan_stops_at_the_edges() -> None:
    fitted = layout(2048, 2048, 120, 40, CELL)
    assert fitted is not None and fitted.max_zoom == pytest.approx(2048 / 800)
    native = layout(2048, 2048, 120, 40, CELL, View(100.0))
    assert native is not None and native.view.zoom == pytest.approx(fitted.max_zoom)
    left, top, right, bottom = native.crop
    assert (right - left, bottom - top) == pytest.approx((1200, 800))  # one image pixel per screen pixel
    assert zoomed(FIT, 1 / 1.5, 3.0).zoom == 1.0
    far = layout(2048, 2048, 120, 40, CELL, panned(native.view, -10, 10))
    assert far is not None and far.crop[0] == pytest.approx(0) and far.crop[3] == pytest.approx(2048)


# --- resampling from the original ----------------------------------------------------------


def checker_centre(path: Path, size: int = 800) -> None:
    """Grey all over, with a one-pixel black and white checkerboard in the middle."""
    image = Image.new("RGB", (size, size), (128, 128, 128))
    for y in range(size // 2 - 40, size // 2 + 40):
        for x in range(size // 2 - 40, size // 2 + 40):
            image.putpixel((x, y), (0, 0, 0) if (x + y) % 2 else (255, 255, 255))
    image.save(path)


def test_zoom_resamples_from_the_file_not_a_thumbnail(tmp_path: Path) -> None:
    path = tmp_path / "checker.png"
    checker_centre(path)
    original = raster.load(path)
    fitted = layout(original.width, original.height, 40, 20, CELL)
    assert fitted is not None
    small = raster.render(original, fitted)
    centre = small.getpixel((small.width // 2, small.height // 2))
    assert all(110 <= c <= 146 for c in centre)  # averaged to grey at fit
    native = layout(original.width, original.height, 40, 20, CELL, View(100.0))
    assert native is not None
    sharp = raster.render(original, native)
    values = {sharp.getpixel((x, sharp.height // 2)) for x in range(sharp.width // 2 - 5, sharp.width // 2 + 5)}
    assert values == {(0, 0, 0), (255, 255, 255)}


def test_a_large_frame_made_in_halves_is_the_whole_frame_and_its_base64(tmp_path: Path) -> None:
    """A zoomed frame at a terminal's pixels is resampled as two halves at once: what is sent
    is the resample of the whole view (within rounding), and the halves' base64, chunked part
    by part, is the transmission of those very pixels."""
    import random

    path = tmp_path / "noise.bmp"  # noise: a half one row off would differ everywhere
    Image.frombytes("RGB", (1600, 1600), random.Random(5).randbytes(1600 * 1600 * 3)).save(path)
    original = raster.load(path)
    zoomed_in = layout(original.width, original.height, 118, 37, CellSize(10, 20), View(1.5))
    assert zoomed_in is not None
    width, height = zoomed_in.pixel_width, zoomed_in.pixel_height
    assert width * height >= raster.BAND_PIXELS  # large enough to be made in halves
    image, parts = raster.render_frame(original, zoomed_in, width, height, kitty.encode)
    assert len(parts) == 2
    whole = raster.render(original, zoomed_in, width, height)
    assert image.size == whole.size
    assert max(high for _, high in ImageChops.difference(image, whole).getextrema()) <= 1
    data = "".join(kitty.transmit_encoded(3, width, height, parts, 118, 37))  # chunked part by part
    assert kitty_images(data)[3].tobytes() == image.tobytes()
    with pytest.raises(ValueError, match="expected the base64 of 6 bytes"):  # a padded part in the middle: refused
        kitty.transmit_encoded(4, 2, 1, [kitty.encode(b"\0" * 4), kitty.encode(b"\0" * 2)], 1, 1)
    # a small frame is made at once, the same way
    fitted = layout(original.width, original.height, 40, 20, CELL)
    assert fitted is not None
    small, small_parts = raster.render_frame(original, fitted, fitted.pixel_width, fitted.pixel_height)
    assert small_parts == []
    assert small.tobytes() == raster.render(original, fitted).tobytes()


def test_a_file_being_decoded_is_waited_for_not_decoded_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The viewer's prefetch and its frame worker ask for the same file: one decode."""
    path = tmp_path / "shared.png"
    quadrants(40, 40).save(path)
    raster._kept.clear()
    real_load, calls = raster.load, []
    started, release, second_waits = threading.Event(), threading.Event(), threading.Event()

    def slow_load(where):
        calls.append(where)
        started.set()
        assert release.wait(10), "the test never released the first decode"
        return real_load(where)

    def waiting(underway: threading.Event) -> None:
        second_waits.set()
        underway.wait()

    monkeypatch.setattr(raster, "load", slow_load)
    monkeypatch.setattr(raster, "_await_decode", waiting)
    results: dict[str, raster.Original] = {}
    first = threading.Thread(target=lambda: results.update(first=raster.load_cached(path)))
    second = threading.Thread(target=lambda: results.update(second=raster.load_cached(path)))
    first.start()
    assert started.wait(10)
    second.start()
    waited = second_waits.wait(10)
    release.set()
    first.join(10)
    second.join(10)
    assert waited, "the second caller decoded the file itself instead of waiting"
    assert len(calls) == 1 and results["first"] is results["second"]


def test_load_refuses_images_too_large(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.png"
    Image.new("RGB", (300, 300)).save(path)
    monkeypatch.setattr(raster, "MAX_PIXELS", 1000)
    with pytest.raises(ValueError, match="too large"):
        raster.load(path)


def test_the_graphics_core_never_imports_textual_or_rich() -> None:
    code = (
        "import sys\n"
        "import evolink_tui.core.graphics.detect, evolink_tui.core.graphics.raster\n"
        "import evolink_tui.core.graphics.kitty, evolink_tui.core.graphics.iterm, evolink_tui.core.graphics.sixel\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_load_turns_the_image_as_its_exif_says(tmp_path: Path) -> None:
    path = tmp_path / "turned.png"
    image = quadrants(60, 40)
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned a quarter clockwise
    image.save(path, exif=exif)
    original = raster.load(path)
    assert (original.width, original.height) == (40, 60) and original.image.size == (40, 60)
    # Turned clockwise, the blue bottom-left quadrant comes to the top left.
    assert original.image.getpixel((5, 5)) == BLUE
