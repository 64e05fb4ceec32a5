"""The gallery's queries and thumbnails at scale, against the same work at small scale in
the same run.

    python benchmarks/gallery.py

1. The first page of the gallery (``gallery_page``: the SQL and the records built from it)
   for each sort order and filter, with 100 records in the history and with 10,000, median
   of 15 runs each. Both histories span the same four days and star the same 25 results,
   and a page is one screenful (12 records), so every query returns a full page at both
   sizes and a flat query costs the same; the ratio column says how far each is from
   flat. Budget: the 10,000-record page within 2x the 100-record one, or under 5 ms, for
   every query but two that are reported, not budgeted: the text filter (``LIKE`` on the
   prompt cannot use an index: it reads every record until a page is found) and "before
   a date" (it passes every newer record first). The count of matches (for "N results")
   is reported too: it reads every match.
2. A thumbnail (64x32 cells) of a 2048x2048 photo-like PNG: decoded, against read back
   from the disk cache in a fresh process (content hash included), and the memory a full
   in-memory cache holds. Budget: a disk hit at most a tenth of a decode.

Exits 1 if a budget is missed.
"""

from __future__ import annotations

import gc
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evolink_tui.core import thumbcache  # noqa: E402
from evolink_tui.core.gallery import GalleryQuery, gallery_count, gallery_page  # noqa: E402
from evolink_tui.core.history import History  # noqa: E402
from evolink_tui.core.thumbnails import ThumbnailCache, make_thumbnail  # noqa: E402
from tests.tui.history_seed import seed_history  # noqa: E402

RUNS = 15
PAGE = 12
SIZES = (100, 10_000)
SPAN = 4 * 86400  # both histories cover four days
STARRED = 25


def median_ms(fn, runs: int = RUNS) -> float:
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def seeded(folder: Path, count: int, now: float) -> History:
    path = folder / f"history-{count}.sqlite3"
    seed_history(path, count, newest=now, step=SPAN / count)
    history = History(path).open()
    completed = [r.id for r in history.search(status="completed", limit=count)]
    for record_id in random.Random(count).sample(completed, STARRED):
        history.set_favourite(record_id, 0)
    return history


def queries(now: float) -> dict[str, GalleryQuery]:
    return {
        "newest": GalleryQuery(),
        "oldest": GalleryQuery(sort="oldest"),
        "by model": GalleryQuery(sort="model"),
        "favourites": GalleryQuery(favourites=True),
        "favourites by model": GalleryQuery(favourites=True, sort="model"),
        "one model": GalleryQuery(model="z-image-turbo"),
        "last 2 days": GalleryQuery(since=now - 2 * 86400),
        "before 2 days (scan)": GalleryQuery(until=now - 2 * 86400),
        "text (scan)": GalleryQuery(text="fox"),
    }


def interleaved_ms(calls: dict, runs: int = RUNS) -> dict:
    """Median ms of each call, the calls taking turns run after run (so a warming CPU or a
    busy neighbour weighs on every size alike)."""
    times: dict = {name: [] for name in calls}
    for fn in calls.values():
        fn()
    for _ in range(runs):
        for name, fn in calls.items():
            start = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


def measure_queries() -> list[dict]:
    now = time.time()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        histories = {count: seeded(Path(folder), count, now) for count in SIZES}
        gc.collect()
        try:
            for name, query in queries(now).items():
                row: dict = {"query": name}
                pages = {c: (lambda h=h, q=query: gallery_page(h, q, limit=PAGE)) for c, h in histories.items()}
                counts = {c: (lambda h=h, q=query: gallery_count(h, q)) for c, h in histories.items()}
                row.update(interleaved_ms(pages))
                row.update({f"count {c}": ms for c, ms in interleaved_ms(counts).items()})
                row.update({f"items {c}": len(fn().items) for c, fn in pages.items()})
                small, large = row[SIZES[0]], row[SIZES[1]]
                row["ratio"] = large / small if small else float("inf")
                row["ok"] = name.endswith("(scan)") or large <= max(2 * small, 5.0)
                rows.append(row)
        finally:
            for history in histories.values():
                history.close()
    return rows


def measure_thumbnails() -> dict:
    from benchmarks.thumbnails import photo_like

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "photo.png"
        photo_like().save(path, "PNG")
        decode = median_ms(lambda: make_thumbnail(path, 64, 32), 7)
        disk = thumbcache.DiskThumbnailCache(Path(folder) / "cache")
        disk.thumbnail(path, 64, 32)

        def restart_hit():
            thumbcache._digests.clear()  # a new process: the file is hashed again
            fresh = thumbcache.DiskThumbnailCache(Path(folder) / "cache")
            thumb = fresh.thumbnail(path, 64, 32)
            assert fresh.hits == 1, "not a cache hit"
            return thumb

        hit = median_ms(restart_hit, 7)
        thumb = make_thumbnail(path, 64, 32)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    cache = ThumbnailCache(capacity=10_000, max_cells=64 * 64 * 32)  # the shared cache's bound
    for n in range(500):  # 500 thumbnails asked for; only what the bound allows is kept
        cache.put(n, thumbcache.from_pixels(64, 64, thumb.pixels, "", 0.0, 0, 2048, 2048))
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return {"decode_ms": decode, "disk_hit_ms": hit, "kept": len(cache), "memory_mb": held / 1e6}


def main() -> int:
    ok = True
    print(f"Gallery page ({PAGE} records) and count, median of {RUNS}, ms:")
    print(f"{'query':<22}{'100':>9}{'10,000':>9}{'ratio':>8}   results   count 100 / 10,000")
    for row in measure_queries():
        ok &= row["ok"]
        mark = "" if row["ok"] else "   OVER BUDGET"
        print(
            f"{row['query']:<22}{row[100]:>9.2f}{row[10_000]:>9.2f}{row['ratio']:>7.1f}x"
            f"   {row['items 100']:>2} / {row['items 10000']:>2}"
            f"   {row['count 100']:.2f} / {row['count 10000']:.2f}{mark}"
        )
    thumbs = measure_thumbnails()
    within = thumbs["disk_hit_ms"] <= thumbs["decode_ms"] / 10
    ok &= within
    print(
        f"\nThumbnail 64x32 cells of a 2048x2048 PNG: decode {thumbs['decode_ms']:.1f} ms, "
        f"disk cache hit after a restart {thumbs['disk_hit_ms']:.2f} ms "
        f"({thumbs['decode_ms'] / thumbs['disk_hit_ms']:.0f}x faster){'' if within else '   OVER BUDGET'}"
    )
    print(f"Memory cache: {thumbs['kept']} of 500 thumbnails kept within its bound, {thumbs['memory_mb']:.1f} MB held")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
