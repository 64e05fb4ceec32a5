"""The gallery as queries on the history: every result of every completed task, found by
text, model, date and favourites, in newest, oldest or model order, a page at a time;
favourites; deleting a result's local file while the record stays.

A result is ``(record, index)`` with ``index`` counted from 0 (users see ``index + 1``:
"result 2", as in file names and sidecars). Nothing here touches a screen; the queries
use the history's indexes, so a page costs the same with 100 records or 10,000
(``benchmarks/gallery.py`` measures it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .dates import day_range, parse_day
from .downloads import result_stem
from .errors import ValidationError
from .history import PAGE, SORTS, History, TaskRecord

SORT_ORDERS = tuple(SORTS)  # "newest", "oldest", "model"
STATUSES = ("completed", "downloaded", "undownloaded", "expired")
"""Which completed tasks: all, with their results downloaded, not (yet) downloaded, or
whose URLs expired before they were downloaded."""


def result_file(record: TaskRecord, index: int) -> Path | None:
    """The local file of result ``index`` as recorded (it may since have gone), or None
    when it was never downloaded. Files are matched by name (``<prompt>_<task>_<n>``), so
    a failed first result does not shift the others."""
    if not 0 <= index < max(len(record.results), len(record.files)):
        return None
    stem = result_stem(record.task_id or "", record.request.get("prompt", record.prompt), index)
    for name in record.files:
        if Path(name).stem == stem:
            return Path(name)
    if len(record.files) == len(record.results) and index < len(record.files):
        return Path(record.files[index])  # written before names were tied to indexes
    return None


@dataclass(frozen=True)
class GalleryItem:
    """One result in the gallery."""

    record: TaskRecord
    index: int
    path: Path | None

    @property
    def favourite(self) -> bool:
        return self.record.is_favourite(self.index)

    @property
    def state(self) -> str:
        """``on disk``, ``deleted`` (by the user, from here), ``missing`` (gone some other
        way) or ``not downloaded``."""
        if self.record.is_deleted(self.index):
            return "deleted"
        if self.path is None:
            return "not downloaded"
        return "on disk" if self.path.is_file() else "missing"

    @property
    def ref(self) -> tuple[int, int]:
        return self.record.id, self.index

    def to_json(self) -> dict:
        return {
            "record_id": self.record.id,
            "result": self.index + 1,
            "path": str(self.path) if self.path else None,
            "state": self.state,
            "favourite": self.favourite,
            "model": self.record.model,
            "prompt": self.record.prompt,
        }


def items_of(record: TaskRecord, *, favourites_only: bool = False) -> list[GalleryItem]:
    """The results of one record, as gallery items (only the starred ones if asked)."""
    count = max(len(record.results), len(record.files))
    return [
        GalleryItem(record, index, result_file(record, index))
        for index in range(count)
        if not favourites_only or record.is_favourite(index)
    ]


@dataclass(frozen=True)
class GalleryQuery:
    """What the gallery shows: words in the prompt (or task id), one model, a date range
    (unix seconds, ``until`` exclusive), only favourites, one of :data:`STATUSES`, in one of
    :data:`SORT_ORDERS`."""

    text: str = ""
    model: str | None = None
    since: float | None = None
    until: float | None = None
    favourites: bool = False
    sort: str = "newest"
    status: str = "completed"

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise ValueError(f"sort {self.sort!r} is not one of {', '.join(SORT_ORDERS)}")
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {', '.join(STATUSES)}")

    def arguments(self) -> dict:
        return {
            "model": self.model or None,
            "status": self.status,
            "since": self.since,
            "until": self.until,
            "favourites": self.favourites,
        }


@dataclass
class GalleryPage:
    items: list[GalleryItem] = field(default_factory=list)
    next_offset: int = 0  # the record offset to read the next page from
    done: bool = False  # no more records match


def gallery_page(history: History, query: GalleryQuery, *, offset: int = 0, limit: int = PAGE) -> GalleryPage:
    """The results of the next ``limit`` matching records from ``offset`` (records, not
    results: a record holds one to four). Run it in a thread: it reads SQLite."""
    records = history.search(query.text, limit=limit, offset=offset, sort=query.sort, **query.arguments())
    items = [item for record in records for item in items_of(record, favourites_only=query.favourites)]
    return GalleryPage(items, offset + len(records), len(records) < limit)


def gallery_count(history: History, query: GalleryQuery) -> int:
    """How many records match (each holds one to four results)."""
    return history.count_matching(query.text, **query.arguments())


def set_favourite(history: History, record_id: int, index: int, on: bool = True) -> None:
    """Star (or unstar) one result; saved in the history at once."""
    history.set_favourite(record_id, index, on)


@dataclass(frozen=True)
class Deletion:
    """What deleting a result's local file removes: ask the user with :attr:`paths` first."""

    record_id: int
    index: int
    paths: tuple[Path, ...]  # the image and its sidecar, those that exist


def deletion_of(record: TaskRecord, index: int) -> Deletion:
    """The files that :func:`delete_result_file` would remove (nothing is removed here)."""
    path = result_file(record, index)
    paths = [] if path is None else [p for p in (path, path.with_suffix(".json")) if p.is_file()]
    return Deletion(record.id, index, tuple(paths))


def delete_result_file(history: History, deletion: Deletion) -> list[Path]:
    """Remove the files of a confirmed :class:`Deletion` and mark the result ``deleted`` in
    the history (the record, its recipe and its URLs stay). Returns what was removed;
    OSError (no permission...) leaves the record as it was."""
    removed = []
    for path in deletion.paths:
        try:
            os.unlink(path)
        except FileNotFoundError:
            continue
        removed.append(path)
    history.mark_file_deleted(deletion.record_id, deletion.index)
    return removed


DATE_WORDS = ("since", "until", "on")  # since:2026-11-01 until:2026-11-28 on:2026-11-29 in the filter


@dataclass(frozen=True)
class FilterText:
    """What the gallery's filter box says: the words to find, and a date range from
    ``since:``, ``until:`` and ``on:`` (local days, whole); ``problem`` names a date that
    cannot be read (the rest of the filter still applies)."""

    words: str = ""
    since: float | None = None
    until: float | None = None
    problem: str | None = None


def read_filter(text: str) -> FilterText:
    """The filter box's text as words and dates (see :class:`FilterText`)."""
    words: list[str] = []
    since = until = None
    problem = None
    for token in text.split():
        name, colon, value = token.partition(":")
        name = name.lower()
        if not colon or name not in DATE_WORDS:
            words.append(token)
            continue
        try:
            if name == "since":
                since = parse_day("since", value)
            elif name == "until":
                until = day_range(None, value)[1]
            else:  # one whole day
                since, until = parse_day("on", value), day_range(None, value)[1]
        except ValidationError as err:
            problem = str(err)
    return FilterText(" ".join(words), since, until, problem)
