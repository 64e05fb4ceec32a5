"""The simulator: one Starlette app that stands in for both Evolink hosts.

Generation host: ``POST /v1/images/generations``, ``GET /v1/tasks/{id}`` (plus the
extras ``GET /v1/tasks``, ``GET /v1/credits``, ``GET /v1/models``). Files host:
``/api/v1/files/...``. "Other hosts" (no auth): result downloads ``/results/...`` and
file downloads ``/files/...``. The paths never overlap, so on loopback both base URLs
point at the same port.

State lives in ``app.state.sim`` (a :class:`SimState`); faults can be swapped at run
time with ``app.state.sim.faults = FaultPlan.parse("...")``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
import os
import posixpath
import re
import secrets
import string
from http import HTTPStatus
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from evolink_tui.core.catalogue import Model, load_catalogue

from .clock import SimClock
from .faults import API_ENDPOINTS, FILES_ENDPOINTS, GROUPS, FaultPlan, is_file_code, is_terminal, task_error
from .images import model_extension, model_mime, render_image, sniff
from .transport import DroppedConnection

MAX_PROMPT = 2000
MAX_FILE_SIZE = 100 * 1024 * 1024
FILE_TTL = 72 * 3600
RESULT_TTL = 24 * 3600
DEFAULT_BALANCE = 10_000.0
# Seconds a task takes at speed 1.0, by the catalogue's speed class.
DURATIONS = {"ultra-fast": 2.0, "fast": 4.0, "normal": 8.0}
PENDING_SHARE = 0.15
FAIL_AT = 0.6
# Credits per image, by model (times n).
CREDITS_PER_IMAGE = {
    "gpt-image-1.5": 6.0,
    "gpt-image-1": 5.0,
    "gpt-image-1.5-lite": 2.5,
    "gpt-4o-image": 8.0,
    "gemini-3.1-flash-image-preview": 3.0,
    "gemini-3-pro-image-preview": 7.0,
    "gemini-2.5-flash-image": 2.0,
    "nano-banana-2-lite": 1.5,
    "z-image-turbo": 1.0,
    "doubao-seedream-4.5": 4.0,
    "doubao-seedream-4.0": 3.5,
    "doubao-seedream-3.0-t2i": 2.5,
    "doubao-seededit-4.0-i2i": 4.0,
    "doubao-seededit-3.0-i2i": 3.0,
    "qwen-image-edit": 3.0,
    "qwen-image-edit-plus": 4.0,
    "wan2.5-t2i-preview": 3.0,
    "wan2.5-i2i-preview": 3.0,
    "wan2.5-text-to-image": 3.0,
    "wan2.5-image-to-image": 3.0,
}
DEFAULT_CREDITS_PER_IMAGE = 4.0
STATUS_FAULT_TEXT = {
    400: ("Bad request: the request was rejected", "invalid_request_error"),
    401: ("Invalid or missing API key", "authentication_error"),
    402: ("Insufficient credits: top up your balance", "insufficient_quota"),
    403: ("Access denied", "permission_error"),
    404: ("Resource not found", "not_found_error"),
    413: ("Payload too large", "request_too_large"),
    429: ("Rate limit exceeded: too many requests, retry later", "rate_limit_error"),
    500: ("Internal server error", "internal_server_error"),
    502: ("Bad gateway: upstream unavailable", "upstream_error"),
    503: ("Service temporarily unavailable", "service_unavailable"),
}
FILE_CODE_TEXT = {
    40001: "File too large",
    40002: "File type not allowed",
    40003: "Quota exceeded",
    40004: "URL download failed",
    50001: "Storage service error",
}
EXPIRED_BODY = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>\n"
)
_ALNUM = string.ascii_lowercase + string.digits
_RESULT_PATH = re.compile(r"^/results/(?P<task>[^/]+)/(?P<index>\d+)\.(?P<ext>[a-z]+)$")
_FILE_PATH = re.compile(r"^/files/(?P<file>[^/]+)/(?P<name>[^/]+)$")


# --------------------------------------------------------------------------- helpers


def classify(method: str, path: str) -> str | None:
    """The endpoint name of a request (what fault rules and ``count()`` match on)."""
    if path == "/v1/images/generations":
        return "submit"
    if path.startswith("/v1/tasks/"):
        return "poll"
    if path == "/v1/tasks":
        return "tasks"
    if path == "/v1/credits":
        return "credits"
    if path == "/v1/models":
        return "models"
    if path.startswith("/api/v1/files/upload/"):
        return "upload"
    if path == "/api/v1/files/list":
        return "list"
    if path == "/api/v1/files/quota":
        return "quota"
    if path.startswith("/api/v1/files/") and method.upper() == "DELETE":
        return "delete"
    if path.startswith(("/results/", "/files/")):
        return "download"
    return None


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _env_float(name: str, default: float, environ) -> float:
    raw = (environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if not value > 0 or math.isinf(value):
        raise ValueError(f"{name}={raw!r} must be a positive number")
    return value


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def api_error(status: int, code: Any, message: str, kind: str, param: str | None = None,
              headers: dict | None = None) -> JSONResponse:
    error: dict[str, Any] = {"code": code, "message": message, "type": kind}
    if param is not None:
        error["param"] = param
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def invalid(param: str | None, message: str, code: str = "invalid_parameters") -> JSONResponse:
    return api_error(400, code, message, "invalid_request_error", param)


def files_ok(data: Any, msg: str = "success") -> JSONResponse:
    return JSONResponse({"success": True, "code": 200, "msg": msg, "data": data})


def files_error(code: int, msg: str, headers: dict | None = None) -> JSONResponse:
    if code >= 10000:
        status = 500 if code >= 50000 else 400 if code // 100 == 400 else code // 100
    else:
        status = code
    return JSONResponse({"success": False, "code": code, "msg": msg, "data": None}, status_code=status, headers=headers)


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- state


@dataclass
class SimTask:
    id: str
    created: int
    started: float
    model: str
    prompt: str
    size: str | None
    n: int
    duration: float
    credits: float
    fail_code: str | None = None
    image_urls: list[str] = field(default_factory=list)
    mask_url: str | None = None
    api_key: str = ""
    idempotency_key: str | None = None

    def phase(self, now: float) -> tuple[str, int, int]:
        """(status, progress, estimated seconds left) at ``now``."""
        elapsed = now - self.started
        end = self.duration * (FAIL_AT if self.fail_code else 1.0)
        if elapsed >= end:
            return ("failed" if self.fail_code else "completed"), (100 if not self.fail_code else int(100 * FAIL_AT)), 0
        remaining = max(1, math.ceil(self.duration - max(0.0, elapsed)))
        if elapsed < self.duration * PENDING_SHARE:
            return "pending", 0, remaining
        progress = int(100 * elapsed / self.duration)
        return "processing", max(1, min(99, progress)), remaining

    @property
    def finished_at(self) -> float:
        return self.started + self.duration * (FAIL_AT if self.fail_code else 1.0)

    @property
    def expires(self) -> int:
        return int(math.ceil(self.finished_at)) + RESULT_TTL

    @property
    def extension(self) -> str:
        return model_extension(self.model)

    def result_urls(self, base: str) -> list[str]:
        return [f"{base}/results/{self.id}/{i}.{self.extension}?expires={self.expires}" for i in range(self.n)]

    def to_json(self, now: float, base: str, *, summary: bool = False) -> dict:
        status, progress, eta = self.phase(now)
        data: dict[str, Any] = {
            "id": self.id,
            "created": self.created,
            "model": self.model,
            "object": "image.generation.task",
            "type": "image",
            "status": status,
            "progress": progress,
            "results": [],
            "task_info": {"can_cancel": status in ("pending", "processing"), "estimated_time": eta},
            "usage": {"billing_rule": "per_call", "credits_reserved": self.credits, "user_group": "default"},
        }
        if status == "completed" and not summary:
            urls = self.result_urls(base)
            data["results"] = urls
            data["result_data"] = [{"image_url": url} for url in urls]
        if status == "failed":
            data["error"] = task_error(self.fail_code or "unknown_error")
        if summary:
            data.pop("results")
        return data


@dataclass
class SimFile:
    file_id: str
    file_name: str
    original_name: str
    data: bytes
    mime_type: str
    upload_path: str
    upload_time: float
    seq: int

    @property
    def expires_at(self) -> float:
        return self.upload_time + FILE_TTL

    def url(self, base: str) -> str:
        return f"{base}/files/{self.file_id}/{quote(self.file_name, safe='')}"

    def to_json(self, base: str) -> dict:
        url = self.url(base)
        return {
            "file_id": self.file_id,
            "file_name": self.file_name,
            "original_name": self.original_name,
            "file_size": len(self.data),
            "mime_type": self.mime_type,
            "upload_path": self.upload_path,
            "file_url": url,
            "download_url": url + "?download=1",
            "upload_time": iso(self.upload_time),
            "expires_at": iso(self.expires_at),
        }


class SimState:
    """Everything the simulator knows; tests read and tweak it directly."""

    def __init__(self, *, clock: SimClock, faults: FaultPlan, api_keys: frozenset[str] | None,
                 image_long_side: int, speed: float, max_files: int, max_file_size: int = MAX_FILE_SIZE,
                 balance: float = DEFAULT_BALANCE):
        self.clock = clock
        self.api_keys = api_keys
        self.image_long_side = int(image_long_side)
        self.speed = float(speed)
        self._initial = dict(faults=faults.spec(), max_files=max_files, max_file_size=max_file_size, balance=balance)
        self.catalogue = load_catalogue()
        self.reset()

    def reset(self) -> None:
        """Forget every task, file and request; restore the faults and limits given at creation."""
        self.faults: FaultPlan = FaultPlan.parse(self._initial["faults"])
        self.max_files: int = self._initial["max_files"]
        self.max_file_size: int = self._initial["max_file_size"]
        self.balance: float = self._initial["balance"]
        self.tasks: dict[str, SimTask] = {}
        self.files: dict[str, SimFile] = {}
        self.requests: list[dict] = []
        self.charges: int = 0
        self.credits_charged: float = 0.0
        self.idempotency: dict[tuple[str, str], str] = {}
        self.images: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._seq = 0

    # ---- queries
    def now(self) -> float:
        return self.clock.now()

    def count(self, endpoint: str | None = None) -> int:
        """Requests that hit ``endpoint`` (a name such as "submit", or "api"/"files"/"download"); None = all."""
        if endpoint is None or endpoint == "all":
            return len(self.requests)
        scope = GROUPS.get(endpoint, frozenset({endpoint}))
        return sum(1 for r in self.requests if r.get("endpoint") in scope)

    @property
    def remaining_credits(self) -> float:
        return round(self.balance - self.credits_charged, 4)

    def duration(self, model: Model) -> float:
        return DURATIONS.get(model.speed, DURATIONS["normal"]) / self.speed

    def key_ok(self, token: str | None) -> bool:
        if not token:
            return False
        if self.api_keys is not None:
            return token in self.api_keys
        return token.startswith("sk-") and len(token) > 3

    def purge_files(self) -> None:
        now = self.now()
        for file_id in [f.file_id for f in self.files.values() if f.expires_at <= now]:
            del self.files[file_id]

    def live_files(self) -> list[SimFile]:
        self.purge_files()
        return sorted(self.files.values(), key=lambda f: (f.upload_time, f.seq), reverse=True)

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def new_task_id(self, created: int) -> str:
        while True:
            task_id = f"task-unified-{created}-{''.join(secrets.choice(_ALNUM) for _ in range(8))}"
            if task_id not in self.tasks:
                return task_id

    def new_file_id(self) -> str:
        while True:
            file_id = f"file_{secrets.token_hex(10)}"
            if file_id not in self.files:
                return file_id


# --------------------------------------------------------------------------- auth


def _bearer(request: Request) -> tuple[bool, str | None]:
    header = request.headers.get("authorization")
    if header is None:
        return False, None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return True, None
    return True, token.strip()


def _auth_api(request: Request) -> tuple[str | None, Response | None]:
    sim: SimState = request.app.state.sim
    present, token = _bearer(request)
    if sim.key_ok(token):
        return token, None
    message = ("Missing API key: send 'Authorization: Bearer <EVOLINK_API_KEY>'" if not present
               else "Invalid API key: the bearer token was not accepted")
    return None, api_error(401, 401, message, "authentication_error")


def _auth_files(request: Request) -> tuple[str | None, Response | None]:
    sim: SimState = request.app.state.sim
    present, token = _bearer(request)
    if sim.key_ok(token):
        return token, None
    message = ("Unauthorized: missing 'Authorization: Bearer <EVOLINK_API_KEY>' header" if not present
               else "Unauthorized: invalid API key")
    return None, files_error(401, message)


# --------------------------------------------------------------------------- generation host


def _validate(sim: SimState, body: dict) -> tuple[dict | None, Response | None]:
    catalogue = sim.catalogue
    model_id = body.get("model", catalogue.default.id)
    if model_id is None:
        model_id = catalogue.default.id
    if not isinstance(model_id, str) or model_id not in catalogue:
        return None, invalid("model", f"model {_short(model_id)!s} is not supported; use one of: {', '.join(catalogue.ids())}",
                             "model_not_found" if isinstance(model_id, str) else "invalid_parameters")
    model = catalogue.get(model_id)
    prompt = body.get("prompt")
    if prompt is None or (isinstance(prompt, str) and not prompt.strip()):
        return None, invalid("prompt", "prompt is required (a description of the image, at most 2000 characters)")
    if not isinstance(prompt, str):
        return None, invalid("prompt", f"prompt must be a string, got {_short(prompt)}")
    if len(prompt) > MAX_PROMPT:
        return None, invalid("prompt", f"prompt is {len(prompt)} characters; the maximum is {MAX_PROMPT}")
    n = body.get("n", 1)
    if n is None:
        n = 1
    if isinstance(n, bool) or not isinstance(n, int):
        if isinstance(n, float) and n.is_integer():
            n = int(n)
        else:
            return None, invalid("n", f"n = {_short(n)} is not an integer; model {model.id} allows {model.n_min}-{model.n_max}")
    if not model.n_min <= n <= model.n_max:
        return None, invalid("n", f"n = {n} is out of range; model {model.id} allows {model.n_min}-{model.n_max}")
    size = body.get("size")
    if size is not None:
        if not isinstance(size, str) or size not in model.all_sizes:
            hint = "" if model.pixel_sizes else " (pixel sizes such as 1024x1024 are only for gpt-4o-image)"
            return None, invalid("size", f"size {_short(size)} is not allowed for model {model.id}; "
                                         f"use one of: {', '.join(model.all_sizes)}{hint}")
    image_urls = body.get("image_urls")
    if image_urls is not None:
        if not isinstance(image_urls, list) or not all(isinstance(u, str) for u in image_urls):
            return None, invalid("image_urls", "image_urls must be a list of URL strings")
        if len(image_urls) > model.max_images:
            return None, invalid("image_urls", f"image_urls has {len(image_urls)} images; model {model.id} accepts at most {model.max_images}")
        for url in image_urls:
            if urlsplit(url).scheme not in ("http", "https"):
                return None, invalid("image_urls", f"image_urls entry {_short(url)} is not an http(s) URL")
    mask_url = body.get("mask_url")
    if mask_url is not None:
        if not model.mask:
            masked = [m.id for m in catalogue if m.mask]
            return None, invalid("mask_url", f"mask_url is not supported by model {model.id}; only by {', '.join(masked)}")
        if not isinstance(mask_url, str) or urlsplit(mask_url).scheme not in ("http", "https"):
            return None, invalid("mask_url", f"mask_url {_short(mask_url)} is not an http(s) URL")
    return {"model": model, "prompt": prompt, "n": n, "size": size, "image_urls": image_urls or [], "mask_url": mask_url}, None


async def submit(request: Request) -> Response:
    sim: SimState = request.app.state.sim
    token, denied = _auth_api(request)
    if denied:
        return denied
    raw = await request.body()
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return invalid(None, "the request body is not valid JSON", "invalid_request")
    if not isinstance(body, dict):
        return invalid(None, "the request body must be a JSON object", "invalid_request")
    now = sim.now()
    idem = (request.headers.get("idempotency-key") or "").strip() or None
    if idem and (token, idem) in sim.idempotency:
        task = sim.tasks.get(sim.idempotency[(token, idem)])
        if task is not None:
            return JSONResponse(task.to_json(now, _base(request)))
    params, error = _validate(sim, body)
    if error:
        return error
    model: Model = params["model"]
    cost = round(CREDITS_PER_IMAGE.get(model.id, DEFAULT_CREDITS_PER_IMAGE) * params["n"], 4)
    if cost > sim.remaining_credits:
        return api_error(402, 402, f"Insufficient credits: this request needs {cost}, {sim.remaining_credits} remain",
                         "insufficient_quota")
    fail_rule = sim.faults.take("fail", "submit")
    created = int(now)
    task = SimTask(
        id=sim.new_task_id(created), created=created, started=now, model=model.id, prompt=params["prompt"],
        size=params["size"], n=params["n"], duration=sim.duration(model), credits=cost,
        fail_code=fail_rule.code if fail_rule else None, image_urls=params["image_urls"],
        mask_url=params["mask_url"], api_key=token or "", idempotency_key=idem,
    )
    sim.tasks[task.id] = task
    sim.charges += 1
    sim.credits_charged = round(sim.credits_charged + cost, 4)
    if idem:
        sim.idempotency[(token, idem)] = task.id
    return JSONResponse(task.to_json(now, _base(request)))


async def get_task(request: Request) -> Response:
    sim: SimState = request.app.state.sim
    _, denied = _auth_api(request)
    if denied:
        return denied
    task_id = request.path_params["task_id"]
    task = sim.tasks.get(task_id)
    if task is None:
        return api_error(404, 404, f"Task not found: {_short(task_id)}", "not_found_error", "task_id")
    return JSONResponse(task.to_json(sim.now(), _base(request)))


async def list_tasks(request: Request) -> Response:
    sim: SimState = request.app.state.sim
    _, denied = _auth_api(request)
    if denied:
        return denied
    try:
        page = max(1, int(request.query_params.get("page", "1")))
        size = max(1, min(100, int(request.query_params.get("page_size", "20"))))
    except ValueError:
        return invalid("page", "page and page_size must be integers")
    now = sim.now()
    items = [t.to_json(now, "", summary=True) for t in sorted(sim.tasks.values(), key=lambda t: t.started, reverse=True)]
    for key in ("status", "model", "type"):
        wanted = request.query_params.get(key)
        if wanted:
            items = [i for i in items if str(i.get(key)) == wanted]
    start = (page - 1) * size
    return JSONResponse({"data": items[start:start + size], "total": len(items), "page": page, "page_size": size})


async def credits(request: Request) -> Response:
    sim: SimState = request.app.state.sim
    _, denied = _auth_api(request)
    if denied:
        return denied
    left = sim.remaining_credits
    return JSONResponse({"success": True, "data": {"user": {"remaining_credits": left}, "token": {"remaining_credits": left}}})


async def models(request: Request) -> Response:
    sim: SimState = request.app.state.sim
    _, denied = _auth_api(request)
    if denied:
        return denied
    return JSONResponse({"object": "list", "data": [{"id": m.id, "object": "model", "owned_by": "evolink"} for m in sim.catalogue]})


# --------------------------------------------------------------------------- downloads


async def _result_bytes(sim: SimState, task: SimTask, index: int) -> bytes:
    key = (task.id, index)
    data = sim.images.get(key)
    if data is None:
        data = await run_in_threadpool(render_image, task.prompt, task.model, task.size, index, sim.image_long_side)
        sim.images[key] = data
        while len(sim.images) > 128:
            sim.images.popitem(last=False)
    else:
        sim.images.move_to_end(key)
    return data


def _expired() -> Response:
    return Response(EXPIRED_BODY, status_code=403, media_type="application/xml")


def _lookup_result(sim: SimState, path: str) -> tuple[SimTask, int] | None:
    match = _RESULT_PATH.match(path)
    if not match:
        return None
    task = sim.tasks.get(match["task"])
    index = int(match["index"])
    if task is None or index >= task.n or match["ext"] != task.extension:
        return None
    if task.phase(sim.now())[0] != "completed":
        return None
    return task, index


async def get_result(request: Request) -> Response:
    sim: SimState = request.app.state.sim
    found = _lookup_result(sim, request.url.path)
    if found is None:
        return PlainTextResponse("Not Found", status_code=404)
    task, index = found
    try:
        expires = int(request.query_params.get("expires", ""))
    except ValueError:
        return _expired()
    if sim.now() > expires:
        return _expired()
    data = await _result_bytes(sim, task, index)
    return Response(data, media_type=model_mime(task.model), headers={"Cache-Control": "public, max-age=86400"})


async def get_file(request: Request) -> Response:
    sim: SimState = request.app.state.sim
    sim.purge_files()
    item = sim.files.get(request.path_params["file_id"])
    if item is None:
        return PlainTextResponse("Not Found", status_code=404)
    headers = {}
    if request.query_params.get("download"):
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(item.file_name, safe='')}"
    return Response(item.data, media_type=item.mime_type, headers=headers)


# --------------------------------------------------------------------------- files host


_BAD_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")


def _clean_name(name: str | None) -> str:
    if not name:
        return ""
    name = posixpath.basename(str(name).replace("\\", "/"))
    return _BAD_NAME.sub("_", name).strip()[:200]


def _clean_path(path: Any) -> str:
    if not isinstance(path, str):
        return ""
    parts = [_BAD_NAME.sub("_", p).strip() for p in path.replace("\\", "/").split("/")]
    return "/".join(p for p in parts if p and p not in (".", ".."))[:200]


def _store(request: Request, data: bytes, original_name: str | None, upload_path: Any, file_name: Any) -> Response:
    sim: SimState = request.app.state.sim
    if len(data) > sim.max_file_size:
        return files_error(40001, f"File too large: {len(data)} bytes; the maximum is {sim.max_file_size // (1024 * 1024)} MB")
    if not data:
        return files_error(400, "The file is empty")
    kind = sniff(data)
    if kind is None:
        return files_error(40002, "File type not allowed: only JPEG, PNG, GIF and WebP images are accepted")
    ext, mime = kind
    upload_path = _clean_path(upload_path)
    original = _clean_name(original_name)
    name = _clean_name(file_name if isinstance(file_name, str) else None) or original
    now = sim.now()
    sim.purge_files()
    existing = next((f for f in sim.files.values() if name and f.file_name == name and f.upload_path == upload_path), None)
    if existing is not None:
        existing.data, existing.mime_type, existing.upload_time = data, mime, now
        existing.original_name = original or existing.original_name
        existing.seq = sim.next_seq()
        return files_ok(existing.to_json(_base(request)), "File uploaded (replaced the file with the same name)")
    if len(sim.files) >= sim.max_files:
        return files_error(40003, f"Quota exceeded: {len(sim.files)} of {sim.max_files} files used; delete files to free quota")
    file_id = sim.new_file_id()
    name = name or f"{file_id}.{ext}"
    item = SimFile(file_id=file_id, file_name=name, original_name=original or name, data=data, mime_type=mime,
                   upload_path=upload_path, upload_time=now, seq=sim.next_seq())
    sim.files[file_id] = item
    return files_ok(item.to_json(_base(request)), "File uploaded")


def _too_big_body(request: Request, factor: float) -> bool:
    sim: SimState = request.app.state.sim
    try:
        length = int(request.headers.get("content-length", "0"))
    except ValueError:
        return False
    return length > sim.max_file_size * factor + 1024 * 1024


def parse_multipart(body: bytes, content_type: str) -> dict[str, tuple[str | None, str | None, bytes]]:
    """``{name: (filename, content type, bytes)}`` from a multipart/form-data body."""
    match = re.search(r'boundary="?([^";]+)"?', content_type or "", re.I)
    if not content_type.lower().startswith("multipart/form-data") or not match:
        raise ValueError("not a multipart/form-data body")
    delimiter = b"\r\n--" + match.group(1).encode("latin-1")
    chunks = (b"\r\n" + body).split(delimiter)
    parts: dict[str, tuple[str | None, str | None, bytes]] = {}
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        _, _, chunk = chunk.partition(b"\r\n")  # the rest of the boundary line
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name = re.search(r'(?:^|;)\s*name="([^"]*)"', disposition)
        filename = re.search(r'(?:^|;)\s*filename="([^"]*)"', disposition)
        filename_star = re.search(r"filename\*=(?:UTF-8'')?([^;]+)", disposition, re.I)
        if not name:
            continue
        fname = unquote(filename_star.group(1).strip()) if filename_star else (filename.group(1) if filename else None)
        parts[name.group(1)] = (fname, headers.get("content-type"), content)
    return parts


async def upload_stream(request: Request) -> Response:
    _, denied = _auth_files(request)
    if denied:
        return denied
    if _too_big_body(request, 1.0):
        sim: SimState = request.app.state.sim
        return files_error(40001, f"File too large: the maximum is {sim.max_file_size // (1024 * 1024)} MB")
    body = await request.body()
    try:
        parts = parse_multipart(body, request.headers.get("content-type", ""))
    except ValueError as exc:
        return files_error(400, f"Bad request: {exc}; send the file as multipart/form-data part 'file'")
    if "file" not in parts:
        return files_error(400, "Bad request: the multipart part 'file' is missing")
    filename, _, data = parts["file"]

    def text(key: str) -> str | None:
        part = parts.get(key)
        return part[2].decode("utf-8", "replace") if part else None

    return _store(request, data, filename, text("uploadPath") or text("upload_path"), text("fileName") or text("file_name"))


async def _json_body(request: Request) -> tuple[dict | None, Response | None]:
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        return None, files_error(400, "Bad request: the body is not valid JSON")
    if not isinstance(body, dict):
        return None, files_error(400, "Bad request: the body must be a JSON object")
    return body, None


async def upload_base64(request: Request) -> Response:
    _, denied = _auth_files(request)
    if denied:
        return denied
    sim: SimState = request.app.state.sim
    if _too_big_body(request, 1.4):
        return files_error(40001, f"File too large: the maximum is {sim.max_file_size // (1024 * 1024)} MB")
    body, error = await _json_body(request)
    if error:
        return error
    raw = body.get("base64_data")
    if not isinstance(raw, str) or not raw.strip():
        return files_error(400, "Bad request: base64_data is required")
    raw = raw.strip()
    if raw.startswith("data:"):
        header, sep, raw = raw.partition(",")
        if not sep or ";base64" not in header:
            return files_error(400, "Bad request: base64_data is a data URL without ';base64,'")
    try:
        data = base64.b64decode("".join(raw.split()), validate=True)
    except (binascii.Error, ValueError):
        return files_error(400, "Bad request: base64_data is not valid base64")
    return _store(request, data, body.get("file_name"), body.get("upload_path"), body.get("file_name"))


async def upload_url(request: Request) -> Response:
    _, denied = _auth_files(request)
    if denied:
        return denied
    sim: SimState = request.app.state.sim
    body, error = await _json_body(request)
    if error:
        return error
    url = body.get("file_url")
    if not isinstance(url, str) or not url.strip():
        return files_error(400, "Bad request: file_url is required")
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return files_error(40004, f"URL download failed: {_short(url)} is not an http(s) URL")
    host = parts.hostname.lower()
    own = parts.netloc.lower() == request.url.netloc.lower() or host.endswith(".invalid")
    data: bytes | None = None
    if parts.path.startswith("/results/"):
        found = _lookup_result(sim, parts.path)
        if found:
            expires = re.search(r"(?:^|&)expires=(\d+)", parts.query or "")
            if expires and sim.now() > int(expires.group(1)):
                return files_error(40004, "URL download failed: HTTP 403 (Request has expired)")
            data = await _result_bytes(sim, *found)
    elif parts.path.startswith("/files/"):
        match = _FILE_PATH.match(parts.path)
        sim.purge_files()
        item = sim.files.get(match["file"]) if match else None
        if item is not None:
            data = item.data
    if data is None:
        if own or "missing" in parts.path.lower():
            return files_error(40004, f"URL download failed: HTTP 404 from {_short(url)}")
        ext = posixpath.splitext(parts.path)[1].lower().lstrip(".")
        fmt = {"jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP", "gif": "GIF"}.get(ext, "PNG")
        data = await run_in_threadpool(render_image, url, "url-upload", "1:1", 0, min(512, sim.image_long_side), fmt)
    original = posixpath.basename(unquote(parts.path)) or "download"
    return _store(request, data, original, body.get("upload_path"), body.get("file_name"))


async def list_files(request: Request) -> Response:
    _, denied = _auth_files(request)
    if denied:
        return denied
    sim: SimState = request.app.state.sim
    query = request.query_params
    try:
        page = int(query.get("page") or 1)
        size = int(query.get("pageSize") or query.get("page_size") or 20)
    except ValueError:
        return files_error(400, "Bad request: page and pageSize must be integers")
    page, size = max(1, page), max(1, min(100, size))
    files = sim.live_files()
    start = (page - 1) * size
    base = _base(request)
    return files_ok({"total": len(files), "page": page, "page_size": size,
                     "files": [f.to_json(base) for f in files[start:start + size]]})


async def quota(request: Request) -> Response:
    _, denied = _auth_files(request)
    if denied:
        return denied
    sim: SimState = request.app.state.sim
    used = len(sim.live_files())
    return files_ok({"user_group": "default", "used_files": used, "max_files": sim.max_files,
                     "remain_files": max(0, sim.max_files - used)})


async def delete_file(request: Request) -> Response:
    _, denied = _auth_files(request)
    if denied:
        return denied
    sim: SimState = request.app.state.sim
    sim.purge_files()
    file_id = request.path_params["file_id"]
    if sim.files.pop(file_id, None) is None:
        return files_error(404, f"File not found: {_short(file_id)}")
    return files_ok({"file_id": file_id}, "File deleted")


# --------------------------------------------------------------------------- faults


class FaultMiddleware:
    """Records every request and applies the fault plan around the routes."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sim: SimState = scope["app"].state.sim
        method, path = scope["method"], scope["path"]
        endpoint = classify(method, path)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        sim.requests.append({
            "method": method, "path": path,
            "query": dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)),
            "host": headers.get("host", ""), "endpoint": endpoint,
            "authorization": "authorization" in headers,
            "idempotency_key": headers.get("idempotency-key"), "user_agent": headers.get("user-agent"),
            "time": sim.now(),
        })
        plan = sim.faults
        if endpoint is None or not plan:
            await self.app(scope, receive, send)
            return

        slow = plan.take("slow", endpoint)
        if slow is not None:
            await asyncio.sleep(slow.seconds or 0)
        rule = plan.take(is_terminal, endpoint)
        if rule is not None:
            await self._answer_fault(rule, endpoint, scope, receive, send)
            return
        rule = plan.match(("drop-after", "truncate"), endpoint)
        if rule is None:
            await self.app(scope, receive, send)
            return

        messages: list[dict] = []

        async def capture(message):
            messages.append(message)

        await self.app(scope, receive, capture)
        start = next((m for m in messages if m["type"] == "http.response.start"), None)
        if start is None or not 200 <= start["status"] < 300 or not plan.consume(rule):
            for message in messages:
                await send(message)
            return
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        await send(start)
        await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        raise DroppedConnection(f"simulated {rule.kind}: connection cut after {len(body) // 2} of {len(body)} bytes")

    async def _answer_fault(self, rule, endpoint, scope, receive, send) -> None:
        if rule.kind == "drop":
            partial = b'{"id": "task-' if endpoint in API_ENDPOINTS else b'{"success": true, "co'
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", b"512")]})
            await send({"type": "http.response.body", "body": partial, "more_body": True})
            raise DroppedConnection("simulated drop: connection cut before a complete answer")
        if rule.kind == "malformed":
            text = '{"id": "task-' if endpoint in API_ENDPOINTS else '{"success": true, "code": 200, "data": {"file_id": "'
            response: Response = Response(text, status_code=200, media_type="application/json")
        elif rule.kind == "expired":
            response = _expired()
        elif is_file_code(rule.kind):
            code = int(rule.kind)
            message = FILE_CODE_TEXT.get(code, "File service error")
            response = JSONResponse({"success": False, "code": code, "msg": message, "data": None}, status_code=200)
        else:
            status = int(rule.kind)
            headers = {}
            if rule.seconds is not None:
                seconds = rule.seconds
                headers["Retry-After"] = str(int(seconds) if float(seconds).is_integer() else seconds)
            message, kind = STATUS_FAULT_TEXT.get(status, (HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_
                                                            else f"HTTP {status}", "api_error"))
            if endpoint in FILES_ENDPOINTS:
                response = files_error(status, message, headers)
            elif endpoint in API_ENDPOINTS:
                response = api_error(status, status, message, kind, headers=headers)
            else:
                response = PlainTextResponse(message, status_code=status, headers=headers)
        await response(scope, receive, send)


# --------------------------------------------------------------------------- factory


async def _not_found(request: Request, exc) -> Response:
    path = request.url.path
    if path.startswith("/api/"):
        return files_error(404, f"Not found: {path}")
    if path.startswith("/v1/"):
        return api_error(404, 404, f"Not found: {request.method} {path}", "not_found_error")
    return PlainTextResponse("Not Found", status_code=404)


async def _not_allowed(request: Request, exc) -> Response:
    path = request.url.path
    if path.startswith("/api/"):
        return files_error(405, f"Method {request.method} not allowed on {path}")
    if path.startswith("/v1/"):
        return api_error(405, 405, f"Method {request.method} not allowed on {path}", "invalid_request_error")
    return PlainTextResponse("Method Not Allowed", status_code=405)


def create_app(
    *,
    clock: SimClock | None = None,
    faults: FaultPlan | str | None = None,
    api_keys: Iterable[str] | str | None = None,
    image_long_side: int | None = None,
    speed: float | None = None,
    max_files: int = 100,
    max_file_size: int = MAX_FILE_SIZE,
    environ: dict | None = None,
) -> Starlette:
    """The simulator app. Unset options come from ``EVOLINK_SIM_*`` environment variables.

    ``api_keys``: the accepted keys; None = ``EVOLINK_SIM_API_KEY`` if set, else any
    bearer key starting ``sk-``. ``faults``: a FaultPlan or spec; None = ``EVOLINK_SIM_FAULTS``.
    """
    env = os.environ if environ is None else environ
    if faults is None:
        faults = FaultPlan.from_env(env)
    elif isinstance(faults, str):
        faults = FaultPlan.parse(faults)
    if isinstance(api_keys, str):
        api_keys = [api_keys]
    if api_keys is None:
        single = (env.get("EVOLINK_SIM_API_KEY") or "").strip()
        keys = frozenset({single}) if single else None
    else:
        keys = frozenset(k for k in api_keys if k)
    if speed is None:
        speed = _env_float("EVOLINK_SIM_SPEED", 1.0, env)
    elif not speed > 0:
        raise ValueError(f"speed must be a positive number, got {speed!r}")
    if image_long_side is None:
        image_long_side = int(_env_float("EVOLINK_SIM_IMAGE_SIZE", 1024, env))
    image_long_side = max(16, min(4096, int(image_long_side)))

    routes = [
        Route("/v1/images/generations", submit, methods=["POST"]),
        Route("/v1/tasks/{task_id}", get_task, methods=["GET"]),
        Route("/v1/tasks", list_tasks, methods=["GET"]),
        Route("/v1/credits", credits, methods=["GET"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/api/v1/files/upload/stream", upload_stream, methods=["POST"]),
        Route("/api/v1/files/upload/base64", upload_base64, methods=["POST"]),
        Route("/api/v1/files/upload/url", upload_url, methods=["POST"]),
        Route("/api/v1/files/list", list_files, methods=["GET"]),
        Route("/api/v1/files/quota", quota, methods=["GET"]),
        Route("/api/v1/files/{file_id}", delete_file, methods=["DELETE"]),
        Route("/results/{task_id}/{name}", get_result, methods=["GET"]),
        Route("/files/{file_id}/{name}", get_file, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(FaultMiddleware)],
        exception_handlers={404: _not_found, 405: _not_allowed},
    )
    app.state.sim = SimState(
        clock=clock or SimClock(), faults=faults, api_keys=keys, image_long_side=image_long_side,
        speed=float(speed), max_files=int(max_files), max_file_size=int(max_file_size),
    )
    return app


__all__ = ["create_app", "SimState", "SimTask", "SimFile", "classify", "parse_multipart"]
