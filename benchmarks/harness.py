"""The child side of the benchmarks: the real app (or a bare Textual app) on a real terminal.

    python benchmarks/harness.py bare|app [SCENARIO] [--arg VALUE ...]

``benchmarks/run.py`` starts this in a pseudo-terminal (the real Linux driver draws every
frame), so nothing here is headless. ``app`` goes through ``evolink_tui.cli.main`` exactly
like the ``evolink-tui`` script; the only difference is a thin subclass of ``EvolinkApp``
that reports milestones as JSON lines on the file descriptor named by ``BENCH_REPORT_FD``.

"First full frame" is the first frame with everything of the first screen drawn: for the
app, the history read and shown (``history_shown`` called, the task list's rows laid out) and
the keys of the key bar; for the bare app, its Header, Static and the keys of its Footer
(which Textual draws a frame or two after the first).

Scenarios (``app`` only; ``bare`` knows ``startup`` and ``stay``):

- ``startup``: report the first full frame and exit.
- ``stay``: report the first full frame, optionally start ``--tasks N`` generations, and
  stay until ctrl+q; then report the active timers.
- ``scroll``: after the first full frame, press ``--steps N`` keys (``--key``) in the
  task list, one a frame, and report each frame's main-thread CPU time.
- ``burst``: watch the event loop (a 5 ms sleeper's overshoot) while idle for ``--idle``
  seconds, then generate one comparison run over ``--models`` (downloaded, verified and
  thumbnailed), wait for every thumbnail and for ``--expect`` typed text, report stalls.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time

REPORT_FD = int(os.environ.get("BENCH_REPORT_FD", "-1"))
HEAVY = ("PIL", "PIL.Image", "sqlite3", "httpx", "starlette", "uvicorn", "evolink_tui.simulator")


def report(kind: str, **data) -> None:
    data.update(
        kind=kind,
        at=time.perf_counter(),
        cpu=time.process_time(),
        rss_kb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    )
    line = (json.dumps(data) + "\n").encode()
    if REPORT_FD >= 0:
        os.write(REPORT_FD, line)
    else:
        sys.__stdout__.write(line.decode())


def keys_shown(screen) -> int:
    """Keys drawn on the screen's key bar now (Textual's Footer: its keys, once composed)."""
    footer_keys = screen.query("FooterKey")
    if footer_keys:
        return len(footer_keys)
    try:
        from evolink_tui.tui.widgets.keybar import KeyBar
    except ImportError:
        return 0
    return sum(len(bar.shown) for bar in screen.query(KeyBar))


def heavy_modules() -> list[str]:
    return [name for name in HEAVY if name in sys.modules]


def active_timers(app) -> list[dict]:
    """Every running (not paused, not finished) repeating timer in the DOM."""
    found = []
    nodes = [app, *app.screen_stack]
    for screen in app.screen_stack:
        nodes.extend(screen.walk_children(with_self=False))
    for node in nodes:
        for timer in list(getattr(node, "_timers", ())):
            task = getattr(timer, "_task", None)
            if task is None or task.done() or not getattr(timer, "_active", None) or not timer._active.is_set():
                continue
            callback = getattr(timer._callback, "__qualname__", repr(timer._callback))
            found.append(
                {
                    "node": type(node).__name__,
                    "name": timer.name,
                    "interval": timer._interval,
                    "repeat": timer._repeat,
                    "callback": callback,
                }
            )
    return found


class LagMonitor:
    """How late a 5 ms sleep wakes up: the event loop's stalls."""

    def __init__(self, period: float = 0.005) -> None:
        self.period = period
        self.samples: list[tuple[float, float]] = []  # (when, overshoot in seconds)
        self.cpu: dict[float, float] = {}  # when -> the main thread's CPU seconds over that sleep
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())
        trace = os.environ.get("BENCH_STALL_TRACE")  # a file for the stacks of stalls (diagnosis only)
        if trace:
            import threading

            threading.Thread(target=self._watch, args=(trace,), daemon=True).start()

    async def _run(self) -> None:
        while True:
            before = self._beat = time.perf_counter()
            cpu = time.thread_time()
            await asyncio.sleep(self.period)
            after = self._beat = time.perf_counter()
            self.samples.append((after, after - before - self.period))
            self.cpu[after] = time.thread_time() - cpu  # the main thread's own work meanwhile

    _beat = 0.0

    def _watch(self, path: str) -> None:
        """While the loop is 20 ms late, write down what the main thread is doing."""
        import threading
        import traceback

        main = threading.main_thread().ident
        with open(path, "w") as out:
            while self._task is not None and not self._task.done():
                time.sleep(0.004)
                late = time.perf_counter() - self._beat - self.period
                if late > 0.020:
                    out.write(f"--- late {late * 1000:.0f} ms\n")
                    for ident, frame in sys._current_frames().items():
                        if ident == threading.get_ident():
                            continue
                        name = "MAIN" if ident == main else "thread"
                        stack = "".join(traceback.format_stack(frame, limit=6 if ident == main else 4))
                        out.write(f"  [{name}]\n{stack}")
                    out.flush()

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def summary(self, start: float, end: float) -> dict:
        lags = sorted(lag for when, lag in self.samples if start <= when <= end)
        if not lags:
            return {"max_ms": 0.0, "p99_ms": 0.0, "over_50": 0, "samples": 0}
        worst = max((lag, when) for when, lag in self.samples if start <= when <= end)[1]
        return {
            "worst_cpu_ms": self.cpu.get(worst, 0.0) * 1000,  # of the longest stall, the main thread's own work
            "max_ms": lags[-1] * 1000,
            "p99_ms": lags[int(0.99 * (len(lags) - 1))] * 1000,
            "over_50": sum(1 for lag in lags if lag > 0.050),
            "samples": len(lags),
        }


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("which", choices=("bare", "app"))
    parser.add_argument("scenario", nargs="?", default="startup")
    parser.add_argument("--demo", action="store_true")
    parser.add_argument("--tasks", type=int, default=0)
    parser.add_argument("--models", default="")
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--key", default="pagedown")
    parser.add_argument("--idle", type=float, default=3.0)
    parser.add_argument("--expect", default="")
    parser.add_argument("--timeout", type=float, default=120.0)
    return parser.parse_args(argv)


# -- the bare app ----------------------------------------------------------------------------


def run_bare(args: argparse.Namespace) -> int:
    from textual.app import App
    from textual.widgets import Footer, Header, Static

    class Bare(App):
        BINDINGS = [("ctrl+q", "quit", "Quit")]

        def compose(self):
            yield Header()
            yield Static("A bare Textual app: Header, Static, Footer.")
            yield Footer()

        def on_mount(self) -> None:
            self.call_after_refresh(self._first_frame)

        def _first_frame(self) -> None:
            if not keys_shown(self.screen):  # the Footer draws its keys a frame (or two) later
                self.call_after_refresh(self._first_frame)
                return
            report("frame", modules=heavy_modules(), keys=keys_shown(self.screen))
            if args.scenario == "startup":
                self.exit()

        async def action_quit(self) -> None:
            report("timers", timers=active_timers(self))
            self.exit()

    Bare().run()
    return 0


# -- the real app ------------------------------------------------------------------------------


class AfterImport:
    """A meta path finder that runs ``then(module)`` right after module ``name`` first runs
    (and then steps aside): the benchmark's subclass of the app is made when the CLI imports
    the app, not before."""

    def __init__(self, name: str, then) -> None:
        self.name, self.then = name, then

    def find_spec(self, fullname: str, path, target=None):
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"benchmark: {fullname} not found")
        run_module = spec.loader.exec_module

        def exec_module(module) -> None:
            run_module(module)
            self.then(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def run_app(args: argparse.Namespace) -> int:
    from evolink_tui import cli

    def bench_app(app_module) -> None:
        """EvolinkApp becomes BenchApp, right after the CLI loads the app's module."""
        base = app_module.EvolinkApp

        class BenchApp(base):  # type: ignore[misc, valid-type]
            _bench_framed = False
            _bench_monitor: LagMonitor | None = None

            def history_shown(self) -> None:
                super().history_shown()
                if not self._bench_framed:
                    self._bench_framed = True
                    self.call_after_refresh(self._bench_frame)

            def _rows_pending(self) -> bool:
                """Rows added whose place in the table is not laid out yet (each row is 2 lines)."""
                tasks = self.main.tasks
                return tasks.virtual_size.height < 2 * tasks.row_count

            def _bench_frame(self) -> None:
                if self._rows_pending() or not keys_shown(self.screen):  # rows or keys not drawn yet: one more frame
                    self.call_after_refresh(self._bench_frame)
                    return
                report("frame", modules=heavy_modules(), rows=self.main.tasks.row_count, keys=keys_shown(self.screen))
                if args.scenario == "startup":
                    self.exit()
                elif args.scenario == "stay":
                    if args.tasks:
                        self._bench_generate(["gpt-image-1.5"] * args.tasks, group=False)
                    if os.environ.get("BENCH_PROFILE_STEPS"):  # cProfile from 8 s on until quit (diagnosis)
                        import cProfile

                        self._bench_profiler = cProfile.Profile()
                        self.set_timer(8, lambda: self._bench_profiler.enable())
                elif args.scenario == "scroll":
                    self.run_worker(self._bench_scroll(), exit_on_error=True)
                elif args.scenario == "burst":
                    self.run_worker(self._bench_burst(), exit_on_error=True)

            def _bench_generate(self, models: list[str], *, group: bool) -> None:
                from evolink_tui.core.validation import GenerationRequest

                requests = [
                    GenerationRequest(prompt=f"benchmark {i}: a lighthouse at dusk", model=m, n=args.n)
                    for i, m in enumerate(models)
                ]
                for batch in [requests] if group else [[request] for request in requests]:
                    for record_id in self.studio.prepare(batch):
                        self.start(self.studio.run(record_id), name=f"task {record_id}")

            _bench_profiler = None

            async def action_quit(self) -> None:
                if self._bench_profiler is not None:
                    self._bench_profiler.disable()
                    self._bench_profiler.dump_stats(os.environ["BENCH_PROFILE_STEPS"])
                report(
                    "timers",
                    timers=active_timers(self),
                    running=sum(1 for w in self.workers if w.group == "tasks" and not w.is_finished),
                )
                await super().action_quit()

            _bench_frames: list[float] | None = None  # main-thread CPU time at the end of each frame

            def _display(self, screen, renderable) -> None:
                super()._display(screen, renderable)
                if self._bench_frames is not None and renderable is not None:
                    self._bench_frames.append(time.thread_time())

            async def _bench_scroll(self) -> None:
                """Each step: one key, then wait until everything it set off is done (rows laid out,
                a history page loaded, the preview and its thumbnails drawn). A frame's cost is the
                main thread's CPU time from the key (or the previous frame) to the frame written
                to the terminal; a step's cost is all of it."""
                from textual import events

                tasks = self.main.tasks
                tasks.focus()
                await self._bench_settle()
                frames, steps = [], []
                keys = {"pagedown": "pageup", "pageup": "pagedown", "down": "up", "up": "down"}
                key, bounced = args.key, 0
                profile = os.environ.get("BENCH_PROFILE_STEPS")  # cProfile of the steps only (diagnosis)
                if profile:
                    import cProfile

                    profiler = cProfile.Profile()
                while len(steps) < args.steps and bounced < 5:
                    before = tasks.cursor_row
                    if profile:
                        profiler.enable()
                    self._bench_frames = marks = []
                    wall, cpu = time.perf_counter(), time.thread_time()
                    self.post_message(events.Key(key, None))
                    await self._bench_settle()
                    self._bench_frames = None
                    if profile:
                        profiler.disable()
                    if tasks.cursor_row == before:  # at an end of a short list: page back the other way
                        key, bounced = keys.get(key, key), bounced + 1
                        continue
                    bounced = 0
                    steps.append(
                        {
                            "cpu_ms": (marks[-1] - cpu) * 1000 if marks else 0.0,
                            "frames": len(marks),
                            "wall_ms": (time.perf_counter() - wall) * 1000,
                        }
                    )
                    frames.extend((end - start) * 1000 for start, end in zip([cpu, *marks], marks, strict=False))
                if profile:
                    profiler.dump_stats(profile)
                report("scroll", frames=frames, steps=steps, rows=tasks.row_count, cursor=tasks.cursor_row)
                self.exit()

            def _bench_busy(self) -> bool:
                screen = self.screen
                if self.studio.history_loading or self._rows_pending():
                    return True
                if any(w.group in ("thumbnail", "history") and not w.is_finished for w in self.workers):
                    return True
                if not self._message_queue.empty() or screen._layout_required or screen._dirty_widgets:
                    return True
                return any(not node._message_queue.empty() for node in screen.walk_children(with_self=True))

            async def _bench_settle(self) -> None:
                """Until nothing is pending: messages, layout, a repaint, history pages, thumbnails."""
                for _ in range(1000):
                    await asyncio.sleep(0.005)
                    if not self._bench_busy():
                        done = asyncio.Event()
                        self.call_after_refresh(done.set)
                        await done.wait()
                        if not self._bench_busy():
                            return

            async def _bench_burst(self) -> None:
                from evolink_tui.tui.widgets.thumbnail import ThumbnailView

                monitor = LagMonitor()
                monitor.start()
                slow = os.environ.get("BENCH_SLOW_CALLBACKS")  # log callbacks over 20 ms (diagnosis only)
                if slow:
                    import logging

                    logging.basicConfig(filename=slow, level=logging.WARNING)
                    loop = asyncio.get_running_loop()
                    loop.set_debug(True)
                    loop.slow_callback_duration = 0.020
                gc_trace = os.environ.get("BENCH_GC_TRACE")  # a file for collections over 2 ms (diagnosis only)
                if gc_trace:
                    import gc

                    began: list[float] = []

                    def collected(phase: str, info: dict) -> None:
                        if phase == "start":
                            began[:] = [time.perf_counter()]
                        elif began and (took := time.perf_counter() - began[0]) > 0.002:
                            with open(gc_trace, "a") as out:
                                out.write(
                                    f"gen {info['generation']} {took * 1000:.1f} ms, {info['collected']} freed, "
                                    f"thresholds {gc.get_threshold()}, frozen {gc.get_freeze_count()}\n"
                                )

                    gc.callbacks.append(collected)
                idle_from = time.perf_counter()
                await asyncio.sleep(args.idle)
                started = time.perf_counter()
                models = [m for m in args.models.split(",") if m]
                profile = os.environ.get("BENCH_PROFILE_STEPS")  # cProfile of the burst (diagnosis only)
                if profile:
                    import cProfile

                    profiler = cProfile.Profile()
                    profiler.enable()
                report("burst-start")
                self._bench_generate(models, group=True)
                deadline = started + args.timeout
                done_at = None
                while time.perf_counter() < deadline:
                    await asyncio.sleep(0.05)
                    views = list(self.main.query(ThumbnailView))
                    ids = sorted(self.studio.session_ids)
                    records = [self.studio.records.get(i) for i in ids]
                    finished = len(records) == len(models) and all(
                        r is not None and r.download_state not in (None, "pending") for r in records
                    )
                    results = sum(len(r.files) for r in records if r is not None)
                    drawn = all(v.thumbnail is not None or v._error for v in views)
                    shown = finished and len(views) == results and drawn
                    if finished and shown and done_at is None:
                        done_at = time.perf_counter()
                    typed = self.main.composer.query_one("#prompt").text
                    if done_at is not None and len(typed) >= len(args.expect):
                        break
                ended = done_at or time.perf_counter()
                monitor.stop()
                if profile:
                    profiler.disable()
                    profiler.dump_stats(profile)
                views = list(self.main.query(ThumbnailView))
                report(
                    "burst",
                    idle=monitor.summary(idle_from, started),
                    busy=monitor.summary(started, ended),
                    seconds=ended - started,
                    completed=done_at is not None,
                    typed=typed,
                    thumbnails=sum(1 for v in views if v.thumbnail is not None),
                    failed_thumbnails=sum(1 for v in views if v._error),
                    files=[f for r in records if r is not None for f in r.files],
                    states=[(r.state, r.download_state, (r.error or {}).get("code")) for r in records if r is not None],
                )
                self.exit()

        app_module.EvolinkApp = BenchApp

    # The app's module is loaded by the CLI, as the evolink-tui script does: after it has read
    # the settings, asked the terminal about graphics and started reading history, which
    # happen while Textual loads (importing the app first would make them wait for it).
    sys.meta_path.insert(0, AfterImport("evolink_tui.tui.app", bench_app))
    argv = ["--demo"] if args.demo else []
    return cli.main(argv)


def main() -> int:
    args = parse(sys.argv[1:])
    profile = os.environ.get("BENCH_PROFILE")  # a file for cProfile stats (diagnosis only)
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        try:
            return profiler.runcall(run_bare if args.which == "bare" else run_app, args)
        finally:
            profiler.dump_stats(profile)
    return run_bare(args) if args.which == "bare" else run_app(args)


if __name__ == "__main__":
    sys.exit(main())
