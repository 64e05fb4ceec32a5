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


def main() -> int:
    image = photo_like()
    missed = False
    with tempfile.TemporaryDirectory() as folder:
        paths = {"JPEG": Path(folder) / "photo.jpg", "PNG": Path(folder) / "photo.png"}
        image.save(paths["JPEG"], "JPEG", quality=90)
        image.save(paths["PNG"], "PNG")
        print(f"make_thumbnail(..., 64, 32) on a {SIZE}x{SIZE} image, median of {RUNS} runs")
        print(f"{'format':<6} {'file':>9} {'thumbnail':>11} {'plain decode':>13} {'ratio':>6} {'budget':>8}")
        for kind, path in paths.items():
            thumb = make_thumbnail(path, 64, 32)
            assert (thumb.width, thumb.height) == (64, 32), (thumb.width, thumb.height)
            ours = median_ms(lambda: make_thumbnail(path, 64, 32))
            reference = median_ms(lambda: plain_decode(path))
            budget = BUDGETS_MS[kind]
            verdict = "ok" if ours <= budget else "MISSED"
            missed |= ours > budget
            print(
                f"{kind:<6} {path.stat().st_size / 1e6:>7.1f}MB {ours:>8.1f} ms {reference:>10.1f} ms "
                f"{ours / reference:>6.2f} {budget:>5.0f} ms {verdict}"
            )
        # The view's worker also turns the cells into rich strips; measured for the record.
        from evolink_tui.tui.widgets.thumbnail import thumbnail_strips

        strips = median_ms(lambda: thumbnail_strips(thumb))
        print(f"cells -> strips (64x32 cells, in the same worker): {strips:.1f} ms")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
