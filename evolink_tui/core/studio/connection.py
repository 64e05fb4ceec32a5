"""Whether Evolink answers: "offline, retrying" while requests fail and are retried.

The client reports every retry and how each call ended (``RequestRetrying``,
``RequestAnswered``, ``RequestFailed``, with the operation and, for a poll, the task id);
the runner reports ``TaskOffline`` when an outage outlasts the client's own retries and
polling goes on. :class:`Connection` folds those into what a view shows: one label for the
whole app, and one for each task whose reads are failing. Every label is cleared by the
next good answer, or by news of the task.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..errors import EvolinkError

OFFLINE = "offline, retrying"
RATE_LIMITED = "rate limited, retrying"

Snapshot = tuple[str | None, tuple[tuple[str, str], ...]]


def outage_label(error: EvolinkError | None) -> str:
    """What a retried failure looks like to the user: a 429 is not an outage."""
    if error is not None and error.status == 429:
        return RATE_LIMITED
    return OFFLINE


class Connection:
    """Failing operations (``submit``, ``poll``, ``list``...) and failing tasks, each with
    the last error, until the next good answer. Each method says whether what a view shows
    changed."""

    def __init__(self) -> None:
        self.ops: dict[str, EvolinkError | None] = {}
        self.tasks: dict[str, EvolinkError | None] = {}  # task id -> its reads' last error

    def retrying(self, op: str, task_id: str | None, error: EvolinkError | None) -> bool:
        """The client will try again after ``error``."""
        before = self.snapshot()
        self.ops[op] = error
        if task_id:
            self.tasks[task_id] = error
        return self.snapshot() != before

    def offline(self, task_id: str | None, error: EvolinkError | None) -> bool:
        """The runner gave up on one read and keeps polling (an outage of minutes)."""
        if error is not None and not error.retryable:
            return False
        before = self.snapshot()
        self.ops["poll"] = error
        if task_id:
            self.tasks[task_id] = error
        return self.snapshot() != before

    def answered(self, op: str, task_id: str | None) -> bool:
        """A good answer, or a final one (an error the client no longer retries): that
        operation (and that task) is not being retried any more."""
        if not self.ops and not self.tasks:
            return False  # the common case, on every answer: nothing to do
        before = self.snapshot()
        self.ops.pop(op, None)
        if task_id:
            self.tasks.pop(task_id, None)
        return self.snapshot() != before

    def settle(self, task_id: str | None) -> bool:
        """The task moved on (news, completion, failure): its reads are not failing."""
        return task_id is not None and self.tasks.pop(task_id, False) is not False

    @property
    def label(self) -> str | None:
        """The app's word: offline wins over rate limited."""
        if not self.ops:
            return None
        labels = {outage_label(error) for error in self.ops.values()}
        return OFFLINE if OFFLINE in labels else RATE_LIMITED

    def snapshot(self) -> Snapshot:
        """(the app's label, (task id, label) for each failing task): what views show."""
        return self.label, tuple(sorted((k, outage_label(v)) for k, v in self.tasks.items()))
