"""The gallery with 100 results against the same gallery with 10,000, from the outside.

    python benchmarks/scale.py [--rounds N] [--cap SECONDS] [--large]

The app runs as a user runs it (``evolink-tui --demo`` on a 120x40 pseudo-terminal) on a
demo history seeded beforehand with finished tasks whose results are on disk. Only keys
go in; times come from what the terminal receives:

- open: F4 pressed to the last frame before the screen stays still (cards and their
  thumbnails drawn);
- a key: one arrow key to the last frame it set off, 12 single keys at the top and 12
  again at the deepest point reached (each waited out before the next);
- scrolling through: the down arrow held (50 keys at a time, each burst waited out)
  until the last row, so every result has been on screen; then the resident memory
  (VmRSS) once the screen is still. A run is cut after ``cap`` seconds of scrolling (or at
  1.5 GB), which the figure then says.

The two sizes take turns (100, 10,000, 100, 10,000...), medians of ``rounds`` each.
``--large`` (``cards="large"``) runs the same with the gallery's large cards (``gallery_cards``
in the config file: fewer cards, each about twice as big).
Budgets (issue 17): a key and the memory at 10,000 within 1.2x of 100; memory after
scrolling through 10,000 results under 200 MB.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import time
from pathlib import Path

from common import hermetic_env, median, temp_folder
from outside import APP_MARKERS, Terminal, app_argv

SIZES = (100, 10_000)
BURST = 50  # keys per step while scrolling through (a held key: about two seconds of key repeat)
SINGLE = 12  # single keys timed at the top and again deep in the gallery
KEY_QUIET = 0.15  # s of stillness that ends a key's frames
OPEN_QUIET = 0.4  # s of stillness that ends opening (thumbnails arrive in threads)
FIRST_WAIT = 5.0  # s a key may take to draw anything before it is taken as a key that moved nothing
MEMORY_LIMIT_MB = 1500.0


def tasks_for(results: int) -> int:
    """Seeded tasks that leave exactly ``results`` results (startup.seed_history fails every 17th)."""
    count = results
    while count - math.ceil(count / 17) < results:
        count += 1
    return count


def seeded_history(folder: Path, results: int, images: list[str]) -> Path:
    from startup import seed_history

    path = folder / f"history-{results}.sqlite3"
    seed_history(path, tasks_for(results), images)
    return path


def timed_key(term: Terminal, *keys: str, quiet: float = KEY_QUIET) -> float | None:
    """Ms from typing ``keys`` to the last frame they set off; None if nothing was drawn."""
    mark = term.mark()
    pressed = term.press(*keys)
    last = term.settle(mark, quiet=quiet, timeout=120, first=FIRST_WAIT)
    return None if last is None else (last - pressed) * 1000


def one_run(history: Path, results: int, cap: float, cards: str = "small") -> dict:
    folder = temp_folder(f"gallery{results}")
    try:
        (folder / "data").mkdir(parents=True)
        shutil.copy(history, folder / "data" / "history-demo.sqlite3")
        if cards != "small":  # the default needs no config file
            (folder / "config").mkdir()
            (folder / "config" / "config.toml").write_text(f'gallery_cards = "{cards}"\n', encoding="utf-8")
        term = Terminal([*app_argv(), "--demo"], hermetic_env(folder))
        try:
            term.wait_for(*APP_MARKERS, timeout=90)
            term.settle(0, quiet=0.5, timeout=15)  # the preview's thumbnail, startup work
            before = term.rss_mb()
            opened = timed_key(term, "f4", quiet=OPEN_QUIET)
            if opened is None:
                raise RuntimeError(f"F4 drew nothing; screen tail: {term.tail()!r}")
            top = [ms for _ in range(SINGLE) if (ms := timed_key(term, "down")) is not None]
            began, bursts, end = time.perf_counter(), 0, False
            while time.perf_counter() - began < cap and bursts < math.ceil(results / BURST) + 2:
                if timed_key(term, *["down"] * BURST) is None:
                    end = True  # the last row: nothing moved
                    break
                bursts += 1
                if term.rss_mb() > MEMORY_LIMIT_MB:
                    break
            scrolled_s = time.perf_counter() - began
            deep = [ms for _ in range(SINGLE) if (ms := timed_key(term, "up")) is not None]
            term.settle(term.mark(), quiet=1.0, timeout=30)
            after = term.rss_mb()
        finally:
            term.close(timeout=20)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "open_ms": opened,
        "key_ms": median(top + deep),
        "top_key_ms": median(top),
        "deep_key_ms": median(deep),
        "keys": len(top) + len(deep),
        "rss_before_mb": before,
        "rss_after_mb": after,
        "scroll_s": scrolled_s,
        "scroll_keys": bursts * BURST,
        "reached_end": end,
    }


def measure_gallery(rounds: int = 2, cap: float = 60.0, cards: str = "small") -> dict:
    from startup import sample_images

    folder = temp_folder("gallery-seed")
    try:
        images = sample_images(folder / "images")
        histories = {size: seeded_history(folder, size, images) for size in SIZES}
        runs: dict[int, list[dict]] = {size: [] for size in SIZES}
        for _ in range(rounds):
            for size in SIZES:
                runs[size].append(one_run(histories[size], size, cap, cards))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    result: dict = {"rounds": rounds, "cap_s": cap, "cards": cards}
    for size, samples in runs.items():
        summary = {key: median([s[key] for s in samples]) for key in samples[0] if key != "reached_end"}
        summary["reached_end"] = all(s["reached_end"] for s in samples)
        summary["scroll_keys_min"] = min(s["scroll_keys"] for s in samples)
        result[size] = summary
    return result


if __name__ == "__main__":
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 1
    cap = float(sys.argv[sys.argv.index("--cap") + 1]) if "--cap" in sys.argv else 60.0
    cards = "large" if "--large" in sys.argv else "small"
    print(json.dumps(measure_gallery(rounds, cap, cards), indent=1))
