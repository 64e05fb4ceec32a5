"""Messages that carry results from workers to handlers.

One message class per task transition (the core runner's event kinds), all subclasses of
:class:`TaskChanged`, so a handler may listen to one transition or to all of them with
``@on(TaskChanged)``. Each carries the runner's event and a fresh copy of the record.
"""

from __future__ import annotations

from textual.message import Message

from evolink_tui.core import events as kinds
from evolink_tui.core.events import TaskEvent
from evolink_tui.core.history import TaskRecord


class TaskChanged(Message):
    """A task moved on. ``record`` is its history row just after the change."""

    def __init__(self, event: TaskEvent, record: TaskRecord | None) -> None:
        super().__init__()
        self.event = event
        self.record = record

    @property
    def kind(self) -> str:
        return self.event.kind

    @property
    def record_id(self) -> int:
        return self.event.record_id


class TaskSubmitting(TaskChanged):
    """Recorded; references are being uploaded and the request sent."""


class TaskUploaded(TaskChanged):
    """A local reference file was uploaded."""


class TaskSubmitted(TaskChanged):
    """The server accepted the request: the task has an id."""


class TaskProgress(TaskChanged):
    """A poll brought news (status, progress, estimated time)."""


class TaskProblem(TaskChanged):
    """A retryable failure outlasted the client's retries: offline, still retrying."""


class TaskCompleted(TaskChanged):
    """The task completed; downloads follow."""


class TaskDownloaded(TaskChanged):
    """One result is on disk (or failed: see ``event.download.error``)."""


class TaskFailed(TaskChanged):
    """The task failed, or a final error stopped it."""


class TaskTimedOut(TaskChanged):
    """Still running after five minutes; the notice is on the record, it stays checkable."""


class TaskUncertain(TaskChanged):
    """The submit's outcome is unknown: it may be resent with its own key."""


class TaskFinished(TaskChanged):
    """All done for this task, downloads included."""


BY_KIND: dict[str, type[TaskChanged]] = {
    kinds.SUBMITTING: TaskSubmitting,
    kinds.UPLOADED: TaskUploaded,
    kinds.SUBMITTED: TaskSubmitted,
    kinds.PROGRESS: TaskProgress,
    kinds.PROBLEM: TaskProblem,
    kinds.COMPLETED: TaskCompleted,
    kinds.DOWNLOADED: TaskDownloaded,
    kinds.FAILED: TaskFailed,
    kinds.TIMEOUT: TaskTimedOut,
    kinds.UNCERTAIN: TaskUncertain,
    kinds.FINISHED: TaskFinished,
}


def task_message(event: TaskEvent, record: TaskRecord | None) -> TaskChanged:
    return BY_KIND.get(event.kind, TaskChanged)(event, record)


class HistoryLoaded(Message):
    """A page of history was read from disk (newest first)."""

    def __init__(self, records: list[TaskRecord], offset: int, total: int, *, first: bool = False) -> None:
        super().__init__()
        self.records = records
        self.offset = offset
        self.total = total
        self.first = first  # the first page: then what an earlier run left under way is recovered


class RecordRefreshed(Message):
    """A record was read again (after recovering it at startup)."""

    def __init__(self, record: TaskRecord) -> None:
        super().__init__()
        self.record = record


class ClientReady(Message):
    """The shared API client (and the runner on it) can be used."""


class KeySaved(Message):
    """The API key was written to the config file (mode 0600)."""

    def __init__(self, key: str, path: str) -> None:
        super().__init__()
        self.key = key
        self.path = path


class PromptsFound(Message):
    """Earlier prompts matching a search, newest first."""

    def __init__(self, query: str, prompts: list[str]) -> None:
        super().__init__()
        self.query = query
        self.prompts = prompts


class GalleryPage(Message):
    """Records with downloaded files, read from history for the gallery."""

    def __init__(self, records: list[TaskRecord], next_offset: int, done: bool) -> None:
        super().__init__()
        self.records = records
        self.next_offset = next_offset
        self.done = done


# -- the Files API (see files_flow.py) ---------------------------------------------------------------


class FilesListed(Message):
    """Every file and the quota were read (``partial``: more pages are on their way)."""

    def __init__(self, files: list, total: int, quota, *, partial: bool = False) -> None:
        super().__init__()
        self.files = files
        self.total = total
        self.quota = quota
        self.partial = partial


class FilesListFailed(Message):
    """The listing or the quota could not be read; what was shown stays."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error


class FileUploadProgress(Message):
    """Bytes of an upload sent so far."""

    def __init__(self, ticket: int, done: int, total: int) -> None:
        super().__init__()
        self.ticket = ticket
        self.done = done
        self.total = total


class FileUploaded(Message):
    """An upload was stored: ``info`` is what the server answered."""

    def __init__(self, ticket: int, spec, info) -> None:
        super().__init__()
        self.ticket = ticket
        self.spec = spec
        self.info = info


class FileUploadFailed(Message):
    """An upload was refused, or never sent (``error`` says which); ``spec`` is kept."""

    def __init__(self, ticket: int, spec, error: BaseException) -> None:
        super().__init__()
        self.ticket = ticket
        self.spec = spec
        self.error = error


class FileUploadNeedsConfirm(Message):
    """A file with the same name exists: uploading would overwrite it."""

    def __init__(self, spec, existing) -> None:
        super().__init__()
        self.spec = spec
        self.existing = existing


class FilesDeleted(Message):
    """Deletes done: the ids deleted and (id, error) for each that failed."""

    def __init__(self, deleted: list[str], failed: list) -> None:
        super().__init__()
        self.deleted = deleted
        self.failed = failed


class FileBytesLoaded(Message):
    """A stored file's bytes (for a thumbnail), or why they could not be fetched."""

    def __init__(self, key: str, data: bytes | None, error: BaseException | None = None) -> None:
        super().__init__()
        self.key = key
        self.data = data
        self.error = error


class ReferenceFitted(Message):
    """A reference over 4 MB and its smaller version (``fitted``), or why it cannot fit."""

    def __init__(self, ref: str, fitted=None, error: BaseException | None = None) -> None:
        super().__init__()
        self.ref = ref
        self.fitted = fitted
        self.error = error


class ReferenceReplaced(Message):
    """The fitted copy of ``ref`` was written to ``path``."""

    def __init__(self, ref: str, path: str) -> None:
        super().__init__()
        self.ref = ref
        self.path = path


class ConnectionChanged(Message):
    """Requests started or stopped failing: "offline, retrying" is shown or cleared
    (what is failing is in ``app.connection``)."""
