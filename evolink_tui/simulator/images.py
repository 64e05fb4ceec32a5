"""Deterministic stand-in images, drawn with Pillow.

Each image is a gradient with a few shapes whose colours are seeded by a hash of
prompt + model + index, at the requested aspect ratio, with the prompt written small in
a corner. The same inputs always give the same bytes; a different prompt or model gives
a visibly different picture.
"""

from __future__ import annotations

import hashlib
import io
import random
import re
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

# (Pillow format, file extension, MIME type)
FORMATS = {
    "PNG": ("PNG", "png", "image/png"),
    "JPEG": ("JPEG", "jpg", "image/jpeg"),
    "WEBP": ("WEBP", "webp", "image/webp"),
    "GIF": ("GIF", "gif", "image/gif"),
}
EXT_MIME = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}

_RATIO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*$")
_PIXELS = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")


def model_format(model: str) -> str:
    """The Pillow format a model family answers with: gpt PNG, doubao JPEG, wan/qwen WebP."""
    name = (model or "").lower()
    if name.startswith("doubao"):
        return "JPEG"
    if name.startswith(("wan", "qwen")):
        return "WEBP"
    return "PNG"


def model_extension(model: str) -> str:
    return FORMATS[model_format(model)][1]


def model_mime(model: str) -> str:
    return FORMATS[model_format(model)][2]


def aspect(size: str | None) -> tuple[float, float]:
    """``W:H`` or ``WxH`` as a (w, h) pair; anything else is square."""
    if size:
        match = _RATIO.match(size) or _PIXELS.match(size)
        if match:
            w, h = float(match.group(1)), float(match.group(2))
            if w > 0 and h > 0:
                return w, h
    return 1.0, 1.0


def dimensions(size: str | None, long_side: int = 1024) -> tuple[int, int]:
    """Pixel dimensions for ``size`` with the long side ``long_side``."""
    w, h = aspect(size)
    long_side = max(8, int(long_side))
    if w >= h:
        return long_side, max(1, round(long_side * h / w))
    return max(1, round(long_side * w / h)), long_side


@lru_cache(maxsize=16)
def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except Exception:  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _colour(rng: random.Random, lo: int = 30, hi: int = 235) -> tuple[int, int, int]:
    return (rng.randint(lo, hi), rng.randint(lo, hi), rng.randint(lo, hi))


def render_image(
    prompt: str,
    model: str,
    size: str | None,
    index: int = 0,
    long_side: int = 1024,
    fmt: str | None = None,
    params: dict | None = None,
) -> bytes:
    """Encoded image bytes for (prompt, model, size, index); ``fmt`` None = by model family.
    Extra ``params`` (quality, seed...) change the picture and are written beside the prompt."""
    fmt = (fmt or model_format(model)).upper()
    if fmt == "JPG":
        fmt = "JPEG"
    if fmt not in FORMATS:
        raise ValueError(f"unsupported image format {fmt!r}")
    width, height = dimensions(size, long_side)
    extras = " ".join(f"{k}={v}" for k, v in sorted((params or {}).items()))
    key = f"{prompt}\x00{model}\x00{index}" + (f"\x00{extras}" if extras else "")  # no params: the same as before
    seed = hashlib.sha256(key.encode()).digest()
    rng = random.Random(seed)

    # Background: a two-colour gradient (vertical, horizontal or radial).
    first, second = _colour(rng), _colour(rng)
    style = rng.randrange(3)
    if style == 2:
        mask = Image.radial_gradient("L")
    else:
        mask = Image.linear_gradient("L")
        if style == 1:
            mask = mask.transpose(Image.Transpose.ROTATE_90)
    mask = mask.resize((width, height), Image.Resampling.BILINEAR)
    image = Image.composite(Image.new("RGB", (width, height), first), Image.new("RGB", (width, height), second), mask)

    # A few shapes.
    draw = ImageDraw.Draw(image)
    unit = min(width, height)
    for _ in range(rng.randint(4, 8)):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(0.06, 0.3) * unit
        box = (cx - r, cy - r, cx + r, cy + r)
        fill = _colour(rng, 0, 255)
        shape = rng.randrange(3)
        if shape == 0:
            draw.ellipse(box, fill=fill)
        elif shape == 1:
            draw.rectangle(box, fill=fill)
        else:
            points = [(cx + rng.uniform(-r, r), cy + rng.uniform(-r, r)) for _ in range(3)]
            draw.polygon(points, fill=fill)
    outline = _colour(rng, 0, 255)
    draw.rectangle((0, 0, width - 1, height - 1), outline=outline, width=max(1, unit // 128))

    # The prompt, small, bottom-left, on a dark band for legibility.
    font_size = max(9, min(width, height, long_side) // 40)
    font = _font(font_size)
    label = " ".join(f"{'[' + extras + '] ' if extras else ''}{prompt}".split())
    max_chars = max(8, int(width / (font_size * 0.6)) - 2)
    if len(label) > max_chars:
        label = label[: max_chars - 1] + "…"
    label = f"#{index + 1} {label}"
    pad = max(2, font_size // 3)
    left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
    y = height - (bottom - top) - 3 * pad
    draw.rectangle((0, y - pad, min(width, right - left + 3 * pad), height), fill=(16, 16, 16))
    draw.text((pad, y - top), label, fill=(240, 240, 240), font=font)

    out = io.BytesIO()
    if fmt == "PNG":
        image.save(out, "PNG", compress_level=1)
    elif fmt == "JPEG":
        image.save(out, "JPEG", quality=85)
    elif fmt == "WEBP":
        image.save(out, "WEBP", quality=80, method=0)
    else:
        image.convert("P", palette=Image.Palette.ADAPTIVE).save(out, "GIF")
    return out.getvalue()


def sniff(data: bytes) -> tuple[str, str] | None:
    """(extension, MIME type) from magic bytes, for JPEG, PNG, GIF and WebP only."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpg", "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png", "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif", "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp", "image/webp"
    return None
