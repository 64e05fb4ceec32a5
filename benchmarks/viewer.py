"""The Picture widget on a 2048x2048 PNG at 120x40, against a plain Pillow decode of the
same file in the same run.

    python benchmarks/viewer.py [--runs N]

For kitty (10x20-pixel cells) and half-block: the time from setting the source to the
first frame being shown (decode, resample, encode in a thread, then the repaint), a zoom
step and a pan step (resampled from the kept original), and the longest event-loop stall
meanwhile (a 5 ms ticker's worst lateness; beside it the same ticker's worst while a plain
decode runs in a thread, the machine's own noise), and the CPU time of the first paint,
all threads and the event loop's own (CPU time holds on a busy machine where wall time
does not). Medians of N runs. Budgets (issue 13): first
paint 150 ms, a zoom or pan step 50 ms, no stall over 50 ms. Exits 1 if one is missed.
"""

from __future__ import annotations

import asyncio
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


async def one_run(path: Path, method: str) -> dict:
    from textual.app import App

    from evolink_tui.core.graphics import raster
    from evolink_tui.tui.widgets.picture import Picture

    raster._kept.clear()  # a cold start: the file is decoded again
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
    stall = 0.0
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        stop = False

        async def ticker() -> None:
            nonlocal stall
            while not stop:
                before = time.perf_counter()
                await asyncio.sleep(0.005)
                stall = max(stall, time.perf_counter() - before - 0.005)

        ticking = asyncio.create_task(ticker())
        picture = app.query_one(Picture)
        loop_cpu = time.thread_time()
        cpu = time.process_time()
        start = time.perf_counter()
        picture.set_source(path)
        first = await until_shown(1) - start
        await pilot.pause()  # the repaint that shows it
        first_loop_cpu, first_cpu = time.thread_time() - loop_cpu, time.process_time() - cpu
        start = time.perf_counter()
        picture.zoom_in()
        zoom = await until_shown(2) - start
        start = time.perf_counter()
        picture.pan(0, 0.25)  # down a quarter view (at zoom 1.5 the whole width shows)
        pan = await until_shown(3) - start
        await pilot.pause()
        stop = True
        await ticking
    return {
        "first_paint": first * 1000,
        "zoom": zoom * 1000,
        "pan": pan * 1000,
        "stall": stall * 1000,
        "first_cpu": first_cpu * 1000,
        "first_loop_cpu": first_loop_cpu * 1000,
    }


async def reference_stall(path: Path) -> float:
    """The longest loop stall while a plain Pillow decode runs in a thread (the machine's
    own noise, for comparison with the widget's)."""
    loop = asyncio.get_running_loop()
    stall, done = 0.0, False

    async def ticker() -> None:
        nonlocal stall
        while not done:
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            stall = max(stall, time.perf_counter() - before - 0.005)

    ticking = asyncio.create_task(ticker())
    for _ in range(3):
        await loop.run_in_executor(None, lambda: Image.open(path).load())
    done = True
    await ticking
    return stall * 1000


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
            results = [asyncio.run(one_run(path, method)) for _ in range(runs)]
            row = []
            for key, budget in BUDGETS_MS.items():
                value = statistics.median(r[key] for r in results) if key != "stall" else max(r[key] for r in results)
                mark = "" if value <= budget else " OVER"
                failed |= value > budget
                row.append(f"{key} {value:.0f} ms (budget {budget:.0f}){mark}")
            cpu = statistics.median(r["first_cpu"] for r in results)
            loop_cpu = statistics.median(r["first_loop_cpu"] for r in results)
            row.append(f"first paint CPU {cpu:.0f} ms, of it on the event loop {loop_cpu:.0f} ms")
            print(f"{method:9} " + ", ".join(row))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
