"""Errors, and the reference's error tables as data (``errors.toml``).

Every failure the user can meet is an :class:`EvolinkError` carrying the code, the
server's own message, what the code means, whether a retry helps and what to do.
Bad input found before anything is sent is a :class:`ValidationError` instead.
"""

from __future__ import annotations

import os
from collections import namedtuple
from functools import lru_cache

from .text import one_line

# What an error code means (str), whether a retry may help (bool), what to do (str). A
# collections.namedtuple, not typing's NamedTuple nor a dataclass: every headless command
# imports this module, and typing (or dataclasses) would cost it several milliseconds.
ErrorInfo = namedtuple("ErrorInfo", ("meaning", "retryable", "resolution"))


# Unknown codes get these defaults: a 5xx is worth retrying, a 4xx is not.
_UNKNOWN_CLIENT = ErrorInfo("Request refused by the server", False, "Check the request; see the message above")
_UNKNOWN_SERVER = ErrorInfo("Server error", True, "Retry after 1 minute")
_UNKNOWN_TASK = ErrorInfo("Unclassified error", True, "Retry; contact support if persistent")


@lru_cache(maxsize=1)
def error_tables() -> dict[str, dict[str, ErrorInfo]]:
    # Beside this module; not through importlib.resources, which costs the app a millisecond to start.
    import tomllib  # deferred: a command that meets no error never parses the tables

    with open(os.path.join(os.path.dirname(__file__), "errors.toml"), encoding="utf-8") as file:
        text = file.read()
    raw = tomllib.loads(text)
    return {kind: {str(code): ErrorInfo(**entry) for code, entry in table.items()} for kind, table in raw.items()}


def lookup(kind: str, code: object) -> ErrorInfo:
    """What ``code`` means in table ``kind`` ("http", "task", "file" or "local")."""
    table = error_tables().get(kind, {})
    key = str(code).strip() if code is not None else ""
    if key in table:
        return table[key]
    if kind == "task":
        return table.get("unknown_error", _UNKNOWN_TASK)
    number = _as_int(key)
    if number is not None and number >= 10000:
        # Five-digit Files API codes follow the HTTP class of their first three digits.
        number //= 100
        cls = table.get(str(number))
        if cls:
            return cls
    if number is not None and number >= 500:
        return _UNKNOWN_SERVER
    return _UNKNOWN_CLIENT


def _as_int(text: str) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


class EvolinkError(Exception):
    """A failure from the API, a task, the Files API or the network.

    kind: "http" (non-2xx from the generation host), "task" (a failed task),
    "file" (a Files API error), or "local" (network, malformed answer, expired URL,
    download, timeout).
    """

    def __init__(
        self,
        kind: str,
        code: object,
        message: str = "",
        *,
        status: int | None = None,
        retry_after: float | None = None,
        request_id: str | None = None,
        task_id: str | None = None,
        error_type: str | None = None,
        param: str | None = None,
        server_code: object = None,
    ):
        self.kind = kind
        self.code = code
        self.message = message or ""
        self.status = status
        self.retry_after = retry_after
        self.request_id = request_id
        self.task_id = task_id
        self.error_type = error_type
        self.param = param
        self.server_code = server_code
        self.info = lookup(kind, code)
        super().__init__(self.summary())

    @property
    def retryable(self) -> bool:
        return self.info.retryable

    @property
    def resolution(self) -> str:
        return self.info.resolution

    @property
    def meaning(self) -> str:
        return self.info.meaning

    def summary(self) -> str:
        """One line: code, meaning and the server's message."""
        head = f"{one_line(self.code)}: {self.info.meaning}"
        if self.message and self.message != self.info.meaning:
            head += f" ({one_line(self.message)})"  # a server's message never makes lines of its own
        return head

    def explain(self) -> str:
        """The full human message: summary, retry advice and resolution."""
        retry = "a retry may help" if self.retryable else "retrying will not help"
        lines = [f"Error {self.summary()}", f"Retry: {retry}. What to do: {self.resolution}."]
        if self.param:
            lines.insert(1, f"Parameter: {one_line(self.param)}")
        if self.server_code not in (None, "", self.code):
            lines.insert(1, f"Server code: {one_line(self.server_code)}")
        if self.task_id:
            lines.append(f"Task: {one_line(self.task_id)}")
        if self.request_id:
            lines.append(f"Request id: {one_line(self.request_id)}")
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "code": self.code,
            "message": self.message,
            "meaning": self.info.meaning,
            "retryable": self.retryable,
            "resolution": self.resolution,
            "status": self.status,
            "server_code": self.server_code,
            "task_id": self.task_id,
            "request_id": self.request_id,
        }


class ValidationError(ValueError):
    """Bad input found before anything was sent: names the field, value and what is allowed."""

    def __init__(self, field: str, value: object, allowed: str, *, shown: str | None = None):
        self.field = field
        self.value = value
        self.allowed = allowed
        if shown is None:
            shown = str(value) if isinstance(value, (int, float)) else repr(_shorten(str(value)))
        super().__init__(f"Invalid {field}: {shown}. Allowed: {allowed}.")

    def to_json(self) -> dict:
        return {
            "kind": "validation",
            "field": self.field,
            "value": _shorten(str(self.value)),
            "allowed": self.allowed,
            "message": str(self),
        }


def _shorten(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters in the middle, so both ends stay readable: the
    start of a prompt, the file name at the end of a long path."""
    if len(text) <= limit:
        return text
    tail = (limit - 1) // 2
    return text[: limit - 1 - tail] + "…" + text[-tail:]


def describe(error: BaseException) -> str:
    """Any failure as the user reads it: ours from the error catalogue (code, meaning, retry
    advice, resolution), bad input as what was wrong (nothing sent), a file error with its
    path. Not yet made inert: views pass it through ``text.inert``."""
    if isinstance(error, EvolinkError):
        return error.explain()
    if isinstance(error, ValidationError):
        return f"Nothing was sent. {error}"
    if isinstance(error, OSError):
        return f"{error.strerror or error}: {error.filename or ''}".strip(": ")
    return f"{type(error).__name__}: {error}"


def summary(error: BaseException | dict | None) -> str:
    """One line for any failure, or for one as recorded (``to_json()``): code, meaning and
    the server's message."""
    if isinstance(error, EvolinkError):
        return error.summary()
    if isinstance(error, BaseException):
        return str(error)
    if not error:
        return ""
    code, meaning, message = error.get("code", ""), error.get("meaning") or "", error.get("message") or ""
    text = f"{code}: {meaning}" if meaning else str(code)
    if message and message != meaning:
        text += f" ({message})"
    return text
