"""Thumbnails as terminal cells: two image pixels per cell, drawn as "▀".

A cell is about twice as tall as it is wide, so stacking two pixels in it (the top one as
the foreground of "▀", the bottom one as the background) makes the pixels square: an
image is fitted into ``max_cols`` x ``2 * max_rows`` pixels and keeps its aspect ratio.

Headless: this module never imports textual or rich, and Pillow is imported inside the
functions, so importing it costs nothing. ``make_thumbnail`` is a pure function with no
shared state, meant to run in a thread worker (Pillow drops the GIL while it decodes and
resizes). ``ThumbnailCache`` remembers results so an unchanged file is decoded once.
"""

from __future__ import annotations

import io
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .imagetypes import DECODE_GATE
from .rules import MAX_PIXELS  # images with more pixels are refused before they are decoded

if TYPE_CHECKING:  # pragma: no cover - typing only
    from PIL import Image as PILImage

    from .thumbcache import DiskThumbnailCache

RGB = tuple[int, int, int]
# The bottom pixel is None on the last row of an image with an odd pixel height.
Cell = tuple[RGB, RGB | None]

BACKGROUND: RGB = (30, 30, 30)
"""Transparent pixels are composited over this dark neutral grey."""

# EXIF orientations 5..8 turn the picture a quarter, so width and height swap.
_EXIF_ORIENTATION = 0x0112
QUARTER_TURNS = frozenset({5, 6, 7, 8})


@dataclass(frozen=True)
class Thumbnail:
    """An image as rows of half-block cells, ready to draw."""

    width: int
    """Width in cells (= pixels)."""
    height: int
    """Height in cells (= ceil(pixel height / 2))."""
    cells: tuple[tuple[Cell, ...], ...] = field(repr=False)
    """``height`` rows of ``width`` ``(top_rgb, bottom_rgb)`` pairs."""
    source: str = ""
    """The file it came from ("" for bytes)."""
    mtime: float = 0.0
    size: int = 0
    """The file's mtime and byte size when it was decoded (for cache keys)."""
    image_width: int = 0
    image_height: int = 0
    """The full image's size in pixels, after EXIF rotation (for "[image WxH]")."""
    pixel_height: int = 0
    """The thumbnail's height in pixels (``2 * height`` or one less)."""
    pixels: bytes = field(default=b"", repr=False, compare=False)
    """The thumbnail's RGB raster, ``width`` x ``pixel_height``, for refitting."""

    def fits(self, max_cols: int, max_rows: int) -> bool:
        return self.width <= max_cols and self.height <= max_rows

    def is_full_size(self) -> bool:
        """True when the thumbnail holds every pixel of the image (growing cannot help)."""
        return self.width >= self.image_width and self.pixel_height >= self.image_height

    def fit(self, max_cols: int, max_rows: int) -> Thumbnail:
        """This thumbnail shrunk to fit a smaller cell budget, without decoding the file.

        Resamples the small raster it keeps, which takes well under a millisecond.
        """
        if self.fits(max_cols, max_rows) or not self.pixels:
            return self
        from PIL import Image

        raster = Image.frombytes("RGB", (self.width, self.pixel_height), self.pixels)
        target = fit_size(self.width, self.pixel_height, max_cols, 2 * max_rows)
        small = raster.resize(target, Image.Resampling.BOX)
        return _from_raster(small, self.source, self.mtime, self.size, self.image_width, self.image_height)


def make_thumbnail(
    source: str | Path | bytes,
    max_cols: int,
    max_rows: int,
    keep: Callable[[PILImage.Image], None] | None = None,
) -> Thumbnail:
    """Decode ``source`` (a path or the file's bytes) into a thumbnail of at most
    ``max_cols`` x ``max_rows`` cells. ``keep``, if given, is also handed the whole decoded
    image when the file was decoded at its full size (the viewer's display copy is made
    from it: ``graphics.display``).

    Raises ValueError for a budget under one cell or an image over ``MAX_PIXELS`` pixels,
    and whatever Pillow raises (OSError, mostly ``PIL.UnidentifiedImageError``) for a file
    it cannot read. Images are never enlarged: a small image stays small.
    """
    if max_cols < 1 or max_rows < 1:
        raise ValueError(f"a thumbnail needs at least one cell, not {max_cols}x{max_rows}")
    from PIL import Image

    if isinstance(source, bytes | bytearray | memoryview):
        label, mtime, size = "", 0.0, len(source)
        opened = io.BytesIO(source)
    else:
        label = str(source)
        stat = os.stat(source)
        mtime, size = stat.st_mtime, stat.st_size
        opened = label  # type: ignore[assignment]  # Image.open takes a path as well as a file
    try:
        image = Image.open(opened)
    except Image.DecompressionBombError as error:  # far past Pillow's own limit
        raise ValueError(f"image too large to show: {error}") from None
    with DECODE_GATE, image:  # one core stays free for the event loop
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise ValueError(
                f"image too large to show: {width}x{height} is {width * height:,} pixels, the limit is {MAX_PIXELS:,}"
            )
        orientation = exif_orientation(image)
        turned = orientation in QUARTER_TURNS
        shown_w, shown_h = (height, width) if turned else (width, height)
        target_w, target_h = fit_size(shown_w, shown_h, max_cols, 2 * max_rows)
        if turned:  # resize in the file's own orientation, turn the small result
            target_w, target_h = target_h, target_w
        small = _shrink(image, (target_w, target_h), keep)
    if orientation and orientation != 1:
        small = transpose(small, orientation)
    return _from_raster(small, label, mtime, size, shown_w, shown_h)


def fit_size(width: int, height: int, max_w: int, max_h: int) -> tuple[int, int]:
    """The largest size with the image's aspect ratio inside max_w x max_h, never larger
    than the image itself, at least 1x1."""
    scale = min(max_w / width, max_h / height, 1.0)
    return max(1, min(max_w, round(width * scale))), max(1, min(max_h, round(height * scale)))


def exif_orientation(image: PILImage.Image) -> int:
    try:
        return int(image.getexif().get(_EXIF_ORIENTATION, 1) or 1)
    except Exception:  # a broken EXIF block must not hide the picture
        return 1


def transpose(image: PILImage.Image, orientation: int) -> PILImage.Image:
    """``image`` turned as its EXIF ``orientation`` (1-8, from :func:`exif_orientation`) says."""
    from PIL import Image

    T = Image.Transpose
    method = {
        2: T.FLIP_LEFT_RIGHT,
        3: T.ROTATE_180,
        4: T.FLIP_TOP_BOTTOM,
        5: T.TRANSPOSE,
        6: T.ROTATE_270,
        7: T.TRANSVERSE,
        8: T.ROTATE_90,
    }.get(orientation)
    return image.transpose(method) if method is not None else image


def _shrink(
    image: PILImage.Image, target: tuple[int, int], keep: Callable[[PILImage.Image], None] | None = None
) -> PILImage.Image:
    """Decode ``image`` and bring it to ``target`` pixels, in RGB.

    JPEG decodes at 1/2, 1/4 or 1/8 scale straight from the DCT (``draft``), so a large
    photo costs a fraction of a full decode. Everything is then box-reduced by an integer
    factor (``reduce``, cheap) and finished with an area-averaging BOX resize.
    """
    from PIL import Image

    size = image.size
    if image.format in ("JPEG", "MPO") and image.mode in ("RGB", "L", "CMYK"):
        image.draft(image.mode, target)  # keeps the size >= target
    image.load()
    if keep is not None and image.size == size:
        keep(image)
    image = normalise_mode(image)

    factor = min(image.width // target[0], image.height // target[1])
    if factor >= 2 and image.mode in ("RGB", "RGBA", "L", "LA"):
        # Integer box average; leaves an image at least target-sized for the BOX resize.
        image = image.reduce(factor)
    if image.size != target:
        image = image.resize(target, Image.Resampling.BOX)

    if image.mode in ("RGBA", "LA"):
        backdrop = Image.new("RGBA", image.size, (*BACKGROUND, 255))
        image = Image.alpha_composite(backdrop, image.convert("RGBA"))
    return image.convert("RGB") if image.mode != "RGB" else image


def normalise_mode(image: PILImage.Image) -> PILImage.Image:
    """RGB, RGBA, L or LA, with 16-bit and float samples scaled into 8 bits."""
    mode = image.mode
    if mode in ("RGB", "RGBA", "L", "LA"):
        return image
    if mode == "P" or mode == "PA":
        has_alpha = mode == "PA" or "transparency" in image.info
        return image.convert("RGBA" if has_alpha else "RGB")
    if mode.startswith("I;16"):
        return image.convert("I").point(lambda v: v * (1 / 257)).convert("L")
    if mode in ("I", "F"):
        low, high = image.getextrema()
        if isinstance(low, (int, float)) and isinstance(high, (int, float)) and high > low:
            spread = 255 / (high - low)
            image = image.convert("F").point(lambda v: (v - low) * spread)
        return image.convert("L")
    if mode in ("La", "RGBa"):
        return image.convert("RGBA")
    if "A" in mode:
        return image.convert("RGBA")
    return image.convert("RGB")  # CMYK, YCbCr, LAB, HSV, 1


def thumbnail_from_image(
    image: PILImage.Image, source: str = "", image_width: int = 0, image_height: int = 0
) -> Thumbnail:
    """An RGB image already at its cell size (``width`` x ``2 * rows`` pixels) as half-block
    cells; ``image_width`` x ``image_height`` is the size of the picture it shows."""
    return _from_raster(image, source, 0.0, 0, image_width or image.width, image_height or image.height)


def _from_raster(
    image: PILImage.Image, source: str, mtime: float, size: int, image_width: int, image_height: int
) -> Thumbnail:
    """Pair the rows of a small RGB image into half-block cells."""
    width, height = image.size
    return from_pixels(width, height, image.tobytes(), source, mtime, size, image_width, image_height)


def from_pixels(
    width: int, height: int, data: bytes, source: str, mtime: float, size: int, image_width: int, image_height: int
) -> Thumbnail:
    """A thumbnail from its RGB raster (``width`` x ``height`` pixels, 3 bytes each), as the
    disk cache keeps it (:mod:`.thumbcache`): no decoding, no Pillow."""
    if len(data) != width * height * 3:
        raise ValueError(f"a {width}x{height} RGB raster is {width * height * 3} bytes, not {len(data)}")
    stride = width * 3
    # Each row as a list of (r, g, b) tuples: zip over one iterator takes three bytes a go.
    rows = []
    for y in range(height):
        channels = iter(data[y * stride : (y + 1) * stride])
        rows.append(list(zip(channels, channels, channels, strict=False)))
    cells = []
    for y in range(0, height, 2):
        top = rows[y]
        bottom: Sequence[RGB | None] = rows[y + 1] if y + 1 < height else [None] * width
        cells.append(tuple(zip(top, bottom, strict=False)))
    return Thumbnail(
        width=width,
        height=len(cells),
        cells=tuple(cells),
        source=source,
        mtime=mtime,
        size=size,
        image_width=image_width,
        image_height=image_height,
        pixel_height=height,
        pixels=data,
    )


# xterm-256: 16 system colours (left alone: themes redefine them), a 6x6x6 cube at
# these levels (16..231), and a grey ramp 8, 18, .. 238 (232..255).
_CUBE_LEVELS = (0, 95, 135, 175, 215, 255)


def _nearest_level(value: int) -> int:
    # Midpoints between the cube levels: 47.5, 115, 155, 195, 235.
    if value < 48:
        return 0
    if value < 115:
        return 1
    return min(5, (value - 35) // 40)


def _distance(a: RGB, b: RGB) -> float:
    # "Redmean" weighted distance: cheap and much closer to what the eye sees than
    # plain Euclidean RGB.
    mean = (a[0] + b[0]) / 2
    dr, dg, db = a[0] - b[0], a[1] - b[1], a[2] - b[2]
    return (2 + mean / 256) * dr * dr + 4 * dg * dg + (2 + (255 - mean) / 256) * db * db


def palette_rgb(index: int) -> RGB:
    """The RGB value xterm gives a palette index from 16 to 255."""
    if 16 <= index <= 231:
        n = index - 16
        return _CUBE_LEVELS[n // 36], _CUBE_LEVELS[(n // 6) % 6], _CUBE_LEVELS[n % 6]
    if 232 <= index <= 255:
        level = 8 + 10 * (index - 232)
        return level, level, level
    raise ValueError(f"not a cube or grey-ramp index: {index}")


def to_256(rgb: RGB) -> int:
    """The nearest xterm-256 colour index to ``rgb``, from the 6x6x6 cube (16..231) or
    the grey ramp (232..255). The 16 system colours are never used: they follow the
    terminal's theme, so their RGB is unknown."""
    r, g, b = rgb
    cr, cg, cb = _nearest_level(r), _nearest_level(g), _nearest_level(b)
    cube_index = 16 + 36 * cr + 6 * cg + cb
    cube = (_CUBE_LEVELS[cr], _CUBE_LEVELS[cg], _CUBE_LEVELS[cb])
    grey_step = min(23, max(0, round(((r + g + b) / 3 - 8) / 10)))
    grey_level = 8 + 10 * grey_step
    if _distance(rgb, (grey_level,) * 3) < _distance(rgb, cube):
        return 232 + grey_step
    return cube_index


CacheKey = tuple[str, int, int, int, int]


def key_for(path: str | Path, cols: int, rows: int) -> CacheKey:
    """The cache key of ``path`` at a cell budget: (path, mtime_ns, size, cols, rows).

    Stats the file, so a changed file gets a new key. Raises OSError if it is gone.
    """
    resolved = os.path.abspath(path)
    stat = os.stat(resolved)
    return resolved, stat.st_mtime_ns, stat.st_size, cols, rows


class ThumbnailCache:
    """A small, thread-safe LRU of thumbnails: at most ``capacity`` of them and, if given,
    ``max_cells`` cells in all (a cell costs about 200 bytes), so memory stays bounded
    whatever sizes are asked for. The newest one is always kept."""

    def __init__(self, capacity: int = 64, max_cells: int | None = None) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.max_cells = max_cells
        self.cells = 0  # cells held now
        self._items: OrderedDict[Hashable, Thumbnail] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Thumbnail | None:
        with self._lock:
            thumb = self._items.get(key)
            if thumb is not None:
                self._items.move_to_end(key)
            return thumb

    def put(self, key: Hashable, thumb: Thumbnail) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.cells -= old.width * old.height
            self._items[key] = thumb
            self.cells += thumb.width * thumb.height
            while len(self._items) > 1 and (
                len(self._items) > self.capacity or (self.max_cells is not None and self.cells > self.max_cells)
            ):
                _, dropped = self._items.popitem(last=False)
                self.cells -= dropped.width * dropped.height

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.cells = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    key_for = staticmethod(key_for)


shared_cache = ThumbnailCache(max_cells=64 * 64 * 32)
"""The process-wide cache the TUI uses (64 gallery-sized thumbnails' worth of cells)."""

shared_disk: DiskThumbnailCache | None = None
"""The disk cache :func:`cached_thumbnail` uses by default: None until the app turns it on
(``thumbcache.enable_disk_cache()``)."""


def cached_thumbnail(
    path: str | Path,
    max_cols: int,
    max_rows: int,
    cache: ThumbnailCache | None = None,
    disk: DiskThumbnailCache | None = None,
) -> Thumbnail:
    """``make_thumbnail`` through ``cache`` (the shared one by default): a file whose
    path, mtime and size are unchanged is decoded once per cell budget. Through ``disk``
    too (a ``thumbcache.DiskThumbnailCache``; :data:`shared_disk` by default), a file
    decoded once is not decoded again after a restart, wherever it has moved."""
    cache = shared_cache if cache is None else cache
    key = key_for(path, max_cols, max_rows)
    thumb = cache.get(key)
    if thumb is None:
        disk = shared_disk if disk is None else disk
        if disk is None:
            thumb = make_thumbnail(key[0], max_cols, max_rows)
        else:
            thumb = disk.thumbnail(key[0], max_cols, max_rows)
        cache.put(key, thumb)
    return thumb
