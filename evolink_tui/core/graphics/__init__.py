"""Terminal graphics: which way this terminal can show pixels, and the escapes that do it.

Four methods, best first: the kitty graphics protocol (``kitty``), iTerm2 inline images
(``iterm``), sixel (``sixel``) and half-block cells (``halfblock``, two pixels a cell in
24-bit colour, which every terminal the app runs in can show). The method comes from
``--graphics`` (the app's flag), else ``EVOLINK_TUI_GRAPHICS``, else ``graphics`` in
config.toml, else ``auto``: detection (``detect.py``) asks the terminal before the app
takes it over.

Headless: nothing here imports textual. The encoders (``kitty``, ``iterm``, ``sixel``) are
pure functions from an RGB raster to the bytes to write; ``tmux`` wraps them for tmux's
passthrough. Everything is sent inline (base64 in the escape), never as a file path or
shared memory, so it works over SSH.

Why our own and not textual-image: its releases with tmux passthrough need Python 3.12+
(the project supports 3.11), and 0.12, the newest for 3.11, decodes and encodes on the
event loop, sends the whole kitty image again on every redraw and writes to the terminal
from outside Textual's output. One code path for every Python we support; the measurements
are in the commit that says so.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import NamedTuple

from ..errors import ValidationError

METHODS = ("auto", "kitty", "iterm", "sixel", "halfblock")
PIXEL_METHODS = frozenset({"kitty", "iterm", "sixel"})
ENV_VAR = "EVOLINK_TUI_GRAPHICS"
ALLOWED = "auto, kitty, iterm, sixel or halfblock"


def parse_method(value: object, field_name: str) -> str:
    """``value`` as one of METHODS (case and spaces ignored); ValidationError naming
    ``field_name``, the value and the allowed values otherwise."""
    text = value.strip().lower() if isinstance(value, str) else None
    if text not in METHODS:
        raise ValidationError(field_name, value, ALLOWED)
    return text


def requested_method(flag: str | None, environ: Mapping[str, str], configured: str | None, config_field: str) -> str:
    """The method asked for: the flag, else the environment, else the config file, else
    "auto". Each is checked where it comes from, so a bad value names its source."""
    if flag is not None:
        return parse_method(flag, "--graphics")
    env = environ.get(ENV_VAR)
    if env is not None and env.strip():
        return parse_method(env, ENV_VAR)
    if configured is not None:
        return parse_method(configured, config_field)
    return "auto"


# The records below are NamedTuples, not frozen dataclasses: detection runs at every start, and
# a frozen dataclass takes about 1 ms to define against 0.4 ms.


class CellSize(NamedTuple):
    """One terminal cell in pixels."""

    width: int
    height: int


DEFAULT_CELL = CellSize(10, 20)
"""What a cell is taken to be when the terminal does not say (a common 1:2 cell)."""


class TerminalGraphics(NamedTuple):
    """How this terminal shows pictures: the method, the cell size and whether escapes
    must pass through tmux."""

    method: str = "halfblock"
    cell: CellSize = DEFAULT_CELL
    cell_known: bool = False
    """False when ``cell`` is the DEFAULT_CELL guess (sixel needs the real size)."""
    tmux: bool = False
    """Inside tmux: kitty and iTerm2 escapes are wrapped for passthrough."""
    reason: str = ""
    """Why this method (for ``locate`` and logs): "--graphics", "detected: kitty reply"..."""
    terminal: str = ""
    """The terminal's name when it told us (XTVERSION), else ""."""

    @property
    def pixels(self) -> bool:
        return self.method in PIXEL_METHODS

    def describe(self) -> dict:
        return {
            "method": self.method,
            "cell": f"{self.cell.width}x{self.cell.height}" + ("" if self.cell_known else " (guessed)"),
            "tmux": self.tmux,
            "reason": self.reason,
            "terminal": self.terminal,
        }


_lock = threading.Lock()
_active = TerminalGraphics(reason="default")


def active() -> TerminalGraphics:
    """The graphics of the terminal this process draws on (set once at startup)."""
    with _lock:
        return _active


def set_active(graphics: TerminalGraphics) -> None:
    global _active
    with _lock:
        _active = graphics
