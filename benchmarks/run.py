"""Every performance figure of evolink-tui, each beside a reference measured in the same run.

    python benchmarks/run.py            # everything (a few minutes), writes docs/performance.md
    python benchmarks/run.py --quick    # two small figures, nothing written (a smoke test)
    python benchmarks/run.py --only startup,network --no-write

These are benchmarks, not timed tests: the machine is shared and noisy, so every figure is
a median of several runs (or a long window) and is set beside a reference measured the same
way in the same run (a bare Textual app, an idle loop, a plain decode, the least the
polling policy allows). Prints one table; exits 1 if a budget is missed.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

DOC = HERE.parent / "docs" / "performance.md"
FIGURES = ("startup", "idle", "network", "responsiveness", "thumbnails", "history")


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
        *peer_rows(7),
        Row(
            "1. Peak memory (max RSS) of those runs",
            f"{app['rss_mb']:.0f} MB",
            f"bare {bare['rss_mb']:.0f} MB",
            ratio(app["rss_mb"], bare["rss_mb"]),
            "≤ 80 MB",
            app["rss_mb"] <= 80,
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


def peer_rows(runs: int) -> list[Row]:
    """The app beside posting and harlequin (and the bare app), all watched from outside."""
    from peers import measure_peers

    r = measure_peers(runs)
    app = r["evolink-tui"]["ms"]
    rows = [
        Row(
            f"1. The same first full frame seen from outside (the screen holds the composer, the task list "
            f"and the key bar), median of {runs}",
            ms(app),
            f"bare Textual app {ms(r['bare']['ms'])}",
            ratio(app, r["bare"]["ms"]),
            "≤ 1.3 x bare",
            app <= 1.3 * r["bare"]["ms"],
        )
    ]
    for peer in ("posting", "harlequin"):
        if peer not in r:
            rows.append(Row(f"1. Beside {peer}", "—", f"{peer} not installed (see benchmarks/peers.py)", "—", "", None))
            continue
        other = r[peer]["ms"]
        rows.append(
            Row(
                f"1. Beside {peer} to its first full frame (its panels and key bar), same run, median of {runs}",
                ms(app),
                f"{peer} {ms(other)}",
                ratio(app, other),
                f"≤ 0.5 x {peer}",
                app <= 0.5 * other,
            )
        )
    return rows


def idle_rows(window: float) -> list[Row]:
    from idle import measure_idle

    r = measure_idle(window=window)
    busy, quiet, bare = r["busy"], r["quiet"], r["bare"]
    timers = "; ".join(quiet["clock"] + quiet["cursor"] + quiet["other"]) or "none"
    return [
        Row(
            f"2. CPU with 20 tasks polling, over {r['window_s']:.0f} s ({busy['running']} still running at the end)",
            f"{busy['cpu_pct']:.2f} % of a core",
            f"bare app idle {bare['cpu_pct']:.2f} %",
            ratio(busy["cpu_pct"], bare["cpu_pct"]),
            "≤ 2 % of a core",
            busy["cpu_pct"] <= 2.0 and busy["running"] == 20,
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
    base = idle[len(idle) // 2]
    p99 = sorted(r["busy"]["p99_ms"] for r in results)[len(results) // 2]
    complete = all(r["completed"] and r["thumbnails"] == 8 and r["results"] == 8 for r in results)
    formats = sorted({f for r in results for f in r["formats"]})
    in_order = all(r["typed_in_order"] for r in results)
    return [
        Row(
            f"4. Longest event-loop stall while 8 results of 2048x2048 ({'/'.join(formats)}) are downloaded, "
            f"verified and thumbnailed, median of {runs} runs",
            f"{ms(worst)} (p99 {ms(p99)})",
            f"idle app {ms(base)}",
            ratio(worst, base),
            "≤ 50 ms",
            worst <= 50 and complete,
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
    rows = [
        Row(
            f"5. Thumbnail 2048x2048 {kind} to 64x32 cells, median of {runs}",
            ms(r[kind]["ms"]),
            f"plain Pillow decode {ms(r[kind]['reference_ms'])}",
            ratio(r[kind]["ms"], r[kind]["reference_ms"]),
            f"≤ {r[kind]['budget_ms']:.0f} ms",
            r[kind]["ms"] <= r[kind]["budget_ms"],
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
            "≤ +100 ms",
            added <= 100,
        ),
        Row(
            f"6. Frame while paging down the task list, 10,000 tasks ({big['frames']} frames, {big['rows']} rows "
            "loaded): p95 (median, max)",
            f"{ms(big['frame_p95_ms'])} ({ms(big['frame_median_ms'])}, {ms(big['frame_max_ms'])})",
            f"40 tasks: {ms(small['frame_p95_ms'])} ({ms(small['frame_median_ms'])}, {ms(small['frame_max_ms'])})",
            ratio(big["frame_p95_ms"], small["frame_p95_ms"]),
            "< 16 ms a frame (p95)",
            big["frame_p95_ms"] < 16,
        ),
    ]


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
   app's `history_shown`, with the task list laid out), the key bar's keys drawn. The bare app (Header,
   Static, Footer) runs the same way and reports its first full frame too: the first with its Footer's keys
   (Textual draws them a frame or two after the first). Timed from just before `Popen` (interpreter start and
   imports count), the two alternate, one warm-up each; peak memory is `ru_maxrss` from `wait4`. Then
   `benchmarks/peers.py` starts the app, the bare app, posting and harlequin (each from its own venv, with the
   versions it pins) on the same terminal size and watches each from outside: the time until the terminal
   output holds every text of its full first screen (its panels and the last key of its key bar).
2. **Idle.** Three programs side by side for the same window, CPU from `/proc/PID/stat`: the app with 20
   tasks polling a loopback simulator in its own process (slowed so every task still runs when the window
   closes), the app in demo mode with nothing running, and the bare app. Each then quits with ctrl+q and
   lists its running repeating timers.
3. **Network economy.** 50 generations at once through the core `Runner` on one `EvolinkClient` (its own
   pooled transport) against the simulator under uvicorn on loopback, real clock. The simulator's request
   log gives submits per idempotency key, poll times per task, downloads per result, and the TCP connection
   (client address and port) of every request. The poll reference replays `PollPolicy` with no latency
   against the simulator's own timing of each task.
4. **Responsiveness.** The app on a pseudo-terminal against a loopback simulator drawing 2048x2048 results
   (niced: it stands in for a remote server). A task in the app sleeps 5 ms at a time and records how late
   it wakes: a few idle seconds (the reference), then one comparison run of 4 models with n=2 (PNG and
   JPEG) until all 8 results are downloaded, verified and shown as thumbnails. Meanwhile a sentence is
   typed into the terminal, a key every 40 ms; the prompt must hold exactly that text.
5. **Thumbnails.** `benchmarks/thumbnails.py`: a photo-like 2048x2048 picture as JPEG and PNG;
   `make_thumbnail(path, 64, 32)` against a plain `Image.open().load()`. Redraws: a `ThumbnailView` in a
   headless app is refreshed, the terminal resized down and back, and the view replaced by a new one of the
   same file, counting calls of `make_thumbnail`.
6. **History scale.** 10,000 finished tasks seeded into the demo history; startup as in 1 against an empty
   history. Scrolling: page-down in the task list, one key at a time, each step waited out (rows, history
   pages, preview and thumbnails); a frame's cost is the main thread's CPU time from the key (or the
   previous frame) to the frame written to the terminal. Reference: a list of 40 tasks.

## What the startup and stall figures rest on

Startup is CPU-bound (the child's CPU time at the frame is within ~15 ms of its wall time), so the app
does less rather than doing it elsewhere:

- No cyclic garbage collection until the first frame (`cli._run_tui`); then what startup made is frozen.
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

What is left is mostly Textual's own work for a TextArea, a DataTable and two Inputs. On this shared
machine the ratio moves between about 1.25 and 1.30 from run to run; the table takes the median of 11
runs of each program.

The stall figure rests on the collector too: after startup, young collections come every 10,000 new
objects and full ones rarely (`app.GC_THRESHOLDS`). At Python's defaults a full collection, which walks
every object made since startup (25-45 ms with results on screen), ran several times a second while
results arrived.

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
python benchmarks/run.py --only startup,history --no-write
```

The machine is shared and noisy: figures are medians of several runs or long windows, each beside a
reference measured the same way in the same run.

{table(rows)}

{NOTES}"""
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="two small figures only, nothing written (smoke test)")
    parser.add_argument("--only", default="", help=f"comma-separated figures: {','.join(FIGURES)}")
    parser.add_argument("--no-write", action="store_true", help=f"do not rewrite {DOC.relative_to(HERE.parent)}")
    args = parser.parse_args(argv)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(only) - set(FIGURES)
    if unknown:
        parser.error(f"unknown figures: {', '.join(sorted(unknown))}")

    if args.quick:
        plan = {"thumbnails": lambda: thumbnail_rows(3), "network": lambda: network_rows(2)}
    else:
        plan = {
            "startup": lambda: startup_rows(11),
            "idle": lambda: idle_rows(30.0),
            "network": lambda: network_rows(50),
            "responsiveness": lambda: responsiveness_rows(3),
            "thumbnails": lambda: thumbnail_rows(15),
            "history": lambda: history_rows(5, 120),
        }
        if only:
            plan = {name: plan[name] for name in FIGURES if name in only}
    started = time.monotonic()
    rows: list[Row] = []
    for name, figure in plan.items():
        print(f"measuring {name}...", file=sys.stderr, flush=True)
        begun = time.monotonic()
        try:
            rows.extend(figure())
        except Exception as exc:  # a broken figure is a missed budget, and the others still run
            rows.append(
                Row(f"{name}: could not be measured", f"{type(exc).__name__}: {exc}"[:200], "—", "—", "—", False)
            )
        print(f"  {name}: {time.monotonic() - begun:.0f} s", file=sys.stderr, flush=True)
    seconds = time.monotonic() - started
    print(table(rows))
    missed = [row for row in rows if row.ok is False]
    print(
        f"\n{len(rows) - len(missed)} of {len(rows)} rows within budget ({seconds:.0f} s)"
        + (f"; MISSED: {'; '.join(row.figure for row in missed)}" if missed else "")
    )
    if not (args.quick or args.no_write or only):
        write_doc(rows, seconds)
        print(f"written to {DOC}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
