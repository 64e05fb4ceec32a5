"""A large file's display copy (the viewer's fitted view without a whole decode): made by the
disk thumbnail cache's decode and by the viewer's own, found again by content, in the file's
turned orientation, never for a small file, bounded on disk, a damaged one dropped."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from evolink_tui.core import thumbcache
from evolink_tui.core.graphics import display, raster
from evolink_tui.core.thumbcache import DiskThumbnailCache
from evolink_tui.core.thumbnails import ThumbnailCache, cached_thumbnail

from .test_graphics import BLUE, GREEN, RED, WHITE, quadrants


@pytest.fixture(autouse=True)
def fresh_digests():
    thumbcache._digests.clear()
    yield
    thumbcache._digests.clear()


def thumbnail_once(path: Path, disk: DiskThumbnailCache) -> None:
    cached_thumbnail(path, 20, 10, ThumbnailCache(), disk)


def test_a_large_file_thumbnailed_keeps_a_display_copy_found_by_content(tmp_path: Path) -> None:
    disk = DiskThumbnailCache(tmp_path / "cache")
    path = tmp_path / "big.png"
    quadrants(2048, 1536).save(path)
    assert display.find(path, disk) is None
    thumbnail_once(path, disk)

    moved = tmp_path / "moved.png"
    path.rename(moved)
    thumbcache._digests.clear()  # a new process: found by the file's content
    copy = display.find(moved, disk)
    assert copy is not None and not copy.full
    assert (copy.width, copy.height) == (2048, 1536)  # the file's size, for layouts and zoom limits
    assert copy.image.size == (1024, 768) and copy.scale == 0.5
    assert copy.same_file(moved)
    for (x, y), colour in {(256, 192): RED, (768, 192): GREEN, (256, 576): BLUE, (768, 576): WHITE}.items():
        assert copy.image.getpixel((x, y)) == colour


def test_a_copy_already_kept_is_not_made_again_by_the_next_decode(tmp_path: Path) -> None:
    disk = DiskThumbnailCache(tmp_path / "cache")
    path = tmp_path / "big.png"
    quadrants(2048, 1536).save(path)
    thumbnail_once(path, disk)
    [entry] = (tmp_path / "cache").rglob("*.rgb")
    made = entry.stat()
    cached_thumbnail(path, 30, 15, ThumbnailCache(), disk)  # another size: the file is decoded again
    assert len(list((tmp_path / "cache").rglob("*.thumb"))) == 2
    again = entry.stat()
    assert (again.st_ino, again.st_mtime_ns) == (made.st_ino, made.st_mtime_ns)  # not written again


def test_a_small_file_gets_no_display_copy(tmp_path: Path) -> None:
    disk = DiskThumbnailCache(tmp_path / "cache")
    path = tmp_path / "small.png"
    quadrants(1024, 1024).save(path)  # decodes quickly: the viewer reads the file itself
    thumbnail_once(path, disk)
    assert display.find(path, disk) is None


def test_the_copy_is_turned_as_the_viewer_shows_the_file(tmp_path: Path) -> None:
    disk = DiskThumbnailCache(tmp_path / "cache")
    path = tmp_path / "turned.png"
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to view": the 2400x1200 file shows 1200x2400
    quadrants(2400, 1200).save(path, "PNG", exif=exif)
    thumbnail_once(path, disk)
    copy = display.find(path, disk)
    assert copy is not None and (copy.width, copy.height) == (1200, 2400)
    assert copy.image.size == (512, 1024)  # reduced by 2, turned, then to 1024 pixels tall
    whole = raster.load(path)
    for x, y in ((128, 256), (384, 256), (128, 768), (384, 768)):  # each quadrant where the viewer has it
        assert copy.image.getpixel((x, y)) == whole.image.getpixel((x * 1200 // 512, y * 2400 // 1024))


def test_the_viewer_decode_keeps_a_copy_too(tmp_path: Path) -> None:
    disk = DiskThumbnailCache(tmp_path / "cache")
    path = tmp_path / "opened.png"
    quadrants(1600, 1600).save(path)
    display.store_original(raster.load(path), disk)
    copy = display.find(path, disk)
    assert copy is not None and copy.image.size == (1024, 1024) and (copy.width, copy.height) == (1600, 1600)


def test_a_damaged_copy_is_dropped(tmp_path: Path) -> None:
    disk = DiskThumbnailCache(tmp_path / "cache")
    path = tmp_path / "big.png"
    quadrants(1600, 1200).save(path)
    thumbnail_once(path, disk)
    (entry,) = (tmp_path / "cache" / "display").glob("*/*.rgb")
    entry.write_bytes(entry.read_bytes()[:-1])
    assert display.find(path, disk) is None
    assert not entry.exists()


def test_copies_stay_within_their_bound(tmp_path: Path, monkeypatch) -> None:
    disk = DiskThumbnailCache(tmp_path / "cache")
    one = 1024 * 768 * 3
    monkeypatch.setattr(display, "MAX_BYTES", 3 * one)
    paths = []
    for n in range(5):
        path = tmp_path / f"{n}.png"
        image = quadrants(2048, 1536)
        image.putpixel((n, 0), (n, n, n))  # each its own content
        image.save(path)
        paths.append(path)
        thumbnail_once(path, disk)
    kept = [display.find(path, disk) is not None for path in paths]
    assert sum(kept) <= 3 and kept[-1]  # the newest stays
    total = sum(entry.stat().st_size for entry in (tmp_path / "cache" / "display").glob("*/*.rgb"))
    assert total <= 3 * (one + 64)


def test_holds_says_which_views_a_copy_can_draw(tmp_path: Path) -> None:
    from evolink_tui.core.graphics import CellSize
    from evolink_tui.core.graphics.view import FIT, View, layout

    buffer = io.BytesIO()
    quadrants(2048, 2048).save(buffer, "PNG")
    path = tmp_path / "big.png"
    path.write_bytes(buffer.getvalue())
    copy = raster.Original(Image.new("RGB", (1024, 1024)), str(path), 0, 0, 2048, 2048, full=False)
    cell = CellSize(10, 20)
    assert raster.holds(copy, layout(2048, 2048, 120, 38, cell, FIT))  # 760x760 from 1024x1024
    assert not raster.holds(copy, layout(2048, 2048, 120, 38, cell, View(1.5)))  # 1140x760 of 1024x683
    assert raster.holds(raster.load(path), layout(2048, 2048, 120, 38, cell, View(2.7)))
