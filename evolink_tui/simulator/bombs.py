"""Compression bombs for the ``bomb`` fault: a small gzip body that inflates to a lot.

Built without compressing the whole payload: after a full flush deflate forgets its
history, so every further megabyte of spaces compresses to the very same bytes; the
stream is that piece repeated, wrapped in a gzip header and trailer. A gigabyte takes
about a second (the CRC) and a megabyte of memory. Further layers (``Content-Encoding:
gzip, gzip``) compress the layer below, a few hundred bytes for the whole gigabyte.
"""

from __future__ import annotations

import gzip
import struct
import threading
import zlib

MEGABYTE = 1 << 20
_CACHE: dict[tuple[int, int], bytes] = {}
_LOCK = threading.Lock()


def _one_layer(megabytes: int) -> bytes:
    block = b" " * MEGABYTE
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    first = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    again = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH) if megabytes > 1 else b""
    crc = 0
    for _ in range(megabytes):
        crc = zlib.crc32(block, crc)
    body = first + again * (megabytes - 1) + deflate.flush()
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    size = (megabytes * MEGABYTE) & 0xFFFFFFFF
    return header + body + struct.pack("<II", crc & 0xFFFFFFFF, size)


def bomb(megabytes: int, layers: int = 1) -> bytes:
    """``megabytes`` of spaces, gzipped ``layers`` times (cached: the same bomb is reused)."""
    key = (megabytes, layers)
    with _LOCK:
        data = _CACHE.get(key)
        if data is None:
            data = _one_layer(megabytes)
            for _ in range(layers - 1):
                data = gzip.compress(data, 9)
            _CACHE[key] = data
    return data
