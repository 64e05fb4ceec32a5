"""Image work done before an upload: fitting a reference under 4 MB, and drawing a mask.

Nothing here changes a user's file silently: ``fit_reference`` returns a new image and
its size for the user to accept, written to a separate file only when asked.
Pure functions for thread workers; Pillow is imported on first use.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from .rules import MAX_PIXELS
from .validation import MAX_REFERENCE_BYTES


@dataclass(frozen=True)
class Fitted:
    """A smaller version of a reference image, not yet written anywhere."""

    data: bytes
    format: str  # "JPEG", "PNG" or "WEBP"
    width: int
    height: int
    original_bytes: int
    original_width: int
    original_height: int
    how: str  # e.g. "recompressed as JPEG quality 85" or "scaled to 2048x1536, JPEG quality 85"

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def extension(self) -> str:
        return {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}[self.format]


def _open(path: Path):
    from PIL import Image, ImageOps

    image = Image.open(path)
    if image.size[0] * image.size[1] > MAX_PIXELS:
        image.close()
        raise ValueError(f"{path.name} is {image.size[0]}x{image.size[1]} pixels, over the {MAX_PIXELS:,}-pixel limit")
    return ImageOps.exif_transpose(image)


def _encode(image, fmt: str, quality: int) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(buffer, "JPEG", quality=quality, optimize=True, progressive=True)
    elif fmt == "WEBP":
        image.save(buffer, "WEBP", quality=quality, method=4)
    else:
        image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def fit_reference(path: str | Path, max_bytes: int = MAX_REFERENCE_BYTES) -> Fitted:
    """The image at ``path`` recompressed, then scaled down if needed, to fit ``max_bytes``.

    Keeps transparency (PNG/WebP stay WebP when they have alpha), else JPEG. Tries
    quality 90, 85, 75 at full size, then scales by 0.8 steps. Raises ValueError if the
    image cannot fit (it always can, down to a few hundred pixels).
    """
    path = Path(path)
    original_bytes = path.stat().st_size
    with _open(path) as image:
        image.load()
        has_alpha = image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info)
        work = image.convert("RGBA" if has_alpha else "RGB")
    fmt = "WEBP" if has_alpha else "JPEG"
    width, height = work.size
    scale = 1.0
    from PIL import Image

    while True:
        current = (
            work
            if scale == 1.0
            else work.resize((max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.LANCZOS)
        )
        for quality in (90, 85, 75):
            data = _encode(current, fmt, quality)
            if len(data) <= max_bytes:
                how = f"{fmt} quality {quality}"
                how = (
                    f"recompressed as {how}"
                    if scale == 1.0
                    else f"scaled to {current.size[0]}x{current.size[1]}, {how}"
                )
                return Fitted(data, fmt, current.size[0], current.size[1], original_bytes, width, height, how)
        scale *= 0.8
        if min(width, height) * scale < 64:
            raise ValueError(f"{path.name} cannot be made smaller than {max_bytes:,} bytes")


def write_fitted(fitted: Fitted, original: str | Path) -> Path:
    """Write ``fitted`` beside the original as ``<name>.fitted.<ext>`` (never over it)."""
    original = Path(original)
    target = original.with_name(f"{original.stem}.fitted.{fitted.extension}")
    target.write_bytes(fitted.data)
    return target


@dataclass(frozen=True)
class Rect:
    """A rectangle in image pixels: left, top, right, bottom (right/bottom exclusive)."""

    left: int
    top: int
    right: int
    bottom: int

    def clamped(self, width: int, height: int) -> Rect:
        left, right = sorted((max(0, min(width, self.left)), max(0, min(width, self.right))))
        top, bottom = sorted((max(0, min(height, self.top)), max(0, min(height, self.bottom))))
        return Rect(left, top, right, bottom)

    @property
    def empty(self) -> bool:
        return self.right <= self.left or self.bottom <= self.top


def make_mask(width: int, height: int, rect: Rect) -> bytes:
    """A PNG mask the size of the reference image: white inside ``rect`` (edit), black elsewhere (keep)."""
    from PIL import Image, ImageDraw

    if width <= 0 or height <= 0:
        raise ValueError("the reference image has no size")
    area = rect.clamped(width, height)
    if area.empty:
        raise ValueError("the mask rectangle is empty: mark an area to edit")
    mask = Image.new("L", (width, height), 0)
    ImageDraw.Draw(mask).rectangle((area.left, area.top, area.right - 1, area.bottom - 1), fill=255)
    buffer = io.BytesIO()
    mask.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def cells_to_rect(cell_rect: tuple[int, int, int, int], cols: int, rows: int, width: int, height: int) -> Rect:
    """A rectangle marked on a thumbnail of ``cols`` x ``rows`` half-block cells, in image pixels.

    Each cell is one pixel wide and two pixels tall in thumbnail space; ``cell_rect`` is
    (left, top, right, bottom) in cells, right/bottom exclusive.
    """
    left, top, right, bottom = cell_rect
    sx = width / max(1, cols)
    sy = height / max(1, rows)
    return Rect(round(left * sx), round(top * sy), round(right * sx), round(bottom * sy)).clamped(width, height)
