"""Driving a terminal program from the outside, as a user does: a pseudo-terminal, keys
typed into it, and what it draws on it.

Nothing here knows the app's code: a program is started on a fresh pseudo-terminal, its
output is read as it arrives (each chunk with its arrival time), escape sequences are
stripped, and a frame is recognised by the text it shows (``wait_for``) or by the
output falling quiet after a key (``settle``). Memory and CPU come from ``/proc``. So the
same code measures evolink-tui, a bare Textual app and the peers (posting, harlequin),
and it keeps working whatever the app's widgets are called.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

from common import COLUMNS, LINES, ROOT, answer_terminal_queries, cpu_seconds, reap

ESCAPES = re.compile(
    rb"\x1b\[[0-9;?<>=:]*[ -/]*[@-~]"  # CSI: cursor moves, colours, modes
    rb"|\x1b[\]P_^X][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC, DCS, APC, PM, SOS strings
    rb"|\x1b[()*+][0-9A-Za-z]"  # character set designations
    rb"|\x1b[ -/]*[0-~]"  # any other two-byte escape
)
# What the app's first full frame shows, top to bottom: the task list's and the preview's titles
# and the key bar (a frame that shows them all is whole; see peers.py for the other programs').
APP_MARKERS = ("Tasks", "Preview", "Gallery")
OVERLAP = 8192  # bytes of earlier output searched again with each chunk (a marker split across reads)

KEYS = {
    "up": "\x1b[A",
    "down": "\x1b[B",
    "right": "\x1b[C",
    "left": "\x1b[D",
    "pagedown": "\x1b[6~",
    "pageup": "\x1b[5~",
    "f4": "\x1bOS",
    "escape": "\x1b",
    "ctrl+q": "\x11",
}


def visible(data: bytes) -> str:
    """The text a chunk of terminal output draws, escape sequences left out."""
    return ESCAPES.sub(b"", data).decode("utf-8", "replace")


def console_script(prefix: str | Path, name: str) -> Path | None:
    path = Path(prefix) / "bin" / name
    return path if path.exists() else None


def app_argv() -> list[str]:
    """``evolink-tui`` as the user runs it: the installed script (``-m`` where there is none)."""
    script = console_script(sys.prefix, "evolink-tui")
    return [sys.executable, str(script)] if script else [sys.executable, "-m", "evolink_tui"]


class Terminal:
    """One program on its own pseudo-terminal of ``size`` (columns, lines)."""

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        *,
        cwd: str | Path | None = None,
        size: tuple[int, int] = (COLUMNS, LINES),
        pass_fds: tuple[int, ...] = (),
    ) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        env = {**env, "COLUMNS": str(size[0]), "LINES": str(size[1])}

        def controlling_tty() -> None:  # in the child, after setsid
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.master = master
        self.raw = bytearray()
        self.chunks: list[tuple[float, int]] = []  # (arrival time, end offset in raw)
        self.closed = False
        self.returncode: int | None = None
        self.rusage = None
        self._changed = threading.Condition()
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=str(cwd or ROOT),
            start_new_session=True,
            preexec_fn=controlling_tty,
            pass_fds=pass_fds,
        )
        os.close(slave)
        threading.Thread(target=self._pump, daemon=True).start()

    # -- output ----------------------------------------------------------------------------------

    def _pump(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.master], [], [], 0.5)
            except (OSError, ValueError):
                break
            if not ready:
                if self.proc.poll() is not None and not self._readable():
                    break
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:
                data = b""
            now = time.perf_counter()
            answer_terminal_queries(self.master, data)
            with self._changed:
                if not data:
                    self.closed = True
                    self._changed.notify_all()
                    return
                self.raw += data
                self.chunks.append((now, len(self.raw)))
                self._changed.notify_all()
        with self._changed:
            self.closed = True
            self._changed.notify_all()

    def _readable(self) -> bool:
        try:
            return bool(select.select([self.master], [], [], 0)[0])
        except (OSError, ValueError):
            return False

    def mark(self) -> int:
        """The number of chunks read so far: a ``since`` for ``wait_for`` and ``settle``."""
        with self._changed:
            return len(self.chunks)

    def text(self, since: int = 0) -> str:
        """What was drawn from chunk ``since`` on, escape sequences left out."""
        with self._changed:
            start = self.chunks[since - 1][1] if since else 0
            return visible(bytes(self.raw[start:]))

    def wait_for(self, *markers: str, since: int = 0, timeout: float = 60.0) -> float:
        """The arrival time of the chunk by which every marker has been drawn (each marker
        is text on one line of one style, such as a label), counting from chunk ``since``."""
        deadline = time.perf_counter() + timeout
        missing = list(markers)
        index = since
        start = self.chunks[since - 1][1] if since else 0
        with self._changed:
            while True:
                while index < len(self.chunks):
                    at, end = self.chunks[index]
                    begin = self.chunks[index - 1][1] if index else 0
                    window = visible(bytes(self.raw[max(start, begin - OVERLAP) : end]))
                    missing = [m for m in missing if m not in window]
                    index += 1
                    if not missing:
                        return at
                left = deadline - time.perf_counter()
                if left <= 0 or (self.closed and index >= len(self.chunks)):
                    state = "exited" if self.closed else f"not within {timeout:.0f} s"
                    raise TimeoutError(f"{missing} not drawn ({state}); screen tail: {self.tail()!r}")
                self._changed.wait(min(left, 0.5))

    def settle(
        self, since: int, quiet: float = 0.25, timeout: float = 60.0, first: float | None = None
    ) -> float | None:
        """After chunk ``since``: the arrival time of the last chunk before the output has
        been quiet for ``quiet`` seconds; None if nothing was drawn within ``first`` seconds
        (default ``quiet``) of the call."""
        begun = time.perf_counter()
        deadline = begun + timeout
        first = quiet if first is None else first
        with self._changed:
            while True:
                now = time.perf_counter()
                last = self.chunks[-1][0] if len(self.chunks) > since else None
                if last is None:
                    if now - begun >= first or now >= deadline or self.closed:
                        return None
                    self._changed.wait(max(0.001, first - (now - begun)))
                    continue
                if now - last >= quiet or now >= deadline or self.closed:
                    return last
                self._changed.wait(max(0.001, quiet - (now - last)))

    def tail(self, size: int = 400) -> str:
        return visible(bytes(self.raw[-4 * size - OVERLAP :]))[-size:]

    # -- input -----------------------------------------------------------------------------------

    def press(self, *keys: str) -> float:
        """Type keys (names from KEYS, or literal text); the time just before the write."""
        data = "".join(KEYS.get(key, key) for key in keys).encode()
        at = time.perf_counter()
        os.write(self.master, data)
        return at

    # -- the process -----------------------------------------------------------------------------

    def rss_mb(self) -> float:
        """Resident memory now (VmRSS), in MB."""
        with open(f"/proc/{self.proc.pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far, all its threads."""
        return cpu_seconds(self.proc.pid)

    def close(self, keys: tuple[str, ...] = ("ctrl+q",), timeout: float = 15.0) -> int:
        """Ask it to quit with ``keys``, wait (killing it after ``timeout``), reap it."""
        if self.returncode is None:
            if keys:
                try:
                    self.press(*keys)
                except OSError:
                    pass
            self.returncode, self.rusage = reap(self.proc, timeout)
        with contextlib.suppress(OSError):
            os.close(self.master)
        return self.returncode

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc) -> None:
        if self.returncode is None:
            self.close(timeout=5)
