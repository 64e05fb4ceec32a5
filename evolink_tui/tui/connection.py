"""Whether Evolink answers: "offline, retrying" while requests fail and are retried.

The client tells its listeners of every retry and of how each call ended (see
``EvolinkClient._emit``); the runner reports a PROBLEM when an outage outlasts the
client's own retries and polling goes on. :class:`Connection` folds those into what the
screen shows: one label for the top bar, and one for each task whose reads are failing.
Every label is cleared by the next good answer. No widgets here: the app asks and draws.
"""

from __future__ import annotations

from urllib.parse import unquote

from evolink_tui.core.errors import EvolinkError

OFFLINE = "offline, retrying"
RATE_LIMITED = "rate limited, retrying"
TASK_PATH = "/v1/tasks/"


def outage_label(error: EvolinkError | None) -> str:
    """What a retried failure looks like to the user: a 429 is not an outage."""
    if error is not None and error.status == 429:
        return RATE_LIMITED
    return OFFLINE


def task_id_of(path: str | None) -> str | None:
    """The task a request was about (polls only), from its path."""
    if path and path.startswith(TASK_PATH):
        return unquote(path[len(TASK_PATH) :]) or None
    return None


class Connection:
    """Failing operations (``submit``, ``poll``, ``list``...) and failing tasks, each with
    the last error, until the next good answer."""

    def __init__(self) -> None:
        self.ops: dict[str, EvolinkError | None] = {}
        self.tasks: dict[str, EvolinkError | None] = {}  # task id -> its reads' last error

    def retrying(self, op: str, path: str | None, error: EvolinkError | None) -> bool:
        """The client will try again after ``error``; True when what is shown changes."""
        before = self.snapshot()
        self.ops[op] = error
        task_id = task_id_of(path)
        if task_id:
            self.tasks[task_id] = error
        return self.snapshot() != before

    def problem(self, task_id: str | None, error: EvolinkError | None) -> bool:
        """The runner gave up on one read and keeps polling (an outage of minutes)."""
        if error is not None and not error.retryable:
            return False
        before = self.snapshot()
        self.ops["poll"] = error
        if task_id:
            self.tasks[task_id] = error
        return self.snapshot() != before

    def answered(self, op: str, path: str | None) -> bool:
        """A good answer, or a final one (an error the client no longer retries): that
        operation (and that task) is not being retried any more."""
        if not self.ops and not self.tasks:
            return False  # the common case, on every answer: nothing to do
        before = self.snapshot()
        self.ops.pop(op, None)
        task_id = task_id_of(path)
        if task_id:
            self.tasks.pop(task_id, None)
        return self.snapshot() != before

    def settle(self, task_id: str | None) -> bool:
        """The task moved on (news, completion, failure): its reads are not failing."""
        return task_id is not None and self.tasks.pop(task_id, False) is not False

    def task_label(self, task_id: str | None) -> str | None:
        if task_id is None or task_id not in self.tasks:
            return None
        return outage_label(self.tasks[task_id])

    @property
    def label(self) -> str | None:
        """The top bar's word: offline wins over rate limited."""
        if not self.ops:
            return None
        labels = {outage_label(error) for error in self.ops.values()}
        return OFFLINE if OFFLINE in labels else RATE_LIMITED

    def snapshot(self) -> tuple:
        return self.label, tuple(sorted((k, outage_label(v)) for k, v in self.tasks.items()))
