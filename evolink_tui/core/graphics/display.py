"""Display copies: a large image kept on disk at about the size a screen shows it, so the
viewer's fitted view does not wait for a whole decode of the file.

A display copy is the picture as ``raster.load`` keeps it (EXIF-turned, RGB, transparency
over the thumbnails' background) reduced until its longer side is at most ``SIDE`` pixels.
It is stored uncompressed (a header and the RGB raster): reading the 3 MB of a 1024x1024
copy takes about 2 ms where decoding a 2048x2048 PNG takes about 90; zlib saved only a
quarter of a photo's bytes and cost 20 ms a read. Entries live beside the disk thumbnails
(``<cache dir>/thumbnails/display/<2 hex>/<hash>.rgb``), keyed by the same content hash, at most
``MAX_BYTES`` in all (the least recently used go first); written to a temporary file and
renamed, so a reader never sees half of one.

Made where the whole file is decoded anyway: the disk thumbnail cache's decode (a result
downloaded and shown in the preview or the gallery) and the viewer's own decode. The
viewer uses a copy only for views it holds enough pixels for (``raster.holds``); zooming
past that resamples the original file. Runs in worker threads; thread-safe.
"""

from __future__ import annotations

import os
import struct
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from .. import thumbcache, thumbnails

if TYPE_CHECKING:  # pragma: no cover - typing only
    from PIL import Image as PILImage

    from .raster import Original

SIDE = 1024
"""The longest side of a display copy: a fitted view at up to about 100x50 cells of 10x20
pixels (120x40 shows a square image at 760x760)."""
MAX_BYTES = 192 * 1024 * 1024
"""All display copies together (64 of 1024x1024)."""

_MAGIC = b"ELDISP01"
_HEADER = struct.Struct("<8sIIII")  # magic, width, height, the file's width, the file's height
_lock = threading.Lock()
_totals: dict[Path, int] = {}  # bytes on disk per directory, counted on its first write


def wanted(width: int, height: int) -> bool:
    """Whether an image this size gets a display copy (a smaller one decodes quickly)."""
    return max(width, height) > SIDE


def reduced(image: PILImage.Image) -> PILImage.Image:
    """``image`` (RGB) brought to at most ``SIDE`` pixels a side: an integer box reduce, then
    an area-averaging resize for what is left."""
    from PIL import Image

    factor = max(image.width, image.height) // SIDE
    if factor >= 2:
        image = image.reduce(factor)
    if max(image.width, image.height) > SIDE:
        scale = SIDE / max(image.width, image.height)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BOX)
    return image


def store_decoded(disk: thumbcache.DiskThumbnailCache, digest: str, image: PILImage.Image) -> None:
    """Keep a display copy of a whole file decoded for something else (a thumbnail): ``image``
    is the file's picture at its full size, in any mode, not yet turned by its EXIF
    orientation (as Pillow decoded it). Nothing is done when the copy is there already."""
    if _entry(disk, digest).exists():
        return
    prepared = prepare(image)
    if prepared is not None:
        store(disk, digest, *prepared)


def prepare(image: PILImage.Image) -> tuple[PILImage.Image, int, int] | None:
    """What :func:`store` takes for a whole file's decoded ``image`` (see :func:`store_decoded`):
    the picture turned, in RGB, reduced by an integer factor towards ``SIDE``, and the file's
    size as shown; None for a file too small to need a copy."""
    from .raster import as_rgb

    width, height = image.size
    if not wanted(width, height):
        return None
    orientation = thumbnails.exif_orientation(image)
    image = thumbnails.normalise_mode(image)
    factor = max(width, height) // SIDE
    if factor >= 2:
        image = image.reduce(factor)
    image = thumbnails.transpose(as_rgb(image), orientation)
    if orientation in thumbnails.QUARTER_TURNS:
        width, height = height, width
    return reduced(image), width, height


class Keeper:
    """A display copy made from the decode that verifies a download (``downloads.verify_image``
    decodes every result whole), written once the file is in place: its content, and so the
    copy's key, is final only after the sidecar metadata is written into it."""

    def __init__(self, disk: thumbcache.DiskThumbnailCache):
        self.disk = disk
        self.copy: tuple[PILImage.Image, int, int] | None = None

    def take(self, image: PILImage.Image) -> None:
        """The file's decoded picture (in the verifying thread)."""
        self.copy = prepare(image)

    def store(self, path: str | Path) -> None:
        """Write the copy for the file now at ``path`` (in a thread). A cache that cannot be
        written is only slower, as everywhere here."""
        if self.copy is None:
            return
        try:
            digest = self.disk.digest(path)
        except OSError:
            return
        store(self.disk, digest, *self.copy)


def _directory(disk: thumbcache.DiskThumbnailCache) -> Path:
    return disk.directory / "display"


def _entry(disk: thumbcache.DiskThumbnailCache, digest: str) -> Path:
    return _directory(disk) / digest[:2] / f"{digest}.rgb"


def store(disk: thumbcache.DiskThumbnailCache, digest: str, image: PILImage.Image, width: int, height: int) -> None:
    """Keep ``image`` (RGB, the picture of a ``width`` x ``height`` file, any size) as the
    display copy of the content ``digest``, unless it has one. A cache that cannot be written is
    only slower."""
    if not wanted(width, height) or _entry(disk, digest).exists():
        return
    copy = reduced(image)
    data = _HEADER.pack(_MAGIC, copy.width, copy.height, width, height) + copy.tobytes()
    if not thumbcache.write_entry(_entry(disk, digest), data):
        return
    directory = _directory(disk)
    with _lock:
        total = _totals.get(directory)
        if total is None:  # counted once, on the first write
            total = sum(size for _, size, _ in thumbcache.entries(directory, ".rgb"))
        else:
            total += len(data)
        _totals[directory] = total
    if total > MAX_BYTES:  # the least recently used go until it is under 80 % of the bound
        left, _ = thumbcache.evict(thumbcache.entries(directory, ".rgb"), MAX_BYTES * 0.8)
        with _lock:
            _totals[directory] = left


def store_original(original: Original, disk: thumbcache.DiskThumbnailCache | None = None) -> None:
    """Keep a display copy of a decoded file (the viewer's own decode), if it is large enough
    and the disk cache is on (``thumbcache.enable_disk_cache``; the app turns it on)."""
    disk = thumbnails.shared_disk if disk is None else disk
    if disk is None or not original.full or not wanted(original.width, original.height):
        return
    try:
        digest = disk.digest(original.path)
    except OSError:
        return
    store(disk, digest, original.image, original.width, original.height)


def find(path: str | Path, disk: thumbcache.DiskThumbnailCache | None = None) -> Original | None:
    """The display copy of the file at ``path`` as a ``raster.Original`` (``full`` False,
    ``scale`` under 1), or None: no disk cache, no copy, or a damaged one (removed)."""
    from PIL import Image

    from .raster import Original

    disk = thumbnails.shared_disk if disk is None else disk
    if disk is None:
        return None
    try:
        resolved = os.path.abspath(path)
        stat = os.stat(resolved)
        digest = disk.digest(resolved)
        entry = _entry(disk, digest)
        data = entry.read_bytes()
    except OSError:
        return None
    try:
        magic, width, height, file_width, file_height = _HEADER.unpack_from(data)
        if magic != _MAGIC or len(data) != _HEADER.size + width * height * 3 or not 0 < width <= file_width:
            raise ValueError("not a display copy")
        image = Image.frombytes("RGB", (width, height), data[_HEADER.size :])
    except (ValueError, struct.error):
        entry.unlink(missing_ok=True)
        return None
    try:
        os.utime(entry)  # recently used: evicted last
    except OSError:
        pass
    return Original(image, resolved, stat.st_mtime_ns, stat.st_size, file_width, file_height, full=False)
