"""The simulator's state: tasks, files, the request log, and the tables they are priced and timed by.

:class:`SimState` is what ``app.state.sim`` holds; tests read and tweak it directly.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import secrets
import string
from collections import Counter, OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from evolink_tui.core.catalogue import Catalogue, Model, builtin_catalogue

from .clock import SimClock
from .faults import GROUPS, FaultPlan, task_error
from .images import model_extension

if TYPE_CHECKING:
    from .store import SimStore

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
_ALNUM = string.ascii_lowercase + string.digits


def key_scope(token: str | None) -> str:
    """What idempotency keys are scoped by: the API key, hashed (a store never holds it as it is)."""
    return hashlib.sha256((token or "").encode("utf-8")).hexdigest()[:32]


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    params: dict[str, Any] = field(default_factory=dict)  # the extra parameters the model declares, as sent

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
    """Everything the simulator knows; tests read and tweak it directly.

    ``overrides`` lets a test play a hostile or broken server: a dict from an endpoint
    name (``submit``, ``poll``, ``upload``, ``list``, ``quota``, ``delete``, ``credits``,
    ``download``...) to a hook that rewrites that route's answer after the route ran.
    For JSON routes ``hook(body) -> new body`` (a dict/list, or raw ``bytes``/``str``);
    for ``download`` ``hook(path, data) -> bytes | (bytes, media_type[, status])`` (any
    result path, even one no task has; status 200 unless given); None keeps the answer.
    Cleared by :meth:`reset`.
    """

    def __init__(
        self,
        *,
        clock: SimClock,
        faults: FaultPlan,
        api_keys: frozenset[str] | None,
        image_long_side: int,
        speed: float,
        max_files: int,
        max_file_size: int = MAX_FILE_SIZE,
        balance: float = DEFAULT_BALANCE,
        catalogue: Catalogue | None = None,
        store: SimStore | None = None,
    ):
        self.clock = clock
        self.api_keys = api_keys
        self.in_flight = 0  # requests being answered right now (a slow fault keeps one open)
        self.image_long_side = int(image_long_side)
        self.speed = float(speed)
        self._initial: dict[str, Any] = dict(
            faults=faults.spec(), max_files=max_files, max_file_size=max_file_size, balance=balance
        )
        # The models this "server" knows: the built-in catalogue, or (--demo, `evolink-tui
        # simulator`) the one in use, with the user's models.toml, so an added model can be tried.
        self.catalogue = catalogue or builtin_catalogue()
        self.store = store
        self._store_version: int | None = None  # the store's data_version as last read
        self._writing = False
        self._clear()
        if store is not None:
            with self.writing():  # forgets what has lapsed, reads the rest
                pass

    def reset(self) -> None:
        """Forget every task, file and request (on disk too, with a store); restore the
        faults and limits given at creation."""
        self._clear()
        if self.store is not None:
            self.store.clear()
            self._store_version = self.store.version()

    def close(self) -> None:
        """Let go of the store's file (it is opened again if this state is used again)."""
        if self.store is not None:
            self.store.close()
            self._store_version = None

    def _clear(self) -> None:
        self.faults: FaultPlan = FaultPlan.parse(self._initial["faults"])
        self.max_files: int = self._initial["max_files"]
        self.max_file_size: int = self._initial["max_file_size"]
        self.balance: float = self._initial["balance"]
        self.tasks: dict[str, SimTask] = {}
        self.files: dict[str, SimFile] = {}
        self.requests: list[dict] = []
        self.charges: int = 0
        self.credits_charged: float = 0.0
        self.idempotency: dict[tuple[str, str], str] = {}  # (key scope, idempotency key) -> task id
        self.overrides: dict[str, Any] = {}
        self.images: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._seq = 0
        # Rate limiting as a client should see it: a 429 (or 503) with Retry-After on a submit
        # asks for no submit before `submit_paused_until`; any that comes earlier is counted.
        self.submit_paused_until: float = 0.0
        self.submits_in_retry_after: int = 0
        self.refused_submits: Counter[str | None] = Counter()  # fault answers to submits, by key

    # ---- queries
    def now(self) -> float:
        return self.clock.now()

    def count(self, endpoint: str | None = None) -> int:
        """Requests that hit ``endpoint`` (a name such as "submit", or "api"/"files"/"download"); None = all."""
        if endpoint is None or endpoint == "all":
            return len(self.requests)
        scope = GROUPS.get(endpoint, frozenset({endpoint}))
        return sum(1 for r in self.requests if r.get("endpoint") in scope)

    def submits_by_key(self) -> Counter[str | None]:
        """Submit requests received, by Idempotency-Key (refused ones included)."""
        return Counter(r.get("idempotency_key") for r in self.requests if r.get("endpoint") == "submit")

    def submit_arrived(self) -> None:
        """A submit came in: counted if it came inside a Retry-After the server gave."""
        if self.now() < self.submit_paused_until:
            self.submits_in_retry_after += 1

    def submit_refused(self, key: str | None, retry_after: float | None) -> None:
        """A submit was answered with a fault status (and maybe a Retry-After)."""
        self.refused_submits[key] += 1
        if retry_after is not None:
            self.submit_paused_until = max(self.submit_paused_until, self.now() + retry_after)

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
        gone = [f.file_id for f in self.files.values() if f.expires_at <= now]
        for file_id in gone:
            del self.files[file_id]
        if gone and self.store is not None:
            self.store.delete_files(gone)

    def live_files(self) -> list[SimFile]:
        self.purge_files()
        return sorted(self.files.values(), key=lambda f: (f.upload_time, f.seq), reverse=True)

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # ---- changes (written through to the store, when there is one)
    def task_for_key(self, token: str | None, idempotency_key: str) -> SimTask | None:
        """The task an earlier submit with this key (and this API key) made, if any."""
        task_id = self.idempotency.get((key_scope(token), idempotency_key))
        return self.tasks.get(task_id) if task_id else None

    def add_task(self, task: SimTask, token: str | None) -> None:
        """A task accepted and charged."""
        scope = key_scope(token)
        self.tasks[task.id] = task
        self.charges += 1
        self.credits_charged = round(self.credits_charged + task.credits, 4)
        if task.idempotency_key:
            self.idempotency[(scope, task.idempotency_key)] = task.id
        if self.store is not None:
            self.store.put_task(task, scope)
            self.store.add("charges", 1)
            self.store.add("credits_charged", task.credits)

    def put_file(self, item: SimFile) -> None:
        """A file stored (new, or replaced under its name)."""
        self.files[item.file_id] = item
        if self.store is not None:
            self.store.put_file(item)

    def drop_file(self, file_id: str) -> SimFile | None:
        item = self.files.pop(file_id, None)
        if item is not None and self.store is not None:
            self.store.delete_files([file_id])
        return item

    # ---- the store
    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Around a change: with a store, one transaction that first re-reads what other
        processes changed (no decision on stale state) and forgets what has lapsed."""
        if self.store is None or self._writing:
            yield
            return
        self._writing = True
        try:
            with self.store.transaction():
                self.store.forget(self.now(), FILE_TTL)
                self._load()
                yield
        except BaseException:
            self._store_version = None  # memory may be ahead of what was rolled back: read it all again
            raise
        finally:
            self._writing = False

    def refresh(self) -> None:
        """Before a request: take in what other processes changed in the store since the last look."""
        if self.store is not None and not self._writing and self.store.version() != self._store_version:
            self._load()

    def _load(self) -> None:
        """Bring memory in line with the store, reading only what changed (file bytes included)."""
        store = self.store
        assert store is not None
        version = store.version()
        if version == self._store_version:
            return
        ids = store.task_ids()
        for task_id in set(self.tasks) - ids:
            del self.tasks[task_id]
        for task, scope in store.tasks(ids - set(self.tasks)):
            self.tasks[task.id] = task
            if task.idempotency_key:
                self.idempotency[(scope or "", task.idempotency_key)] = task.id
        self.idempotency = {k: v for k, v in self.idempotency.items() if v in self.tasks}
        files: dict[str, SimFile] = {}
        for file_id, file_name, original, mime, folder, uploaded, seq in store.file_heads():
            known = self.files.get(file_id)
            if known is not None and known.seq == seq and known.upload_time == uploaded:
                data: bytes | None = known.data
            else:
                data = store.file_data(file_id)
            if data is not None:
                files[file_id] = SimFile(file_id, file_name, original, data, mime, folder, uploaded, seq)
        self.files = files
        self._seq = max([self._seq, *(f.seq for f in files.values())])
        counters = store.counters()
        self.charges = int(counters.get("charges", 0))
        self.credits_charged = round(counters.get("credits_charged", 0.0), 4)
        self._store_version = version

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
