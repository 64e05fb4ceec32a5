"""Fault injection: a small spec language for making the simulator misbehave on purpose.

Spec: comma-separated rules ``KIND[:ARG][@ENDPOINT][*COUNT]``, e.g.
``429:2@submit*1, slow:0.5@poll, fail:content_policy_violation*1, truncate@download``.

KIND
    ``429`` (ARG = Retry-After seconds, default 1), ``500``, ``502``, ``503`` (ARG =
    optional Retry-After); in fact any HTTP status 400-599 (``400``, ``401``, ``402``,
    ``413``...: that status with the host's error shape); a 5-digit Files API code such as
    ``50001`` or ``40003`` (Files routes only: HTTP 200 with ``success: false`` and that
    code, the "error inside a 200" case); ``slow`` (ARG = seconds to wait before answering, default 1),
    ``drop`` (connection cut before a complete answer), ``drop-after`` (submit: the task
    is created and charged, then the connection is cut), ``malformed`` (HTTP 200 with a
    truncated JSON body), ``truncate`` (downloads: half the body, full Content-Length),
    ``fail`` (ARG = task error code, default ``service_error``: the task ends ``failed``),
    ``expired`` (downloads answer 403 "Request has expired"), ``dup-id`` (submit: the task
    is created and charged, but the answer carries the id of the oldest other task: one
    task id for two submits), ``bomb`` (ARG = ``MEGABYTES`` or ``MEGABYTESxLAYERS``, default
    ``1024``: an HTTP 200 whose small gzip body inflates to that many megabytes of spaces,
    gzipped LAYERS times: ``Content-Encoding: gzip, gzip``), ``trickle`` (ARG = seconds,
    default 5: the answer is sent one byte at a time, that long apart on the simulator's
    clock, until the client hangs up).
ENDPOINT
    ``submit``, ``poll``, ``upload``, ``list``, ``quota``, ``delete``, ``files`` (every
    Files API route), ``download`` (result and file downloads), ``api`` (every
    generation-host route), or omitted: every route the fault makes sense for.
COUNT
    apply to the first N matching requests (``fail``: the first N tasks), then stop.
    Omitted: every matching request.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field

# Endpoint names the simulator gives each request, and the groups a rule may name.
API_ENDPOINTS = frozenset({"submit", "poll", "tasks", "credits", "models"})
FILES_ENDPOINTS = frozenset({"upload", "list", "quota", "delete"})
DOWNLOAD_ENDPOINTS = frozenset({"download"})
ALL_ENDPOINTS = API_ENDPOINTS | FILES_ENDPOINTS | DOWNLOAD_ENDPOINTS
GROUPS = {
    "api": API_ENDPOINTS,
    "files": FILES_ENDPOINTS,
    "download": DOWNLOAD_ENDPOINTS,
}
RULE_ENDPOINTS = ("submit", "poll", "upload", "list", "quota", "delete", "files", "download", "api")

STATUS_KINDS = ("429", "500", "502", "503")
KINDS = STATUS_KINDS + (
    "slow",
    "drop",
    "drop-after",
    "malformed",
    "truncate",
    "fail",
    "expired",
    "dup-id",
    "bomb",
    "trickle",
)
# Kinds that answer in place of the route (checked in order of the plan).
TERMINAL_KINDS = frozenset({"drop", "malformed", "expired", "bomb"})


def is_http_status(kind: str) -> bool:
    """Any HTTP error status, 400-599, is a fault kind of its own."""
    return bool(re.fullmatch(r"[45]\d\d", kind))


def is_file_code(kind: str) -> bool:
    """A 5-digit Files API code (40001, 50001...): HTTP 200 with success false."""
    return bool(re.fullmatch(r"[1-9]\d{4}", kind))


def is_terminal(kind: str) -> bool:
    return kind in TERMINAL_KINDS or is_http_status(kind) or is_file_code(kind)


def _allowed(kind: str) -> frozenset[str]:
    if is_http_status(kind):
        return ALL_ENDPOINTS
    if is_file_code(kind):
        return FILES_ENDPOINTS
    return _ALLOWED[kind]


def _default(kind: str) -> frozenset[str]:
    return _DEFAULT.get(kind) or _allowed(kind)


# Where each kind may apply (explicit @ENDPOINT must fall inside), and where it applies
# when no endpoint is given.
_ALLOWED: dict[str, frozenset[str]] = {
    **{kind: ALL_ENDPOINTS for kind in STATUS_KINDS},
    "slow": ALL_ENDPOINTS,
    "drop": ALL_ENDPOINTS,
    "drop-after": frozenset({"submit", "upload"}),
    "malformed": API_ENDPOINTS | FILES_ENDPOINTS,
    "truncate": DOWNLOAD_ENDPOINTS,
    "fail": frozenset({"submit"}),
    "expired": DOWNLOAD_ENDPOINTS,
    "dup-id": frozenset({"submit"}),
    "bomb": ALL_ENDPOINTS,
    "trickle": ALL_ENDPOINTS,
}
_DEFAULT: dict[str, frozenset[str]] = {**_ALLOWED, "drop-after": frozenset({"submit"})}

# The reference's task error codes: description (used as the message) and an error type.
TASK_ERRORS: dict[str, tuple[str, str]] = {
    "content_policy_violation": ("Prompt blocked by safety filter", "content_policy_error"),
    "invalid_parameters": ("Invalid parameter values", "invalid_request_error"),
    "image_dimension_mismatch": ("Image dimensions don't match request", "invalid_request_error"),
    "image_processing_error": ("Failed to process input image", "invalid_request_error"),
    "model_unavailable": ("Model temporarily offline", "service_unavailable_error"),
    "generation_timeout": ("Generation exceeded time limit", "timeout_error"),
    "quota_exceeded": ("Account credits depleted", "quota_error"),
    "resource_exhausted": ("Server resources temporarily full", "resource_exhausted_error"),
    "service_error": ("Internal service error", "server_error"),
    "generation_failed_no_content": ("Generation produced no output", "generation_error"),
    "upstream_error": ("Upstream provider error", "upstream_error"),
    "rate_limited": ("Rate limit at task level", "rate_limit_error"),
    "unknown_error": ("Unclassified error", "unknown_error"),
}
DEFAULT_FAIL_CODE = "service_error"

_RULE_RE = re.compile(
    r"^(?P<kind>[A-Za-z0-9-]+)(?::(?P<arg>[^@*]*))?(?:@(?P<endpoint>[A-Za-z]+))?(?:\*(?P<count>[^@*]*))?$"
)


def task_error(code: str) -> dict:
    """The ``error`` object of a task failed with ``code`` (unknown codes are kept as sent)."""
    description, kind = TASK_ERRORS.get(code, ("Unclassified error", "unknown_error"))
    return {"code": code, "message": description, "type": kind}


@dataclass
class FaultRule:
    kind: str
    arg: str | None = None
    endpoint: str | None = None
    count: int | None = None
    used: int = 0

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.used >= self.count

    @property
    def seconds(self) -> float | None:
        """ARG as seconds (Retry-After for status faults, the delay for ``slow``)."""
        if self.arg is None:
            return {"429": 1.0, "slow": 1.0, "trickle": 5.0}.get(self.kind)
        if is_file_code(self.kind):
            return None
        return float(self.arg)

    @property
    def bomb_size(self) -> tuple[int, int]:
        """(megabytes, layers) of a ``bomb`` rule."""
        megabytes, _, layers = (self.arg or "1024").partition("x")
        return int(megabytes), int(layers or 1)

    @property
    def code(self) -> str:
        """The task error code of a ``fail`` rule."""
        return self.arg or DEFAULT_FAIL_CODE

    def applies_to(self, endpoint: str | None) -> bool:
        if endpoint is None:
            return False
        if self.endpoint is None:
            return endpoint in _default(self.kind)
        scope = GROUPS.get(self.endpoint, frozenset({self.endpoint}))
        return endpoint in scope and endpoint in _allowed(self.kind)

    def spec(self) -> str:
        text = self.kind
        if self.arg is not None:
            text += f":{self.arg}"
        if self.endpoint:
            text += f"@{self.endpoint}"
        if self.count is not None:
            text += f"*{self.count}"
        return text

    @classmethod
    def parse(cls, text: str) -> FaultRule:
        match = _RULE_RE.match(text.strip())
        if not match:
            raise ValueError(f"fault rule {text!r}: expected KIND[:ARG][@ENDPOINT][*COUNT]")
        kind = match["kind"].lower()
        if kind not in KINDS and not is_http_status(kind) and not is_file_code(kind):
            raise ValueError(
                f"fault rule {text!r}: unknown kind {kind!r}; use an HTTP status 400-599, "
                f"a 5-digit Files API code, or one of {', '.join(KINDS[4:])}"
            )
        arg = match["arg"]
        if arg is not None:
            arg = arg.strip()
            if arg == "":
                raise ValueError(f"fault rule {text!r}: empty argument after ':'")
        if arg is not None:
            if is_http_status(kind) or kind in ("slow", "trickle"):
                try:
                    seconds = float(arg)
                except ValueError:
                    raise ValueError(f"fault rule {text!r}: {arg!r} is not a number of seconds") from None
                if seconds < 0 or seconds != seconds:
                    raise ValueError(f"fault rule {text!r}: seconds must be 0 or more")
            elif kind == "bomb":
                match_size = re.fullmatch(r"(\d{1,5})(?:x([1-4]))?", arg.lower())
                if not match_size or not 1 <= int(match_size[1]) <= 16384:
                    raise ValueError(
                        f"fault rule {text!r}: {arg!r} is not MEGABYTES (1-16384) or MEGABYTESxLAYERS (layers 1-4)"
                    )
                arg = arg.lower()
            elif kind == "fail":
                arg = arg.lower()
                if not re.fullmatch(r"[a-z0-9_.-]+", arg):
                    raise ValueError(
                        f"fault rule {text!r}: {arg!r} is not an error code such as content_policy_violation"
                    )
            else:
                raise ValueError(f"fault rule {text!r}: {kind} takes no argument")
        endpoint = match["endpoint"]
        if endpoint is not None:
            endpoint = endpoint.lower()
            if endpoint not in RULE_ENDPOINTS:
                raise ValueError(
                    f"fault rule {text!r}: unknown endpoint {endpoint!r}; use one of {', '.join(RULE_ENDPOINTS)}"
                )
            scope = GROUPS.get(endpoint, frozenset({endpoint}))
            if not scope & _allowed(kind):
                raise ValueError(f"fault rule {text!r}: {kind} does not apply to {endpoint}")
        count = match["count"]
        if count is not None:
            if not count.strip().isdigit() or int(count) < 1:
                raise ValueError(f"fault rule {text!r}: COUNT must be a whole number of 1 or more")
            count = int(count)
        return cls(kind=kind, arg=arg, endpoint=endpoint, count=count)


@dataclass
class FaultPlan:
    """An ordered list of fault rules; each rule counts how often it has fired."""

    rules: list[FaultRule] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, spec: str | None) -> FaultPlan:
        rules = [FaultRule.parse(part) for part in (spec or "").split(",") if part.strip()]
        return cls(rules)

    @classmethod
    def from_env(cls, environ: dict | None = None) -> FaultPlan:
        env = os.environ if environ is None else environ
        return cls.parse(env.get("EVOLINK_SIM_FAULTS", ""))

    def match(self, kinds, endpoint: str | None) -> FaultRule | None:
        """The first live rule of ``kinds`` (a kind, a collection of kinds, or a predicate
        on the kind) that applies to ``endpoint``; not consumed."""
        if isinstance(kinds, str):
            kinds = (kinds,)
        wanted = kinds if callable(kinds) else kinds.__contains__
        for rule in self.rules:
            if wanted(rule.kind) and not rule.exhausted and rule.applies_to(endpoint):
                return rule
        return None

    def consume(self, rule: FaultRule) -> bool:
        """Count one use of ``rule``; False if another request used it up meanwhile."""
        with self._lock:
            if rule.exhausted:
                return False
            rule.used += 1
            return True

    def take(self, kinds, endpoint: str | None) -> FaultRule | None:
        """Find and consume the first live rule of ``kinds`` for ``endpoint``."""
        with self._lock:
            rule = self.match(kinds, endpoint)
            if rule is not None:
                rule.used += 1
            return rule

    def spec(self) -> str:
        return ",".join(rule.spec() for rule in self.rules)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def __str__(self) -> str:
        return self.spec()
