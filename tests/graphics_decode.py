"""Readers for what the graphics encoders write, so tests check pixels, not strings: kitty
escapes reassembled, iTerm2 payloads decoded, sixel decoded to a pixel grid."""

from __future__ import annotations

import base64
import io
import re

from PIL import Image

from evolink_tui.core.graphics import kitty
from evolink_tui.core.graphics.tmux import END, START, unwrap

KITTY_ESCAPE = re.compile(r"\x1b_G([^;\x1b]*)(?:;([^\x1b]*))?\x1b\\")
TMUX_WRAPPED = re.compile(re.escape(START) + r"(?:[^\x1b]|\x1b\x1b)*" + re.escape(END))


def unwrap_all(data: str) -> str:
    """Every tmux passthrough wrapper in ``data`` replaced by what it carries."""
    return TMUX_WRAPPED.sub(lambda match: unwrap(match.group(0)), data)


def kitty_commands(data: str) -> list[tuple[dict[str, str], str]]:
    """(control keys, payload) of every kitty graphics escape in ``data``."""
    commands = []
    for control, payload in KITTY_ESCAPE.findall(data):
        keys = dict(part.split("=", 1) for part in control.split(",") if part)
        commands.append((keys, payload))
    return commands


def kitty_images(data: str) -> dict[int, Image.Image]:
    """The images transmitted in ``data`` (chunks reassembled), by id."""
    images: dict[int, Image.Image] = {}
    current: dict[str, str] | None = None
    chunks: list[str] = []
    for keys, payload in kitty_commands(data):
        if keys.get("a") == "t":
            current, chunks = keys, [payload]
        elif current is not None and "a" not in keys:
            chunks.append(payload)
        else:
            continue
        assert len(payload) <= kitty.CHUNK
        assert keys.get("m") == "0" or len(payload) % 4 == 0  # the protocol: only the last chunk may be shorter
        if keys.get("m") == "0":
            raw = base64.standard_b64decode("".join(chunks))
            assert current["f"] == "24" and "o" not in current
            size = int(current["s"]), int(current["v"])
            images[int(current["i"])] = Image.frombytes("RGB", size, raw)
            current = None
    return images


def kitty_placements(data: str) -> dict[int, tuple[int, int]]:
    """Virtual placements in ``data``: id -> (cols, rows)."""
    return {
        int(keys["i"]): (int(keys["c"]), int(keys["r"]))
        for keys, _ in kitty_commands(data)
        if keys.get("a") == "p" and keys.get("U") == "1"
    }


def placeholder_cells(text: str) -> list[tuple[int, int, int]]:
    """(row, column, id top byte) of every placeholder cell in ``text``."""
    index = {mark: n for n, mark in enumerate(kitty.MARKS)}
    mark = "[" + "".join(kitty.MARKS) + "]"
    cells = []
    for match in re.finditer(f"{kitty.PLACEHOLDER}({mark})({mark})({mark})", text):
        cells.append(tuple(index[ch] for ch in match.groups()))
    return cells


ITERM = re.compile(r"\x1b\]1337;File=([^:]*):([A-Za-z0-9+/=]*)\x07")


def iterm_images(data: str) -> list[tuple[dict[str, str], Image.Image]]:
    images = []
    for args, payload in ITERM.findall(data):
        keys = dict(part.split("=", 1) for part in args.split(";"))
        raw = base64.standard_b64decode(payload)
        assert int(keys["size"]) == len(raw)
        images.append((keys, Image.open(io.BytesIO(raw)).convert("RGB")))
    return images


SIXEL = re.compile(r"\x1bP[0-9;]*q(.*?)\x1b\\", re.S)


def decode_sixel(data: str) -> tuple[tuple[int, int], dict[tuple[int, int], tuple[int, int, int]]]:
    """((width, height) from the raster attributes, {(x, y): rgb}) of the first sixel image."""
    match = SIXEL.search(data)
    assert match, "no sixel image"
    body = match.group(1)
    size = (0, 0)
    palette: dict[int, tuple[int, int, int]] = {}
    pixels: dict[tuple[int, int], tuple[int, int, int]] = {}
    colour = 0
    x = band = 0
    i = 0
    number = re.compile(r"\d+(?:;\d+)*")
    while i < len(body):
        ch = body[i]
        if ch == '"':
            params = number.match(body, i + 1)
            assert params
            values = [int(v) for v in params.group(0).split(";")]
            size = (values[2], values[3])
            i = params.end()
        elif ch == "#":
            params = number.match(body, i + 1)
            assert params
            values = [int(v) for v in params.group(0).split(";")]
            colour = values[0]
            if len(values) == 5:
                assert values[1] == 2  # RGB, in percent
                palette[colour] = tuple(round(v * 255 / 100) for v in values[2:])
            i = params.end()
        elif ch == "$":
            x = 0
            i += 1
        elif ch == "-":
            x, band = 0, band + 1
            i += 1
        elif ch == "!":
            params = number.match(body, i + 1)
            assert params
            count = int(params.group(0))
            x = _sixel_column(pixels, palette[colour], x, band, body[params.end()], count)
            i = params.end() + 1
        elif "?" <= ch <= "~":
            x = _sixel_column(pixels, palette[colour], x, band, ch, 1)
            i += 1
        else:
            raise AssertionError(f"unexpected {ch!r} in sixel data")
    return size, pixels


def _sixel_column(pixels, rgb, x: int, band: int, ch: str, count: int) -> int:
    bits = ord(ch) - 63
    for dx in range(count):
        for row in range(6):
            if bits & (1 << row):
                pixels[x + dx, band * 6 + row] = rgb
    return x + count
