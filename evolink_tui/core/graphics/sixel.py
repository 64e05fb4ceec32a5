"""Sixel: a picture as bands of six pixel rows, one pass per colour of a palette.

The raster is reduced to at most 255 colours (Pillow's fast octree, no dithering, so flat
areas stay flat and compress well; median cut looks no better here and is 80 times
slower). Each band then gets, for every colour it uses, a run of
characters ``?``..``~`` whose six bits say which of the band's six rows have that colour
in that column; ``$`` returns to the band's start for the next colour, ``-`` moves to the
next band; a run of four or more equal characters is written ``!<count><char>``.

The six bits of a column are built for all columns at once: each of the six rows is turned
into a byte string holding ``1 << row`` where the colour is (``bytes.translate``), and the
six strings are added as big integers (no carries: every byte stays under 64).
"""

from __future__ import annotations

import re

DCS_START = "\x1bP0;1;0q"
"""P2=1: pixels not drawn keep the cell's colour (every pixel is drawn anyway)."""
ST = "\x1b\\"
MAX_COLOURS = 255

_RUN = re.compile(rb"([\x3f-\x7e])\1{3,}")


def _run_length(match: re.Match[bytes]) -> bytes:
    text = match.group(0)
    return b"!%d%c" % (len(text), text[0])


def encode(width: int, height: int, rgb: bytes, colours: int = MAX_COLOURS) -> str:
    """The DCS sequence that draws a ``width`` x ``height`` RGB raster from the cursor."""
    from PIL import Image

    if len(rgb) != width * height * 3:
        raise ValueError(f"expected {width * height * 3} bytes of RGB, got {len(rgb)}")
    image = Image.frombytes("RGB", (width, height), rgb)
    paletted = image.quantize(
        colors=max(2, min(colours, MAX_COLOURS)), method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
    )
    palette = paletted.getpalette() or []
    indices = paletted.tobytes()

    parts = [DCS_START, f'"1;1;{width};{height}']
    used = sorted(set(indices))
    for index in used:
        r, g, b = palette[3 * index : 3 * index + 3]
        parts.append(f"#{index};2;{round(r * 100 / 255)};{round(g * 100 / 255)};{round(b * 100 / 255)}")

    blank = int.from_bytes(b"?" * width, "big")  # "?" is 63: no bits set
    tables: dict[tuple[int, int], bytes] = {}

    def table(index: int, bit: int) -> bytes:
        key = (index, bit)
        found = tables.get(key)
        if found is None:
            mapping = bytearray(256)
            mapping[index] = 1 << bit
            found = tables[key] = bytes(mapping)
        return found

    bands = []
    for top in range(0, height, 6):
        rows = [indices[y * width : (y + 1) * width] for y in range(top, min(top + 6, height))]
        present = sorted(set().union(*rows))
        passes = []
        for index in present:
            bits = blank
            for bit, row in enumerate(rows):
                bits += int.from_bytes(row.translate(table(index, bit)), "big")
            line = bits.to_bytes(width, "big").rstrip(b"?")
            passes.append(b"#%d" % index + _RUN.sub(_run_length, line))
        bands.append(b"$".join(passes).decode("ascii"))
    parts.append("-".join(bands))
    parts.append(ST)
    return "".join(parts)
