"""200 tasks at once, from the outside: typing while they all complete, and the CPU they
cost while they poll.

    python benchmarks/wave.py [--rounds N]

The app runs as a user runs it (real mode, on a 120x40 pseudo-terminal) against a loopback
simulator in its own process (niced: it stands in for a remote server). The tasks are
started the way a user starts them: a prompt typed, then ctrl+j pressed 200 times (each
press sends one generation); the top bar's "200 running" says they are all under way.

1. Completing together: the simulator runs every task 16 s (speed 0.5), so they finish
   within the seconds it took to send them. From 1.5 s before the first until every
   result is on disk, keys are typed into the prompt, one every 50 ms at most, each timed
   until the line holding it is drawn (its echo). Every 25 keys a new line starts (enter
   and its number, typed at once, untimed, waited for, then 50 ms): a timed key is always
   typed alone, never behind keys still being handled. Reference: the same app with no tasks,
   the same number of keys typed the same way. The two take turns, ``rounds`` each; p95 of
   all echoes. Budget (issue 17): p95 with 200 completing within 1.5x of no tasks.
2. Polling: the tasks run 400 s, so all 200 poll for the whole window; CPU over 30 s from
   ``/proc``, beside the same app with no tasks over the same window. Budget (issue 17):
   under 8 % of a core.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

from common import KEY, app_env_for, hermetic_env, median, start_simulator, temp_folder
from outside import APP_MARKERS, Terminal, app_argv

TASKS = 200
RUN_S = 8.0  # the default model's (gpt-image-1.5) time on the simulator at speed 1
LINE = 30  # characters typed on a line of the prompt before a new line
TIMED_FROM = 6  # a key's echo is timed once its line holds this many characters (unique text)
KEY_GAP = 0.05


PROMPT = "a lighthouse at dusk, oil painting"
RUNNING = "{} running"  # the top bar while tasks are under way


def start_tasks(term: Terminal, count: int) -> tuple[float, float]:
    """Type a prompt and press ctrl+j ``count`` times: (when the keys went in, when the top
    bar counted ``count`` running)."""
    term.press(PROMPT)
    term.wait_for(PROMPT, timeout=30)
    mark = term.mark()
    pressed = term.press("\n" * count)  # ctrl+j: generate
    return pressed, term.wait_for(RUNNING.format(count), since=mark, timeout=120)


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
LOOK_EVERY = 0.25  # seconds between two counts of the results on disk while typing


def results_on_disk(folder: Path) -> int:
    """Results saved in ``folder`` (the app saves them in the folder itself). One directory
    read: this process shares the machine with the app it times, and its own work while the
    200 results arrive (a walk of the folder at every key was 4 % of a core, there only) would
    be counted against the app."""
    try:
        with os.scandir(folder) as entries:
            return sum(1 for entry in entries if entry.name.lower().endswith(IMAGE_SUFFIXES))
    except FileNotFoundError:
        return 0


class Typist:
    """Types lines of unique text into the focused prompt and times each key's echo."""

    def __init__(self, term: Terminal) -> None:
        self.term = term
        self.echoes: list[float] = []
        self.keys = 0
        self.lines = 0
        self._line = ""

    def key(self) -> None:
        if not self._line or len(self._line) >= LINE:
            # A new line of the prompt, starting with its number, so every line's text is unique.
            self._line = f"L{self.lines:03d}:"
            self.lines += 1
            mark = self.term.mark()
            self.term.press("\r" + self._line)
            self.keys += 1 + len(self._line)
            # Untimed, and drawn before the next key: that key's echo is its own, not the
            # six before it (the enter makes the prompt a line taller: a layout). The next key
            # waits as any key does after the frame that drew the one before: pressed the
            # moment this line was drawn, it met Textual's pause after a frame (the next frame
            # comes one to two 1/60 s periods later) in every line, one timed key in 25, with
            # tasks or without, and the p95 of both sat on the edge of that group (the no-task
            # reference moved 16-28 ms from round to round).
            drawn = self.term.wait_for(self._line, since=mark, timeout=30)
            time.sleep(max(0.0, drawn + KEY_GAP - time.perf_counter()))
        char = "abcdefghijklmnopqrstuvwxyz"[len(self._line) % 26]
        mark = self.term.mark()
        pressed = self.term.press(char)
        self._line += char
        self.keys += 1
        shown = self.term.wait_for(self._line, since=mark, timeout=30)
        if len(self._line) >= TIMED_FROM:
            self.echoes.append((shown - pressed) * 1000)
        time.sleep(max(0.0, pressed + KEY_GAP - time.perf_counter()))


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.95 * (len(ordered) - 1))] if ordered else float("nan")


def completing_run(sim, tasks: int, keys: int | None, speed: float) -> dict:
    """One run: with ``tasks`` completing together (typing through the wave), or with none
    (typing ``keys`` keys)."""
    folder = temp_folder(f"wave{tasks}")
    try:
        term = Terminal(app_argv(), app_env_for(folder, sim))
        typist = Typist(term)
        downloads = folder / "downloads"
        try:
            term.wait_for(*APP_MARKERS, timeout=90)
            term.settle(0, quiet=0.3, timeout=10)
            if tasks:
                pressed, sent = start_tasks(term, tasks)
                # The first finish on the simulator's timetable: typing starts just before it.
                time.sleep(max(0.0, pressed + RUN_S / speed - 1.5 - time.perf_counter()))
                began = time.perf_counter()
                done_at = None
                looked = began
                while time.perf_counter() - began < 90:
                    typist.key()
                    if done_at is None and time.perf_counter() - looked >= LOOK_EVERY:
                        looked = time.perf_counter()
                        if results_on_disk(downloads) >= tasks:
                            done_at = looked
                    if done_at is not None and time.perf_counter() - done_at > 0.5:
                        break
                wave_s = (done_at or time.perf_counter()) - began
            else:
                while typist.keys < (keys or 100):
                    typist.key()
                wave_s = 0.0
            results = results_on_disk(downloads)
        finally:
            term.close(timeout=20)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"echoes": typist.echoes, "keys": typist.keys, "results": results, "wave_s": wave_s}


def measure_completing(rounds: int = 2, speed: float = 0.5) -> dict:
    folder = temp_folder("wave-sim")
    sim = start_simulator(hermetic_env(folder), EVOLINK_SIM_SPEED=str(speed), EVOLINK_SIM_IMAGE_SIZE="64")
    runs: dict[str, list[dict]] = {"busy": [], "none": []}
    try:
        for _ in range(rounds):
            busy = completing_run(sim, TASKS, None, speed)
            runs["busy"].append(busy)
            runs["none"].append(completing_run(sim, 0, busy["keys"], speed))
    finally:
        sim.stop()
        shutil.rmtree(folder, ignore_errors=True)
    result: dict = {"rounds": rounds, "tasks": TASKS}
    for name, samples in runs.items():
        echoes = [e for s in samples for e in s["echoes"]]
        result[name] = {
            "p95_ms": p95(echoes),
            "median_ms": median(echoes),
            "max_ms": max(echoes, default=float("nan")),
            "echoes": len(echoes),
            "results": min(s["results"] for s in samples),
            "wave_s": median([s["wave_s"] for s in samples]),
        }
    return result


def measure_polling(window: float = 30.0, warmup: float = 12.0) -> dict:
    folders = {name: temp_folder(f"poll-{name}") for name in ("busy", "none")}
    # Speed 0.02: the model's 8 s become 400 s, so every task polls for the whole window.
    sim = start_simulator(hermetic_env(folders["busy"]), EVOLINK_SIM_SPEED="0.02", EVOLINK_SIM_IMAGE_SIZE="64")
    terms: dict[str, Terminal] = {}
    try:
        for name, folder in folders.items():
            terms[name] = Terminal(app_argv(), app_env_for(folder, sim))
        for term in terms.values():
            term.wait_for(*APP_MARKERS, timeout=90)
        start_tasks(terms["busy"], TASKS)
        time.sleep(warmup)  # the tasks picked up, the first polls made, startup work done
        before = {name: term.cpu_seconds() for name, term in terms.items()}
        began = time.monotonic()
        time.sleep(window)
        elapsed = time.monotonic() - began
        after = {name: term.cpu_seconds() for name, term in terms.items()}
        running = sim_running(sim)
    finally:
        for term in terms.values():
            term.close(timeout=20)
        sim.stop()
        for folder in folders.values():
            shutil.rmtree(folder, ignore_errors=True)
    result = {"window_s": elapsed, "tasks": TASKS, "running": running}
    for name in terms:
        result[name] = {"cpu_pct": 100 * (after[name] - before[name]) / elapsed}
    return result


def sim_running(sim) -> int | None:
    """Tasks the simulator has still running (pending or processing)."""
    import httpx

    running = 0
    try:
        for status in ("pending", "processing"):
            answer = httpx.get(
                f"{sim.url}/v1/tasks",
                params={"status": status, "page_size": 1},
                headers={"Authorization": f"Bearer {KEY}"},
                timeout=10,
            )
            running += int(answer.json()["total"])
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None
    return running


if __name__ == "__main__":
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 1
    print(json.dumps({"completing": measure_completing(rounds), "polling": measure_polling()}, indent=1))
