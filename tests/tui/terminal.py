"""A real pseudo-terminal for the app: ``python -m evolink_tui`` as a user runs it, keys
written to the terminal, everything it draws kept (escape sequences included), so tests can
kill it, start it again and check what reached the terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import threading
import time

from ..support import history_rows as rows  # noqa: F401 (re-exported for the TUI tests)
from ..support import wait_for  # noqa: F401

CTRL_J, CTRL_Q, ESCAPE = "\n", "\x11", "\x1b"


class Terminal:
    """``python -m evolink_tui`` in a pseudo-terminal of ``size``; what it draws is kept."""

    def __init__(self, env: dict, size: tuple[int, int] = (100, 30), args: tuple[str, ...] = ()) -> None:
        master, slave = pty.openpty()
        width, height = size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
        # COLUMNS and LINES win over the terminal's own size (shutil.get_terminal_size), and
        # pytest-xdist's workers have them at 80x24: the app must see the size of this terminal.
        env = {**env, "COLUMNS": str(width), "LINES": str(height)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "evolink_tui", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        self.master = master
        self.output = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.output += data

    def shows(self, text: str) -> bool:
        return text.encode() in self.output

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def kill(self) -> None:
        """kill -9: no cleanup, no goodbye."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        assert self.proc.returncode == -signal.SIGKILL

    def quit(self) -> int:
        self.type(CTRL_Q)
        try:
            return self.proc.wait(10)
        finally:
            self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        try:
            os.close(self.master)
        except OSError:
            pass
        self._reader.join(5)


def enter_prompt(terminal: Terminal, prompt: str) -> None:
    """Type a prompt and, once it is on screen (as a person would see it), press ctrl+j."""
    terminal.type(prompt)
    wait_for(lambda: terminal.shows(prompt), "the prompt on screen")
    time.sleep(0.1)
    terminal.type(CTRL_J)


def ready(terminal: Terminal) -> None:
    """The main screen is drawn (and the history read): keys go to the prompt."""
    wait_for(lambda: terminal.shows("Generate") and terminal.shows("Tasks"), "the first frame")
    time.sleep(0.3)
