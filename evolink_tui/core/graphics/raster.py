"""Pixels for a layout: the original image decoded once, then the shown part resampled to
the size it will occupy on screen. Meant for thread workers (Pillow drops the GIL).

``Original`` keeps the decoded file (EXIF-turned, RGB, transparency over the thumbnails'
background) so that zooming and panning resample from the file's own pixels, never from
a thumbnail. A very large image is kept at a reduced size (``KEEP_PIXELS``): zoom then
stops at that resolution, and memory stays bounded.
"""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ..imagetypes import DECODE_GATE, cores
from ..thumbnails import (
    BACKGROUND,
    MAX_PIXELS,
    QUARTER_TURNS,
    Thumbnail,
    exif_orientation,
    normalise_mode,
    thumbnail_from_image,
)
from .view import Layout

if TYPE_CHECKING:  # pragma: no cover - typing only
    from PIL import Image as PILImage

T = TypeVar("T")

KEEP_PIXELS = 4096 * 4096
"""The most pixels an ``Original`` keeps (about 50 MB of RGB)."""


@dataclass(frozen=True)
class Original:
    image: PILImage.Image
    path: str
    mtime_ns: int
    size: int
    width: int
    height: int
    """The file's own size in pixels (after EXIF rotation)."""
    full: bool = True
    """False for a display copy (``display.find``): fewer pixels than the file has, enough
    for the views that ``holds`` says."""

    @property
    def scale(self) -> float:
        """Kept pixels per file pixel (1 unless the file was too large to keep whole)."""
        return self.image.width / self.width

    def same_file(self, path: str | Path) -> bool:
        try:
            stat = os.stat(path)
        except OSError:
            return False
        return os.path.abspath(path) == self.path and (stat.st_mtime_ns, stat.st_size) == (self.mtime_ns, self.size)


def load(path: str | Path) -> Original:
    """Decode ``path`` whole. ValueError for an image over MAX_PIXELS; whatever Pillow
    raises (OSError, mostly) for a file it cannot read."""
    from PIL import Image, ImageOps

    resolved = os.path.abspath(path)
    stat = os.stat(resolved)
    try:
        opened = Image.open(resolved)
    except Image.DecompressionBombError as error:
        raise ValueError(f"image too large to show: {error}") from None
    with DECODE_GATE, opened:
        width, height = opened.size
        if width * height > MAX_PIXELS:
            raise ValueError(
                f"image too large to show: {width}x{height} is {width * height:,} pixels, the limit is {MAX_PIXELS:,}"
            )
        orientation = exif_orientation(opened)
        turned = orientation in QUARTER_TURNS
        factor = math.ceil(math.sqrt(width * height / KEEP_PIXELS))
        if factor > 1 and opened.format in ("JPEG", "MPO"):
            opened.draft(opened.mode, (width // factor, height // factor))
        opened.load()
        image: PILImage.Image = opened
        factor = math.ceil(math.sqrt(image.width * image.height / KEEP_PIXELS))
        if factor > 1:
            if image.mode not in ("RGB", "RGBA", "L", "LA"):
                image = as_rgb(image)
            image = image.reduce(factor)
        if orientation not in (0, 1):
            image = ImageOps.exif_transpose(image)
        image = as_rgb(image)
    shown_w, shown_h = (height, width) if turned else (width, height)
    return Original(image, resolved, stat.st_mtime_ns, stat.st_size, shown_w, shown_h)


_kept: OrderedDict[tuple[str, int, int], Original] = OrderedDict()
_kept_lock = threading.Lock()
KEEP_FILES = 2
"""Originals kept after use (the one shown and the one before: stepping back is instant)."""


_loading: dict[tuple[str, int, int], threading.Event] = {}
"""Files being decoded now, so that a second caller waits for that decode."""


def _await_decode(underway: threading.Event) -> None:
    underway.wait()


def _file_key(path: str | Path) -> tuple[str, int, int]:
    resolved = os.path.abspath(path)
    stat = os.stat(resolved)
    return (resolved, stat.st_mtime_ns, stat.st_size)


def load_cached(path: str | Path) -> Original:
    """``load`` through a small cache keyed by path, mtime and size. A file already being
    decoded (a prefetch started as the viewer opened) is waited for, never decoded twice."""
    key = _file_key(path)
    resolved = key[0]
    while True:
        with _kept_lock:
            found = _kept.get(key)
            if found is not None:
                _kept.move_to_end(key)
                return found
            underway = _loading.get(key)
            if underway is None:
                underway = _loading[key] = threading.Event()
                break
        _await_decode(underway)  # then take it from the cache (or, if it failed, try ourselves)
    try:
        original = load(resolved)
        with _kept_lock:
            _kept[key] = original
            while len(_kept) > KEEP_FILES:
                _kept.popitem(last=False)
        return original
    finally:
        with _kept_lock:
            del _loading[key]
        underway.set()


def kept(path: str | Path) -> Original | None:
    """The decoded file at ``path`` if ``load_cached`` has it now (never waits, never decodes)."""
    try:
        key = _file_key(path)
    except OSError:
        return None
    with _kept_lock:
        found = _kept.get(key)
        if found is not None:
            _kept.move_to_end(key)
        return found


def holds(original: Original, layout: Layout, pixel_width: int | None = None, pixel_height: int | None = None) -> bool:
    """Whether ``original`` has at least as many pixels in the part ``layout`` shows as the
    frame sends (``pixel_width`` x ``pixel_height``, the layout's own size by default): always
    for the file itself, for a display copy only in views zoomed out far enough."""
    if original.full:
        return True
    s = original.scale
    left, top, right, bottom = layout.crop
    width = pixel_width or layout.pixel_width
    height = pixel_height or layout.pixel_height
    return (right - left) * s >= width - 0.5 and (bottom - top) * s >= height - 0.5


def as_rgb(image: PILImage.Image) -> PILImage.Image:
    """``image`` in RGB; transparency is laid over the thumbnails' background."""
    from PIL import Image

    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        backdrop = Image.new("RGBA", rgba.size, (*BACKGROUND, 255))
        return Image.alpha_composite(backdrop, rgba).convert("RGB")
    return normalise_mode(image).convert("RGB")


def render(
    original: Original,
    layout: Layout,
    pixel_width: int | None = None,
    pixel_height: int | None = None,
    part: tuple[int, int, int, int] | None = None,
):
    """The part of ``original`` that ``layout`` shows, resampled to ``pixel_width`` x
    ``pixel_height`` (the layout's own pixel size by default), as an RGB Pillow image.
    ``part``: only the rectangle (left, top, right, bottom, in those pixels) of it, the same
    pixels as that rectangle of the whole (same filter, same scale)."""
    from PIL import Image

    width = pixel_width or layout.pixel_width
    height = pixel_height or layout.pixel_height
    s = original.scale
    left, top, right, bottom = layout.crop
    box = (left * s, top * s, right * s, bottom * s)
    shrinking = width <= box[2] - box[0] and height <= box[3] - box[1]
    # Area average when shrinking (after a cheap integer reduce), bilinear when a small
    # image is blown up to fill the view.
    resample = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    if part is not None:
        x0, y0, x1, y1 = part
        (part_left, part_right), (part_top, part_bottom) = (
            _edges(box[0], box[2], width, x0, x1),
            _edges(box[1], box[3], height, y0, y1),
        )
        box = (part_left, part_top, part_right, part_bottom)
        width, height = x1 - x0, y1 - y0
    # Not behind DECODE_GATE: this is the frame the user waits for (the event loop is idle
    # meanwhile), not a background decode; the gate would queue it behind the file's own
    # decode and lower its thread's priority below every other process's.
    # reducing_gap=1: the cheap integer reduce takes as much as it can (a third less time
    # than 2.0 for a 2048-pixel image, no visible difference with BOX).
    return original.image.resize((width, height), resample, box=box, reducing_gap=1.0 if shrinking else None)


BAND_PIXELS = 500_000
"""From this many pixels a frame (``render_frame``) is resampled as two halves at once."""

_band_pool: ThreadPoolExecutor | None = None
_band_pool_lock = threading.Lock()


def _bands() -> ThreadPoolExecutor:
    global _band_pool
    with _band_pool_lock:
        if _band_pool is None:
            _band_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="raster band")
        return _band_pool


def render_frame(
    original: Original, layout: Layout, width: int, height: int, encode: Callable[[bytes], T] | None = None
) -> tuple[PILImage.Image, list[T]]:
    """``render`` of a whole frame, and ``encode`` of its raw bytes in parts (top to bottom;
    joined, the encoding of the whole when ``encode`` keeps three bytes as a unit, as base64
    does: a part is whole rows of three-byte pixels).

    A large frame (a zoomed view at the cells' pixels: 1180x740 from a 2048-pixel PNG at
    120x40 is 20 ms of resampling and 7 of base64, most of a zoom step) is made in halves:
    the bottom one resampled in a second thread while this one resamples the top one and
    encodes it, and the second thread encodes its own. Pillow lets go of the GIL while it
    resamples (base64 does not), so they overlap on a second core. The halves are
    ``render``'s parts: the pixels of the whole (within rounding)."""
    if width * height < BAND_PIXELS or height < 2 or cores() < 2:  # no second core to overlap on
        image = render(original, layout, width, height)
        return image, [] if encode is None else [encode(image.tobytes())]
    from PIL import Image

    middle = height // 2

    def lower() -> tuple[PILImage.Image, list[T]]:  # the second thread: its half, and its half's encoding
        part = render(original, layout, width, height, (0, middle, width, height))
        return part, [] if encode is None else [encode(part.tobytes())]

    pending = _bands().submit(lower)
    top = render(original, layout, width, height, (0, 0, width, middle))
    encoded = [] if encode is None else [encode(top.tobytes())]
    bottom, rest = pending.result()
    encoded.extend(rest)
    image = Image.new(top.mode, (width, height))
    image.paste(top, (0, 0))
    image.paste(bottom, (0, middle))
    return image, encoded


def _edges(start: float, end: float, pixels: int, first: int, last: int) -> tuple[float, float]:
    """Where output pixels ``first`` and ``last`` (of ``pixels`` across ``start``..``end``)
    fall in the source; the ends exactly (a float sum one bit past the image is refused)."""
    step = (end - start) / pixels
    return (start if first == 0 else start + first * step), (end if last == pixels else start + last * step)


HALFBLOCK_COLOURS = 256
"""The most colours a half-block frame uses (an adaptive palette, chosen by Pillow)."""


def halfblock_pixels(original: Original, layout_cells: Layout) -> PILImage.Image:
    """The shown part at ``cols`` x ``2 * rows`` pixels (two to a half-block cell), in at
    most ``HALFBLOCK_COLOURS`` colours, as an RGB Pillow image.

    Every distinct pair of colours is a style that Python code handles cell by cell (the
    strips, Textual's line filters and ANSI rendering on the event loop), so Pillow
    quantises the few thousand pixels first (in C, under a millisecond, no dithering):
    a photo at 80x40 cells goes from 3,200 styles and segments to under a thousand styles
    and about 1,500 segments, with no visible change at that size. An image with fewer
    colours keeps its own."""
    from PIL import Image

    small = render(original, layout_cells, layout_cells.cols, 2 * layout_cells.rows)
    if small.getcolors(HALFBLOCK_COLOURS) is None:  # more colours than the palette holds
        quantised = small.quantize(HALFBLOCK_COLOURS, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        small = quantised.convert("RGB")
    return small


def halfblock(original: Original, layout_cells: Layout) -> Thumbnail:
    """``halfblock_pixels`` as half-block cells."""
    small = halfblock_pixels(original, layout_cells)
    return thumbnail_from_image(small, source=original.path, image_width=original.width, image_height=original.height)
