"""The typed event stream from the core to its views: one frozen dataclass per transition,
each with exactly the fields that transition carries. Views ``match`` on the type::

    match event:
        case TaskSubmitted(record_id=rid, task=task): ...
        case TaskFailed(error=error): ...
        case _: pass  # events this view does not show

Who emits what:

- :class:`~evolink_tui.core.client.EvolinkClient`: :class:`RequestRetrying`,
  :class:`RequestAnswered`, :class:`RequestFailed` (every call, with its operation and,
  for a poll, its task id).
- :class:`~evolink_tui.core.runner.Runner`: the :class:`TaskEvent` subclasses, in the order
  a task meets them (each names its history record).
- :class:`~evolink_tui.core.studio.Studio`: everything above (once its index of records and
  the connection state are up to date), plus history pages, recovery, the connection and
  the Files API events below.

Events are emitted on the event loop, through an :class:`~evolink_tui.core.bus.EventBus`
(a listener that raises is logged and reported, never stops the others). Defined when
the first client or runner is built, not at startup: a dataclass takes a millisecond to
define, and these are many.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from .downloads import Download
    from .errors import EvolinkError, ValidationError
    from .history import TaskRecord
    from .studio.files import UploadSpec
    from .wire import FileInfo, Quota, Task

# -- the client: one request and its retries ---------------------------------------------------


@dataclass(frozen=True)
class RequestEvent:
    """About one call to an Evolink host: ``op`` is submit, poll, credits, upload, list,
    quota or delete; ``task_id`` the task a poll was about (else None)."""

    op: str
    task_id: str | None
    attempt: int


@dataclass(frozen=True)
class RequestRetrying(RequestEvent):
    """The call failed and is tried again after ``delay`` seconds."""

    delay: float
    error: EvolinkError


@dataclass(frozen=True)
class RequestAnswered(RequestEvent):
    """A good answer."""


@dataclass(frozen=True)
class RequestFailed(RequestEvent):
    """The call failed for good (no retry left, or an error no retry helps)."""

    error: EvolinkError


# -- the runner: a task's life, in order ---------------------------------------------------------


@dataclass(frozen=True)
class TaskEvent:
    """About one generation, named by its history record."""

    record_id: int


@dataclass(frozen=True)
class SubmitStarted(TaskEvent):
    """Recorded; local references are uploaded and the request is sent next."""


@dataclass(frozen=True)
class ReferenceUploaded(TaskEvent):
    """A local reference (or mask) file was uploaded: ``file_url`` is sent in its place."""

    reference: str
    file_url: str


@dataclass(frozen=True)
class TaskSubmitted(TaskEvent):
    """The server accepted the request: the task has an id."""

    task: Task


@dataclass(frozen=True)
class TaskProgressed(TaskEvent):
    """A read brought news: status, progress, time left."""

    task: Task


@dataclass(frozen=True)
class TaskOffline(TaskEvent):
    """A read failed past the client's retries; polling goes on ("offline, retrying")."""

    task_id: str
    error: EvolinkError


@dataclass(frozen=True)
class ResumeFailed(TaskEvent):
    """An unfinished task from an earlier run could not be read again now; ``error`` says
    why (a non-retryable one is on the record too)."""

    task_id: str
    error: EvolinkError


@dataclass(frozen=True)
class TaskCompleted(TaskEvent):
    """The task completed; its downloads follow."""

    task: Task


@dataclass(frozen=True)
class ResultDownloaded(TaskEvent):
    """One result is on disk, or could not be (``download.error``)."""

    task: Task
    download: Download


@dataclass(frozen=True)
class TaskFailed(TaskEvent):
    """The task failed, its submit or a reference upload was refused (``task`` is None then),
    or an error no retry helps stopped following it (``task`` still running)."""

    error: EvolinkError
    task: Task | None


@dataclass(frozen=True)
class TaskTimedOut(TaskEvent):
    """Still running after the wait (five minutes): the notice is on the record."""

    task: Task
    notice: str


@dataclass(frozen=True)
class SubmitUncertain(TaskEvent):
    """Nobody knows whether the submit reached the server: it may be resent only with its
    own idempotency key (never a double charge)."""

    error: EvolinkError


@dataclass(frozen=True)
class TaskGone(TaskEvent):
    """Evolink no longer knows the task (404 for an id on record): its final state, kept."""

    task_id: str
    error: EvolinkError


@dataclass(frozen=True)
class TaskFinished(TaskEvent):
    """All done for this task: every result downloaded, or why not (``error``: for example
    the URLs expired before they could be fetched)."""

    task: Task
    downloads: tuple[Download, ...]
    error: EvolinkError | None = None


# -- the studio: history, recovery, connection -----------------------------------------------------


@dataclass(frozen=True)
class HistoryLoaded:
    """A page of history was read (newest first); ``first``: the page startup shows."""

    records: tuple[TaskRecord, ...]
    offset: int
    total: int
    first: bool


@dataclass(frozen=True)
class HistoryReset:
    """Another history is in use (demo mode or back): forget every record shown."""


@dataclass(frozen=True)
class RecoveryStarted:
    """What an earlier run left under way, read from the history: followed again,
    downloaded, or (uncertain submits) waiting for the user."""

    unfinished: tuple[int, ...]
    downloads: tuple[int, ...]
    uncertain: tuple[int, ...]


@dataclass(frozen=True)
class RecoveryFinished:
    """Recovery is done with these records (each as it now stands in the index)."""

    record_ids: tuple[int, ...]


@dataclass(frozen=True)
class FolderUnwritable:
    """Results cannot be saved in the download folder: ``problem`` says why."""

    folder: Path
    problem: str


@dataclass(frozen=True)
class ConnectionChanged:
    """What is failing and retried now: ``label`` for the whole app ("offline, retrying",
    "rate limited, retrying" or None) and one for each task whose reads fail."""

    label: str | None
    tasks: tuple[tuple[str, str], ...]  # (task id, label)


# -- the Files API ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FilesListed:
    """Every stored file and the quota were read (``partial``: more pages are coming, and
    ``quota`` is None until the last)."""

    files: tuple[FileInfo, ...]
    total: int
    quota: Quota | None
    partial: bool


@dataclass(frozen=True)
class FilesListFailed:
    """The listing or the quota could not be read; what was shown stays."""

    error: EvolinkError | ValidationError


@dataclass(frozen=True)
class UploadProgressed:
    """Bytes of upload ``ticket`` sent so far."""

    ticket: int
    done: int
    total: int


@dataclass(frozen=True)
class FileUploaded:
    """Upload ``ticket`` was stored: ``info`` is what the server answered."""

    ticket: int
    spec: UploadSpec
    info: FileInfo


@dataclass(frozen=True)
class UploadFailed:
    """Upload ``ticket`` was refused, or never sent; ``spec`` is kept to try again."""

    ticket: int
    spec: UploadSpec
    error: BaseException


@dataclass(frozen=True)
class UploadNeedsConfirm:
    """A file of the same name is stored: uploading would overwrite it. Nothing was sent."""

    ticket: int
    spec: UploadSpec
    existing: FileInfo


@dataclass(frozen=True)
class FilesDeleted:
    """Deletes done: the files deleted, and each that was not with why."""

    deleted: tuple[FileInfo, ...]
    failed: tuple[tuple[FileInfo, BaseException], ...]


@dataclass(frozen=True)
class FileBytesLoaded:
    """A stored file's bytes (for its preview), or why they could not be fetched."""

    url: str
    data: bytes | None
    error: BaseException | None = None
