"""Image types recognised by their first bytes, never by a file name or a server's word."""

from __future__ import annotations

import os
import threading
from pathlib import Path

MIME_BY_KIND = {"jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp"}
KIND_NAMES = {"jpeg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WebP"}
EXT_BY_KIND = {"jpeg": "jpg", "png": "png", "gif": "gif", "webp": "webp"}
# Pillow's format names for the same four kinds.
KIND_BY_PIL_FORMAT = {"JPEG": "jpeg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}

UPLOAD_KINDS = frozenset(MIME_BY_KIND)  # the Files API takes these four
REFERENCE_KINDS = frozenset({"jpeg", "png", "webp"})  # image_urls: JPEG/PNG/WebP


def sniff(head: bytes) -> str | None:
    """ "jpeg", "png", "gif", "webp" or None, from the first 12 bytes."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def sniff_file(path: Path) -> str | None:
    with open(path, "rb") as handle:
        return sniff(handle.read(12))


def is_url(text: str) -> bool:
    lowered = text.strip().lower()
    return lowered.startswith(("http://", "https://"))


def cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 2


def _decode_slots() -> int:
    return max(1, cores() - 1)


class _DecodeGate:
    """Held while Pillow decodes a whole image in a worker thread (verifying a download, making
    a thumbnail). Pillow decodes without the GIL, so decoders on every core at once would leave
    the event loop waiting for a CPU: one core is always left free for it, and a worker thread
    that decodes runs at a lower priority than the event loop (Linux: threads have their own
    nice value) so the screen keeps its frames when the machine is busy."""

    def __init__(self, slots: int) -> None:
        self._slots = threading.BoundedSemaphore(slots)
        self._local = threading.local()

    def __enter__(self) -> _DecodeGate:
        if not getattr(self._local, "niced", False) and threading.current_thread() is not threading.main_thread():
            self._local.niced = True
            try:
                thread = threading.get_native_id()
                os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + 5))
            except (AttributeError, OSError):  # pragma: no cover - not Linux, or not allowed
                pass
        self._slots.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self._slots.release()


DECODE_GATE = _DecodeGate(_decode_slots())
