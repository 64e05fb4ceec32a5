"""Shared by the benchmarks: children on a pseudo-terminal, a loopback simulator process,
hermetic environments, /proc CPU readings and medians."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import queue
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HARNESS = HERE / "harness.py"
COLUMNS, LINES = 120, 40
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
KEY = "sk-bench-0123456789abcdef"


def median(values) -> float:
    return statistics.median(values) if values else float("nan")


def hermetic_env(folder: Path, **extra: str) -> dict[str, str]:
    """The caller's environment without any EVOLINK_* setting, with its own config, data and
    download folders in ``folder``, and no proxies."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("EVOLINK_") and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }
    env.update(
        {
            "EVOLINK_TUI_CONFIG": str(folder / "config" / "config.toml"),
            "EVOLINK_TUI_DATA_DIR": str(folder / "data"),
            "EVOLINK_DOWNLOAD_DIR": str(folder / "downloads"),
            "XDG_CONFIG_HOME": str(folder / "xdg-config"),
            "XDG_DATA_HOME": str(folder / "xdg-data"),
            "NO_PROXY": "*",
            "TERM": "xterm-256color",
            "COLORTERM": "truecolor",
            "PYTHONDONTWRITEBYTECODE": "",
        }
    )
    env.pop("NO_COLOR", None)
    env.pop("TEXTUAL", None)
    # The app measured is this checkout's, whichever copy the environment has installed.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


@dataclass
class Child:
    """A harness process on a pseudo-terminal; its reports arrive as JSON lines."""

    proc: subprocess.Popen
    master: int
    started: float
    reports: queue.Queue[dict] = field(default_factory=queue.Queue)
    output: bytearray = field(default_factory=bytearray)
    rusage: object = None
    returncode: int | None = None

    def next(self, kind: str, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {kind!r} report within {timeout} s; screen tail: {self.tail()!r}")
            try:
                item = self.reports.get(timeout=min(left, 0.5))
            except queue.Empty:
                if self.exited() and self.reports.empty():
                    time.sleep(0.2)  # the last reports and screen output may still be in the pipes
                    if self.reports.empty():
                        raise RuntimeError(f"the child exited before {kind!r}: {self.tail()!r}") from None
                continue
            if item.get("kind") == kind:
                return item

    def exited(self) -> bool:
        """True once the child has ended (without reaping it: wait() wants its rusage)."""
        if self.returncode is not None:
            return True
        try:
            return os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def quit(self) -> None:
        self.type("\x11")  # ctrl+q

    def tail(self, size: int = 600) -> str:
        text = bytes(self.output[-max(4000, size * 4) :]).decode("utf-8", "replace")
        return re.sub(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[\]P_][^\x07\x1b]*(\x07|\x1b\\)?", "", text)[-size:]

    def cpu_seconds(self) -> float:
        """utime + stime of the child so far, from /proc (all its threads)."""
        return cpu_seconds(self.proc.pid)

    def wait(self, timeout: float = 30.0) -> int:
        """Reap the child (its peak RSS comes from wait4); kill it if it does not end."""
        if self.returncode is None:
            self.returncode, self.rusage = reap(self.proc, timeout)
        with contextlib.suppress(OSError):
            os.close(self.master)
        return self.returncode

    @property
    def peak_rss_mb(self) -> float:
        return self.rusage.ru_maxrss / 1024 if self.rusage is not None else float("nan")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far, from /proc (all its threads)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def reap(proc: subprocess.Popen, timeout: float) -> tuple[int, object]:
    """Wait for ``proc`` to end (SIGKILL to its process group after ``timeout``); its exit
    code and its resource usage from wait4 (peak RSS among it)."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, usage
        if time.monotonic() > deadline:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # started in a session of its own
            except OSError:
                os.kill(proc.pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
        time.sleep(0.01)


def spawn(args: list[str], env: dict[str, str], *, script: Path = HARNESS) -> Child:
    """Start ``python script ARGS`` on a fresh pseudo-terminal of COLUMNS x LINES."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
    read_end, write_end = os.pipe()
    env = {**env, "BENCH_REPORT_FD": str(write_end), "COLUMNS": str(COLUMNS), "LINES": str(LINES)}

    def controlling_tty() -> None:  # in the child, after setsid
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(script), *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        pass_fds=(write_end,),
        start_new_session=True,
        preexec_fn=controlling_tty,
        cwd=str(ROOT),
    )
    os.close(slave)
    os.close(write_end)
    child = Child(proc=proc, master=master, started=started)
    threading.Thread(target=_pump, args=(child, read_end), daemon=True).start()
    return child


# What any terminal answers (xterm and its kin): the cursor position report and the primary
# device attributes, here of a VT220-class terminal without sixel or kitty graphics. The app asks
# both before it starts (graphics detection, bounded at 200 ms); a pseudo-terminal with nobody
# behind it would leave it waiting out that bound, which no user's terminal does.
TERMINAL_ANSWERS = ((b"\x1b[6n", b"\x1b[1;1R"), (b"\x1b[c", b"\x1b[?62;22c"))


def answer_terminal_queries(master: int, data: bytes) -> None:
    """Answer the queries in ``data`` (output just read from the program) as a terminal would."""
    for query, answer in TERMINAL_ANSWERS:
        for _ in range(data.count(query)):
            with contextlib.suppress(OSError):
                os.write(master, answer)


def _pump(child: Child, read_end: int) -> None:
    """Drain the terminal (a full pty would block the app) and collect the reports."""
    buffer = b""
    fds = [child.master, read_end]
    while fds:
        try:
            ready, _, _ = select.select(fds, [], [], 0.5)
        except (OSError, ValueError):
            break
        for fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if not data:
                fds.remove(fd)
                if fd == read_end:
                    os.close(read_end)
                continue
            if fd == child.master:
                answer_terminal_queries(fd, data)
                child.output += data
                del child.output[:-400000]
            else:
                buffer += data
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    child.reports.put(json.loads(line))


@dataclass
class Simulator:
    """``evolink-tui simulator`` in its own process on a free loopback port."""

    proc: subprocess.Popen
    url: str

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_simulator(env: dict[str, str], **sim_env: str) -> Simulator:
    env = {**env, **sim_env, "PYTHONUNBUFFERED": "1"}
    # Niced: it stands in for a remote server, so its drawing of results should not take CPU
    # from the app on this small machine (the app's own work is what is measured).
    proc = subprocess.Popen(
        [sys.executable, "-m", "evolink_tui", "simulator", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=str(ROOT),
        preexec_fn=lambda: os.nice(19),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        match = re.match(r"export EVOLINK_BASE_URL=(\S+)", line)
        if match:
            threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep the pipe drained
            return Simulator(proc, match.group(1))
    proc.kill()
    raise RuntimeError("the simulator did not start")


def app_env_for(folder: Path, sim: Simulator, **extra: str) -> dict[str, str]:
    """A real-mode (not --demo) app environment pointed at a loopback simulator."""
    return hermetic_env(folder, EVOLINK_API_KEY=KEY, EVOLINK_BASE_URL=sim.url, EVOLINK_FILES_BASE_URL=sim.url, **extra)


def temp_folder(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"evolink-bench-{prefix}-"))
