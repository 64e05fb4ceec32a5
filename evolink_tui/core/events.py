"""What the runner reports: the kinds of task event, in the order a task meets them, and
:class:`TaskEvent`. Apart from the runner so that a screen can name them without loading
the runner (and its downloads, polling and uploads) at startup."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .downloads import Download
    from .errors import EvolinkError
    from .wire import Task

# Event kinds, in the order a task meets them.
SUBMITTING = "submitting"  # recorded, about to upload/submit
UPLOADED = "uploaded"  # a local reference file was uploaded
SUBMITTED = "submitted"  # the server accepted it: task has an id
PROGRESS = "progress"  # a poll brought news
PROBLEM = "problem"  # a retryable failure outlasted the retries: "offline, retrying"
COMPLETED = "completed"  # terminal: completed (downloads follow)
DOWNLOADED = "downloaded"  # one result is on disk (or failed: see download.error)
FAILED = "failed"  # terminal: failed/cancelled task, or a final error
TIMEOUT = "timeout"  # still running after 5 minutes: the reference's notice
UNCERTAIN = "uncertain"  # submit outcome unknown: may be resent with the same key
FINISHED = "finished"  # all done for this task (after downloads)


@dataclass
class TaskEvent:
    kind: str
    record_id: int
    task: Task | None = None
    error: EvolinkError | None = None
    download: Download | None = None
    downloads: list[Download] = field(default_factory=list)
    notice: str | None = None
    detail: str = ""
