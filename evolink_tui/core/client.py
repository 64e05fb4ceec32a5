"""One async client for both Evolink hosts, on one pooled ``httpx.AsyncClient``.

- The API key goes only to the generation host and the files host, never to result or
  file download URLs (which are other hosts).
- Reads (get task, list, quota, delete) retry on network errors, malformed answers, 429,
  500, 502 and 503 with exponential backoff, honouring ``Retry-After``.
- A submit carries an ``Idempotency-Key`` and is retried only with that same key, and
  only for network errors, 429, 502 and 503: a duplicate submit is a double charge.
- Uploads are retried only when the request cannot have been stored: 429, 502, 503 and
  failures to connect; or, with ``retry_safe=True`` (a name unique to the upload, so a
  second store overwrites the first), on any network error, malformed answer or 5xx.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import email.utils
import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import httpx

from .. import __version__
from .bodies import ACCEPT_ENCODING, MAX_JSON_BYTES, BoundedBody
from .bus import EventBus
from .clock import RealClock
from .config import Settings, check_api_key
from .errors import EvolinkError, ValidationError
from .files import MAX_PAGE_SIZE
from .imagetypes import KIND_NAMES, MIME_BY_KIND, UPLOAD_KINDS, is_url, sniff, sniff_file
from .polling import PollPace
from .text import redact
from .validation import MAX_UPLOAD_BYTES, GenerationRequest, human_size
from .wire import FileInfo, FilePage, Quota, Task, parse_files_envelope, parse_http_error

if TYPE_CHECKING:
    from .gate import SubmitGate

USER_AGENT = f"evolink-tui/{__version__}"
READ_RETRY_STATUSES = frozenset({429, 500, 502, 503})
WRITE_RETRY_STATUSES = frozenset({429, 502, 503})
MAX_SERVER_TASK_ID = 1024  # a server's task id is polled as given up to this length


def new_idempotency_key() -> str:
    return "run_" + uuid.uuid4().hex


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    return max(0.0, moment.timestamp() - now)


@dataclass
class RetryPolicy:
    attempts: int = 5  # tries in all, the first included
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_retry_after: float = 120.0
    jitter: float = 0.2

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        delay = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return delay * random.uniform(1 - self.jitter, 1 + self.jitter)


def _is_connect_error(exc: Exception) -> bool:
    """True when the request cannot have reached the server."""
    return isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


def describe_network_error(exc: BaseException, secret: str | None = None) -> str:
    """``Name: text`` of a transport error, with any credential it quotes taken out (an
    HTTP library's error may repeat a request header)."""
    name = type(exc).__name__
    text = redact(exc, secret).strip()[:300]
    return f"{name}: {text}" if text else name


@dataclass(frozen=True)
class _Call:
    """One logical request: which host, and when it may be tried again."""

    op: str
    host: str  # "api" or "files"
    retry_statuses: frozenset[int]
    retry_network: Callable[[Exception], bool]
    retry_malformed: bool
    task_id: str | None = None  # the task a poll is about (reported with its events)


def _always(_exc: Exception) -> bool:
    return True


class EvolinkClient:
    """Talks to both hosts. Use as ``async with EvolinkClient(settings) as client``."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock=None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        connections_per_host: int = 2,
    ):
        if settings.api_key:  # refused before any request: it could not travel in a header
            check_api_key(settings.api_key)
        self.settings = settings
        self.clock = clock or RealClock()
        self.retry = retry or RetryPolicy()
        self.api_base = settings.base_url.rstrip("/")
        self.files_base = settings.files_base_url.rstrip("/")
        self.events = EventBus()  # RequestRetrying, RequestAnswered, RequestFailed (see core/events.py)
        # Shared by a batch: submits one at a time, paced, all paused by a 429 (see core/gate.py).
        self.submit_gate: SubmitGate | None = None
        # Every task this client follows takes its turn here before a read (see polling.py).
        self.poll_pace = PollPace(self.clock)
        # Only what core.bodies inflates step by step (httpx would add br/zstd when installed).
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING}
        timeouts = httpx.Timeout(timeout, connect=min(10.0, timeout), pool=None)
        # Requests to an Evolink host wait their turn here, at most `connections_per_host` in
        # the pool at once: httpcore scans its whole queue on every request and answer, so 200
        # tasks polling queued in the pool cost time that grew with the square of the queue.
        self._turns: dict[str, Any] = {}
        if transport is not None:
            self.http = httpx.AsyncClient(transport=transport, headers=headers, timeout=timeouts)
        else:
            # Keep-alive pooling with at most `connections_per_host` connections to each
            # Evolink host, however many tasks poll at once; result hosts get their own pool.
            per_host = httpx.Limits(
                max_connections=connections_per_host, max_keepalive_connections=connections_per_host
            )
            mounts = {
                _mount_pattern(base): httpx.AsyncHTTPTransport(limits=per_host)
                for base in {self.api_base, self.files_base}
            }
            import asyncio  # with the first pooled client (headless commands that send nothing never load it)

            self._turns = {base: asyncio.Semaphore(connections_per_host) for base in {self.api_base, self.files_base}}
            self.http = httpx.AsyncClient(
                headers=headers,
                timeout=timeouts,
                mounts=mounts,
                limits=httpx.Limits(max_connections=8, max_keepalive_connections=4),
            )

    async def __aenter__(self) -> EvolinkClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- events -------------------------------------------------------------------

    def _emit(
        self, call: _Call, attempt: int, *, error: EvolinkError | None = None, delay: float | None = None
    ) -> None:
        """Tell the listeners how a call goes: ``RequestRetrying`` before each retry, then
        ``RequestAnswered`` after a good answer or ``RequestFailed`` when it fails for good.
        A listener that raises is logged and reported (see bus.py), never breaks the request."""
        if not len(self.events):
            return
        from .events import RequestAnswered, RequestFailed, RequestRetrying

        if error is None:
            self.events.emit(RequestAnswered(call.op, call.task_id, attempt))
        elif delay is None:
            self.events.emit(RequestFailed(call.op, call.task_id, attempt, error))
        else:
            self.events.emit(RequestRetrying(call.op, call.task_id, attempt, delay, error))

    # -- plumbing -----------------------------------------------------------------

    def _url(self, host: str, path: str) -> str:
        return (self.api_base if host == "api" else self.files_base) + path

    def _auth(self) -> dict[str, str]:
        if not self.settings.api_key:
            raise EvolinkError(
                "http", 401, "No API key is configured (set EVOLINK_API_KEY, or run with --demo)", status=401
            )
        return {"Authorization": f"Bearer {check_api_key(self.settings.api_key)}"}

    async def _call(
        self,
        call: _Call,
        method: str,
        path: str,
        *,
        build: Callable[[], dict] | None = None,
        headers: dict | None = None,
        params: dict | None = None,
    ) -> Any:
        """Send with the retry rules of ``call``; the parsed JSON body (files: the envelope's data)."""
        url = self._url(call.host, path)
        attempt = 0
        while True:
            attempt += 1
            send_headers = {"Accept": "application/json", **self._auth(), **(headers or {})}
            kwargs = build() if build else {}
            gate = self.submit_gate if call.op == "submit" else None
            turn = self._turns.get(self.api_base if call.host == "api" else self.files_base)
            try:
                async with gate.turn() if gate is not None else contextlib.nullcontext():
                    async with turn if turn is not None else contextlib.nullcontext():
                        async with self.http.stream(
                            method, url, headers=send_headers, params=params, **kwargs
                        ) as response:
                            raw = await BoundedBody(response, self.clock, limit=MAX_JSON_BYTES).read()
            except httpx.TransportError as exc:
                err = EvolinkError("local", "network", describe_network_error(exc, self.settings.api_key))
                if call.retry_network(exc) and attempt < self.retry.attempts:
                    await self._wait(call, attempt, err, None)
                    continue
                self._emit(call, attempt, error=err)
                raise err from exc
            except httpx.HTTPError as exc:  # not a transport failure: an answer httpx could not take
                err = EvolinkError("local", "malformed", describe_network_error(exc, self.settings.api_key))
                if call.retry_malformed and attempt < self.retry.attempts:
                    await self._wait(call, attempt, err, None)
                    continue
                self._emit(call, attempt, error=err)
                raise err from exc
            except EvolinkError as err:  # the body: too large, too slow or badly compressed
                # An oversized answer is asked for again like an unreadable one (each try bounded):
                # a submit with its own key, a read as it is; past the tries the call fails.
                retry = (err.code == "network" and call.retry_network(err)) or (
                    err.code in ("malformed", "too_large") and call.retry_malformed
                )
                if retry and attempt < self.retry.attempts:
                    await self._wait(call, attempt, err, None)
                    continue
                self._emit(call, attempt, error=err)
                raise
            try:
                data = self._parse(call, response, raw)
            except EvolinkError as err:
                if gate is not None and (err.status == 429 or err.retry_after is not None):
                    gate.pause(self.retry.delay(attempt, err.retry_after), err)  # every submit waits, not just this
                retry = (err.kind == "local" and err.code == "malformed" and call.retry_malformed) or (
                    err.status in call.retry_statuses
                )
                if retry and attempt < self.retry.attempts:
                    await self._wait(call, attempt, err, err.retry_after)
                    continue
                self._emit(call, attempt, error=err)
                raise
            self._emit(call, attempt)
            return data

    async def _wait(self, call: _Call, attempt: int, err: EvolinkError, retry_after: float | None) -> None:
        delay = self.retry.delay(attempt, retry_after)
        self._emit(call, attempt, error=err, delay=delay)
        await self.clock.sleep(delay)

    def _parse(self, call: _Call, response: httpx.Response, raw: bytes) -> Any:
        status = response.status_code
        retry_after = parse_retry_after(response.headers.get("Retry-After"), self.clock.now())
        try:
            text = raw.decode(response.charset_encoding or "utf-8", "replace")
        except LookupError:  # a charset nobody knows
            text = raw.decode("utf-8", "replace")
        try:
            body = json.loads(text) if text.strip() else None
        except (ValueError, RecursionError):  # RecursionError: JSON nested absurdly deep
            body = None
            if status < 400:
                raise EvolinkError(
                    "local", "malformed", f"HTTP {status} with a body that is not JSON", status=status
                ) from None
        if call.host == "files":
            if status >= 400 and not isinstance(body, dict):
                raise EvolinkError("file", status, " ".join(text.split())[:200], status=status, retry_after=retry_after)
            try:
                return parse_files_envelope(body, status)
            except EvolinkError as err:
                err.retry_after = retry_after
                raise
        if status >= 400:
            raise parse_http_error(body, text, status, retry_after)
        if body is None:
            raise EvolinkError("local", "malformed", f"HTTP {status} with an empty body", status=status)
        return body

    # -- generation host ----------------------------------------------------------

    async def submit(self, request: GenerationRequest, idempotency_key: str | None = None) -> Task:
        """POST /v1/images/generations. ``request`` must hold URLs only (see jobs.upload_references)."""
        if request.local_files():
            raise ValueError("upload local reference files before submitting")
        key = idempotency_key or new_idempotency_key()
        call = _Call("submit", "api", WRITE_RETRY_STATUSES, _always, retry_malformed=True)
        body = request.to_body()
        data = await self._call(
            call, "POST", "/v1/images/generations", build=lambda: {"json": body}, headers={"Idempotency-Key": key}
        )
        return Task.parse(data)

    async def get_task(self, task_id: str, *, from_server: bool = False) -> Task:
        """GET /v1/tasks/{task_id}.

        A typed id (``from_server=False``) is checked as input: a ValidationError, nothing
        sent. An id the server gave is polled as given (quoted in the path) unless it is
        too long to poll: then a final ``bad_task_id`` error, never "bad input"."""
        if from_server:
            if not task_id or len(task_id) > MAX_SERVER_TASK_ID:
                raise EvolinkError(
                    "local",
                    "bad_task_id",
                    f"the server's task id ({len(task_id or '')} characters) cannot be polled",
                    task_id=(task_id or "")[:80] or None,
                )
            return await self._get_task(task_id)
        task_id = (task_id or "").strip()
        if not task_id or any(ch.isspace() for ch in task_id) or len(task_id) > 200:
            raise ValidationError("task_id", task_id, "a task id such as task-unified-1757156493-imcg5zqt")
        return await self._get_task(task_id)

    async def _get_task(self, task_id: str) -> Task:
        call = _Call("poll", "api", READ_RETRY_STATUSES, _always, retry_malformed=True, task_id=task_id)
        data = await self._call(call, "GET", f"/v1/tasks/{quote(task_id, safe='')}")
        task = Task.parse(data)
        return task

    async def credits(self) -> dict:
        """GET /v1/credits (an optional extra; free, so it doubles as a key check)."""
        call = _Call("credits", "api", READ_RETRY_STATUSES, _always, retry_malformed=True)
        data = await self._call(call, "GET", "/v1/credits")
        return data if isinstance(data, dict) else {}

    # -- files host ---------------------------------------------------------------

    def _upload_call(self, retry_safe: bool = False) -> _Call:
        if retry_safe:
            return _Call("upload", "files", READ_RETRY_STATUSES, _always, retry_malformed=True)
        return _Call("upload", "files", WRITE_RETRY_STATUSES, _is_connect_error, retry_malformed=False)

    async def upload_file(
        self,
        path: str | Path,
        *,
        name: str | None = None,
        upload_path: str | None = None,
        progress: Callable[[int, int], None] | None = None,
        retry_safe: bool = False,
    ) -> FileInfo:
        """Stream upload (multipart) of a local file; type and size checked before sending.

        ``retry_safe``: ``name`` is unique to this upload (same-name uploads overwrite), so
        it may be sent again after any network error without using up the quota."""
        path = Path(path).expanduser()
        kind = check_upload_file(path)
        total = path.stat().st_size
        filename = name or path.name

        def build() -> dict:
            handle = _ProgressReader(open(path, "rb"), total, progress)
            data = {}
            if upload_path:
                data["uploadPath"] = upload_path
            if name:
                data["fileName"] = name
            return {"files": {"file": (filename, handle, MIME_BY_KIND[kind])}, "data": data}

        data = await self._call(
            self._upload_call(retry_safe and bool(name)), "POST", "/api/v1/files/upload/stream", build=build
        )
        return FileInfo.parse(data)

    async def upload_base64(self, data: str, *, name: str | None = None, upload_path: str | None = None) -> FileInfo:
        check_base64_image(data)
        body = {"base64_data": data.strip()}
        if upload_path:
            body["upload_path"] = upload_path
        if name:
            body["file_name"] = name
        result = await self._call(
            self._upload_call(), "POST", "/api/v1/files/upload/base64", build=lambda: {"json": body}
        )
        return FileInfo.parse(result)

    async def upload_url(self, url: str, *, name: str | None = None, upload_path: str | None = None) -> FileInfo:
        if not is_url(url):
            raise ValidationError("file_url", url, "an http:// or https:// URL")
        body = {"file_url": url.strip()}
        if upload_path:
            body["upload_path"] = upload_path
        if name:
            body["file_name"] = name
        result = await self._call(self._upload_call(), "POST", "/api/v1/files/upload/url", build=lambda: {"json": body})
        return FileInfo.parse(result)

    async def list_files(self, page: int = 1, page_size: int = 20) -> FilePage:
        if isinstance(page, bool) or not isinstance(page, int) or page < 1:
            raise ValidationError("page", page, "a whole number from 1 up")
        if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValidationError("page_size", page_size, f"a whole number from 1 to {MAX_PAGE_SIZE}")
        call = _Call("list", "files", READ_RETRY_STATUSES, _always, retry_malformed=True)
        data = await self._call(call, "GET", "/api/v1/files/list", params={"page": page, "pageSize": page_size})
        return FilePage.parse(data, page, page_size)

    async def quota(self) -> Quota:
        call = _Call("quota", "files", READ_RETRY_STATUSES, _always, retry_malformed=True)
        return Quota.parse(await self._call(call, "GET", "/api/v1/files/quota"))

    async def delete_file(self, file_id: str) -> Any:
        file_id = (file_id or "").strip()
        if not file_id or "/" in file_id or any(ch.isspace() for ch in file_id):
            raise ValidationError("file_id", file_id, "a file id as shown by `evolink-tui files`")
        call = _Call("delete", "files", READ_RETRY_STATUSES, _always, retry_malformed=True)
        return await self._call(call, "DELETE", f"/api/v1/files/{quote(file_id, safe='')}")

    # -- result downloads (no API key: other hosts) -------------------------------

    def stream_download(self, url: str):
        """``async with client.stream_download(url) as response``: never carries the key."""
        try:
            parts = urlsplit(url)
            usable = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
            httpx.URL(url)  # what httpx itself would refuse (a bad IPv6 literal, an invalid name...)
        except (ValueError, httpx.InvalidURL, UnicodeError):
            usable = False
        if not usable:
            raise EvolinkError("local", "refused", f"not a usable http(s) URL: {url[:200]!r}")
        return self.http.stream("GET", url, headers={"Accept": "image/*"}, follow_redirects=True)


class _ProgressReader:
    """A file object that reports bytes read, for upload progress bars."""

    def __init__(self, handle, total: int, progress: Callable[[int, int], None] | None):
        self._handle = handle
        self._total = total
        self._done = 0
        self._progress = progress

    def read(self, size: int = -1) -> bytes:
        chunk = self._handle.read(size)
        self._done += len(chunk)
        if self._progress:
            self._progress(self._done, self._total)
        if not chunk:
            self._handle.close()
        return chunk

    def __getattr__(self, name):
        return getattr(self._handle, name)


def _mount_pattern(base: str) -> str:
    parts = urlsplit(base)
    port = f":{parts.port}" if parts.port else ""
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal keeps its brackets: http://[::1]:8765
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}"


def check_upload_file(path: Path) -> str:
    """The image kind of a local file to upload, or a ValidationError (nothing sent)."""
    names = "/".join(KIND_NAMES.values())
    if not path.is_file():
        raise ValidationError("file_path", str(path), f"an existing {names} file")
    try:
        kind = sniff_file(path)
        size = path.stat().st_size
    except OSError as exc:
        raise ValidationError("file_path", str(path), f"a readable {names} file ({exc.strerror or exc})") from None
    if kind not in UPLOAD_KINDS:
        raise ValidationError("file_path", str(path), f"a {names} image (this file is not one)")
    if size > MAX_UPLOAD_BYTES:
        raise ValidationError("file_path", str(path), f"at most 100 MB (this file is {human_size(size)})")
    return kind


def check_base64_image(data: str) -> str:
    """The image kind of base64 data (raw or a data URL), or a ValidationError."""
    text = (data or "").strip()
    payload = text.split(",", 1)[1] if text.startswith("data:") and "," in text else text
    try:
        head = base64.b64decode(payload[:64] + "=" * (-len(payload[:64]) % 4), validate=False)
        size = len(payload) * 3 // 4
    except (binascii.Error, ValueError):
        raise ValidationError(
            "base64_data", text[:40], "base64 data or a data URL (data:image/png;base64,...)"
        ) from None
    kind = sniff(head)
    if kind not in UPLOAD_KINDS:
        raise ValidationError("base64_data", text[:40], f"a base64-encoded {'/'.join(KIND_NAMES.values())} image")
    if size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            "base64_data", text[:40], "at most 100 MB of image data", shown=f"{human_size(size)} of data"
        )
    return kind
