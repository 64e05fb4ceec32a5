"""Result downloads: at once, atomically, verified, under safe names, with a JSON sidecar.

Each result URL is streamed (without the API key: result hosts are other hosts) into a
temporary file in the download directory, checked with Pillow (one of the four image
types, under a pixel limit, fully decodable), then renamed into place. Next to it a
``.json`` sidecar records everything needed to reproduce it. A broken or partial file is
never left behind: a failed download removes its temporary file, and one left by a
killed process (its lock gone with it) is removed by :func:`clean_partial_files`.

Failure codes (``EvolinkError("local", code)``): ``network`` and ``download`` are retried
at once (a 403/404/410 while the URL should still work is a ``download`` failure too);
``disk`` (full, a size limit, no permission: the message names the path) is retried
later; ``expired`` (past the URL's lifetime, or the host says so) and ``refused`` (not
one of the four image types, over the size or pixel limit) are final, and nothing is kept.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import re
import tempfile
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from .. import __version__
from .bodies import BoundedBody
from .errors import EvolinkError
from .imagetypes import DECODE_GATE, EXT_BY_KIND, KIND_BY_PIL_FORMAT, sniff
from .params import CORE_FIELDS
from .rules import MAX_PIXELS, RESULT_URL_LIFETIME, results_asked
from .text import excerpt
from .wire import Task

try:  # POSIX: a live download holds a lock on its temporary file
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

MAX_DOWNLOAD_BYTES = 100 * 1024 * 1024
URL_LIFETIME = timedelta(seconds=RESULT_URL_LIFETIME)
# What an expired signed link answers; but a CDN answers the same to a hiccup, so within
# the URL's lifetime these are retried, and "expired" needs the lifetime passed or a body
# that says so (a storage bucket's "Request has expired").
GONE_STATUSES = frozenset({403, 404, 410})
_SAYS_EXPIRED = re.compile(r"expired", re.IGNORECASE)
ERROR_BODY_PEEK = 2048
CHUNK = 64 * 1024
TEMP_PREFIXES = (".download-", ".sidecar-")
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)})


@dataclass
class Download:
    url: str
    path: Path | None = None
    sidecar: Path | None = None
    width: int = 0
    height: int = 0
    format: str = ""
    bytes: int = 0
    error: EvolinkError | None = None

    @property
    def ok(self) -> bool:
        return self.path is not None and self.error is None

    def to_json(self) -> dict:
        if self.ok:
            return {
                "url": self.url,
                "path": str(self.path),
                "sidecar": str(self.sidecar),
                "width": self.width,
                "height": self.height,
                "format": self.format,
                "bytes": self.bytes,
            }
        return {"url": self.url, "path": None, "error": self.error.to_json() if self.error else None}


def slug(text: str, limit: int = 40) -> str:
    """Lowercase ASCII words joined by hyphens: safe in any file system."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return text[:limit].rstrip("-") or "image"


def safe_component(text: str, limit: int = 80) -> str:
    """A file name component from any server string: letters, digits, ``.``, ``_``, ``-``."""
    text = re.sub(r"[^A-Za-z0-9._-]+", "_", text or "")
    text = text.lstrip(".-_")[:limit]
    return text or "x"


def result_stem(task_id: str, prompt: str, index: int) -> str:
    return f"{slug(prompt, 32)}_{safe_component(task_id)}_{index + 1}"


def inside(directory: Path, candidate: Path) -> bool:
    try:
        candidate.resolve().relative_to(directory.resolve())
        return True
    except ValueError:
        return False


def _moment(seconds: float | None) -> datetime | None:
    """Unix seconds as an aware datetime; None for nothing or nonsense (a hostile server's)."""
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _iso(seconds: float | None) -> str | None:
    moment = _moment(seconds) if seconds else None
    return moment.isoformat() if moment else None


def url_expiry(task: Task, completed_at: float | None = None) -> datetime | None:
    """When a result URL stops working: 24 hours after the task finished (or was created)."""
    base = _moment(completed_at if completed_at is not None else task.created)
    try:
        return base + URL_LIFETIME if base is not None else None
    except OverflowError:
        return None


def _display_keeper():
    """A keeper of the viewer's display copy when the app has its disk cache on (None in the
    headless commands, which show no picture)."""
    from . import thumbnails

    if thumbnails.shared_disk is None:
        return None
    from .graphics.display import Keeper

    return Keeper(thumbnails.shared_disk)


def verify_image(path: Path, max_pixels: int = MAX_PIXELS, keep: Callable | None = None) -> tuple[str, int, int]:
    """(kind, width, height) of a complete, decodable image; EvolinkError otherwise.

    Runs in a thread: Pillow decodes the whole image to prove it is not truncated. ``keep``
    is handed that decoded image (the viewer's display copy is made from it).
    """
    from PIL import Image  # deferred: heavy, and only needed once a result arrives

    with open(path, "rb") as handle:
        head = handle.read(16)
    if sniff(head) is None:  # judged by content, never by a name or a Content-Type
        raise EvolinkError("local", "refused", "not a JPEG/PNG/GIF/WebP image")
    try:
        with DECODE_GATE, Image.open(path) as image:
            kind = KIND_BY_PIL_FORMAT.get(image.format or "")
            if kind is None:
                raise EvolinkError("local", "refused", f"not a JPEG/PNG/GIF/WebP image ({image.format or 'unknown'})")
            width, height = image.size
            if width * height > max_pixels:
                raise EvolinkError(
                    "local", "refused", f"image of {width}x{height} pixels is over the {max_pixels:,}-pixel limit"
                )
            image.load()  # decodes everything: a truncated file fails here
            if keep is not None:
                keep(image)
    except EvolinkError:
        raise
    except Image.DecompressionBombError as exc:
        raise EvolinkError("local", "refused", f"refused: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise EvolinkError("local", "download", f"not a valid image: {exc}") from None
    return kind, width, height


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # once, at import: os.umask is process-wide and not thread-safe


def _public_mode(fd: int) -> None:
    """mkstemp makes 0600 files; results are ordinary files, readable as the umask allows."""
    os.fchmod(fd, 0o666 & ~_UMASK)


def write_json_atomic(path: Path, data: dict) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".sidecar-", suffix=".tmp", dir=path.parent)
    _lock(fd)
    _public_mode(fd)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, ensure_ascii=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise


def _unlink(path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def sidecar_record(
    task: Task,
    request: dict,
    url: str,
    index: int,
    kind: str,
    width: int,
    height: int,
    expires: datetime | None,
    downloaded_at: datetime,
    extra: dict | None = None,
) -> dict:
    """What the sidecar holds: enough to reproduce the image. Never the API key.
    ``extra``: the record's own fields (``recipe.record_fields``: record id, parent...).

    ``size`` and ``n`` are what the request asked for: the values sent, or for a field left
    out (listed in ``defaults``) what that stands for: ``"auto"`` (the model's own size) and
    1 (the API's default n). What the server says it applied, when it says, is kept apart
    in ``server_applied``."""
    data = {
        "generator": f"evolink-tui/{__version__}",
        "task_id": task.id,
        "index": index + 1,
        "prompt": request.get("prompt", ""),
        "model": task.model or request.get("model"),
        "size": request.get("size") or "auto",
        "n": request.get("n") or 1,
        "defaults": [name for name in ("size", "n") if not request.get(name)],
        "image_urls": list(request.get("image_urls") or []),
        "mask_url": request.get("mask_url"),
        "params": {k: v for k, v in request.items() if k not in CORE_FIELDS},  # extra model parameters
        "source_url": url,
        "url_expires_at": expires.isoformat() if expires else None,
        "credits_reserved": task.credits_reserved,
        "billing_rule": task.billing_rule or None,
        "created_at": _iso(task.created),
        "downloaded_at": downloaded_at.isoformat(),
        "format": kind,
        "width": width,
        "height": height,
        **(extra or {}),
    }
    applied = server_applied(task, index)
    if applied:
        data["server_applied"] = applied
    return data


APPLIED_KEYS = ("size", "n", "quality", "aspect_ratio", "resolution", "width", "height", "seed")


def server_applied(task: Task, index: int) -> dict:
    """Generation settings the server reports for this result (in its ``result_data`` entry,
    or on the task), if it reports any: short scalar values only."""
    found: dict = {}
    entries = task.raw.get("result_data")
    if isinstance(entries, list):
        entries = entries[index] if index < len(entries) else None
    for source in (task.raw, entries if isinstance(entries, dict) else {}):
        for key in APPLIED_KEYS:
            value = source.get(key)
            if isinstance(value, (int, float, str)) and not isinstance(value, bool) and len(str(value)) <= 40:
                found[key] = value
    return found


def disk_error(path: Path, exc: OSError) -> EvolinkError:
    """A clear message for a write that failed, naming the folder (or file) it went to."""
    reason = exc.strerror or str(exc)
    if exc.errno in DISK_FULL_ERRNOS:
        reason += " (the disk is full or a file-size limit was reached)"
    return EvolinkError("local", "disk", f"could not write to {path}: {reason}")


def _lock(fd: int) -> None:
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pass


def _temp_file(dest_dir: Path, prefix: str, suffix: str) -> tuple[int, Path]:
    """A locked temporary file in ``dest_dir`` (created on demand)."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=dest_dir)
    _lock(fd)
    _public_mode(fd)
    return fd, Path(name)


def folder_problem(folder: Path) -> str | None:
    """Why results could not be written into ``folder``, or None. Creates nothing (folders
    are made on first use): a missing folder is fine if the nearest existing one is writable."""
    probe = Path(folder).expanduser()
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        return f"{probe} is not a folder"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"no permission to write in {probe}"
    return None


def clean_partial_files(dest_dir: Path, *, min_age: float = 1.0) -> list[Path]:
    """Remove temporary files a killed process left in ``dest_dir``; the removed paths.

    A live download holds a lock on its temporary file, so only abandoned ones go (on
    systems without ``flock``, only those untouched for an hour).
    """
    removed: list[Path] = []
    try:
        entries = list(Path(dest_dir).iterdir())
    except OSError:
        return removed
    now = time.time()
    for path in entries:
        if not path.name.startswith(TEMP_PREFIXES) or not path.name.endswith((".part", ".tmp")):
            continue
        try:
            age = now - path.stat().st_mtime
            if age < (min_age if fcntl is not None else 3600):
                continue
            if fcntl is None:
                path.unlink()
            else:
                fd = os.open(path, os.O_RDONLY)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held by a live download: OSError
                    path.unlink()
                finally:
                    os.close(fd)
            removed.append(path)
        except OSError:
            continue
    return removed


def _refuse_content_type(value: str | None) -> bool:
    """Obviously not an image (an error page, a script, SVG): refused before reading it."""
    media = (value or "").split(";")[0].strip().lower()
    return media.startswith("text/") or "svg" in media or "html" in media or "javascript" in media or "xml" in media


async def _peek_text(response, clock) -> str:
    """The start of an error answer's body (a few KB at most), as text."""
    data = b""
    try:
        async for chunk in BoundedBody(response, clock, limit=CHUNK, what="the error page"):
            data += chunk
            if len(data) >= ERROR_BODY_PEEK:
                break
    except EvolinkError:  # too large or damaged: what came is enough
        pass
    return data[:ERROR_BODY_PEEK].decode("utf-8", "replace")


def _gone_error(status: int, body: str, expires: datetime | None, now: float) -> EvolinkError:
    """A 403/404/410 from the result host: ``expired`` only when the URL's lifetime has
    passed or the body says so; else a ``download`` failure, retried while the URL lives."""
    if _SAYS_EXPIRED.search(body):
        said = excerpt(re.sub(r"<[^>]{0,80}>", " ", body), 120)  # a bucket's XML, as words
        return EvolinkError("local", "expired", f"HTTP {status} from the result host: {said}", status=status)
    if expires is not None and now >= expires.timestamp():
        return EvolinkError(
            "local", "expired", f"HTTP {status} from the result host, past the URL's lifetime", status=status
        )
    until = f" (until {expires.strftime('%Y-%m-%d %H:%M UTC')})" if expires is not None else ""
    return EvolinkError(
        "local",
        "download",
        f"HTTP {status} from the result host while the URL should still work{until}",
        status=status,
    )


async def download_one(
    client,
    url: str,
    dest_dir: Path,
    stem: str,
    *,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
    max_pixels: int = MAX_PIXELS,
    annotate: Callable[[Path, str, int, int], None] | None = None,
    expires: datetime | None = None,
    placed: Callable[[Path], None] | None = None,
) -> tuple[Path, str, int, int, int]:
    """Fetch ``url`` to ``dest_dir/stem.<ext>``: (path, kind, width, height, bytes).

    ``annotate(temporary path, kind, width, height)`` runs once the image is verified, before
    it is renamed into place (the recipe is written into it there); ``placed(path)`` once it
    is in place (the sidecar is written there). Both run in the thread that finishes the file
    (:func:`_finish_file`).

    Raises EvolinkError("local", code): ``expired`` for an expired URL (``expires`` has
    passed, or the host says so), ``network`` for a transport failure or a truncated body,
    ``download`` for an HTTP error, ``refused`` for anything that is not an acceptable
    image, ``disk`` when it cannot be written.
    """
    import httpx  # deferred: loaded with the client anyway; the TUI imports this module before it has one

    from .client import describe_network_error, parse_retry_after

    try:
        fd, tmp = _temp_file(dest_dir, ".download-", ".part")
    except OSError as exc:
        raise disk_error(dest_dir, exc) from None
    try:
        size = 0
        with os.fdopen(fd, "wb") as handle:
            try:
                async with client.stream_download(url) as response:
                    status = response.status_code
                    if status in GONE_STATUSES:
                        raise _gone_error(status, await _peek_text(response, client.clock), expires, client.clock.now())
                    if status >= 400:
                        retry_after = parse_retry_after(response.headers.get("Retry-After"), client.clock.now())
                        raise EvolinkError(
                            "local",
                            "download",
                            f"HTTP {status} from the result host",
                            status=status,
                            retry_after=retry_after,
                        )
                    if _refuse_content_type(response.headers.get("Content-Type")):
                        raise EvolinkError(
                            "local",
                            "refused",
                            f"the result host sent {response.headers.get('Content-Type', '')[:60]}, not an image",
                        )
                    declared = response.headers.get("Content-Length")
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise EvolinkError(
                            "local",
                            "refused",
                            f"the result is {int(declared):,} bytes, over the {max_bytes:,}-byte limit",
                        )
                    # Counted after decompression, with a deadline scaled to the size (core.bodies).
                    body = BoundedBody(
                        response,
                        client.clock,
                        limit=max_bytes,
                        what="the result",
                        too_large="refused",
                        damaged="download",  # damaged in transit: fetched again
                        unsupported="refused",  # a coding we never asked for (stacked, br): the same every time
                    )
                    async for chunk in body:
                        try:
                            handle.write(chunk)
                        except OSError as exc:
                            raise disk_error(dest_dir, exc) from None
                    size = body.size
                    if declared and declared.isdigit() and body.raw != int(declared):
                        raise EvolinkError("local", "network", f"truncated: {body.raw} of {declared} bytes")
            except httpx.TransportError as exc:
                raise EvolinkError("local", "network", describe_network_error(exc)) from None
            except httpx.TooManyRedirects:
                raise EvolinkError("local", "download", "the result host redirects in a loop") from None
            except (httpx.HTTPError, httpx.InvalidURL) as exc:  # anything else httpx refuses
                raise EvolinkError("local", "download", describe_network_error(exc)) from None
            try:
                handle.flush()
            except OSError as exc:
                raise disk_error(dest_dir, exc) from None
        # Disk and decoding, never on the event loop: in one thread, one hand-over (each
        # hand-over is a wake-up of the loop and of a thread, while 200 results arrive).
        return await asyncio.to_thread(_finish_file, tmp, dest_dir, stem, size, max_pixels, annotate, placed)
    except OSError as exc:  # closing a file on a full disk fails too
        _unlink(tmp)
        raise disk_error(dest_dir, exc) from None
    except BaseException:
        _unlink(tmp)
        raise


def _finish_file(
    tmp: Path,
    dest_dir: Path,
    stem: str,
    size: int,
    max_pixels: int,
    annotate: Callable[[Path, str, int, int], None] | None,
    placed: Callable[[Path], None] | None,
) -> tuple[Path, str, int, int, int]:
    """The downloaded ``tmp`` (closed, ``size`` bytes) made durable (fsync: tens of ms on a
    busy disk), verified by decoding, annotated and renamed into place, its display copy kept:
    (path, kind, width, height, bytes). Runs in a thread."""
    try:
        fd = os.open(tmp, os.O_RDONLY)  # fsync reaches the file's data through any descriptor
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise disk_error(dest_dir, exc) from None
    keeper = _display_keeper()
    kind, width, height = verify_image(tmp, max_pixels, keeper and keeper.take)
    if annotate is not None:
        annotate(tmp, kind, width, height)
        size = os.path.getsize(tmp)
    final = dest_dir / f"{stem}.{EXT_BY_KIND[kind]}"
    if not inside(dest_dir, final) or final.parent.resolve() != dest_dir.resolve():
        raise EvolinkError("local", "refused", f"refused file name {final.name!r}")
    try:
        os.replace(tmp, final)
    except OSError as exc:
        raise disk_error(final, exc) from None
    if keeper is not None and keeper.copy is not None:
        keeper.store(final)
    if placed is not None:
        placed(final)
    return final, kind, width, height, size


def existing_download(dest_dir: Path, stem: str, url: str) -> Download | None:
    """A result already on disk for ``url`` (its sidecar names the same source), if any."""
    sidecar = dest_dir / f"{stem}.json"
    try:
        record = json.loads(sidecar.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("source_url") != url:
        return None
    ext = EXT_BY_KIND.get(str(record.get("format")), "")
    path = dest_dir / f"{stem}.{ext}"
    if not ext or not path.is_file():
        return None
    return Download(
        url=url,
        path=path,
        sidecar=sidecar,
        width=int(record.get("width") or 0),
        height=int(record.get("height") or 0),
        format=str(record.get("format")),
        bytes=path.stat().st_size,
    )


RETRY_NOW = frozenset({"network", "download"})


def _write_recipe(made: dict, task, request, url, index, expires, extra, tmp: Path, kind: str, width: int, height: int):
    """Build the sidecar and write its recipe into the downloaded image (before its rename)."""
    from .recipe import embed_recipe

    made["sidecar"] = sidecar_record(task, request, url, index, kind, width, height, expires, datetime.now(UTC), extra)
    embed_recipe(tmp, kind, made["sidecar"])


def _write_sidecar(made: dict, path: Path) -> None:
    """Write the sidecar :func:`_write_recipe` built beside the image now at ``path``; where it
    went (``made["path"]``) or why it could not be written (``made["error"]``)."""
    sidecar = path.with_suffix(".json")
    try:
        write_json_atomic(sidecar, made["sidecar"])
        made["path"] = sidecar
    except OSError as exc:
        made["error"] = disk_error(sidecar, exc)


async def download_results(
    client,
    task: Task,
    request: dict,
    dest_dir: Path,
    *,
    completed_at: float | None = None,
    attempts: int = 3,
    on_download: Callable[[Download], None] | None = None,
    url_expires_at: float | None = None,
    extra: dict | None = None,
) -> list[Download]:
    """Download the results of a completed ``task`` (as many as were asked for: see
    :func:`results_asked`); failures are recorded, not raised.

    ``request`` is the JSON body that was submitted (prompt, model, size, n, image_urls,
    mask_url). Network failures, HTTP errors and truncated files are retried ``attempts``
    times (honouring ``Retry-After``); a full disk, an expired URL or a refused file is not.
    Each image gets its recipe written into it (:func:`.recipe.embed_recipe`) before it is
    renamed into place, and in its sidecar with ``extra`` (the record's fields).
    """
    expires = _moment(url_expires_at) if url_expires_at is not None else url_expiry(task, completed_at)
    downloads = []
    for index, url in enumerate(task.results[: results_asked(request)]):
        stem = result_stem(task.id, request.get("prompt", ""), index)
        record = existing_download(dest_dir, stem, url)
        if record is not None:  # already downloaded and verified: no second fetch
            downloads.append(record)
            if on_download:
                on_download(record)
            continue
        record = Download(url=url)
        made: dict = {}  # the sidecar, built as the recipe is written into the image
        annotate = partial(_write_recipe, made, task, request, url, index, expires, extra)
        placed = partial(_write_sidecar, made)
        for attempt in range(1, attempts + 1):
            try:
                path, kind, width, height, size = await download_one(
                    client, url, dest_dir, stem, annotate=annotate, expires=expires, placed=placed
                )
            except EvolinkError as err:
                record.error = err
                if err.code in RETRY_NOW and attempt < attempts:
                    delay = err.retry_after if err.retry_after is not None else 1.0 * 2 ** (attempt - 1)
                    await client.clock.sleep(min(30.0, delay))
                    continue
                break
            record.error = None
            record.path, record.format, record.width, record.height, record.bytes = path, kind, width, height, size
            if "error" in made:
                record.error = made["error"]
            else:
                record.sidecar = made["path"]
            break
        downloads.append(record)
        if on_download:
            on_download(record)
    return downloads


def download_state(downloads: list[Download]) -> tuple[str, EvolinkError | None]:
    """The record's ``download_state`` after a round of downloads, and the error to show.

    ``done`` when every result is on disk; ``failed`` when some may still succeed later
    (network, disk); ``expired`` or ``refused`` when none can.
    """
    failed = [d for d in downloads if not d.ok]
    if not failed:
        return "done", None
    errors = [d.error or EvolinkError("local", "download", "not downloaded") for d in failed]
    for err in errors:
        if err.code not in ("expired", "refused"):
            return "failed", err
    for err in errors:
        if err.code == "expired":
            return "expired", err
    return "refused", errors[0]
