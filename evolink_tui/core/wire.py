"""Typed results and tolerant parsers for what the Evolink hosts send.

Parsers never crash on what a server may plausibly send: unknown fields are kept in
``raw``, unknown statuses are kept as strings, optional fields may be missing or of a
surprising type, ``error.code`` may be a string or a number and ``result_data`` a list
or a single object. Anything that is not even a JSON object raises
``EvolinkError("local", "malformed")``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .errors import EvolinkError
from .rules import TERMINAL_STATUSES


def _str(value: Any, default: str = "") -> str:
    if value is None:
        return default
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    return default


MAX_INT = 2**53  # beyond this no field is meaningful (and SQLite, JSON readers lose it)


def _int(value: Any, default: int | None = None) -> int | None:
    number = _float(value)
    if number is None or abs(number) > MAX_INT:
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(number)


def _float(value: Any, default: float | None = None) -> float | None:
    """A finite number from a number or a numeric string (``1e999``, ``NaN``: the default)."""
    if isinstance(value, bool):
        return default
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return default
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:  # an integer too large for a float
            return default
    if isinstance(value, float):
        return value if math.isfinite(value) else default
    return default


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def require_object(data: Any, what: str) -> dict:
    if not isinstance(data, dict):
        raise EvolinkError("local", "malformed", f"expected a JSON object for {what}, got {type(data).__name__}")
    return data


@dataclass(slots=True)
class TaskError:
    code: str
    message: str
    type: str

    def as_exception(self, task_id: str | None = None) -> EvolinkError:
        return EvolinkError(
            "task", self.code or "unknown_error", self.message, task_id=task_id, error_type=self.type or None
        )


@dataclass(slots=True)
class Task:
    id: str
    status: str
    model: str = ""
    progress: int = 0
    created: int | None = None
    results: list[str] = field(default_factory=list)
    estimated_time: int | None = None
    can_cancel: bool | None = None
    credits_reserved: float | None = None
    billing_rule: str = ""
    user_group: str = ""
    error: TaskError | None = None
    raw: dict = field(default_factory=dict)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def is_active(self) -> bool:
        """Still worth polling: pending, processing, or a status we do not know yet."""
        return not self.is_terminal

    @classmethod
    def parse(cls, data: Any) -> Task:
        data = require_object(data, "a task")
        task_id = _str(data.get("id")) or _str(data.get("task_id"))
        if not task_id:
            raise EvolinkError("local", "malformed", "the task object has no id")
        info = _dict(data.get("task_info"))
        usage = _dict(data.get("usage"))
        err = data.get("error")
        task_error = None
        if isinstance(err, dict):
            task_error = TaskError(_str(err.get("code")), _str(err.get("message")), _str(err.get("type")))
        elif isinstance(err, str) and err:
            task_error = TaskError("unknown_error", err, "")
        status = _str(data.get("status"), "unknown").strip().lower() or "unknown"
        if status == "canceled":
            status = "cancelled"
        progress = _int(data.get("progress"), 0) or 0
        return cls(
            id=task_id,
            status=status,
            model=_str(data.get("model")),
            progress=max(0, min(100, progress)),
            created=_int(data.get("created")),
            results=extract_result_urls(data),
            estimated_time=_int(info.get("estimated_time")),
            can_cancel=info.get("can_cancel") if isinstance(info.get("can_cancel"), bool) else None,
            credits_reserved=_float(usage.get("credits_reserved")),
            billing_rule=_str(usage.get("billing_rule")),
            user_group=_str(usage.get("user_group")),
            error=task_error,
            raw=data,
        )


def extract_result_urls(data: dict) -> list[str]:
    """Result URLs from ``results[]`` (strings) and ``result_data`` (list or single object)."""
    urls: list[str] = []
    results = data.get("results")
    if isinstance(results, str):
        results = [results]
    if isinstance(results, list):
        for item in results:
            if isinstance(item, str) and item:
                urls.append(item)
            elif isinstance(item, dict):
                url = _str(item.get("image_url") or item.get("url"))
                if url:
                    urls.append(url)
    result_data = data.get("result_data")
    if isinstance(result_data, dict):
        result_data = [result_data]
    if isinstance(result_data, list):
        for item in result_data:
            if isinstance(item, dict):
                url = _str(item.get("image_url") or item.get("url"))
                if url:
                    urls.append(url)
            elif isinstance(item, str) and item:
                urls.append(item)
    seen: set[str] = set()
    unique = []
    for url in urls:
        if url not in seen:
            seen.add(url)
            unique.append(url)
    return unique


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 (with or without Z) or unix seconds, as an aware UTC datetime."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(float(value), tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            number = _float(text)
            return parse_time(number) if number is not None else None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment
    return None


@dataclass(slots=True)
class FileInfo:
    file_id: str
    file_name: str = ""
    original_name: str = ""
    file_size: int | None = None
    mime_type: str = ""
    upload_path: str = ""
    file_url: str = ""
    download_url: str = ""
    upload_time: datetime | None = None
    expires_at: datetime | None = None
    raw: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Any) -> FileInfo:
        data = require_object(data, "a file")
        file_id = _str(data.get("file_id")) or _str(data.get("id"))
        if not file_id:
            raise EvolinkError("local", "malformed", "the file object has no file_id")
        return cls(
            file_id=file_id,
            file_name=_str(data.get("file_name")),
            original_name=_str(data.get("original_name")),
            file_size=_int(data.get("file_size")),
            mime_type=_str(data.get("mime_type")),
            upload_path=_str(data.get("upload_path")),
            file_url=_str(data.get("file_url")),
            download_url=_str(data.get("download_url")),
            upload_time=parse_time(data.get("upload_time")),
            expires_at=parse_time(data.get("expires_at")),
            raw=data,
        )

    @property
    def name(self) -> str:
        return self.file_name or self.original_name or self.file_id


@dataclass(slots=True)
class FilePage:
    files: list[FileInfo]
    total: int
    page: int
    page_size: int
    raw: dict = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // max(1, self.page_size)))

    @classmethod
    def parse(cls, data: Any, page: int, page_size: int) -> FilePage:
        data = data if isinstance(data, dict) else {"files": data if isinstance(data, list) else []}
        items = data.get("files") or data.get("list") or data.get("items") or []
        files = []
        for item in items if isinstance(items, list) else []:
            try:
                files.append(FileInfo.parse(item))
            except EvolinkError:
                continue  # an entry without a file_id cannot be acted on; skip it
        total = _int(data.get("total"), len(files))
        return cls(
            files=files,
            total=max(total or 0, len(files)),
            page=_int(data.get("page"), page) or page,
            page_size=_int(data.get("page_size") or data.get("pageSize"), page_size) or page_size,
            raw=data,
        )


@dataclass(slots=True)
class Quota:
    user_group: str
    used_files: int
    max_files: int
    remain_files: int
    raw: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Any) -> Quota:
        data = require_object(data, "the quota")
        used = _int(data.get("used_files"), 0) or 0
        maximum = _int(data.get("max_files"), 0) or 0
        remain = _int(data.get("remain_files"), max(0, maximum - used))
        return cls(_str(data.get("user_group")), used, maximum, remain if remain is not None else 0, raw=data)


def parse_files_envelope(body: Any, status: int) -> Any:
    """The Files API envelope ``{success, code, msg, data}``: data, or an EvolinkError.

    ``success: false`` inside an HTTP 200 is an error too.
    """
    if not isinstance(body, dict):
        raise EvolinkError("local", "malformed", "the Files API answer is not a JSON object", status=status)
    success = body.get("success")
    code = body.get("code")
    if success is False or (success is None and status >= 400):
        code_value = _int(code, status) if code is not None else status
        raise EvolinkError("file", code_value, _str(body.get("msg") or body.get("message")), status=status)
    return body.get("data")


def parse_http_error(body: Any, text: str, status: int, retry_after: float | None) -> EvolinkError:
    """A non-2xx answer from the generation host as an EvolinkError."""
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        message = _str(err.get("message"))
        fallback = _str(err.get("fallback_suggestion"))
        if fallback:
            message = f"{message} Suggestion: {fallback}".strip()
        return EvolinkError(
            "http",
            status,
            message,
            status=status,
            retry_after=retry_after,
            request_id=_str(err.get("request_id")) or _str(body.get("request_id")) or None,
            error_type=_str(err.get("type")) or None,
            param=_str(err.get("param")) or None,
            server_code=err.get("code") if isinstance(err.get("code"), (str, int)) else None,
        )
    if isinstance(err, str):
        return EvolinkError("http", status, err, status=status, retry_after=retry_after)
    if isinstance(body, dict) and (body.get("message") or body.get("msg")):
        return EvolinkError(
            "http", status, _str(body.get("message") or body.get("msg")), status=status, retry_after=retry_after
        )
    snippet = " ".join(text.split())[:200] if text else ""
    return EvolinkError("http", status, snippet, status=status, retry_after=retry_after)
