"""Files-host routes (``/api/v1/files/...``): uploads (multipart stream, base64, URL),
list, quota and delete, plus the multipart/form-data parser the stream upload uses."""

from __future__ import annotations

import base64
import binascii
import json
import posixpath
import re
from typing import Any
from urllib.parse import unquote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from .auth import _auth_files
from .downloads import _FILE_PATH, _lookup_result, _result_bytes
from .images import render_image, sniff
from .responses import _base, _short, files_error, files_ok
from .state import SimFile, SimState

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
        return files_error(
            40001, f"File too large: {len(data)} bytes; the maximum is {sim.max_file_size // (1024 * 1024)} MB"
        )
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
    with sim.writing():  # with a store: the same-name check and the quota on the latest state
        sim.purge_files()
        existing = next(
            (f for f in sim.files.values() if name and f.file_name == name and f.upload_path == upload_path), None
        )
        if existing is not None:
            existing.data, existing.mime_type, existing.upload_time = data, mime, now
            existing.original_name = original or existing.original_name
            existing.seq = sim.next_seq()
            sim.put_file(existing)
            return files_ok(existing.to_json(_base(request)), "File uploaded (replaced the file with the same name)")
        if len(sim.files) >= sim.max_files:
            return files_error(
                40003, f"Quota exceeded: {len(sim.files)} of {sim.max_files} files used; delete files to free quota"
            )
        file_id = sim.new_file_id()
        name = name or f"{file_id}.{ext}"
        item = SimFile(
            file_id=file_id,
            file_name=name,
            original_name=original or name,
            data=data,
            mime_type=mime,
            upload_path=upload_path,
            upload_time=now,
            seq=sim.next_seq(),
        )
        sim.put_file(item)
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

    return _store(
        request, data, filename, text("uploadPath") or text("upload_path"), text("fileName") or text("file_name")
    )


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
    assert body is not None  # no error: a JSON object
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
    assert body is not None  # no error: a JSON object
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
    return files_ok(
        {
            "total": len(files),
            "page": page,
            "page_size": size,
            "files": [f.to_json(base) for f in files[start : start + size]],
        }
    )


async def quota(request: Request) -> Response:
    _, denied = _auth_files(request)
    if denied:
        return denied
    sim: SimState = request.app.state.sim
    used = len(sim.live_files())
    return files_ok(
        {
            "user_group": "default",
            "used_files": used,
            "max_files": sim.max_files,
            "remain_files": max(0, sim.max_files - used),
        }
    )


async def delete_file(request: Request) -> Response:
    _, denied = _auth_files(request)
    if denied:
        return denied
    sim: SimState = request.app.state.sim
    file_id = request.path_params["file_id"]
    with sim.writing():
        sim.purge_files()
        if sim.drop_file(file_id) is None:
            return files_error(404, f"File not found: {_short(file_id)}")
    return files_ok({"file_id": file_id}, "File deleted")
