"""Which graphics this terminal shows, found out before the app takes the terminal over.

Two kinds of evidence:

- **Environment hints**: ``TERM``, ``TERM_PROGRAM``, ``LC_TERMINAL``, ``KITTY_WINDOW_ID``,
  ``TMUX``; inside tmux, tmux's own word on the outer terminal (``client_termtype``,
  ``client_termname``) and whether ``allow-passthrough`` is on.
- **Terminal replies**, asked in two rounds within one bounded wait (``BUDGET``, 200 ms):

  1. a cursor position report (``CSI 6 n``). Every terminal answers it, and Textual reads
     a late answer as a harmless cursor event, never as keys. If it does not come within
     half the budget, the link is slow (or the terminal mute) and nothing else is asked.
  2. otherwise the questions whose answers Textual *would* read as key presses if they
     came late: the kitty graphics query, XTVERSION (``CSI > q``), the cell size
     (``CSI 16 t``, only if the kernel does not know it) and, last, primary device
     attributes (``CSI c``, ``4`` among them = sixel). Terminals answer in order, so the
     device attributes close the round: once they are in, every answer is in. The answer
     to round 1 came within half the budget, so round 2's come within the other half.

While asking, the terminal is in non-canonical mode without echo, so answers are neither
shown nor line-buffered; it is put back exactly as it was. Nothing is written unless both
stdin and stdout are terminals. Keys typed during those few milliseconds are read with the
answers and put back in the terminal's input queue for the app (where the system allows).
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

from ..config import Settings, config_field
from . import DEFAULT_CELL, CellSize, TerminalGraphics, kitty, requested_method, set_active
from .tmux import in_tmux

BUDGET = 0.2
"""The longest the whole detection may wait, in seconds."""

CPR = "\x1b[6n"
XTVERSION = "\x1b[>q"
CELL_SIZE = "\x1b[16t"
DA1 = "\x1b[c"
QUERY_ID = 31  # the kitty query's image id (nothing is stored: a=q)

_CPR_REPLY = re.compile(rb"\x1b\[(\d+);(\d+)R")
_DA1_REPLY = re.compile(rb"\x1b\[\?([\d;]*)c")
_KITTY_REPLY = re.compile(rb"\x1b_G([^\x1b]*)\x1b\\")
_XTVERSION_REPLY = re.compile(rb"\x1bP>\|([^\x1b]*)\x1b\\")
_CELL_REPLY = re.compile(rb"\x1b\[6;(\d+);(\d+)t")

Clock = Callable[[], float]
Wait = Callable[[int, float], bool]
"""``wait(fd, seconds)``: True when ``fd`` has something to read, False after ``seconds``."""


class Replies:
    """What the terminal said (filled in as the replies are read); ``kitty`` is True when it
    answered OK, False when it answered with an error, None with no answer. A plain class:
    detection runs at every start, and a dataclass takes about a millisecond to define."""

    def __init__(
        self,
        *,
        cpr: bool = False,
        kitty: bool | None = None,
        sixel: bool = False,
        da1: bool = False,
        terminal: str = "",
        cell: CellSize | None = None,
    ) -> None:
        self.cpr = cpr
        self.kitty = kitty
        self.sixel = sixel
        self.da1 = da1
        self.terminal = terminal
        self.cell = cell

    def __repr__(self) -> str:
        return f"Replies({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"


class TmuxInfo(NamedTuple):
    termtype: str = ""
    termname: str = ""
    passthrough: bool = False


def parse_replies(data: bytes) -> Replies:
    replies = Replies(cpr=bool(_CPR_REPLY.search(data)))
    for body in _KITTY_REPLY.findall(data):
        head, _, status = body.partition(b";")
        if f"i={QUERY_ID}".encode() in head.split(b","):
            replies.kitty = status == b"OK"
    if match := _DA1_REPLY.search(data):
        replies.da1 = True
        replies.sixel = "4" in match.group(1).decode().split(";")
    if match := _XTVERSION_REPLY.search(data):
        replies.terminal = "".join(ch for ch in match.group(1).decode("utf-8", "replace") if ch.isprintable())[:80]
    if match := _CELL_REPLY.search(data):
        height, width = int(match.group(1)), int(match.group(2))
        if 0 < width <= 1000 and 0 < height <= 1000:
            replies.cell = CellSize(width, height)
    return replies


def cell_from_winsize(fd: int) -> CellSize | None:
    """The cell size from the kernel's window size (TIOCGWINSZ pixel fields), if set."""
    try:
        rows, cols, xpixel, ypixel = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, bytes(8)))
    except OSError:
        return None
    if rows and cols and xpixel and ypixel and xpixel >= cols and ypixel >= rows:
        return CellSize(xpixel // cols, ypixel // rows)
    return None


def _select_wait(fd: int, seconds: float) -> bool:
    return bool(select.select([fd], [], [], max(0.0, seconds))[0])


def read_until(fd: int, done: Callable[[bytes], bool], deadline: float, clock: Clock, wait: Wait) -> bytes:
    """Read ``fd`` until ``done(everything read)`` or ``deadline`` on ``clock``."""
    data = b""
    while not done(data):
        left = deadline - clock()
        if left <= 0:
            break
        if not wait(fd, left):
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    return data


def ask(
    fd_in: int,
    fd_out: int,
    *,
    graphics: bool = True,
    cell: bool = True,
    tmux: bool = False,
    budget: float = BUDGET,
    clock: Clock = time.monotonic,
    wait: Wait = _select_wait,
) -> Replies:
    """Ask the terminal (the two rounds described above); the whole of it within
    ``budget`` seconds on ``clock``. ``graphics``: ask what it can draw; ``cell``: ask
    its cell size. Never writes unless both fds are terminals."""
    if not (os.isatty(fd_in) and os.isatty(fd_out)):
        return Replies()
    start = clock()
    saved = termios.tcgetattr(fd_in)
    quiet = termios.tcgetattr(fd_in)
    quiet[3] &= ~(termios.ICANON | termios.ECHO)
    quiet[6][termios.VMIN], quiet[6][termios.VTIME] = 1, 0
    data = b""
    try:
        termios.tcsetattr(fd_in, termios.TCSANOW, quiet)
        os.write(fd_out, CPR.encode())
        data = read_until(fd_in, lambda d: bool(_CPR_REPLY.search(d)), start + budget / 2, clock, wait)
        if _CPR_REPLY.search(data):
            questions = []
            if graphics and not tmux:
                # Inside tmux the outer terminal's answer would come back after tmux's own
                # device attributes (or never): tmux is asked instead.
                questions.append(kitty.query(QUERY_ID))
            if graphics:
                questions.append(XTVERSION)
            if cell:
                questions.append(CELL_SIZE)
            questions.append(DA1)
            os.write(fd_out, "".join(questions).encode())
            data += read_until(fd_in, lambda d: bool(_DA1_REPLY.search(d)), start + budget, clock, wait)
    finally:
        termios.tcsetattr(fd_in, termios.TCSANOW, saved)
    give_back(fd_in, typed(data))
    return parse_replies(data)


_ANY_REPLY = re.compile(
    b"|".join(r.pattern for r in (_CPR_REPLY, _DA1_REPLY, _KITTY_REPLY, _XTVERSION_REPLY, _CELL_REPLY))
)


def typed(data: bytes) -> bytes:
    """What was read besides the answers: keys the user typed meanwhile."""
    return _ANY_REPLY.sub(b"", data)


def give_back(fd: int, keys: bytes) -> bool:
    """Put ``keys`` back in the terminal's input queue for the app to read (TIOCSTI). Some
    systems forbid that (Linux 6.2+ with dev.tty.legacy_tiocsti=0): the keys are then lost,
    which only happens to keys typed in the first 200 ms."""
    try:
        for byte in keys:
            fcntl.ioctl(fd, termios.TIOCSTI, bytes((byte,)))
    except OSError:
        return False
    return True


def ask_tmux(timeout: float) -> TmuxInfo:
    """tmux's knowledge of the outer terminal and whether passthrough is allowed."""
    fmt = "#{client_termtype}\t#{client_termname}\t#{allow-passthrough}"
    try:
        done = subprocess.run(
            ["tmux", "display-message", "-p", fmt],
            capture_output=True,
            text=True,
            timeout=max(0.01, timeout),
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return TmuxInfo()
    parts = (done.stdout.rstrip("\n").split("\t") + ["", "", ""])[:3]
    return TmuxInfo(parts[0][:80], parts[1][:80], parts[2].strip() in ("on", "all", "1"))


def _kitty_like(name: str, env: dict) -> bool:
    return (
        "kitty" in name
        or "ghostty" in name
        or env.get("TERM", "") in ("xterm-kitty", "xterm-ghostty")
        or bool(env.get("KITTY_WINDOW_ID"))
        or env.get("TERM_PROGRAM", "").lower() == "ghostty"
    )


def _iterm_like(name: str, env: dict) -> bool:
    return (
        "iterm2" in name
        or "wezterm" in name
        or env.get("TERM_PROGRAM", "") in ("iTerm.app", "WezTerm", "mintty")
        or env.get("LC_TERMINAL", "") == "iTerm2"
    )


def decide(env: dict, replies: Replies, tmux: TmuxInfo | None, cell_known: bool) -> tuple[str, str]:
    """The method for ``auto``, and why. ``tmux`` is None outside tmux."""
    name = " ".join((replies.terminal, tmux.termtype, tmux.termname) if tmux else (replies.terminal,)).lower()
    kitty_like, iterm_like = _kitty_like(name, env), _iterm_like(name, env)
    if tmux is not None:
        # tmux answers the device attributes itself: "4" means tmux draws sixel itself.
        if kitty_like and tmux.passthrough:
            return "kitty", "tmux with passthrough, outer terminal speaks kitty graphics"
        if iterm_like and tmux.passthrough:
            return "iterm", "tmux with passthrough, outer terminal shows iTerm2 images"
        if replies.sixel and cell_known:
            return "sixel", "tmux draws sixel"
        if (kitty_like or iterm_like) and not tmux.passthrough:
            return "halfblock", "tmux without allow-passthrough (set -g allow-passthrough on)"
        return "halfblock", "tmux: no graphics found"
    if kitty_like and replies.kitty is not False:
        said = "terminal named" if replies.kitty is None else "terminal said OK"
        return "kitty", f"kitty graphics ({said})"
    if iterm_like:
        return "iterm", "iTerm2 images (terminal named)"
    if replies.kitty and not replies.sixel:
        return "kitty", "kitty graphics (terminal said OK)"
    if replies.sixel:
        if cell_known:
            return "sixel", "sixel (device attributes)"
        return "halfblock", "sixel, but the terminal did not say its cell size"
    return "halfblock", "no graphics reply" if replies.da1 else "no reply from the terminal"


def detect(
    requested: str = "auto",
    environ: dict | None = None,
    *,
    fd_in: int = 0,
    fd_out: int = 1,
    budget: float = BUDGET,
    clock: Clock = time.monotonic,
    wait: Wait = _select_wait,
    tmux_query: Callable[[float], TmuxInfo] = ask_tmux,
) -> TerminalGraphics:
    """The terminal's graphics for ``requested`` (one of METHODS): ``auto`` asks as above;
    a named pixel method only asks the cell size when the kernel does not know it;
    ``halfblock`` asks nothing."""
    env = dict(os.environ if environ is None else environ)
    tmux = in_tmux(env)
    start = clock()
    cell = cell_from_winsize(fd_out) if os.isatty(fd_out) else None
    if requested == "halfblock":
        return TerminalGraphics("halfblock", cell or DEFAULT_CELL, cell is not None, tmux, "asked for halfblock")
    replies = ask(
        fd_in,
        fd_out,
        graphics=requested == "auto",
        cell=cell is None,
        tmux=tmux,
        budget=budget,
        clock=clock,
        wait=wait,
    )
    cell = cell or replies.cell
    if requested != "auto":
        method, reason = requested, f"asked for {requested}"
    else:
        left = budget - (clock() - start)
        info = (tmux_query(left) if left > 0 else TmuxInfo()) if tmux else None
        method, reason = decide(env, replies, info, cell is not None)
    return TerminalGraphics(method, cell or DEFAULT_CELL, cell is not None, tmux, reason, replies.terminal)


def requested(flag: str | None, settings: Settings, environ: dict | None = None) -> str:
    """The method asked for by ``--graphics``, else EVOLINK_TUI_GRAPHICS, else the config
    file's ``graphics``, else "auto" (ValidationError naming the source of a bad value)."""
    env = os.environ if environ is None else environ
    return requested_method(flag, env, settings.graphics, config_field(settings.config_path, "graphics"))


class Detection:
    """``detect`` running in a thread (it waits on the terminal while the app loads)."""

    def __init__(self, method: str, **kwargs) -> None:
        self.result: TerminalGraphics | None = None
        self._thread = threading.Thread(target=self._run, args=(method,), kwargs=kwargs, daemon=True)
        self._thread.start()

    def _run(self, method: str, **kwargs) -> None:
        try:
            self.result = detect(method, **kwargs)
        except (OSError, termios.error):  # a terminal that will not say: no pixels
            self.result = TerminalGraphics("halfblock" if method == "auto" else method, reason="detection failed")

    def finish(self) -> TerminalGraphics:
        """Wait for the answer (detect bounds its own wait), make it the active one."""
        self._thread.join()
        graphics = self.result or TerminalGraphics(reason="detection failed")
        set_active(graphics)
        return graphics


def start(method: str, **kwargs) -> Detection:
    return Detection(method, **kwargs)
