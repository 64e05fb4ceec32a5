"""Every performance figure of evolink-tui, each beside a reference measured in the same run.

    python benchmarks/run.py            # everything (about 12 minutes), writes docs/performance.md
    python benchmarks/run.py --quick    # two small figures, nothing written (a smoke test)
    python benchmarks/run.py --only startup,network --no-write

These are benchmarks, not timed tests: the machine is shared and noisy, so every figure is
a median of several runs (or a long window) and is set beside a reference measured the same
way in the same run on the same machine (a bare Textual app, a bare ``python -c pass``, a
plain Pillow decode of the same file, the same app with no tasks or with 100 results, the
least the polling policy allows), the two taking turns so load weighs on both alike. Every
budget is a ratio to that reference, so it holds on a slower machine; absolute figures are
printed, and judged only where the issue gives one. Prints one table; exits 1 if a budget
is missed.

More scenarios: a function returning rows, and a line in ``SCENARIOS`` (the order of the
table). A module of its own (``benchmarks/NAME.py``) does the measuring, as peers.py does.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

from common import median  # noqa: E402

DOC = HERE.parent / "docs" / "performance.md"
THUMBNAIL_RATIO = {"JPEG": 1.0, "PNG": 1.5}  # a thumbnail against a plain decode of the same file
_DECODES: dict[str, float] = {}  # plain decodes measured in this run, shared by the figures


@dataclass
class Row:
    figure: str
    measured: str
    reference: str
    ratio: str
    budget: str
    ok: bool | None  # None: shown for the record, no budget

    @property
    def verdict(self) -> str:
        return "—" if self.ok is None else ("ok" if self.ok else "MISSED")


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "—"


def ms(value: float) -> str:
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


# -- the figures ----------------------------------------------------------------------------------


def png_decode_ms(runs: int = 7) -> float:
    """A plain ``Image.open().load()`` of a photo-like 2048x2048 PNG, median of ``runs`` (once a run)."""
    if "PNG" not in _DECODES:
        import tempfile

        from thumbnails import median_ms, photo_like, plain_decode

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "photo.png"
            photo_like().save(path, "PNG")
            _DECODES["PNG"] = median_ms(lambda: plain_decode(path), runs)
    return _DECODES["PNG"]


def startup_rows(runs: int) -> list[Row]:
    from startup import measure_startup

    r = measure_startup(runs)
    app, bare = r["app"], r["bare"]
    heavy = [m for m in app["modules"] if m != "sqlite3"]
    return [
        Row(
            f"1. Startup to first full frame (`--demo`, history and the {app['keys']} keys of the key bar shown), "
            f"median of {runs}",
            ms(app["ms"]),
            f"bare Textual app {ms(bare['ms'])}",
            ratio(app["ms"], bare["ms"]),
            "≤ 1.3 x bare",
            app["ms"] <= 1.3 * bare["ms"] and app["keys"] > 0,
        ),
        Row(
            "1. Peak memory (max RSS) of those runs",
            f"{app['rss_mb']:.0f} MB",
            f"bare {bare['rss_mb']:.0f} MB",
            ratio(app["rss_mb"], bare["rss_mb"]),
            "≤ 2 x bare",
            app["rss_mb"] <= 2 * bare["rss_mb"],
        ),
        Row(
            "1. Heavy modules loaded at the first full frame",
            ", ".join(app["modules"]) or "none",
            "bare: " + (", ".join(bare["modules"]) or "none"),
            "—",
            "only sqlite3 (the history shown); no Pillow, simulator, httpx, starlette, uvicorn",
            not heavy,
        ),
    ]


def bare_startup_cpu(runs: int = 5) -> float:
    """The bare Textual app's CPU seconds to its first frame, median of ``runs``: how fast this
    machine runs Textual, the unit the CPU figures are judged in."""
    from common import hermetic_env, temp_folder
    from startup import first_frame

    folder = temp_folder("bare-cpu")
    try:
        env = hermetic_env(folder)
        first_frame(["bare", "startup"], env)  # warm-up
        return median([first_frame(["bare", "startup"], env)[2]["cpu"] for _ in range(runs)])
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def idle_rows(window: float) -> list[Row]:
    from idle import measure_idle

    r = measure_idle(window=window)
    busy, quiet, bare = r["busy"], r["quiet"], r["bare"]
    unit = bare_startup_cpu()
    per_10s = busy["cpu_pct"] / 100 * 10  # CPU seconds in 10 s of polling
    timers = "; ".join(quiet["clock"] + quiet["cursor"] + quiet["other"]) or "none"
    return [
        Row(
            f"2. CPU with 20 tasks polling, over {r['window_s']:.0f} s ({busy['running']} still running at the end): "
            "CPU seconds in 10 s",
            f"{per_10s:.3f} s ({busy['cpu_pct']:.2f} % of a core)",
            f"bare Textual app's CPU to its first frame {unit:.3f} s",
            ratio(per_10s, unit),
            "≤ 1 x bare startup (2 % of a core where that is 0.2 s)",
            per_10s <= unit and busy["running"] == 20,
        ),
        Row(
            "2. Repeating timers with nothing running",
            timers,
            "bare app: " + ("; ".join(t["callback"] for t in bare["timers"]) or "none"),
            "—",
            "a clock only",
            not quiet["other"] and not quiet["cursor"],
        ),
        Row(
            f"2. CPU with nothing running, over {r['window_s']:.0f} s",
            f"{quiet['cpu_pct']:.2f} % of a core",
            f"bare app idle {bare['cpu_pct']:.2f} %",
            ratio(quiet["cpu_pct"], bare["cpu_pct"]),
            "—",
            None,
        ),
    ]


def network_rows(count: int) -> list[Row]:
    from network import measure_network

    r = measure_network(count)
    tasks = r["tasks"]
    clean = not r["problems"]
    return [
        Row(
            f"3. Submits, {tasks} concurrent tasks",
            f"{r['submits']} ({r['submits'] / tasks:.2f} per task)",
            f"{tasks} (1 per task)",
            ratio(r["submits"], tasks),
            "exactly 1 per task",
            r["submits"] == tasks and clean,
        ),
        Row(
            "3. Polls (each ≥ 3 s apart, none after the one that saw the end)",
            str(r["polls"]),
            f"{r['min_polls']} (the policy, no latency)",
            ratio(r["polls"], r["min_polls"]),
            f"as PollPolicy allows (≤ {_max_polls()} a task)",
            clean,
        ),
        Row(
            "3. Downloads",
            f"{r['downloads']} for {r['results']} results",
            f"{r['results']} (1 per result)",
            ratio(r["downloads"], r["results"]),
            "exactly 1 per result",
            r["downloads"] == r["results"] and clean,
        ),
        Row(
            "3. TCP connections per host (keep-alive pool)",
            str(r["max_connections"]),
            "1 (a single connection)",
            ratio(r["max_connections"], 1),
            "≤ 2 per host",
            r["max_connections"] <= 2,
        ),
    ] + ([Row("3. Problems", "; ".join(r["problems"][:5]), "none", "—", "none", False)] if r["problems"] else [])


def _max_polls() -> int:
    from evolink_tui.core.polling import PollPolicy

    return PollPolicy().max_polls()


def responsiveness_rows(runs: int) -> list[Row]:
    from responsiveness import measure_responsiveness

    results = [measure_responsiveness() for _ in range(runs)]
    busy = sorted(r["busy"]["max_ms"] for r in results)
    idle = sorted(r["idle"]["max_ms"] for r in results)
    worst = busy[len(busy) // 2]
    # of that stall, how much was the main thread's own work (the rest: waiting for a CPU or the GIL)
    own = next(r["busy"].get("worst_cpu_ms", 0.0) for r in results if r["busy"]["max_ms"] == worst)
    base = idle[len(idle) // 2]
    p99 = sorted(r["busy"]["p99_ms"] for r in results)[len(results) // 2]
    complete = all(r["completed"] and r["thumbnails"] == 8 and r["results"] == 8 for r in results)
    formats = sorted({f for r in results for f in r["formats"]})
    in_order = all(r["typed_in_order"] for r in results)
    decode = png_decode_ms()
    return [
        Row(
            f"4. Longest event-loop stall while 8 results of 2048x2048 ({'/'.join(formats)}) are downloaded, "
            f"verified and thumbnailed, median of {runs} runs (idle app: {ms(base)})",
            f"{ms(worst)} (p99 {ms(p99)}; the main thread's own work in it {ms(own)})",
            f"plain Pillow decode of a 2048x2048 PNG {ms(decode)}",
            ratio(worst, decode),
            "≤ 1 x decode (was ≤ 50 ms)",
            worst <= decode and complete,
        ),
        Row(
            "4. Keys typed meanwhile (one every 40 ms)",
            "all handled, in order" if in_order else "LOST OR REORDERED",
            "the text typed",
            "—",
            "in order",
            in_order,
        ),
    ]


def thumbnail_rows(runs: int) -> list[Row]:
    from thumbnails import measure, measure_redraws

    r = measure(runs)
    redraws = measure_redraws()
    _DECODES.setdefault("PNG", r["PNG"]["reference_ms"])
    rows = [
        Row(
            f"5. Thumbnail 2048x2048 {kind} to 64x32 cells, median of {runs}",
            ms(r[kind]["ms"]),
            f"plain Pillow decode {ms(r[kind]['reference_ms'])}",
            ratio(r[kind]["ms"], r[kind]["reference_ms"]),
            f"≤ {THUMBNAIL_RATIO[kind]:g} x decode (was ≤ {r[kind]['budget_ms']:.0f} ms)",
            r[kind]["ms"] <= THUMBNAIL_RATIO[kind] * r[kind]["reference_ms"],
        )
        for kind in ("JPEG", "PNG")
    ]
    again = redraws["after_redraws"] + redraws["after_resize"] + redraws["after_remount"]
    rows.append(
        Row(
            f"5. Decodes of a shown thumbnail over {redraws['redraws']} redraws, a resize down and back, "
            "and a new view of it",
            str(again),
            f"{redraws['first']} to show it first",
            "—",
            "0",
            again == 0 and redraws["first"] == 1 and redraws["shown"],
        )
    )
    return rows


def history_rows(runs: int, steps: int) -> list[Row]:
    from startup import measure_history_startup, measure_scroll

    r = measure_history_startup(runs)
    full, empty = r["full"], r["empty"]
    added = full["ms"] - empty["ms"]
    s = measure_scroll(steps)
    big, small = s["full"], s["small"]
    return [
        Row(
            f"6. Startup with 10,000 tasks in history ({full['rows']} rows shown), median of {runs}",
            f"{ms(full['ms'])} (+{added:.0f} ms)",
            f"empty history {ms(empty['ms'])}",
            ratio(full["ms"], empty["ms"]),
            "≤ 1.3 x empty (was ≤ +100 ms)",
            full["ms"] <= 1.3 * empty["ms"],
        ),
        Row(
            f"6. Frame while paging down the task list, 10,000 tasks ({big['frames']} frames of 2 runs taking turns "
            f"with 40 tasks, {big['rows']} rows loaded): p95 (median, max)",
            f"{ms(big['frame_p95_ms'])} ({ms(big['frame_median_ms'])}, {ms(big['frame_max_ms'])})",
            f"40 tasks: {ms(small['frame_p95_ms'])} ({ms(small['frame_median_ms'])}, {ms(small['frame_max_ms'])})",
            ratio(big["frame_p95_ms"], small["frame_p95_ms"]),
            "≤ 1.3 x 40 tasks (p95; was < 16 ms)",
            big["frame_p95_ms"] <= 1.3 * small["frame_p95_ms"],
        ),
    ]


def peers_rows(runs: int) -> list[Row]:
    from peers import measure_peers

    r = measure_peers(runs)
    app, bare = r["app"], r["bare"]
    rows = [
        Row(
            f"7. First full frame seen from outside (`evolink-tui --demo` on a pty, its panels and key bar drawn), "
            f"median of {runs}, taking turns with the others",
            ms(app["ms"]),
            f"bare Textual app (its Footer drawn) {ms(bare['ms'])}",
            ratio(app["ms"], bare["ms"]),
            "≤ 1.3 x bare",
            app["ms"] <= 1.3 * bare["ms"],
        )
    ]
    for name in ("posting", "harlequin"):
        if name not in r:
            why = next((why for why in r["skipped"] if why.startswith(name)), "not installed")
            rows.append(Row(f"7. First full frame: {name}", "skipped", why, "—", "≤ 0.5 x " + name, None))
            continue
        rows.append(
            Row(
                f"7. First full frame beside {name} (its own first screen drawn)",
                ms(app["ms"]),
                f"{name} {ms(r[name]['ms'])}",
                ratio(app["ms"], r[name]["ms"]),
                f"≤ 0.5 x {name}",
                app["ms"] <= 0.5 * r[name]["ms"],
            )
        )
    rows.append(
        Row(
            f"7. Memory (RSS) {r['linger_s']:.0f} s after the first frame, median of 3",
            f"{app['rss_after_mb']:.0f} MB (peak at exit {app['peak_mb']:.0f} MB)",
            f"bare {bare['rss_after_mb']:.0f} MB",
            ratio(app["rss_after_mb"], bare["rss_after_mb"]),
            "≤ 2 x bare",
            app["rss_after_mb"] <= 2 * bare["rss_after_mb"],
        )
    )
    return rows


def commands_rows(pairs: int) -> list[Row]:
    from commands import measure_commands

    r = measure_commands(pairs)
    floors = {name: r.pop(name) for name in ("floor", "floor-history")}
    return [
        Row(
            f"8. `evolink-tui {name}`, a fresh process, median of {pairs} pairs",
            ms(t["command"]),
            f"`python -c pass` {ms(t['bare'])}",
            ratio(t["command"], t["bare"]),
            "≤ 3 x python -c pass",
            t["command"] <= 3 * t["bare"],
        )
        for name, t in r.items()
    ] + [
        Row(
            f"8. The floor{what}, median of {pairs} pairs",
            ms(floor["command"]),
            f"`python -c pass` {ms(floor['bare'])}",
            ratio(floor["command"], floor["bare"]),
            "—",
            None,
        )
        for what, floor in (
            (': `python -c "import argparse, json, pathlib"`', floors["floor"]),
            (
                " under `history`: argparse with one subcommand parsed, json, sqlite3 (no code of ours)",
                floors["floor-history"],
            ),
        )
    ]


def gallery_rows(rounds: int, cap: float, cards: str = "small") -> list[Row]:
    from scale import measure_gallery

    r = measure_gallery(rounds, cap, cards)
    name = "9. Gallery" if cards == "small" else f"9. Gallery, {cards} cards"
    small, big = r[100], r[10_000]
    through = (
        "scrolled through"
        if big["reached_end"]
        else f"NOT through: {big['scroll_keys_min']} keys in the {cap:.0f} s cap"
    )
    return [
        Row(
            f"{name} opened (F4 to the screen still), 10,000 results, median of {rounds}",
            ms(big["open_ms"]),
            f"100 results {ms(small['open_ms'])}",
            ratio(big["open_ms"], small["open_ms"]),
            "—",
            None,
        ),
        Row(
            f"{name}: an arrow key to its last frame, 10,000 results (12 keys at the top, 12 deepest): median "
            "(top, deep)",
            f"{ms(big['key_ms'])} ({ms(big['top_key_ms'])}, {ms(big['deep_key_ms'])})",
            f"100 results {ms(small['key_ms'])} ({ms(small['top_key_ms'])}, {ms(small['deep_key_ms'])})",
            ratio(big["key_ms"], small["key_ms"]),
            "≤ 1.2 x 100 results",
            big["key_ms"] <= 1.2 * small["key_ms"],
        ),
        Row(
            f"{name}: memory (RSS) after scrolling, 10,000 results ({through})",
            f"{big['rss_after_mb']:.0f} MB",
            f"100 results, scrolled through {small['rss_after_mb']:.0f} MB",
            ratio(big["rss_after_mb"], small["rss_after_mb"]),
            "≤ 1.2 x 100 results, and < 200 MB through 10,000",
            big["reached_end"]
            and small["reached_end"]
            and big["rss_after_mb"] <= min(1.2 * small["rss_after_mb"], 200),
        ),
    ]


def tasks_rows(rounds: int, window: float) -> list[Row]:
    from wave import measure_completing, measure_polling

    c = measure_completing(rounds)
    busy, none = c["busy"], c["none"]
    p = measure_polling(window)
    return [
        Row(
            f"10. Key echo in the prompt while {c['tasks']} tasks complete together ({busy['results']} results "
            f"downloaded over {busy['wave_s']:.0f} s), {busy['echoes']} keys: p95 (median, max)",
            f"{ms(busy['p95_ms'])} ({ms(busy['median_ms'])}, {ms(busy['max_ms'])})",
            f"same app, no tasks: {ms(none['p95_ms'])} ({ms(none['median_ms'])}, {ms(none['max_ms'])})",
            ratio(busy["p95_ms"], none["p95_ms"]),
            "≤ 1.5 x no tasks (p95)",
            busy["p95_ms"] <= 1.5 * none["p95_ms"] and busy["results"] == c["tasks"],
        ),
        Row(
            f"10. CPU with {p['tasks']} tasks polling, over {p['window_s']:.0f} s ({p['running']} still running "
            "at the end)",
            f"{p['busy']['cpu_pct']:.2f} % of a core",
            f"same app, no tasks {p['none']['cpu_pct']:.2f} %",
            ratio(p["busy"]["cpu_pct"], p["none"]["cpu_pct"]),
            "< 8 % of a core",
            p["busy"]["cpu_pct"] < 8 and p["running"] == p["tasks"],
        ),
    ]


VIEWER_STEPS = {"first_paint": "first paint", "zoom": "a zoom step", "pan": "a pan step"}
VIEWER_KEYS = {
    "first_paint": "v to the first frame",
    "zoom": "+ to the zoomed frame",
    "pan": "an arrow to the panned frame",
    "stall": "longest event-loop stall meanwhile",
}


def viewer_rows(runs: int) -> list[Row]:
    """benchmarks/viewer.py (the Picture widget, issue 13) in the table: judged for a result the
    app has thumbnailed before (as the preview does when it arrives, which keeps its display
    copy); a file never seen shown beside, for the record."""
    import asyncio
    import tempfile

    from thumbnails import photo_like
    from viewer import BUDGETS_MS, one_run, origin, plain_decode_ms, reference_stall, screen_run

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "result.png"
        photo_like().save(path, "PNG")
        plain = plain_decode_ms(path, runs)
        noise = asyncio.run(reference_stall(path))
        for screen, run, steps in ((False, one_run, VIEWER_STEPS), (True, screen_run, VIEWER_KEYS)):
            for method in ("kitty", "halfblock"):
                for seen in (True, False):
                    results = [asyncio.run(run(path, method, seen)) for _ in range(runs)]
                    rows.extend(viewer_method_rows(results, screen, method, seen, steps, plain, noise, BUDGETS_MS))
                    rows.append(
                        Row(
                            f"11. {'Viewer screen' if screen else 'Picture'} ({method}): {origin(results, seen)}",
                            "—",
                            "—",
                            "—",
                            "—",
                            None,
                        )
                    )
    return rows


def viewer_method_rows(results, screen, method, seen, steps, plain, noise, budgets) -> list[Row]:
    runs = len(results)
    what = "Viewer screen" if screen else "Picture"
    whose = "a result thumbnailed before" if seen else "a file never seen"
    rows = []
    for key, step in steps.items():
        if not seen and key != "first_paint":
            continue  # the rest is the same either way
        stall = key == "stall"
        value = max(r["stall"] for r in results) if stall else median([r[key] for r in results])
        rows.append(
            Row(
                f"11. {what} ({method}), {step}, {whose}, 2048x2048 PNG at 120x40, "
                + (f"worst of {runs}" if stall else f"median of {runs}"),
                ms(value),
                f"Pillow in a thread {ms(noise)}" if stall else f"plain Pillow decode {ms(plain)}",
                ratio(value, noise if stall else plain),
                f"≤ {budgets[key]:.0f} ms (issue 13)" if seen else "— (for the record)",
                value <= budgets[key] if seen else None,
            )
        )
    if not screen and seen:
        stall = max(r["stall"] for r in results)
        rows.append(
            Row(
                f"11. Picture ({method}): longest event-loop stall meanwhile, worst of {runs}",
                ms(stall),
                f"loop stall while Pillow decodes in a thread {ms(noise)}",
                ratio(stall, noise),
                f"≤ {budgets['stall']:.0f} ms (issue 13)",
                stall <= budgets["stall"],
            )
        )
    return rows


@dataclass(frozen=True)
class Scenario:
    name: str
    rows: Callable[[], list[Row]]


# The table's order. A new scenario is a function returning rows and one more line here.
SCENARIOS = (
    Scenario("startup", lambda: startup_rows(11)),
    Scenario("idle", lambda: idle_rows(30.0)),
    Scenario("network", lambda: network_rows(50)),
    Scenario("responsiveness", lambda: responsiveness_rows(3)),
    Scenario("thumbnails", lambda: thumbnail_rows(15)),
    Scenario("history", lambda: history_rows(5, 120)),
    Scenario("peers", lambda: peers_rows(7)),
    Scenario("commands", lambda: commands_rows(21)),
    Scenario("gallery", lambda: gallery_rows(2, 45.0)),
    Scenario("gallery-large", lambda: gallery_rows(2, 90.0, "large")),  # two cards a row: twice the rows to cross
    Scenario("tasks", lambda: tasks_rows(2, 30.0)),
    Scenario("viewer", lambda: viewer_rows(5)),
)
QUICK = (Scenario("thumbnails", lambda: thumbnail_rows(3)), Scenario("network", lambda: network_rows(2)))


# -- the table ------------------------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    lines = ["| figure | measured | reference | ratio | budget | ok |", "|---|---|---|---|---|---|"]
    for row in rows:
        cells = [row.figure, row.measured, row.reference, row.ratio, row.budget, row.verdict]
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    return "\n".join(lines)


def machine() -> str:
    import textual

    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{cores} cores ({cpu}), {platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"Textual {textual.__version__}"
    )


NOTES = """\
## How each figure is measured

1. **Startup.** `benchmarks/harness.py` runs the real app through `evolink_tui.cli.main(["--demo"])` on a
   pseudo-terminal of 120x40 (the real Linux driver draws every frame) and reports when the first full
   frame is on the terminal: the main screen composed and the history read and shown (the frame after the
   first `HistoryLoaded`, with the task list laid out), the key bar's keys drawn (the figure is missed in any
   run whose frame has none). The bare app (Header, Static, Footer) runs the same
   way and reports the frame after mount. Timed from just before `Popen` (interpreter start and imports
   count), the two alternate, one warm-up each; peak memory is `ru_maxrss` from `wait4`.
2. **Idle.** Three programs side by side for the same window, CPU from `/proc/PID/stat`: the app with 20
   tasks polling a loopback simulator in its own process (slowed so every task still runs when the window
   closes), the app in demo mode with nothing running, and the bare app. Each then quits with ctrl+q and
   lists its running repeating timers. The polling figure is judged in units of this machine's speed: the
   CPU seconds 10 s of polling take against the CPU the bare app takes to its first frame (median of 5),
   at most one (2 % of a core where a bare app starts on 0.2 s of CPU).
3. **Network economy.** 50 generations at once through the core `Runner` on one `EvolinkClient` (its own
   pooled transport) against the simulator under uvicorn on loopback, real clock. The simulator's request
   log gives submits per idempotency key, poll times per task, downloads per result, and the TCP connection
   (client address and port) of every request. The poll reference replays `PollPolicy` with no latency
   against the simulator's own timing of each task.
4. **Responsiveness.** The app on a pseudo-terminal against a loopback simulator drawing 2048x2048 results
   (niced: it stands in for a remote server). A task in the app sleeps 5 ms at a time and records how late
   it wakes: a few idle seconds (the reference), then one comparison run of 4 models with n=2 (PNG and
   JPEG) until all 8 results are downloaded, verified and shown as thumbnails. Meanwhile a sentence is
   typed into the terminal, a key every 40 ms; the prompt must hold exactly that text. The longest stall
   is judged against a plain Pillow decode of a 2048x2048 PNG in the same run: no stall longer than one
   decode.
5. **Thumbnails.** `benchmarks/thumbnails.py`: a photo-like 2048x2048 picture as JPEG and PNG;
   `make_thumbnail(path, 64, 32)` against a plain `Image.open().load()` of the same file (a JPEG thumbnail
   at most one decode: it decodes at reduced size; a PNG one at most 1.5). Redraws: a `ThumbnailView` in a
   headless app is refreshed, the terminal resized down and back, and the view replaced by a new one of the
   same file, counting calls of `make_thumbnail`.
6. **History scale.** 10,000 finished tasks seeded into the demo history; startup as in 1 against an empty
   history. Scrolling: page-down in the task list, one key at a time, each step waited out (rows, history
   pages, preview and thumbnails); a frame's cost is the main thread's CPU time from the key (or the
   previous frame) to the frame written to the terminal. Reference: a list of 40 tasks, the two taking
   turns twice, every frame of a size pooled. Budgets: startup within 1.3x of the empty history's, the
   p95 frame within 1.3x of the 40 tasks'.
7. **Peers.** `benchmarks/peers.py`, from the outside (`benchmarks/outside.py`): each program on its own
   120x40 pseudo-terminal, timed from just before `Popen` to the arrival of the output that completes
   its first full frame, recognised by text it shows at the top and bottom (the app: the Tasks and
   Preview titles and the key bar; the bare app: its Static and its Footer's key; posting: Collection,
   Response and its footer; harlequin: Query Editor, the memory db and its footer). The app, the bare
   app, [posting](https://github.com/darrenburns/posting) and [harlequin](https://harlequin.sh) take
   turns, one warm-up each. The peers are installed on first use, pinned, each in its own virtual
   environment under the user cache dir (`BENCH_PEERS_DIR` moves it), and skipped, saying why, where PyPI
   cannot be reached. Memory: the app and the bare app left running 2 s after that frame, VmRSS read then.
8. **Headless commands.** `benchmarks/commands.py`: `models --json`, `history` (200 tasks seeded) and
   `locate` as the user runs them (the installed script, a fresh process), each right after a
   `python -c pass` of the same interpreter, pair after pair. `tests/test_headless_imports.py` keeps each
   from loading what it does not use (httpx, textual, Pillow, asyncio, sqlite3 where no history is read,
   the thread pool and logging).
9. **Gallery at scale.** `benchmarks/scale.py`: the app (`--demo`) on a pty with a history seeded with
   exactly 100 or 10,000 results on disk, taking turns. F4 to the last frame before the screen is still
   for 0.4 s (open); an arrow key to its last frame (12 single keys at the top and 12 at the deepest point
   reached, each waited out); then the down arrow held (20 keys at a time, each burst waited out) until
   a burst draws nothing (the last row), cut at 45 s; VmRSS once the screen is still. "Large cards"
   (`--only gallery-large`): the same with `gallery_cards = "large"` in the config file (4 cards at
   120x40 instead of 12, each thumbnail about twice as big; twice the rows to scroll through).
10. **200 tasks.** `benchmarks/wave.py`: the app (real mode) against a loopback simulator in its own
   process (niced); the tasks started as a user starts them, a prompt typed and ctrl+j pressed 200
   times, the top bar's "200 running" saying they are all under way. Completing: the simulator runs
   each 16 s, so they finish within the seconds it took to send them; from 1.5 s before the first until
   all 200 results are on disk, keys are typed into the prompt, one every 50 ms at most, each timed
   until the line holding it is drawn (lines start with their number, so every line's text is unique;
   every 25 keys a new line, its number typed at once, untimed and waited for, then 50 ms).
   Reference: the same app with no tasks, as many keys typed the same way; the two alternate, 2 rounds.
   Polling: the tasks slowed to 400 s (each polled every 5 s), CPU over 30 s beside the same app with no
   tasks over the same window.
11. **Picture.** `benchmarks/viewer.py` (issue 13): the Picture widget in a headless app at 120x40 showing
   a 2048x2048 PNG with kitty graphics and with half-blocks: first paint, a zoom and a pan step, beside a
   plain decode of the file; the longest loop stall beside a loop's stall while Pillow decodes in a thread.
   Then the viewer screen in the demo app (headless, 120x40), its one result replaced by that PNG: from
   pressing v on the task to the viewer's first frame, + to the zoomed frame, an arrow to the panned one,
   the app started as `evolink-tui` starts it (garbage collection off until its first frame, then its own
   thresholds with what startup made frozen; the bare widget runs with those settings too).
   Each for a result the app has shown as a thumbnail before (as the preview does when it arrives; that
   decode keeps the file's display copy, 1024 px, from which the fitted view is drawn), judged by issue
   13's own budgets (150 ms, 50 ms, 50 ms); and the first paint of a file never seen, for the record.
   A row says how many first frames came from the copy and when the whole file's decode, which every
   zoom past the copy resamples, was in hand (the zoom and pan steps are timed after it).

## What the startup and stall figures rest on

Startup is CPU-bound (the child's CPU time at the frame is within ~15 ms of its wall time), so the app
does less rather than doing it elsewhere:

- No cyclic garbage collection until the first frame (`cli._main`); then what startup made is frozen.
- The first page of history is read in a thread started before Textual is imported, and shown in the
  first frame; the task list's columns are built at the width the table will get.
- The runner, downloads, Files helpers, wire parsers, Pillow, httpx and the simulator load on first use;
  small records are NamedTuples (a dataclass takes ~0.4 ms to define).
- The main screen holds 16 widgets (47 before): no containers (bars and composer are split off the edges), one-widget
  key bar, size/n choices and Generate button instead of Textual's Footer (a widget per key, built a
  frame late), Select (six widgets each) and Button (3.4 ms of CSS to parse); the reference list,
  problems and result row are mounted when first needed.
- No widget is restyled before it is mounted or again on the screen's first resume; the composer's lit
  border is set on it alone rather than by `:focus-within`; the empty notification rack is hidden as the
  screen mounts, so the first frame is laid out once.
- `styles.tcss` holds the app-wide and main-screen rules; the other screens' rules (`screens.tcss`) are
  parsed when the first of them opens (about 14 ms, once).
  The viewer's few rules are its own `DEFAULT_CSS`: a screen's `CSS_PATH` makes Textual parse every
  style sheet again as it opens, which sat between v and the viewer's first frame.

What is left is mostly Textual's own work for a TextArea, a DataTable and two Inputs. On this shared
machine the ratio moves between about 1.25 and 1.30 from run to run; the table takes the median of 11
runs of each program.

The stall figure rests on the collector too: after startup, young collections come every 10,000 new
objects and full ones rarely (`app.GC_THRESHOLDS`). At Python's defaults a full collection, which walks
every object made since startup (25-45 ms with results on screen), ran several times a second while
results arrived.

What the headless figures rest on: a command imports only its own module (`headless.dispatch`), and
the modules it uses load what they need when they need it (the error classes only when a command fails,
the settings only for commands that need them, tomllib, tempfile, ipaddress, the thread pool and its
logging, and the thumbnail code only where used). What is left is mostly the interpreter's own: counted
in instructions (valgrind), `python -c pass` is 38 M, `import argparse, dataclasses` alone 119 M (3.1x:
dataclasses loads inspect, ast, dis and tokenize), and with pathlib, typing, json and tomllib 172 M
(4.5x); `models --json` is 245 M, the rest being its 18 parsers and the parse of the built-in
catalogue. Within 3x would take commands without argparse's parsers for every command and a catalogue
without dataclasses or TOML at run time.

What the 200-task figures rest on (issue 17): a wave of task news costs work for what is in
sight, once for all the news waiting, not once an event for everything.

- The Studio keeps the top bar's counts (tasks running, unsure submits) as records change; the
  screen asks for them once for all the events already queued (before: three scans of every
  record on every event).
- The task list is our own widget on Textual's Line API: a record's news repaints that row's
  two lines if it is in sight (row i is lines 2i and 2i+1: no sum of heights), each row keeps
  its drawn lines until its text changes, and the 1 s clock's countdown rebuilds only the rows
  in sight (a cell is drawn again only when its text changed). A DataTable rendered every
  visible row again after any cell update; a row out of sight is built when it scrolls into sight.
- Results saved in a wave are said in one notification a second ("Saved 198 images of 99 tasks
  to ..."): every toast is a widget mounted, laid out, and laid out again when it goes.
- Requests to an Evolink host wait their turn in the client (as many as its 2 connections):
  httpcore scans its whole queue on every request and answer, so 200 tasks queued in its pool
  cost time growing with the square of the queue. `sniffio` is installed: httpcore imports it
  for every lock it makes, and a failed import searches every `sys.path` entry (0.5 ms).

What the gallery figures rest on: only the cards on screen exist (columns x rows from the terminal's
size, 12 at 120x40, 4 with large cards), whatever the number of results; scrolling a row moves the row
that left the screen to the other end and gives only those cards new results, the others keep theirs and their decoded
thumbnail; a held key's repeats are drawn as one scroll after the keys already typed. The results come
from `core/gallery_feed.GalleryFeed`, which reads pages of 60 records in a thread and holds at most six,
so memory does not grow with the history (what remains is each size's bounded caches filling: the
thumbnails', the history's SQLite pages, Textual's). What a key costs at either size is one redraw of
the grid.

Diagnosis switches for the harness (not used by the table): `BENCH_PROFILE=FILE` (cProfile of a whole
run), `BENCH_PROFILE_STEPS=FILE` (only the scroll steps or the burst), `BENCH_STALL_TRACE=FILE` (the
stacks of every thread while the event loop is late), `BENCH_SLOW_CALLBACKS=FILE` (asyncio's slow
callback log), `BENCH_GC_TRACE=FILE` (collections over 2 ms during the burst).
"""


def write_doc(rows: list[Row], seconds: float) -> None:
    today = datetime.date.today().isoformat()
    text = f"""# Performance

The latest run of `python benchmarks/run.py` ({today}, {seconds / 60:.1f} minutes), on {machine()}.

Run it from a clone after the README's test set-up (`pip install -e '.[test]'`):

```sh
python benchmarks/run.py            # every figure; rewrites this file; exit 1 if a budget is missed
python benchmarks/run.py --only gallery --no-write   # one scenario (or several, comma-separated)
```

The machine is shared and noisy (load average over 1, 5 and 15 minutes at the end of this run:
{load()}): figures are medians of several runs or long windows, each beside a reference measured the
same way in the same run on the same machine, the two taking turns. Every budget is a ratio to that
reference, so it holds on a slower machine as on this one; absolute figures are printed, and judged
only where the issue sets one (memory after scrolling 10,000 gallery results, CPU with 200 tasks
polling, the Picture widget's figures of issue 13). "was" names the absolute budget a ratio
replaced. The peers are installed by the benchmark itself on first use (see 7).

{table(rows)}

"""
    # What is below the marker is kept as it is (how each figure is measured, what it rests on,
    # measurements made alone, written by hand); a file without one gets NOTES to start from.
    try:
        kept = DOC.read_text(encoding="utf-8").partition(MARKER)[2]
    except OSError:
        kept = ""
    text += MARKER + (kept or "\n\n" + NOTES)
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text, encoding="utf-8")


MARKER = "<!-- Above: written by benchmarks/run.py at each full run. Below: kept as it is. -->"


def main(argv: list[str] | None = None) -> int:
    names = [scenario.name for scenario in SCENARIOS]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="two small figures only, nothing written (smoke test)")
    parser.add_argument("--only", default="", help=f"comma-separated scenarios: {','.join(names)}")
    parser.add_argument("--no-write", action="store_true", help=f"do not rewrite {DOC.relative_to(HERE.parent)}")
    args = parser.parse_args(argv)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(only) - set(names)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))} (known: {', '.join(names)})")

    plan = QUICK if args.quick else [s for s in SCENARIOS if not only or s.name in only]
    started = time.monotonic()
    rows: list[Row] = []
    for scenario in plan:
        print(f"measuring {scenario.name}...", file=sys.stderr, flush=True)
        begun = time.monotonic()
        try:
            found = scenario.rows()
        except Exception as exc:  # a broken figure is a missed budget, and the others still run
            found = [
                Row(
                    f"{scenario.name}: could not be measured",
                    f"{type(exc).__name__}: {exc}"[:200],
                    "—",
                    "—",
                    "—",
                    False,
                )
            ]
        rows.extend(found)
        for row in found:  # each figure as soon as it is known, beside its reference and budget
            print(
                f"  {row.figure}: {row.measured} | {row.reference} | {row.ratio} | {row.budget} | {row.verdict}",
                file=sys.stderr,
                flush=True,
            )
        print(f"  {scenario.name}: {time.monotonic() - begun:.0f} s", file=sys.stderr, flush=True)
    seconds = time.monotonic() - started
    print(table(rows))
    missed = [row for row in rows if row.ok is False]
    print(
        f"\n{len(rows) - len(missed)} of {len(rows)} rows within budget ({seconds:.0f} s, load average "
        f"{load()})" + (f"; MISSED: {'; '.join(row.figure for row in missed)}" if missed else "")
    )
    if not (args.quick or args.no_write or only):
        write_doc(rows, seconds)
        print(f"written to {DOC}")
    return 1 if missed else 0


def load() -> str:
    try:
        return " ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
