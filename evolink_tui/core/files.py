"""The Files API as a screen uses it: every page of the listing, time left before the
72-hour expiry, sorting and filtering, same-name checks, preview bytes, masks on disk and
references fitted under 4 MB.

Headless (never imports textual). The async functions run on the shared client in async
workers; the others are pure or touch the disk and belong in thread workers.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from .bodies import BoundedBody
from .errors import EvolinkError
from .imagetypes import KIND_NAMES, REFERENCE_KINDS, is_url, sniff, sniff_file
from .validation import MAX_REFERENCE_BYTES
from .wire import FileInfo

if TYPE_CHECKING:  # the client (and httpx) load only when a request is made, not at startup
    from .client import EvolinkClient

MAX_PAGE_SIZE = 100  # the Files API's largest page (list_files checks it too)

FILE_TTL = 72 * 3600
"""Uploaded files are deleted 72 hours after upload (File Constraints)."""
PREVIEW_MAX_BYTES = 20 * 1024 * 1024
"""A file larger than this is not downloaded just to draw a thumbnail."""
MAX_PAGES = 50
"""Never follow a listing further than this (500 files, the VIP quota, is 5 pages)."""

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".webp"})


# -- listing --------------------------------------------------------------------------------------


async def list_all(
    client: EvolinkClient, page_size: int = MAX_PAGE_SIZE, on_page: Callable[[list[FileInfo], int], None] | None = None
) -> tuple[list[FileInfo], int]:
    """Every file, a page of ``page_size`` at a time (at most 100, as the reference says).

    ``on_page(files_so_far, total)`` after each page. Files seen twice (the list shifted
    while it was read) are kept once.
    """
    files: list[FileInfo] = []
    seen: set[str] = set()
    total = 0
    for page in range(1, MAX_PAGES + 1):
        listing = await client.list_files(page, page_size)
        total = listing.total
        for info in listing.files:
            if info.file_id not in seen:
                seen.add(info.file_id)
                files.append(info)
        if on_page:
            on_page(list(files), total)
        if not listing.files or page >= listing.pages or len(files) >= total:
            break
    return files, max(total, len(files))


# -- what a row shows ------------------------------------------------------------------------------


def expires_at(info: FileInfo) -> float | None:
    """When the file goes: ``expires_at``, else 72 hours after ``upload_time``."""
    if info.expires_at is not None:
        return info.expires_at.timestamp()
    if info.upload_time is not None:
        return info.upload_time.timestamp() + FILE_TTL
    return None


def time_left(info: FileInfo, now: float) -> float | None:
    end = expires_at(info)
    return None if end is None else end - now


def uploaded_at(info: FileInfo) -> float | None:
    return info.upload_time.timestamp() if info.upload_time is not None else None


def format_left(seconds: float | None) -> str:
    """``71h 59m``, ``59m``, ``expired``, or ``?`` when unknown."""
    if seconds is None:
        return "?"
    if seconds <= 0:
        return "expired"
    minutes = int(seconds // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def kind_label(info: FileInfo) -> str:
    """PNG, JPEG, GIF, WebP from the MIME type (else the name's extension)."""
    mime = (info.mime_type or "").lower()
    for kind, name in KIND_NAMES.items():
        if mime.endswith("/" + kind) or (kind == "jpeg" and mime.endswith("/jpg")):
            return name
    suffix = posixpath.splitext(info.name)[1].lower()
    return {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".gif": "GIF", ".webp": "WebP"}.get(suffix, "?")


# -- sorting and filtering -------------------------------------------------------------------------

# key -> (label, newest/largest first by default)
SORTS: dict[str, tuple[str, bool]] = {
    "uploaded": ("upload time", True),
    "name": ("name", False),
    "size": ("size", True),
    "type": ("type", False),
    "left": ("time left", False),
}


def sort_files(files: list[FileInfo], key: str, descending: bool) -> list[FileInfo]:
    """A sorted copy; files missing the sort field always go last."""

    def value(info: FileInfo):
        if key == "name":
            return info.name.casefold()
        if key == "size":
            return info.file_size
        if key == "type":
            return kind_label(info)
        if key == "left":
            return expires_at(info)
        return uploaded_at(info)

    known = [f for f in files if value(f) is not None]
    unknown = [f for f in files if value(f) is None]
    return sorted(known, key=value, reverse=descending) + unknown


def filter_files(files: list[FileInfo], text: str) -> list[FileInfo]:
    """Files whose name (stored or original) contains every word of ``text``, any case."""
    words = text.casefold().split()
    if not words:
        return list(files)
    return [f for f in files if all(w in f"{f.file_name} {f.original_name}".casefold() for w in words)]


# -- uploads -----------------------------------------------------------------------------------------


def clean_source(text: str) -> str:
    """A path or URL as typed or pasted: quotes, ``file://`` and surrounding blanks removed."""
    text = (text or "").strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].strip()
    if text.lower().startswith("file://"):
        text = unquote(urlsplit(text).path)
    return text


def stored_name(source: str, name: str | None = None) -> str:
    """The name a file will be stored under: the chosen name, else the file's or URL's own."""
    if name and name.strip():
        return name.strip()
    source = clean_source(source)
    if is_url(source):
        return posixpath.basename(unquote(urlsplit(source).path)) or ""
    return Path(source).expanduser().name


def same_name(files: list[FileInfo], name: str, upload_path: str | None = None) -> FileInfo | None:
    """The stored file an upload named ``name`` would overwrite (same name, same folder)."""
    if not name:
        return None
    folder = (upload_path or "").strip("/")
    for info in files:
        if info.file_name == name and (info.upload_path or "").strip("/") == folder:
            return info
    return None


OVERWRITE_TITLE = "Overwrite the stored file?"


def overwrite_question(existing: FileInfo) -> str:
    """What to ask before an upload replaces ``existing`` (same name, same folder): the app
    and the headless ``upload`` ask the same."""
    from .validation import human_size

    return (
        f"A file named {existing.name} is already stored ({human_size(existing.file_size)}, {existing.file_id}). "
        "Uploading a file with an existing name overwrites the old one, as the reference says "
        "(the old file may still be served from a cache for a while)."
    )


async def fetch_bytes(client: EvolinkClient, url: str, max_bytes: int = PREVIEW_MAX_BYTES) -> bytes:
    """A stored file's bytes for a preview, from its public URL (never with the key)."""
    async with client.stream_download(url) as response:
        if response.status_code >= 400:
            raise EvolinkError("local", "download", f"HTTP {response.status_code} from the file URL")
        length = response.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > max_bytes:
            raise EvolinkError("local", "download", f"the file is over {max_bytes // (1024 * 1024)} MB")
        data = await BoundedBody(  # counted after decompression (a compression bomb stops at the limit)
            response, client.clock, limit=max_bytes, what="the file", too_large="download", damaged="download"
        ).read()
    if sniff(data[:12]) is None:
        raise EvolinkError("local", "refused", "the file URL did not answer with an image")
    return data


# -- masks and fitted references (thread workers) -----------------------------------------------------


def write_mask(directory: Path, source_name: str, png: bytes) -> Path:
    """Write a mask PNG as ``<source>-mask-<hash>.png`` in ``directory``: a name unique to
    its content, so uploading it again replaces only itself."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(source_name).stem).strip("-")[:40] or "image"
    path = Path(directory) / f"{stem}-mask-{hashlib.sha256(png).hexdigest()[:10]}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)
    return path


@dataclass(frozen=True)
class Oversize:
    """A local reference image over the 4 MB limit for ``image_urls``."""

    path: Path
    size: int


def oversize_reference(ref: str, limit: int = MAX_REFERENCE_BYTES) -> Oversize | None:
    """``ref`` when it is a local JPEG/PNG/WebP over ``limit`` bytes (it can be fitted)."""
    if not ref or is_url(ref) or "://" in ref:
        return None
    path = Path(ref).expanduser()
    try:
        if not path.is_file():
            return None
        size = path.stat().st_size
        if size <= limit or sniff_file(path) not in REFERENCE_KINDS:
            return None
    except OSError:
        return None
    return Oversize(path, size)


def save_fitted(fitted, original: Path, fallback_dir: Path) -> Path:
    """Write a fitted copy beside the original, or in ``fallback_dir`` when that folder is
    not writable. The original is never touched."""
    from .imaging import write_fitted

    try:
        return write_fitted(fitted, original)
    except OSError:
        fallback_dir.mkdir(parents=True, exist_ok=True)
        return write_fitted(fitted, fallback_dir / original.name)
