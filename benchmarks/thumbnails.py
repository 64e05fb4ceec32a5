"""How long a thumbnail takes to make, against a plain decode of the same file.

    python benchmarks/thumbnails.py

Makes a 2048x2048 photo-like picture (gradients, soft shapes and noise) as JPEG and PNG,
times ``make_thumbnail(path, 64, 32)`` (median of 15 runs, no cache) and, in the same run,
``Image.open(path).load()`` as the reference, and prints both with their ratio, then the
time to turn the cells into strips (the view does that in the same worker).
Budgets: JPEG <= 60 ms median, PNG <= 150 ms. Exits 1 if one is missed.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image, ImageDraw, ImageFilter  # noqa: E402

from evolink_tui.core.thumbnails import make_thumbnail  # noqa: E402

SIZE = 2048
RUNS = 15
BUDGETS_MS = {"JPEG": 60.0, "PNG": 150.0}


def photo_like(size: int = SIZE) -> Image.Image:
    """Smooth gradients and blurred shapes (what a generated image looks like) plus
    grain, which keeps PNG from compressing it away to nothing."""
    x = Image.linear_gradient("L").resize((size, size))
    y = x.rotate(90)
    image = Image.merge("RGB", (x, y, Image.eval(x, lambda v: 255 - v)))
    shapes = Image.new("RGB", (size // 4, size // 4))
    draw = ImageDraw.Draw(shapes)
    for i in range(24):
        box = ((i * 37) % 480, (i * 91) % 480, (i * 37) % 480 + 60 + i * 3, (i * 91) % 480 + 40 + i * 4)
        draw.ellipse(box, fill=((i * 53) % 256, (i * 97) % 256, (i * 151) % 256))
    shapes = shapes.filter(ImageFilter.GaussianBlur(6)).resize((size, size), Image.Resampling.BICUBIC)
    image = Image.blend(image, shapes, 0.5)
    grain = Image.merge("RGB", [Image.effect_noise((size, size), 24) for _ in range(3)])
    return Image.blend(image, grain, 0.15)


def median_ms(fn, runs: int = RUNS) -> float:
    fn()  # warm the OS file cache and Pillow's plugin imports
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def plain_decode(path: Path) -> None:
    with Image.open(path) as image:
        image.load()


def measure(runs: int = RUNS) -> dict:
    """Median ms of ``make_thumbnail(path, 64, 32)`` and of a plain decode, per format."""
    image = photo_like()
    result = {}
    with tempfile.TemporaryDirectory() as folder:
        paths = {"JPEG": Path(folder) / "photo.jpg", "PNG": Path(folder) / "photo.png"}
        image.save(paths["JPEG"], "JPEG", quality=90)
        image.save(paths["PNG"], "PNG")
        for kind, path in paths.items():
            thumb = make_thumbnail(path, 64, 32)
            assert (thumb.width, thumb.height) == (64, 32), (thumb.width, thumb.height)
            result[kind] = {
                "ms": median_ms(lambda path=path: make_thumbnail(path, 64, 32), runs),
                "reference_ms": median_ms(lambda path=path: plain_decode(path), runs),
                "budget_ms": BUDGETS_MS[kind],
                "file_mb": path.stat().st_size / 1e6,
            }
        from evolink_tui.tui.widgets.thumbnail import thumbnail_strips

        result["strips_ms"] = median_ms(lambda: thumbnail_strips(thumb), runs)
    return result


async def _redraws(path: Path, redraws: int) -> dict:
    """Decodes made while a shown thumbnail is redrawn, the terminal resized (smaller and
    back) and the same file shown again in a new view."""
    from textual.app import App

    import evolink_tui.core.thumbnails as core
    from evolink_tui.tui.widgets.thumbnail import ThumbnailView

    decodes = []
    real = core.make_thumbnail

    def counting(source, cols, rows):
        decodes.append((str(source), cols, rows))
        return real(source, cols, rows)

    class One(App):
        def compose(self):
            yield ThumbnailView(path, cache=core.ThumbnailCache(), id="first")

    core.make_thumbnail = counting
    try:
        app = One()
        async with app.run_test(size=(80, 30)) as pilot:
            view = app.query_one("#first", ThumbnailView)
            for _ in range(200):
                await pilot.pause(0.01)
                if view.thumbnail is not None:
                    break
            first = len(decodes)
            for _ in range(redraws):
                view.refresh()
                app.screen.refresh()
                await pilot.pause()
            after_redraws = len(decodes)
            await pilot.resize_terminal(50, 20)
            await pilot.pause(0.2)
            await pilot.resize_terminal(80, 30)
            await pilot.pause(0.2)
            after_resize = len(decodes)
            cache = view._cache
            await view.remove()  # the preview showing the same result again, in a new view
            second = ThumbnailView(path, cache=cache)
            await app.mount(second)
            for _ in range(200):
                await pilot.pause(0.01)
                if second.thumbnail is not None:
                    break
            shown = second.thumbnail is not None
    finally:
        core.make_thumbnail = real
    return {
        "first": first,
        "after_redraws": after_redraws - first,
        "after_resize": after_resize - after_redraws,
        "after_remount": len(decodes) - after_resize,
        "total": len(decodes),
        "shown": shown,
        "redraws": redraws,
    }


def measure_redraws(redraws: int = 20) -> dict:
    import asyncio

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "photo.png"
        photo_like(1024).save(path, "PNG")
        return asyncio.run(_redraws(path, redraws))


def main() -> int:
    result = measure()
    missed = False
    print(f"make_thumbnail(..., 64, 32) on a {SIZE}x{SIZE} image, median of {RUNS} runs")
    print(f"{'format':<6} {'file':>9} {'thumbnail':>11} {'plain decode':>13} {'ratio':>6} {'budget':>8}")
    for kind in ("JPEG", "PNG"):
        row = result[kind]
        verdict = "ok" if row["ms"] <= row["budget_ms"] else "MISSED"
        missed |= row["ms"] > row["budget_ms"]
        print(
            f"{kind:<6} {row['file_mb']:>7.1f}MB {row['ms']:>8.1f} ms {row['reference_ms']:>10.1f} ms "
            f"{row['ms'] / row['reference_ms']:>6.2f} {row['budget_ms']:>5.0f} ms {verdict}"
        )
    # The view's worker also turns the cells into rich strips; measured for the record.
    print(f"cells -> strips (64x32 cells, in the same worker): {result['strips_ms']:.1f} ms")
    redraws = measure_redraws()
    print(
        f"decodes: {redraws['first']} to show, then {redraws['after_redraws']} over {redraws['redraws']} redraws, "
        f"{redraws['after_resize']} for a resize down and back, {redraws['after_remount']} for a new view of it"
    )
    missed |= redraws["total"] != 1
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
