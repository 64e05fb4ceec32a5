"""Thumbnails survive a restart: a disk cache keyed by content hash (a moved file is not
decoded again, a changed one is), bounded in size with the least recently used going
first, and a memory cache bounded in cells."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from PIL import Image

from evolink_tui.core import thumbcache, thumbnails
from evolink_tui.core.thumbcache import DiskThumbnailCache, cache_dir, content_hash, enable_disk_cache
from evolink_tui.core.thumbnails import ThumbnailCache, cached_thumbnail, make_thumbnail


@pytest.fixture
def decodes(monkeypatch):
    """Every real decode the disk cache asks for."""
    calls = []
    real = thumbcache.make_thumbnail

    def counting(source, cols, rows, **options):
        calls.append(Path(source).name)
        return real(source, cols, rows, **options)

    monkeypatch.setattr(thumbcache, "make_thumbnail", counting)
    return calls


def picture(path: Path, colour, size=(120, 80)) -> Path:
    image = Image.new("RGB", size, colour)
    for x in range(0, size[0], 7):
        image.putpixel((x, x % size[1]), (255 - colour[0], 255 - colour[1], 255 - colour[2]))
    image.save(path)
    return path


def test_a_restart_does_not_decode_again_even_after_a_move(tmp_path, decodes):
    folder = tmp_path / "cache"
    png = picture(tmp_path / "a.png", (200, 40, 40))
    first = DiskThumbnailCache(folder).thumbnail(png, 20, 10)
    assert decodes == ["a.png"]
    assert first == make_thumbnail(png, 20, 10)

    # A new process: new caches, the file moved and renamed.
    thumbcache._digests.clear()
    moved = tmp_path / "elsewhere" / "b.png"
    moved.parent.mkdir()
    shutil.move(png, moved)
    again = DiskThumbnailCache(folder)
    thumb = again.thumbnail(moved, 20, 10)
    assert decodes == ["a.png"] and again.hits == 1
    assert thumb.cells == first.cells and thumb.source == str(moved) and thumb.image_width == 120
    assert thumb.fit(10, 5).cells == first.fit(10, 5).cells  # it keeps its raster for refitting

    again.thumbnail(moved, 10, 5)  # another budget is another entry
    assert decodes == ["a.png", "b.png"]
    picture(moved, (10, 200, 10))  # new content: decoded again
    changed = again.thumbnail(moved, 20, 10)
    assert decodes == ["a.png", "b.png", "b.png"] and changed.cells != first.cells


def noise(path: Path, seed: int, size=(200, 200)) -> Path:
    """A picture that does not compress: every cached thumbnail of it is about as big as its raster."""
    Image.frombytes("RGB", size, random.Random(seed).randbytes(size[0] * size[1] * 3)).save(path)
    return path


def test_the_cache_stays_within_its_bound_dropping_the_least_recently_used(tmp_path, decodes):
    folder = tmp_path / "cache"
    bound = 4 * 40 * 40 * 3  # about four entries of 40x40 pixels
    cache = DiskThumbnailCache(folder, max_bytes=bound)
    paths = [noise(tmp_path / f"{i}.png", i) for i in range(10)]
    for path in paths:
        cache.thumbnail(paths[0], 40, 20)  # the first is used all along: the most recent every time
        cache.thumbnail(path, 40, 20)
        assert sum(p.stat().st_size for p in folder.rglob("*.thumb")) <= bound
    assert cache.evicted >= 5
    kept = {p.name.split("-")[0] for p in folder.rglob("*.thumb")}
    assert content_hash(paths[0]) in kept and content_hash(paths[-1]) in kept
    assert content_hash(paths[1]) not in kept  # the least recently used went first
    assert not list(folder.rglob(".thumb-*"))  # no temporary files left
    assert decodes.count("0.png") == 1


def test_a_restart_does_not_read_an_unchanged_file_again(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    png = picture(tmp_path / "a.png", (30, 60, 90))
    hashed = []
    real = thumbcache.content_hash
    monkeypatch.setattr(thumbcache, "content_hash", lambda path: hashed.append(path) or real(path))
    first = DiskThumbnailCache(folder)
    first.thumbnail(png, 20, 10)
    first.close()
    thumbcache._digests.clear()  # a new process
    again = DiskThumbnailCache(folder)
    assert again.thumbnail(png, 20, 10) == make_thumbnail(png, 20, 10)
    assert len(hashed) == 1 and again.hits == 1
    picture(png, (1, 1, 1))  # changed since: read and hashed again
    thumbcache._digests.clear()
    again.thumbnail(png, 20, 10)
    assert len(hashed) == 2
    again.close()


def test_a_damaged_entry_is_removed_and_decoded_again(tmp_path, decodes):
    folder = tmp_path / "cache"
    png = picture(tmp_path / "a.png", (1, 2, 3))
    DiskThumbnailCache(folder).thumbnail(png, 8, 4)
    (entry,) = folder.rglob("*.thumb")
    entry.write_bytes(entry.read_bytes()[:30])
    thumb = DiskThumbnailCache(folder).thumbnail(png, 8, 4)
    assert decodes == ["a.png", "a.png"] and thumb == make_thumbnail(png, 8, 4)
    (entry,) = folder.rglob("*.thumb")
    assert len(entry.read_bytes()) > 30  # written again, whole


def test_the_views_cache_falls_back_on_the_disk_cache(tmp_path, decodes, monkeypatch):
    monkeypatch.setattr(thumbnails, "shared_disk", None)
    monkeypatch.setenv("EVOLINK_TUI_CACHE_DIR", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c" / "thumbnails"
    disk = enable_disk_cache()
    assert thumbnails.shared_disk is disk and disk.directory == cache_dir()
    png = picture(tmp_path / "a.png", (9, 9, 9))
    memory = ThumbnailCache()
    first = cached_thumbnail(png, 12, 6, memory)
    assert cached_thumbnail(png, 12, 6, memory) is first and decodes == ["a.png"]
    assert cached_thumbnail(png, 12, 6, ThumbnailCache()).cells == first.cells  # a restart: from disk
    assert decodes == ["a.png"] and disk.hits == 1


def test_the_memory_cache_is_bounded_in_cells(tmp_path):
    png = picture(tmp_path / "a.png", (50, 60, 70), (400, 400))
    big, small = make_thumbnail(png, 40, 20), make_thumbnail(png, 10, 5)
    cache = ThumbnailCache(capacity=100, max_cells=2 * 40 * 20)
    for n in range(5):
        cache.put(("big", n), big)
    assert len(cache) == 2 and cache.cells == 2 * 40 * 20
    cache.put("small", small)
    assert cache.cells <= 2 * 40 * 20 and cache.get("small") is small and cache.get(("big", 4)) is big
    assert cache.get(("big", 0)) is None
    huge = ThumbnailCache(max_cells=10)
    huge.put("only", big)  # the newest is always kept, even alone over the bound
    assert huge.get("only") is big
