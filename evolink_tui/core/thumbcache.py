"""Thumbnails kept on disk, keyed by the image's content hash, so a restart (or a moved or
renamed file) does not decode an image again.

Each entry is one small file in the cache dir (platformdirs ``user_cache_dir``, or
``EVOLINK_TUI_CACHE_DIR``), ``thumbnails/<2 hex>/<hash>-<cols>x<rows>.thumb``: a header
and the thumbnail's RGB raster, zlib-compressed (a 64x32-cell thumbnail is a few
kilobytes). The total is bounded: past ``max_bytes`` the least recently used entries go
until it is back under 80 %. Entries are written to a temporary file and renamed, so two
processes sharing the cache never see half an entry; a damaged entry is removed and
decoded again. Which content a file had is remembered too (``paths.sqlite3``: path, mtime
and size -> hash, the newest 20,000), so after a restart an unchanged file is not even
read again to hash it; a moved one is hashed once and found by its content.

:func:`enable_disk_cache` makes :func:`.thumbnails.cached_thumbnail` (the memory cache
the views use) fall back on this one. Runs in worker threads; thread-safe.
"""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
import threading
import time
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

from . import thumbnails
from .config import CACHE_ENV, cache_dir  # noqa: F401  (where it lived; kept importable from here)
from .thumbnails import Thumbnail, from_pixels, make_thumbnail

if TYPE_CHECKING:
    import sqlite3

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
_MAGIC = b"ELTHUMB1"
_HEADER = struct.Struct("<8sHHII")  # magic, width, pixel height, image width, image height
_MAX_SIDE = 4096  # no thumbnail is wider or taller than this many pixels


_digests: OrderedDict[tuple[str, int, int], str] = OrderedDict()
_digests_lock = threading.Lock()


def content_hash(path: str | Path) -> str:
    """The BLAKE2b hash of the file's bytes (hex), remembered per (path, mtime, size) so an
    unchanged file is read once per process."""
    resolved = os.path.abspath(path)
    stat = os.stat(resolved)
    key = (resolved, stat.st_mtime_ns, stat.st_size)
    with _digests_lock:
        known = _digests.get(key)
        if known is not None:
            _digests.move_to_end(key)
            return known
    digest = hashlib.blake2b(digest_size=20)
    with open(resolved, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    value = digest.hexdigest()
    _remember(key, value)
    return value


def _remember(key: tuple[str, int, int], value: str) -> None:
    with _digests_lock:
        _digests[key] = value
        _digests.move_to_end(key)
        while len(_digests) > 4096:
            _digests.popitem(last=False)


MAX_PATHS = 20_000  # remembered (path, mtime, size) -> content hash rows


class DiskThumbnailCache:
    def __init__(self, directory: str | Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.directory = Path(directory) if directory is not None else cache_dir()
        self.max_bytes = max_bytes
        self.hits = self.misses = self.evicted = 0
        self._total: int | None = None  # bytes on disk, counted on the first write
        self._lock = threading.Lock()
        self._index: sqlite3.Connection | None = None  # to paths.sqlite3, opened on first use
        self._index_failed = False
        self._inserts = 0

    def _paths(self):
        """The path -> content hash index, or None if it cannot be used (the cache is then
        only slower: files are hashed again)."""
        if self._index is None and not self._index_failed:
            import sqlite3

            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.directory / "paths.sqlite3", check_same_thread=False, timeout=1)
                conn.isolation_level = None
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=OFF")  # a cache: losing the last rows costs a re-hash
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS paths (key TEXT PRIMARY KEY, digest TEXT NOT NULL, used REAL NOT NULL)"
                )
                conn.execute("CREATE INDEX IF NOT EXISTS paths_used ON paths(used)")
                self._index = conn
            except (OSError, sqlite3.Error):
                self._index_failed = True
        return self._index

    def digest(self, path: str | Path) -> str:
        """The content hash of ``path``: remembered in this process, then in the index, else
        read and hashed (and remembered)."""
        import sqlite3

        resolved = os.path.abspath(path)
        stat = os.stat(resolved)
        memo = (resolved, stat.st_mtime_ns, stat.st_size)
        with _digests_lock:
            known = _digests.get(memo)
        if known is not None:
            return known
        key = f"{resolved}\0{stat.st_mtime_ns}\0{stat.st_size}"
        now = time.time()
        with self._lock:
            index = self._paths()
            try:
                row = (
                    index.execute("SELECT digest, used FROM paths WHERE key = ?", (key,)).fetchone() if index else None
                )
                if row is not None and row[1] < now - 3600:  # used again: kept longest (once an hour at most)
                    index.execute("UPDATE paths SET used = ? WHERE key = ?", (now, key))
            except sqlite3.Error:
                row = None
        if row is not None:
            value = row[0]
            _remember(memo, value)
            return value
        value = content_hash(resolved)
        with self._lock:
            index = self._paths()
            try:
                if index is not None:
                    index.execute("INSERT OR REPLACE INTO paths VALUES (?, ?, ?)", (key, value, now))
                    self._inserts += 1
                    if self._inserts % 500 == 1:
                        stale = "SELECT key FROM paths ORDER BY used DESC LIMIT -1 OFFSET ?"
                        index.execute(f"DELETE FROM paths WHERE key IN ({stale})", (MAX_PATHS,))
            except sqlite3.Error:
                pass
        return value

    def close(self) -> None:
        with self._lock:
            if self._index is not None:
                self._index.close()
                self._index = None

    def _entry(self, digest: str, cols: int, rows: int) -> Path:
        return self.directory / digest[:2] / f"{digest}-{cols}x{rows}.thumb"

    def get(self, digest: str, cols: int, rows: int, *, source: str = "", mtime: float = 0.0, size: int = 0):
        """The cached thumbnail, or None (a damaged entry is removed)."""
        entry = self._entry(digest, cols, rows)
        try:
            data = entry.read_bytes()
        except OSError:
            with self._lock:
                self.misses += 1
            return None
        try:
            magic, width, height, image_width, image_height = _HEADER.unpack_from(data)
            if magic != _MAGIC or not (0 < width <= _MAX_SIDE and 0 < height <= _MAX_SIDE):
                raise ValueError("not a thumbnail entry")
            pixels = zlib.decompressobj().decompress(data[_HEADER.size :], width * height * 3 + 1)
            thumb = from_pixels(width, height, pixels, source, mtime, size, image_width, image_height)
        except (ValueError, struct.error, zlib.error):
            entry.unlink(missing_ok=True)
            with self._lock:
                self.misses += 1
            return None
        try:
            os.utime(entry)  # recently used: evicted last
        except OSError:
            pass
        with self._lock:
            self.hits += 1
        return thumb

    def put(self, digest: str, cols: int, rows: int, thumb: Thumbnail) -> None:
        """Store ``thumb``; a cache that cannot be written is only a slower cache."""
        if not thumb.pixels:
            return
        entry = self._entry(digest, cols, rows)
        data = _HEADER.pack(_MAGIC, thumb.width, thumb.pixel_height, thumb.image_width, thumb.image_height)
        data += zlib.compress(thumb.pixels, 6)
        if not write_entry(entry, data):
            return
        with self._lock:
            if self._total is None:
                self._total = self._measure()
            else:
                self._total += len(data)
            over = self._total > self.max_bytes
        if over:
            self.evict()

    def _measure(self) -> int:
        return sum(size for _, size, _ in self._entries())

    def _entries(self) -> list[tuple[float, int, Path]]:
        """(mtime, bytes, path) of every entry."""
        return entries(self.directory, ".thumb")

    def evict(self) -> None:
        """Remove the least recently used entries until the cache is under 80 % of its bound."""
        total, removed = evict(self._entries(), self.max_bytes * 0.8)
        with self._lock:
            self.evicted += removed
            self._total = total

    def thumbnail(self, path: str | Path, cols: int, rows: int) -> Thumbnail:
        """The thumbnail of ``path`` from the cache, or decoded (``make_thumbnail``) and kept."""
        stat = os.stat(path)
        digest = self.digest(path)
        source = os.path.abspath(path)
        thumb = self.get(digest, cols, rows, source=source, mtime=stat.st_mtime, size=stat.st_size)
        if thumb is None:
            from .graphics import display  # a large file's display copy, for the viewer, from the same decode

            thumb = make_thumbnail(source, cols, rows, keep=lambda image: display.store_decoded(self, digest, image))
            self.put(digest, cols, rows, thumb)
        return thumb


def write_entry(entry: Path, data: bytes) -> bool:
    """Write ``data`` to ``entry`` (its folder made) through a temporary file renamed over it,
    so a reader never sees half an entry; False if it cannot be written."""
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".entry-", dir=entry.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, entry)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return False
    return True


def entries(directory: Path, suffix: str) -> list[tuple[float, int, Path]]:
    """(mtime, bytes, path) of every ``<directory>/<shard>/*<suffix>`` file."""
    found: list[tuple[float, int, Path]] = []
    try:
        shards = list(os.scandir(directory))
    except OSError:
        return found
    for shard in shards:
        if not shard.is_dir():
            continue
        try:
            for item in os.scandir(shard.path):
                if item.name.endswith(suffix):
                    stat = item.stat()
                    found.append((stat.st_mtime, stat.st_size, Path(item.path)))
        except OSError:
            continue
    return found


def evict(found: list[tuple[float, int, Path]], target: float) -> tuple[int, int]:
    """Remove the least recently used of ``found`` (``entries``) until their total is at most
    ``target`` bytes; the total left and how many were removed."""
    total = sum(size for _, size, _ in found)
    removed = 0
    for _, size, path in sorted(found, key=lambda e: e[0]):
        if total <= target:
            break
        try:
            path.unlink()
        except OSError:
            continue
        total -= size
        removed += 1
    return total, removed


def enable_disk_cache(directory: str | Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> DiskThumbnailCache:
    """Turn on the disk cache behind :func:`.thumbnails.cached_thumbnail` (the app does this
    once at start); returns it."""
    disk = DiskThumbnailCache(directory, max_bytes)
    thumbnails.shared_disk = disk
    return disk


def disable_disk_cache(disk: DiskThumbnailCache) -> None:
    """Close ``disk`` and, if it is still the one behind :func:`.thumbnails.cached_thumbnail`,
    take it away (the app does this as it ends: nothing later in the process, a second app in
    the same test worker for one, sees a closed cache)."""
    if thumbnails.shared_disk is disk:
        thumbnails.shared_disk = None
    disk.close()
