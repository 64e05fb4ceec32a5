"""The Picture widget on a 2048x2048 PNG at 120x40, against a plain Pillow decode of the
same file in the same run.

    python benchmarks/viewer.py [--runs N]

For kitty (10x20-pixel cells) and half-block: the time from setting the source to the
first frame being shown (decode, resample, encode in a thread, then the repaint), a zoom
step and a pan step (resampled from the kept original), and the longest event-loop stall
meanwhile (a 5 ms ticker's worst lateness; beside it the same ticker's worst while a plain
decode runs in a thread, the machine's own noise), and the CPU time of the first paint,
all threads and the event loop's own (CPU time holds on a busy machine where wall time
does not). Then the same through the app's viewer screen (``screen_run``): the demo app,
one result whose file is the 2048x2048 PNG, the time from pressing v on its task to the
viewer's first frame, from + to the zoomed frame and from an arrow to the panned frame.
The app's run starts the way ``evolink-tui`` does (no garbage collection until its
first frame, then the app's own thresholds, what startup made frozen); the bare widget
runs with the app's collector settings too (``app_collector``). Medians of N runs.
Budgets (issue 13): first paint 150 ms, a zoom or pan step 50 ms, no stall over 50 ms.
Exits 1 if one is missed.

Each is run twice: for a result the app has shown before as a thumbnail (the preview does
as it arrives; that decode also keeps the file's display copy, ``graphics.display``, from
which a fitted view is drawn without decoding the file), judged by the budgets; and for a
file never seen (every frame waits for the whole decode), printed for comparison. Beside
each: how many first frames came from the display copy, and when the whole file's decode
(what a zoom past the copy resamples) was in hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from PIL import Image  # noqa: E402
from thumbnails import photo_like  # noqa: E402

from evolink_tui.core.graphics import CellSize, TerminalGraphics  # noqa: E402

BUDGETS_MS = {"first_paint": 150.0, "zoom": 50.0, "pan": 50.0, "stall": 50.0}


class StallMeter:
    """The event loop's worst lateness (ms) on a 5 ms ticker, between ``start`` and ``stop``."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._running = False
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._running = True
        self._task = asyncio.create_task(self._tick())

    async def _tick(self) -> None:
        while self._running:
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            self.worst = max(self.worst, (time.perf_counter() - before - 0.005) * 1000)

    async def stop(self) -> float:
        self._running = False
        if self._task is not None:
            await self._task
        return self.worst


def budget_row(results: list[dict]) -> tuple[list[str], bool]:
    """Each budgeted figure (median, or worst for the stall) against its budget."""
    row, failed = [], False
    for key, budget in BUDGETS_MS.items():
        value = statistics.median(r[key] for r in results) if key != "stall" else max(r[key] for r in results)
        failed |= value > budget
        row.append(f"{key} {value:.0f} ms (budget {budget:.0f}){'' if value <= budget else ' OVER'}")
    return row, failed


@contextlib.contextmanager
def seen_before(path: Path | None):
    """The disk cache on in a folder of its own and, if ``path`` is given, the file shown once
    as a thumbnail (as the preview shows a result as it arrives: that decode also keeps the
    file's display copy); the kept decodes dropped, so the viewer starts cold. ``None``: no
    disk cache, a file never seen (every frame waits for the whole decode)."""
    from evolink_tui.core import thumbnails
    from evolink_tui.core.graphics import raster
    from evolink_tui.core.thumbcache import DiskThumbnailCache

    before = thumbnails.shared_disk
    with tempfile.TemporaryDirectory(prefix="evolink-viewer-cache-") as folder:
        disk = DiskThumbnailCache(folder) if path is not None else None
        thumbnails.shared_disk = disk
        try:
            if path is not None:
                thumbnails.cached_thumbnail(path, 40, 20, thumbnails.ThumbnailCache())
            raster._kept.clear()  # a cold start: the file is decoded again
            yield
        finally:
            thumbnails.shared_disk = before
            if disk is not None:
                disk.close()


async def decoded_after(path: Path, start: float) -> float:
    """When the whole file's decode (started as the picture got its source) is in hand, the
    pixels a zoom past the display copy resamples (ms after ``start``)."""
    from evolink_tui.core.graphics import raster

    await asyncio.get_running_loop().run_in_executor(None, raster.load_cached, path)
    return (time.perf_counter() - start) * 1000


async def one_run(path: Path, method: str, seen: bool = True) -> dict:
    with seen_before(path if seen else None), app_collector():
        return await _one_run(path, method)


@contextlib.contextmanager
def app_collector():
    """The garbage collector as the app runs it once started (``EvolinkApp``: what startup
    made frozen, its own thresholds), so the bare widget's stalls are the ones it has in
    the app; Python's defaults restored after."""
    from evolink_tui.tui.app import GC_THRESHOLDS

    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


async def _one_run(path: Path, method: str) -> dict:
    from textual.app import App

    from evolink_tui.tui.widgets.picture import Picture

    shown: list[float] = []

    class Bench(App):
        def compose(self):
            yield Picture(graphics=TerminalGraphics(method, CellSize(10, 20), True))

        def on_picture_shown(self, message: Picture.Shown) -> None:
            shown.append(time.perf_counter())

    async def until_shown(count: int) -> float:
        while len(shown) < count:
            await asyncio.sleep(0.001)
        return shown[count - 1]

    app = Bench()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        gc.freeze()  # what the app's start made, as the app does after its first frame
        meter = StallMeter()
        meter.start()
        picture = app.query_one(Picture)
        loop_cpu = time.thread_time()
        cpu = time.process_time()
        start = time.perf_counter()
        picture.set_source(path)
        first = await until_shown(1) - start
        await pilot.pause()  # the repaint that shows it
        first_loop_cpu, first_cpu = time.thread_time() - loop_cpu, time.process_time() - cpu
        from_copy = picture.frame is not None and picture.frame.from_copy
        decoded = await decoded_after(path, start)
        start = time.perf_counter()
        picture.zoom_in()
        zoom = await until_shown(2) - start
        start = time.perf_counter()
        picture.pan(0, 0.25)  # down a quarter view (at zoom 1.5 the whole width shows)
        pan = await until_shown(3) - start
        await pilot.pause()
        stall = await meter.stop()
    return {
        "first_paint": first * 1000,
        "zoom": zoom * 1000,
        "pan": pan * 1000,
        "stall": stall,
        "first_cpu": first_cpu * 1000,
        "first_loop_cpu": first_loop_cpu * 1000,
        "decoded": decoded,
        "from_copy": from_copy,
    }


@contextlib.contextmanager
def private_app_dirs():
    """Config, data and downloads of the demo app in a folder of their own (restored after)."""
    saved = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="evolink-viewer-bench-") as folder:
        for name in [n for n in os.environ if n.startswith("EVOLINK_")]:
            del os.environ[name]
        os.environ.update(
            EVOLINK_TUI_CONFIG=f"{folder}/config.toml",
            EVOLINK_TUI_DATA_DIR=f"{folder}/data",
            EVOLINK_DOWNLOAD_DIR=f"{folder}/downloads",
            EVOLINK_TUI_CACHE_DIR=f"{folder}/cache",
            EVOLINK_SIM_IMAGE_SIZE="64",
        )
        os.environ.pop("NO_COLOR", None)
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)


async def screen_run(path: Path, method: str, seen: bool = True) -> dict:
    """The viewer screen in the demo app: from the key to the first frame, a zoom, a pan.
    ``seen``: the result's file was thumbnailed through the app's disk cache, as the preview
    does when a result arrives (which keeps its display copy); else it never was."""
    import shutil

    from evolink_tui.core import thumbnails
    from evolink_tui.core.config import load_settings
    from evolink_tui.core.graphics import active, raster, set_active
    from evolink_tui.simulator import FakeClock
    from evolink_tui.tui.app import EvolinkApp
    from evolink_tui.tui.widgets.picture import Picture

    shown: list[float] = []

    class Bench(EvolinkApp):
        def on_picture_shown(self, message: Picture.Shown) -> None:
            shown.append(time.perf_counter())

    async def until(predicate, what: str) -> None:
        deadline = time.perf_counter() + 30
        while not predicate():
            if time.perf_counter() > deadline:
                raise RuntimeError(f"the viewer benchmark waited too long for {what}")
            await asyncio.sleep(0.001)

    before = active()
    set_active(TerminalGraphics(method, CellSize(10, 20), True))
    thresholds = gc.get_threshold()
    # As `evolink-tui` starts the app (cli._main): no collection until its first frame,
    # then what startup made is frozen and the app's own thresholds apply. Without this the
    # run measures Python's default thresholds, whose full collections (130 ms here, with
    # the GIL held) the app never sees that often.
    gc.disable()
    try:
        with private_app_dirs():
            app = Bench(load_settings(demo=True), clock=FakeClock(1_800_000_000.0), cursor_blink=False)
            async with app.run_test(size=(120, 40)) as pilot:
                await until(lambda: app.studio.client is not None, "the client")
                app.main.composer.set_prompt("a benchmark")
                await pilot.press("ctrl+j")
                records = app.studio.records
                await until(lambda: any(r.files for r in records.values()), "the result")
                record = next(r for r in records.values() if r.files)
                shutil.copyfile(path, record.files[0])  # the result is the 2048x2048 PNG
                if seen:  # as the preview shows a result that arrives (the app's own disk cache)
                    await until(lambda: thumbnails.shared_disk is not None, "the disk cache")
                    await asyncio.get_running_loop().run_in_executor(
                        None, thumbnails.cached_thumbnail, record.files[0], 40, 20, thumbnails.ThumbnailCache()
                    )
                raster._kept.clear()  # a cold start: the file is decoded again
                app.main.tasks.focus()
                await pilot.pause()
                meter = StallMeter()
                meter.start()
                cpu = time.process_time()
                start = time.perf_counter()
                await pilot.press("v")
                await until(lambda: len(shown) >= 1, "the first frame")
                first = shown[0] - start
                await pilot.pause()
                first_cpu = time.process_time() - cpu
                from_copy = app.screen.query_one(Picture).frame.from_copy
                decoded = await decoded_after(record.files[0], start)
                start = time.perf_counter()
                await pilot.press("plus")
                await until(lambda: len(shown) >= 2, "the zoomed frame")
                zoom = shown[1] - start
                start = time.perf_counter()
                await pilot.press("down")
                await until(lambda: len(shown) >= 3, "the panned frame")
                pan = shown[2] - start
                await pilot.pause()
                stall = await meter.stop()
    finally:
        set_active(before)
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        gc.enable()
    return {
        "first_paint": first * 1000,
        "zoom": zoom * 1000,
        "pan": pan * 1000,
        "stall": stall,
        "first_cpu": first_cpu * 1000,
        "decoded": decoded,
        "from_copy": from_copy,
    }


async def reference_stall(path: Path) -> float:
    """The longest loop stall while a plain Pillow decode runs in a thread (the machine's
    own noise, for comparison with the widget's)."""
    loop = asyncio.get_running_loop()
    meter = StallMeter()
    meter.start()
    for _ in range(3):
        await loop.run_in_executor(None, lambda: Image.open(path).load())
    return await meter.stop()


def origin(results: list[dict], seen: bool) -> str:
    """What the first frames were made from, and when the whole file was decoded."""
    copies = sum(r["from_copy"] for r in results)
    decoded = statistics.median(r["decoded"] for r in results)
    where = "thumbnailed before" if seen else "never seen (no display copy)"
    return f"{where}, first frame from the display copy {copies}/{len(results)}, file decoded at {decoded:.0f} ms"


def plain_decode_ms(path: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        with Image.open(path) as image:
            image.load()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 5
    failed = False
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "result.png"
        photo_like().save(path, "PNG")
        print(f"2048x2048 PNG ({path.stat().st_size / 1e6:.1f} MB), 120x40, median of {runs}")
        cpu = time.process_time()
        plain = plain_decode_ms(path, runs)
        print(f"plain Pillow decode: {plain:.0f} ms (CPU {(time.process_time() - cpu) * 1000 / runs:.0f} ms)")
        print(f"loop stall while Pillow decodes in a thread: {asyncio.run(reference_stall(path)):.0f} ms")
        for method in ("kitty", "halfblock"):
            for seen in (True, False):
                results = [asyncio.run(one_run(path, method, seen)) for _ in range(runs)]
                row, missed = budget_row(results)
                cpu = statistics.median(r["first_cpu"] for r in results)
                loop_cpu = statistics.median(r["first_loop_cpu"] for r in results)
                row.append(f"first paint CPU {cpu:.0f} ms, of it on the event loop {loop_cpu:.0f} ms")
                print(f"{method:9} {origin(results, seen)}: " + ", ".join(row))
                failed |= missed and seen
        for method in ("kitty", "halfblock"):
            for seen in (True, False):
                results = [asyncio.run(screen_run(path, method, seen)) for _ in range(runs)]
                row, missed = budget_row(results)
                row.append(f"first paint CPU {statistics.median(r['first_cpu'] for r in results):.0f} ms")
                print(f"viewer screen, {method:9} (from the key), {origin(results, seen)}: " + ", ".join(row))
                failed |= missed and seen
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
