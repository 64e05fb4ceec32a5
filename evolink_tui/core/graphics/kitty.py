"""The kitty graphics protocol, with Unicode placeholders.

An image is transmitted once (``a=t``: raw RGB, base64, in chunks of at most 4096 bytes;
zlib even at level 1 took 80 ms for a quarter off a 760x760 photo, the largest part of a
first paint, so the bytes go as they are) and given a *virtual* placement (``a=p,U=1``) of ``cols`` x ``rows`` cells.
It then shows wherever the text holds placeholder cells: U+10EEEE followed by three
combining marks that number the cell's row, its column and the top byte of the image id,
drawn in the foreground colour that carries the low byte of the id (256-colour index, so
tmux and 256-colour terminals keep it intact). Because the picture is made of text
cells, whatever the app draws above it (a dialog, a toast, the key bar) simply replaces
those cells, scrolling moves them, and a new screen removes them: nothing is left behind.
``delete`` frees the image's data in the terminal.

Spec: https://sw.kovidgoyal.net/kitty/graphics-protocol/ (supported by kitty 0.28+ and
Ghostty; tmux needs ``allow-passthrough on`` for the transmission, placeholders are text).
"""

from __future__ import annotations

import base64
import functools
import itertools
import random
import threading
from collections.abc import Sequence

from .tmux import wrap

CHUNK = 4096
"""The largest base64 payload in one escape, as the protocol requires."""

PLACEHOLDER = "\U0010eeee"

# The combining marks that number rows and columns: the protocol's own table
# (rowcolumn-diacritics.txt: class-230 marks of Unicode 6.0 without decompositions), as
# ranges of code points. Mark n stands for the number n.
_MARK_RANGES = """
0305 030D-030E 0310 0312 033D-033F 0346 034A-034C 0350-0352 0357 035B 0363-036F 0483-0487
0592-0595 0597-0599 059C-05A1 05A8-05A9 05AB-05AC 05AF 05C4 0610-0617 0657-065B 065D-065E 06D6-06DC
06DF-06E2 06E4 06E7-06E8 06EB-06EC 0730 0732-0733 0735-0736 073A 073D 073F-0741 0743 0745 0747
0749-074A 07EB-07F1 07F3 0816-0819 081B-0823 0825-0827 0829-082D 0951 0953-0954 0F82-0F83 0F86-0F87
135D-135F 17DD 193A 1A17 1A75-1A7C 1B6B 1B6D-1B73 1CD0-1CD2 1CDA-1CDB 1CE0 1DC0-1DC1 1DC3-1DC9
1DCB-1DCC 1DD1-1DE6 1DFE 20D0-20D1 20D4-20D7 20DB-20DC 20E1 20E7 20E9 20F0 2CEF-2CF1 2DE0-2DFF A66F
A67C-A67D A6F0-A6F1 A8E0-A8F1 AAB0 AAB2-AAB3 AAB7-AAB8 AABE-AABF AAC1 FE20-FE26 10A0F 10A38
1D185-1D189 1D1AA-1D1AD 1D242-1D244
"""


def _marks() -> tuple[str, ...]:
    marks: list[str] = []
    for part in _MARK_RANGES.split():
        first, _, last = part.partition("-")
        marks.extend(chr(code) for code in range(int(first, 16), int(last or first, 16) + 1))
    return tuple(marks)


MARKS = _marks()
"""``MARKS[n]`` is the combining mark for row, column or id byte ``n`` (297 of them)."""

MAX_CELLS = len(MARKS)
"""A placement can be at most this many rows or columns."""


def _escape(control: str, payload: str = "") -> str:
    return f"\x1b_G{control};{payload}\x1b\\" if payload else f"\x1b_G{control}\x1b\\"


def encode(rgb: bytes) -> str:
    """Raw bytes as the protocol's payload (base64). Parts of whole three-byte pixels encode
    separately to the same text as together."""
    return base64.standard_b64encode(rgb).decode("ascii")


def transmit(image_id: int, width: int, height: int, rgb: bytes, cols: int, rows: int) -> list[str]:
    """The escapes that send a ``width`` x ``height`` RGB raster as image ``image_id`` and
    place it virtually over ``cols`` x ``rows`` cells (quietly: ``q=2``, no replies)."""
    if len(rgb) != width * height * 3:
        raise ValueError(f"expected {width * height * 3} bytes of RGB, got {len(rgb)}")
    return transmit_encoded(image_id, width, height, encode(rgb), cols, rows)


def transmit_encoded(
    image_id: int, width: int, height: int, payload: str | Sequence[str], cols: int, rows: int
) -> list[str]:
    """``transmit`` of a raster already encoded (``encode``): the whole, or its parts in order
    (each the encoding of whole three-byte pixels, as ``raster.render_frame`` makes them),
    chunked part by part, never joined: a chunk ends where its part does, and every chunk but
    the last is still a multiple of four characters, as the protocol asks (a part of whole
    pixels has no padding; one with padding makes the payload too long, and is refused)."""
    parts = [payload] if isinstance(payload, str) else [part for part in payload if part]
    size = sum(map(len, parts))
    if size != (width * height * 3 + 2) // 3 * 4:
        raise ValueError(f"expected the base64 of {width * height * 3} bytes, got {size} characters")
    if not (1 <= cols <= MAX_CELLS and 1 <= rows <= MAX_CELLS):
        raise ValueError(f"a placement is 1 to {MAX_CELLS} cells a side, not {cols}x{rows}")
    chunks = [part[i : i + CHUNK] for part in parts for i in range(0, len(part), CHUNK)]  # one at least: size > 0
    first = f"a=t,q=2,f=24,s={width},v={height},i={image_id},m={1 if len(chunks) > 1 else 0}"
    escapes = [_escape(first, chunks[0])]
    escapes.extend(f"\x1b_Gq=2,m=1;{chunk}\x1b\\" for chunk in chunks[1:-1])
    if len(chunks) > 1:
        escapes.append(_escape("q=2,m=0", chunks[-1]))
    escapes.append(_escape(f"a=p,U=1,q=2,i={image_id},c={cols},r={rows}"))
    return escapes


def delete(image_id: int) -> str:
    """The escape that removes image ``image_id`` and frees its data."""
    return _escape(f"a=d,d=I,q=2,i={image_id}")


def query(image_id: int) -> str:
    """A one-pixel query: a terminal that speaks the protocol answers ``i=<id>;OK``."""
    return _escape(f"a=q,t=d,f=24,s=1,v=1,i={image_id}", "AAAA")


def for_terminal(escapes: list[str], tmux: bool) -> str:
    """The escapes as one string, each wrapped for tmux passthrough when ``tmux``."""
    return "".join(wrap(escape) for escape in escapes) if tmux else "".join(escapes)


@functools.lru_cache(maxsize=512)
def placeholder_row(row: int, cols: int, id_high_byte: int = 0, first_col: int = 0) -> str:
    """Row ``row`` of a placement as text: ``cols`` placeholder cells from column
    ``first_col``, each with its row, column and id-byte marks spelled out (so any cut
    of the row still names its cells). Kept: the next frame of a picture (a zoom or pan
    step, a new id with most often the same top byte) has the same rows, which were 2 ms of
    its paint at 120x40 (at most about 1 MB for 512 rows of 120 cells)."""
    row_mark, id_mark = MARKS[row], MARKS[id_high_byte]
    return "".join(PLACEHOLDER + row_mark + MARKS[col] + id_mark for col in range(first_col, first_col + cols))


# Ids: the low byte (1..255) is the placeholder's colour, the top byte its third mark.
# Random start: several apps (tmux panes) share one terminal's id space.
_ID_SPACE = 255 * 256
_ids = itertools.count(random.randrange(_ID_SPACE))
_ids_lock = threading.Lock()


def new_image_id() -> int:
    """A fresh image id whose low byte is 1..255 and whose bits 8..23 are zero, so the
    id is ``high << 24 | low``: a 256-colour index and one mark."""
    with _ids_lock:
        n = next(_ids) % _ID_SPACE
    high, low = divmod(n, 255)
    return (high << 24) | (low + 1)


def id_parts(image_id: int) -> tuple[int, int]:
    """(top byte, low byte) of an id made by ``new_image_id``."""
    return (image_id >> 24) & 0xFF, image_id & 0xFF
