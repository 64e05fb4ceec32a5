"""iTerm2 inline images (OSC 1337 File), also understood by WezTerm, mintty and others.

The picture travels as a PNG inside the escape (base64), sized in cells
(``width=<cols>;height=<rows>``), so the terminal scales it to exactly the cells it was
given whatever their pixel size. ``doNotMoveCursor=1`` keeps the cursor where it was.

Spec: https://iterm2.com/documentation-images.html
"""

from __future__ import annotations

import base64
import io


def png_bytes(width: int, height: int, rgb: bytes) -> bytes:
    """An RGB raster as a PNG (fast compression: it is sent once, right away)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.frombytes("RGB", (width, height), rgb).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def inline_image(png: bytes, cols: int, rows: int) -> str:
    """The escape that draws ``png`` over ``cols`` x ``rows`` cells from the cursor."""
    if cols < 1 or rows < 1:
        raise ValueError(f"an inline image needs at least one cell, not {cols}x{rows}")
    data = base64.standard_b64encode(png).decode("ascii")
    args = f"inline=1;size={len(png)};width={cols};height={rows};preserveAspectRatio=0;doNotMoveCursor=1"
    return f"\x1b]1337;File={args}:{data}\x07"
