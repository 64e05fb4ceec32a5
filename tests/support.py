"""Helpers shared by tests that drive real processes: reading the history database from
outside the process and waiting for a condition with a deadline."""

from __future__ import annotations

import html
import re
import sqlite3
import time
from pathlib import Path
from typing import NamedTuple

from rich.cells import cell_len


def history_rows(db: Path) -> list[dict]:
    """Every task row of a history database another process writes (none if not there yet)."""
    if not db.exists():
        return []
    try:
        conn = sqlite3.connect(db, timeout=1)
        try:
            conn.row_factory = sqlite3.Row
            return [dict(row) for row in conn.execute("SELECT * FROM tasks ORDER BY id")]
        finally:
            conn.close()
    except sqlite3.Error:  # not created yet
        return []


def wait_for(condition, what: str, timeout: float = 20.0, step: float = 0.03):
    """The first truthy value of ``condition()``; AssertionError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")


# -- what a Textual app shows, read from its SVG screenshot (public API: App.export_screenshot) --

_SVG_TEXT = re.compile(
    r'<text class="([^"]*)" x="([0-9.]+)" y="[0-9.]+" textLength="[0-9.]+"'
    r' clip-path="url\(#[^)]*-line-(\d+)\)">(.*?)</text>'
)
_SVG_RECT = re.compile(r'<rect fill="(#[0-9a-fA-F]{6})" x="([0-9.]+)" y="([0-9.]+)" width="([0-9.]+)" height="[0-9.]+"')
_SVG_CLASS = re.compile(r"\.([\w-]+) \{ fill: (#[0-9a-fA-F]{6})")
CHAR_HEIGHT = 20  # Rich's SVG export: cells of 20 x 12.2 px on lines 24.4 px apart
CHAR_WIDTH = CHAR_HEIGHT * 0.61
LINE_HEIGHT = CHAR_HEIGHT * 1.22


class Cell(NamedTuple):
    char: str
    fg: tuple[int, int, int] | None
    bg: tuple[int, int, int] | None


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


def screen_cells(svg: str, width: int, height: int) -> list[list[Cell]]:
    """Every cell of a screenshot: its character, text colour and background colour
    (None where the SVG has none: the terminal's default)."""
    chars = [[" "] * width for _ in range(height)]
    fgs: list[list[tuple[int, int, int] | None]] = [[None] * width for _ in range(height)]
    bgs: list[list[tuple[int, int, int] | None]] = [[None] * width for _ in range(height)]
    fills = {name: _rgb(colour) for name, colour in _SVG_CLASS.findall(svg)}
    for colour, x, y, w in _SVG_RECT.findall(svg):
        row, column = round((float(y) - 1.5) / LINE_HEIGHT), round(float(x) / CHAR_WIDTH)
        for col in range(column, min(width, column + round(float(w) / CHAR_WIDTH))):
            if 0 <= row < height:
                bgs[row][col] = _rgb(colour)
    for name, x, line, text in _SVG_TEXT.findall(svg):
        row, column = int(line), round(float(x) / CHAR_WIDTH)
        if row >= height:
            continue
        for char in html.unescape(text).replace("\xa0", " "):
            if column < width:
                chars[row][column] = char
                fgs[row][column] = fills.get(name)
                for extra in range(1, cell_len(char)):  # a wide character fills two cells
                    if column + extra < width:
                        chars[row][column + extra] = ""
            column += max(1, cell_len(char))
    return [[Cell(chars[r][c], fgs[r][c], bgs[r][c]) for c in range(width)] for r in range(height)]


def app_cells(app) -> list[list[Cell]]:
    """What a running app's terminal shows now, cell by cell."""
    width, height = app.size
    return screen_cells(app.export_screenshot(), width, height)


def app_text(app) -> str:
    """What a running app's terminal shows now, as plain text (one line per row)."""
    return "\n".join("".join(cell.char for cell in row) for row in app_cells(app))
