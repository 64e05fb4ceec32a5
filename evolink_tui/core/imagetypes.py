"""Image types recognised by their first bytes, never by a file name or a server's word."""

from __future__ import annotations

from pathlib import Path

MIME_BY_KIND = {"jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp"}
KIND_NAMES = {"jpeg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WebP"}
EXT_BY_KIND = {"jpeg": "jpg", "png": "png", "gif": "gif", "webp": "webp"}
# Pillow's format names for the same four kinds.
KIND_BY_PIL_FORMAT = {"JPEG": "jpeg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}

UPLOAD_KINDS = frozenset(MIME_BY_KIND)  # the Files API takes these four
REFERENCE_KINDS = frozenset({"jpeg", "png", "webp"})  # image_urls: JPEG/PNG/WebP


def sniff(head: bytes) -> str | None:
    """"jpeg", "png", "gif", "webp" or None, from the first 12 bytes."""
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
