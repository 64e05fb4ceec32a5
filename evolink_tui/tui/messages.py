"""Messages that carry results from workers to handlers.

One message class per task transition (the core runner's event kinds), all subclasses of
:class:`TaskChanged`, so a handler may listen to one transition or to all of them with
``@on(TaskChanged)``. Each carries the runner's event and a fresh copy of the record.
"""

from __future__ import annotations

from textual.message import Message

from evolink_tui.core import runner as kinds
from evolink_tui.core.history import TaskRecord
from evolink_tui.core.runner import TaskEvent


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
