"""First full frame from the outside: evolink-tui beside a bare Textual app and two peers,
posting and harlequin, each on its own pseudo-terminal and timed the same way.

    python benchmarks/peers.py [--runs N]

Each program is started on a 120x40 pseudo-terminal and timed from just before ``Popen`` to
the arrival of the output that completes its first full frame, recognised by text that
frame shows at its top and bottom (the key bar or footer included, which Textual draws a
frame late): nothing inside the programs is instrumented, so the same clock measures all
four. They take turns (app, bare, posting, harlequin, then again), one unmeasured warm-up
each, medians of ``runs``. In the first rounds the app and the bare app are left running
for 2 s after that frame and their resident memory is read then (an app can keep growing
after it has drawn; the peak-at-exit figure misses that).

The peers are installed by this script on first use, each in its own virtual environment
under the user cache dir (``BENCH_PEERS_DIR`` moves it), pinned, with pip; a peer that
cannot be installed (PyPI unreachable, say) is skipped with the reason printed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import venv
from dataclasses import dataclass
from pathlib import Path

from common import HARNESS, hermetic_env, median, temp_folder
from outside import APP_MARKERS, Terminal, app_argv, console_script

# Text of each program's first full frame, top and bottom: a frame showing all of it is whole.
BARE_MARKERS = ("A bare Textual app", "Quit")  # harness.py's bare app: its Static and its Footer


@dataclass(frozen=True)
class Peer:
    name: str
    requirements: tuple[str, ...]
    argv: tuple[str, ...]  # after the console script
    markers: tuple[str, ...]


PEERS = (
    # tree-sitter 0.26 crashes (SIGSEGV) under posting's Textual 6.1 grammars; 0.25 is what it was built with.
    Peer("posting", ("posting==2.11.1", "tree-sitter==0.25.*"), (), ("Collection", "Response", "Variables")),
    # --locale C: else a first-run dialog about the C.UTF-8 locale covers the screen.
    Peer("harlequin", ("harlequin==2.17.0",), ("--locale", "C"), ("Query Editor", "memory db", "Format Query")),
)


def peers_dir() -> Path:
    if os.environ.get("BENCH_PEERS_DIR"):
        return Path(os.environ["BENCH_PEERS_DIR"])
    import platformdirs

    return Path(platformdirs.user_cache_dir("evolink-tui", appauthor=False)) / "bench-peers"


def install(peer: Peer) -> tuple[Path | None, str]:
    """(the peer's console script, "") once installed, else (None, why not)."""
    home = peers_dir() / peer.name
    stamp = home / "installed.json"
    script = console_script(home, peer.name)
    if script and stamp.exists() and json.loads(stamp.read_text()) == list(peer.requirements):
        return script, ""
    print(f"  installing {peer.name} into {home} (first use)...", file=sys.stderr, flush=True)
    shutil.rmtree(home, ignore_errors=True)
    try:
        venv.EnvBuilder(with_pip=True, clear=True).create(home)
        done = subprocess.run(
            [
                str(home / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                *peer.requirements,
            ],
            capture_output=True,
            text=True,
            timeout=900,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"{peer.name} could not be installed: {exc}"
    script = console_script(home, peer.name)
    if done.returncode or script is None:
        lines = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith("WARNING: Location")]
        return None, f"{peer.name} could not be installed (is PyPI reachable?): {(lines or ['pip failed'])[-1][:160]}"
    stamp.write_text(json.dumps(list(peer.requirements)))
    return script, ""


@dataclass
class Program:
    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    markers: tuple[str, ...]
    quit_keys: tuple[str, ...] = ("\x11",)
    pass_fds: tuple[int, ...] = ()


def first_frame(program: Program, *, linger: float = 0.0) -> dict:
    """One run: ms to the first full frame and, with ``linger``, resident memory that long after."""
    term = Terminal(program.argv, program.env, cwd=program.cwd, pass_fds=program.pass_fds)
    try:
        at = term.wait_for(*program.markers, timeout=90)
        result = {"ms": (at - term.started) * 1000}
        if linger:
            time.sleep(max(0.0, at + linger - time.perf_counter()))
            result["rss_mb"] = term.rss_mb()
    finally:
        term.close(program.quit_keys, timeout=10 if program.quit_keys else 0)
    result["peak_mb"] = term.rusage.ru_maxrss / 1024 if term.rusage else float("nan")
    return result


def programs(folder: Path) -> tuple[list[Program], list[str]]:
    """The app, the bare app and every peer that is installed (or can be); the reasons for those skipped."""
    env = hermetic_env(folder, HOME=str(folder / "home"), XDG_CACHE_HOME=str(folder / "xdg-cache"))
    devnull = os.open(os.devnull, os.O_WRONLY)  # the bare app's milestone reports go nowhere
    found = [
        Program("app", [*app_argv(), "--demo"], env, folder, APP_MARKERS),
        Program(
            "bare",
            [sys.executable, str(HARNESS), "bare", "stay"],
            {**env, "BENCH_REPORT_FD": str(devnull)},
            folder,
            BARE_MARKERS,
            pass_fds=(devnull,),
        ),
    ]
    skipped = []
    peer_env = {k: v for k, v in env.items() if k != "PYTHONPATH"}  # nothing of this checkout on their path
    for peer in PEERS:
        script, why = install(peer)
        if script is None:
            print(f"  skipped {peer.name}: {why}", file=sys.stderr, flush=True)
            skipped.append(why)
            continue
        workdir = folder / peer.name
        workdir.mkdir(exist_ok=True)
        # Killed once measured (quit_keys=()): how a peer quits is not what is measured.
        found.append(Program(peer.name, [str(script), *peer.argv], peer_env, workdir, peer.markers, quit_keys=()))
    return found, skipped


def measure_peers(runs: int = 7, memory_runs: int = 3, linger: float = 2.0) -> dict:
    folder = temp_folder("peers")
    try:
        found, skipped = programs(folder)
        for program in found:
            first_frame(program)  # warm-up: file cache, bytecode, the app's history file
        samples: dict[str, list[dict]] = {p.name: [] for p in found}
        for round_ in range(runs):
            for program in found:
                stay = linger if round_ < memory_runs and program.name in ("app", "bare") else 0.0
                samples[program.name].append(first_frame(program, linger=stay))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    result: dict = {"skipped": skipped, "runs": runs, "linger_s": linger}
    for name, runs_ in samples.items():
        result[name] = {
            "ms": median([r["ms"] for r in runs_]),
            "all_ms": [round(r["ms"]) for r in runs_],
            "rss_after_mb": median([r["rss_mb"] for r in runs_ if "rss_mb" in r]),
            "peak_mb": max(r["peak_mb"] for r in runs_),
        }
    return result


if __name__ == "__main__":
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 5
    print(json.dumps(measure_peers(runs), indent=1))
