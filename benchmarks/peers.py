"""Startup beside other Textual apps: evolink-tui, a bare Textual app, posting and harlequin,
each to its first full frame, measured the same way in the same run.

None of the peers can report its own frame, so here every program is watched from outside:
a fresh process on a pseudo-terminal of 120x40, timed from just before ``Popen`` to the
moment its terminal output (escape sequences removed) holds every text of its full first
screen, the key bar included (``SENTINELS``). The programs alternate, one unmeasured warm-up
each, medians of ``runs``.

The peers run from their own virtual environments, each with the versions it pins (posting
pins an older Textual): ``BENCH_POSTING`` and ``BENCH_HARLEQUIN`` name their executables, by
default ``/work/venvs/peers-posting/bin/posting`` and ``/work/venvs/peers-harlequin/bin/harlequin``.
A peer that is not installed is left out and said so.

    pip install posting        # in a venv of its own (posting 2.11 needs tree-sitter 0.25)
    pip install harlequin      # in another
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from common import COLUMNS, HARNESS, LINES, ROOT, hermetic_env, median, temp_folder

ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[\]P_][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[=>78]")

# What the full first screen of each shows: its main panels and the last key of its key bar.
SENTINELS: dict[str, tuple[bytes, ...]] = {
    "evolink-tui": (b"Tasks", b"Compose", b"palette"),
    "bare": (b"A bare Textual app", b"Quit"),
    "posting": (b"Collection", b"Send", b"Variables"),
    "harlequin": (b"Data Catalog", b"Query Editor", b"Find"),
}


def peers() -> dict[str, list[str]]:
    """The command of each program that is installed here."""
    found = {
        "evolink-tui": [sys.executable, "-m", "evolink_tui", "--demo"],
        "bare": [sys.executable, str(HARNESS), "bare", "stay"],
    }
    for name, default in (
        ("posting", "/work/venvs/peers-posting/bin/posting"),
        ("harlequin", "/work/venvs/peers-harlequin/bin/harlequin"),
    ):
        path = os.environ.get(f"BENCH_{name.upper()}", default)
        if Path(path).is_file() or shutil.which(path):
            found[name] = [path]
    return found


def first_full_frame(name: str, argv: list[str], env: dict[str, str], timeout: float = 60.0) -> float:
    """ms from just before Popen to the moment the terminal shows every sentinel of ``name``."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))

    def controlling_tty() -> None:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    env = {**env, "COLUMNS": str(COLUMNS), "LINES": str(LINES)}
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
        preexec_fn=controlling_tty,
        cwd=env.get("HOME", str(ROOT)),
    )
    os.close(slave)
    seen = b""
    wanted = SENTINELS[name]
    try:
        deadline = started + timeout
        while True:
            if time.perf_counter() > deadline:
                tail = ANSI.sub(b"", seen)[-400:]
                raise TimeoutError(f"{name}: no full frame within {timeout} s; screen tail {tail!r}")
            ready, _, _ = select.select([master], [], [], 0.2)
            if not ready:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            if not data:
                raise RuntimeError(f"{name} exited before its first full frame: {ANSI.sub(b'', seen)[-400:]!r}")
            at = time.perf_counter()
            seen += data
            text = ANSI.sub(b"", seen)
            if all(word in text for word in wanted):
                return (at - started) * 1000
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(10)
        os.close(master)


def measure_peers(runs: int = 7) -> dict[str, dict]:
    folder = temp_folder("peers")
    try:
        home = folder / "home"
        home.mkdir()
        env = hermetic_env(
            folder,
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_DATA_HOME=str(home / ".local/share"),
            XDG_STATE_HOME=str(home / ".local/state"),
            XDG_CACHE_HOME=str(home / ".cache"),
            EVOLINK_TUI_STATE_DIR=str(folder / "state"),
        )
        programs = peers()
        for name, argv in programs.items():  # warm the file cache, make each one's config
            first_full_frame(name, argv, env)
        samples: dict[str, list[float]] = {name: [] for name in programs}
        for _ in range(runs):
            for name, argv in programs.items():
                samples[name].append(first_full_frame(name, argv, env))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {name: {"ms": median(s), "all_ms": [round(x) for x in s]} for name, s in samples.items()}


if __name__ == "__main__":
    print(json.dumps(measure_peers(int(sys.argv[1]) if len(sys.argv) > 1 else 5), indent=1))
