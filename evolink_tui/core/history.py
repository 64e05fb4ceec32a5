"""History of every submission, in SQLite (standard library, WAL mode) in the data dir.

The request is written before the submit goes out; every change after is written as it
happens, so a crash loses nothing: unfinished tasks are polled again on the next start,
results not yet on disk are fetched while their URLs last, and a submit whose outcome is
unknown stays marked ``uncertain`` with its idempotency key (see :mod:`.recovery`).
Never stores the API key.

``state`` is ``submitting``, ``uncertain``, ``submit_failed``, ``not_found`` (final:
Evolink answered 404 for the task id, it no longer knows the task) or the task's own status
(``pending``, ``processing``, ``completed``, ``failed``, ``cancelled``, or whatever a
server sends). ``download_state`` says where a completed task's results are:
``pending`` (not yet fetched), ``done``, ``failed`` (retried later), ``expired`` (the
URLs lapsed: the record is kept, marked) or ``refused`` (not an acceptable image).

One task, one record: when a submit is answered with a task another record already holds
(``check TASK_ID`` after an uncertain submit, or a server answering two submits with one
id), the submit's record becomes ``linked`` (``linked_to`` names the task's record; a
record known only by its task id takes the submit's request) and every later write for
it goes to that record.
"""

from __future__ import annotations

import json
import math
import os
import time
from _thread import RLock

from .rules import RESULT_URL_LIFETIME
from .text import one_line

TYPE_CHECKING = False  # typing's own costs a headless command milliseconds to import
if TYPE_CHECKING:  # sqlite3 loads in the thread that first opens the file; wire when a task is parsed
    import sqlite3
    from collections.abc import Callable
    from concurrent.futures import Future
    from os import PathLike
    from pathlib import Path

    from .validation import GenerationRequest
    from .wire import Task

HISTORY_FILE = "history.sqlite3"
DEMO_HISTORY_FILE = "history-demo.sqlite3"  # demo tasks live only in an in-process simulator
SCHEMA_VERSION = 7
PAGE = 200  # records read at a time for the task list and the gallery


def _v2_download_states(conn: sqlite3.Connection) -> None:
    """Completed rows from schema 1: done if every result has a file, else pending."""
    rows = conn.execute("SELECT id, results, files, finished_at FROM tasks WHERE state = 'completed'").fetchall()
    for row in rows:
        results, files = json.loads(row[1] or "[]"), json.loads(row[2] or "[]")
        state = "done" if len(files) >= len(results) else "pending"
        expires = row[3] + RESULT_URL_LIFETIME if row[3] is not None else None
        conn.execute("UPDATE tasks SET download_state = ?, url_expires_at = ? WHERE id = ?", (state, expires, row[0]))


# Each version: SQL statements, or callables taking the connection, run in one transaction.
MIGRATIONS: dict[int, list[str | Callable[[sqlite3.Connection], None]]] = {
    1: [
        """CREATE TABLE tasks (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            task_id TEXT UNIQUE,
            state TEXT NOT NULL,           -- submitting, uncertain, submit_failed, or the task status
            prompt TEXT NOT NULL,
            model TEXT NOT NULL,
            request TEXT NOT NULL,         -- JSON body that was (or will be) submitted
            idempotency_key TEXT NOT NULL,
            group_id TEXT,                 -- tasks of one comparison run share it
            progress INTEGER NOT NULL DEFAULT 0,
            estimated_time INTEGER,
            credits REAL,
            results TEXT NOT NULL DEFAULT '[]',
            files TEXT NOT NULL DEFAULT '[]',
            error TEXT,
            notice TEXT,
            created_at REAL NOT NULL,
            submitted_at REAL,
            finished_at REAL,
            updated_at REAL NOT NULL
        )""",
        "CREATE INDEX tasks_created ON tasks(created_at)",
        "CREATE INDEX tasks_state ON tasks(state)",
    ],
    2: [
        "ALTER TABLE tasks ADD COLUMN attempted_at REAL",  # the submit request went out (last try)
        "ALTER TABLE tasks ADD COLUMN download_state TEXT",  # see the module docstring
        "ALTER TABLE tasks ADD COLUMN url_expires_at REAL",  # when the result URLs stop working
        "ALTER TABLE tasks ADD COLUMN task TEXT",  # the last task object as received
        _v2_download_states,
        "CREATE INDEX tasks_download ON tasks(download_state)",
    ],
    3: [  # lineage, favourites and deleted files (core/lineage.py, core/gallery.py)
        "ALTER TABLE tasks ADD COLUMN parent_id INTEGER",  # the record this one iterated on
        "ALTER TABLE tasks ADD COLUMN parent_index INTEGER",  # which result of it (0-based)
        "ALTER TABLE tasks ADD COLUMN favourites INTEGER NOT NULL DEFAULT 0",  # bit i: result i starred
        "ALTER TABLE tasks ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0",  # bit i: result i's file deleted
        # The gallery's pages (state = 'completed', see SORTS) read in index order, with 10,000
        # records as with 100 (benchmarks/gallery.py); the favourites indexes hold only starred rows.
        "CREATE INDEX tasks_parent ON tasks(parent_id)",
        "CREATE INDEX tasks_model ON tasks(state, model, id DESC)",
        "CREATE INDEX tasks_favourite ON tasks(state, id) WHERE favourites != 0",
        "CREATE INDEX tasks_favourite_model ON tasks(state, model, id DESC) WHERE favourites != 0",
    ],
    4: [  # batches (matrix runs): see core/batch_store.py
        """CREATE TABLE batches (
            id TEXT PRIMARY KEY,           -- also the group_id of its tasks
            state TEXT NOT NULL,           -- running, paused, cancelled, done
            reason TEXT,                   -- why it is paused or stopped
            matrix TEXT NOT NULL,          -- JSON: the matrix as asked
            concurrency INTEGER NOT NULL,
            budget REAL,                   -- the batch's own cap (--budget), if any
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            finished_at REAL
        )""",
        """CREATE TABLE batch_items (
            batch_id TEXT NOT NULL REFERENCES batches(id),
            seq INTEGER NOT NULL,          -- 1-based, in matrix order
            state TEXT NOT NULL,           -- planned, recorded, dropped, cancelled
            request TEXT NOT NULL,         -- JSON body it submits
            cell TEXT NOT NULL,            -- JSON: its place in the matrix
            idempotency_key TEXT NOT NULL, -- chosen at planning, used by its task record
            credits REAL,                  -- expected credits at planning (NULL: unknown)
            record_id INTEGER,             -- tasks.id once recorded
            PRIMARY KEY (batch_id, seq)
        )""",
        "CREATE INDEX batches_state ON batches(state)",
    ],
    5: [
        # The last time a read saw the task unfinished: a finish seen soon after is timed
        # to within one poll (core/timing.py); one first seen already finished is not.
        "ALTER TABLE tasks ADD COLUMN running_seen_at REAL",
    ],
    6: [
        "ALTER TABLE tasks ADD COLUMN linked_to INTEGER",  # this submit's task is that record's
    ],
    7: [
        # When the user took the task off the task list (x in the app): the record is kept,
        # only left out of the list and the running count. NULL: listed.
        "ALTER TABLE tasks ADD COLUMN dismissed_at REAL",
    ],
}
MAX_RESULT_BITS = 62  # favourites and deleted are bit sets of result indexes in one SQLite integer
SORTS = {"newest": "id DESC", "oldest": "id ASC", "model": "model ASC, id DESC"}
# A write for a linked record goes to the record it is linked to (both ids bound: ``(id, id)``).
_TARGET = "id = COALESCE((SELECT linked_to FROM tasks WHERE id = ?), ?)"

UNFINISHED_STATES = ("submitting", "uncertain", "pending", "processing", "unknown")
NOT_FOUND = "not_found"  # final: Evolink answered 404 for a task id on record (it no longer knows it)
UNCERTAIN_STATES = ("submitting", "uncertain")  # with no task id: the submit's outcome is unknown
RESENDABLE_STATES = ("submitting", "uncertain", "submit_failed")
# Every state this app writes (a server may send others: they are kept as they come).
KNOWN_STATES = (
    *("submitting", "uncertain", "submit_failed", "pending", "processing"),
    *("completed", "failed", "cancelled", NOT_FOUND, "unknown", "linked"),
)
STATUS_FILTERS = ("unfinished", "uncertain", "expired", "undownloaded")  # search(status=...) beyond a state
RETRY_DOWNLOAD_STATES = ("pending", "failed")


class HistoryError(RuntimeError):
    """The history cannot be opened or written (names the file and what to do)."""


class UnrecordedSubmit(HistoryError):
    """The history failed after a submit went out: Evolink may have accepted (and charged)
    it. Says so, with the task id when the server gave one, and how to resend it safely."""

    def __init__(self, cause: HistoryError, record_id: int, task_id: str | None = None):
        self.record_id = record_id
        self.task_id = task_id
        shown = one_line(task_id) if task_id else ""
        if task_id:
            what = f"Evolink accepted it as task {shown} and may have charged it"
        else:
            what = "it may have reached Evolink and been charged"
        self.advice = (
            f"The submit had already gone out: {what}. Do not generate it again. Once the history "
            f"can be written, `evolink-tui resume --resend {record_id}` sends it again with its own "
            "idempotency key, which never charges twice"
            + (f" (or `evolink-tui check {shown}` looks the task up)." if task_id else ".")
        )
        super().__init__(f"{cause} {self.advice}")

    def to_json(self) -> dict:
        return {
            "kind": "history",
            "message": str(self),
            "sent": True,
            "may_be_charged": True,
            "record_id": self.record_id,
            "task_id": self.task_id,
            "resend": f"evolink-tui resume --resend {self.record_id}",
        }


def history_file(folder: str | PathLike[str], demo: bool = False) -> str:
    """The history database in the data ``folder``: demo runs keep their own, apart from real
    tasks. A string: `evolink-tui history` never loads pathlib."""
    return os.path.join(os.fspath(folder), DEMO_HISTORY_FILE if demo else HISTORY_FILE)


def history_path(settings) -> Path:
    """The history database for ``settings`` (:func:`history_file`, as a Path)."""
    from pathlib import Path

    return Path(history_file(settings.data_dir, getattr(settings, "demo", False)))


def read_ahead(path: Path, limit: int = PAGE) -> Future:
    """The newest ``limit`` records and the number of records, read in a thread started now.

    The TUI starts this before it loads Textual, so the first page is read while the
    interpreter is busy importing and the first frame can show it. Resolves to
    ``(records, total)``, or to the error the read met.
    """
    from concurrent.futures import Future  # deferred: it loads logging, which only the app needs

    future: Future = Future()

    def read() -> None:
        history = History(path)
        try:
            future.set_result((history.recent(limit, 0), history.count()))
        except BaseException as exc:
            future.set_exception(exc)
        finally:
            history.close()

    import threading  # deferred: only the app reads ahead

    threading.Thread(target=read, name="history-read-ahead", daemon=True).start()
    return future


def _numbers(bits: int) -> list[int]:
    """The numbers (from 1) of the result indexes set in ``bits``; most records have none,
    and `evolink-tui history --json` asks this twice for each record."""
    return [i + 1 for i in range(MAX_RESULT_BITS) if bits >> i & 1] if bits else []


class TaskRecord:
    """One task as history keeps it. A plain class, not a dataclass: ``dataclasses`` loads
    ``inspect`` (and with it ast, dis, tokenize), 15 ms of a headless ``history`` that has a
    budget of 3x a bare interpreter. Compared field by field (``==``), unhashable, as a
    dataclass would be."""

    __slots__ = FIELDS = (
        "id",
        "task_id",
        "state",
        "prompt",
        "model",
        "request",
        "idempotency_key",
        "group_id",
        "progress",
        "estimated_time",
        "credits",
        "results",
        "files",
        "error",
        "notice",
        "created_at",
        "submitted_at",
        "finished_at",
        "updated_at",
        "attempted_at",
        "download_state",
        "url_expires_at",
        "task_raw",
        "parent_id",
        "parent_index",
        "favourites",
        "deleted",
        "running_seen_at",
        "linked_to",
        "dismissed_at",
        "damaged",
    )
    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __init__(
        self,
        id: int,
        task_id: str | None,
        state: str,
        prompt: str,
        model: str,
        request: dict,
        idempotency_key: str,
        group_id: str | None = None,
        progress: int = 0,
        estimated_time: int | None = None,
        credits: float | None = None,
        results: list[str] | None = None,
        files: list[str] | None = None,
        error: dict | None = None,
        notice: str | None = None,
        created_at: float = 0.0,
        submitted_at: float | None = None,
        finished_at: float | None = None,
        updated_at: float = 0.0,
        attempted_at: float | None = None,
        download_state: str | None = None,
        url_expires_at: float | None = None,
        task_raw: dict | None = None,
        parent_id: int | None = None,
        parent_index: int | None = None,
        favourites: int = 0,
        deleted: int = 0,
        running_seen_at: float | None = None,
        linked_to: int | None = None,
        dismissed_at: float | None = None,
        damaged: list[str] | None = None,
    ) -> None:
        self.id = id
        self.task_id = task_id
        self.state = state
        self.prompt = prompt
        self.model = model
        self.request = request
        self.idempotency_key = idempotency_key
        self.group_id = group_id
        self.progress = progress
        self.estimated_time = estimated_time
        self.credits = credits
        self.results = [] if results is None else results
        self.files = [] if files is None else files
        self.error = error
        self.notice = notice
        self.created_at = created_at
        self.submitted_at = submitted_at
        self.finished_at = finished_at
        self.updated_at = updated_at
        self.attempted_at = attempted_at
        self.download_state = download_state
        self.url_expires_at = url_expires_at
        self.task_raw = task_raw
        self.parent_id = parent_id
        self.parent_index = parent_index
        self.favourites = favourites
        self.deleted = deleted
        self.running_seen_at = running_seen_at
        self.linked_to = linked_to
        self.dismissed_at = dismissed_at  # taken off the app's task list then (the record is kept)
        self.damaged = [] if damaged is None else damaged  # columns of the row that could not be read

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.FIELDS)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.FIELDS)
        return f"TaskRecord({shown})"

    def replace(self, **changes) -> TaskRecord:
        """A copy with ``changes`` (field=value), as dataclasses.replace made one; an unknown
        field is a TypeError."""
        fields = {name: getattr(self, name) for name in self.FIELDS}
        unknown = set(changes) - set(fields)
        if unknown:
            raise TypeError(f"TaskRecord has no field {', '.join(sorted(unknown))}")
        return TaskRecord(**{**fields, **changes})

    @property
    def parent(self) -> tuple[int, int] | None:
        """(record id, result index) this task iterated on, if any."""
        if self.parent_id is None:
            return None
        return self.parent_id, self.parent_index or 0

    def is_favourite(self, index: int) -> bool:
        return 0 <= index < MAX_RESULT_BITS and bool(self.favourites >> index & 1)

    def is_deleted(self, index: int) -> bool:
        """The user deleted result ``index``'s local file (the record stays)."""
        return 0 <= index < MAX_RESULT_BITS and bool(self.deleted >> index & 1)

    def favourite_results(self) -> list[int]:
        """The starred results' numbers, from 1 (as file names and sidecars count them)."""
        return _numbers(self.favourites)

    def deleted_results(self) -> list[int]:
        """The numbers, from 1, of the results whose local file the user deleted."""
        return _numbers(self.deleted)

    @property
    def is_finished(self) -> bool:
        return self.state not in UNFINISHED_STATES

    @property
    def is_uncertain(self) -> bool:
        """The submit's outcome is unknown: resend only with this record's own key."""
        return self.task_id is None and self.state in UNCERTAIN_STATES

    @property
    def can_resend(self) -> bool:
        """Never accepted by the server as far as we know: resending with the same key is safe."""
        return self.task_id is None and self.state in RESENDABLE_STATES

    @property
    def needs_download(self) -> bool:
        """Completed, with results not yet (all) on disk, and not known to be expired."""
        return self.state == "completed" and self.download_state in RETRY_DOWNLOAD_STATES and bool(self.results)

    @property
    def is_expired(self) -> bool:
        return self.download_state == "expired"

    def urls_valid(self, now: float) -> bool:
        """Whether the result URLs should still work at ``now`` (unknown expiry: assume so)."""
        return self.url_expires_at is None or now < self.url_expires_at

    def generation_request(self) -> GenerationRequest:
        """The request this record submitted (or will submit): what a resend sends again
        and what regenerate refills the composer with."""
        from .validation import GenerationRequest  # deferred: the catalogue loads with it

        return GenerationRequest.from_body(self.request)

    def as_task(self) -> Task:
        """The task as last received (or rebuilt from the columns for old rows)."""
        from .wire import Task

        if self.task_raw:
            try:
                return Task.parse(self.task_raw)
            except Exception:
                pass
        return Task(
            id=self.task_id or "",
            status=self.state,
            model=self.model,
            progress=self.progress,
            results=list(self.results),
            estimated_time=self.estimated_time,
            credits_reserved=self.credits,
        )

    def to_json(self) -> dict:
        """Everything on record (never the API key: it is not stored)."""
        return {
            "record_id": self.id,
            "task_id": self.task_id,
            "state": self.state,
            "prompt": self.prompt,
            "model": self.model,
            "request": self.request,
            "idempotency_key": self.idempotency_key,
            "group_id": self.group_id,
            "progress": self.progress,
            "estimated_time": self.estimated_time,
            "credits": self.credits,
            "results": self.results,
            "files": self.files,
            "error": self.error,
            "notice": self.notice,
            "download_state": self.download_state,
            "url_expires_at": self.url_expires_at,
            "created_at": self.created_at,
            "attempted_at": self.attempted_at,
            "submitted_at": self.submitted_at,
            "finished_at": self.finished_at,
            "updated_at": self.updated_at,
            "uncertain": self.is_uncertain,
            "needs_download": self.needs_download,
            # result numbers from 1, as the file names and sidecars count them
            "parent": {"record_id": self.parent_id, "result": (self.parent_index or 0) + 1} if self.parent else None,
            "favourite_results": self.favourite_results(),
            "deleted_results": self.deleted_results(),
            "linked_to": self.linked_to,
            "dismissed": self.dismissed_at is not None,
            "damaged": self.damaged,
        }

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> TaskRecord:
        """A record from its row; a column that cannot be read (a hand-edited or damaged
        row) gets a neutral value and is named in ``damaged``, never an exception."""
        r = _RowReader(row)
        record = cls(
            id=row["id"],
            task_id=r.text("task_id"),
            state=r.text("state", "unknown") or "unknown",
            prompt=r.text("prompt", "") or "",
            model=r.text("model", "") or "",
            request=r.json("request", dict, {}),
            idempotency_key=r.text("idempotency_key", "") or "",
            group_id=r.text("group_id"),
            progress=r.number("progress", 0, int),
            estimated_time=r.number("estimated_time", None, int),
            credits=r.number("credits"),
            results=r.strings("results"),
            files=r.strings("files"),
            error=r.json("error", dict, None),
            notice=r.text("notice"),
            created_at=r.number("created_at", 0.0),
            submitted_at=r.number("submitted_at"),
            finished_at=r.number("finished_at"),
            updated_at=r.number("updated_at", 0.0),
            attempted_at=r.number("attempted_at"),
            download_state=r.text("download_state"),
            url_expires_at=r.number("url_expires_at"),
            task_raw=r.json("task", dict, None),
            parent_id=r.number("parent_id", None, int),
            parent_index=r.number("parent_index", None, int),
            favourites=r.number("favourites", 0, int),
            deleted=r.number("deleted", 0, int),
            running_seen_at=r.number("running_seen_at"),
            linked_to=r.number("linked_to", None, int),
            dismissed_at=r.number("dismissed_at"),
        )
        record.damaged = r.damaged
        return record


class _Transaction:
    """:meth:`History.transaction`'s context (a class: contextlib would cost `history` a
    millisecond to import). Holds the history's lock from BEGIN to COMMIT or ROLLBACK."""

    __slots__ = ("history", "db")

    def __init__(self, history: History):
        self.history = history

    def __enter__(self) -> sqlite3.Connection:
        import sqlite3

        self.history._lock.acquire()
        try:
            self.db = self.history._db()
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            self._end()
            raise self.history._write_error(exc) from exc
        except BaseException:
            self.history._lock.release()
            raise
        return self.db

    def __exit__(self, kind, exc, trace) -> None:
        import sqlite3

        try:
            self.db.execute("COMMIT" if kind is None else "ROLLBACK")  # a full disk may refuse COMMIT
        except sqlite3.Error as error:
            self._end()
            raise self.history._write_error(error) from error
        self.history._lock.release()
        if isinstance(exc, sqlite3.Error):  # a write inside failed: rolled back, said as a HistoryError
            raise self.history._write_error(exc) from exc

    def _end(self) -> None:
        """After a failure: no transaction left open, the lock given back."""
        try:
            db = getattr(self, "db", None)
            if db is not None and db.in_transaction:
                db.execute("ROLLBACK")
        finally:
            self.history._lock.release()


class _RowReader:
    """One row's columns, each read as its type; what cannot be read is noted in ``damaged``."""

    __slots__ = ("values", "damaged")

    def __init__(self, row: sqlite3.Row):
        # By name once, in a dict: a Row looked up by name (and a name looked for in its list of
        # keys) scans the columns each time, which made reading a record cost twice as much.
        self.values = dict(zip(row.keys(), row, strict=True))
        self.damaged: list[str] = []

    def _get(self, name: str):
        return self.values.get(name)

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self._get(name)
        if value is None or isinstance(value, str):
            return default if value is None else value
        self.damaged.append(name)
        return str(value) if isinstance(value, (int, float)) else default

    def number(self, name: str, default=None, kind: type = float):
        value = self._get(name)
        if value is None:
            return default
        if isinstance(value, (int, float)) and math.isfinite(value) and abs(value) < 2**63:
            return kind(value)
        self.damaged.append(name)
        return default

    def json(self, name: str, kind: type, default):
        text = self._get(name)
        if text is None or text == "":
            return default
        try:
            value = json.loads(text)
        except (TypeError, ValueError, RecursionError):
            value = None
        if not isinstance(value, kind):
            self.damaged.append(name)
            return default
        return value

    def strings(self, name: str) -> list[str]:
        value = self.json(name, list, [])
        kept = [item for item in value if isinstance(item, str)]
        if len(kept) != len(value):
            self.damaged.append(name)
        return kept


class History:
    """Thread-safe (one lock) access to the history database; opened on first use."""

    def __init__(self, path: str | PathLike[str], clock=time.time):
        self._file = os.fspath(path)  # a string: `history` never loads pathlib (see dirs.data_folder)
        self._clock = clock
        self._conn: sqlite3.Connection | None = None
        self._lock = RLock()  # threading's own RLock, without importing threading for `history`

    @property
    def path(self) -> Path:
        from pathlib import Path

        return Path(self._file)

    # -- connection and schema ----------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            import sqlite3

            conn = None
            try:
                os.makedirs(os.path.dirname(self._file) or ".", exist_ok=True)
                conn = sqlite3.connect(self._file, check_same_thread=False, isolation_level=None, timeout=10)
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                self._migrate(conn)
            except (OSError, sqlite3.Error) as exc:
                if conn is not None:
                    conn.close()
                reason = getattr(exc, "strerror", None) or str(exc)
                raise HistoryError(
                    f"cannot use the history {self._file}: {reason}. Fix the folder's permissions, or move "
                    "a damaged file aside (EVOLINK_TUI_DATA_DIR picks another folder)."
                ) from exc
            except HistoryError:
                if conn is not None:
                    conn.close()
                raise
            self._conn = conn
        return self._conn

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise HistoryError(
                f"the history database schema {version} is newer than this evolink-tui ({SCHEMA_VERSION}); "
                "upgrade evolink-tui (the file was left untouched)"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in MIGRATIONS[target]:
                    if callable(statement):
                        statement(conn)
                    else:
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {target}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def now(self) -> float:
        """The time this history stamps records with (a test's fake clock, or the real one)."""
        return self._clock()

    def open(self) -> History:
        """Open (and migrate) now rather than on first use: a HistoryError surfaces early."""
        with self._lock:
            self._db()
        return self

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _write_error(self, exc: Exception) -> HistoryError:
        return HistoryError(
            f"cannot write the history {self._file}: {exc}. Free some space or fix the "
            "folder; what is already recorded is kept, and `evolink-tui resume` picks "
            "up the rest."
        )

    def _write(self, sql: str, params: tuple) -> sqlite3.Cursor:
        import sqlite3

        with self._lock:
            db = self._db()
            try:
                return db.execute(sql, params)
            except sqlite3.Error as exc:  # disk full, read-only, locked for too long
                raise self._write_error(exc) from exc

    def rows(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        """Rows of any query (for the other tables: batches)."""
        with self._lock:
            return self._db().execute(sql, params).fetchall()

    def write(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        """One write statement on any table (errors as :class:`HistoryError`)."""
        return self._write(sql, params)

    def transaction(self) -> _Transaction:
        """Several writes (through :meth:`write`, or the connection it yields) kept all
        together or not at all, even by a kill -9; any SQLite failure is a HistoryError."""
        return _Transaction(self)

    def _read(self, sql: str, params: tuple = ()) -> list[TaskRecord]:
        with self._lock:
            return [TaskRecord.from_row(row) for row in self._db().execute(sql, params).fetchall()]

    # -- writes -------------------------------------------------------------------

    def record_submission(
        self, body: dict, idempotency_key: str, *, group_id: str | None = None, parent: tuple[int, int] | None = None
    ) -> int:
        """Before a submit goes out: the request and its key (and the (record id, result
        index) it iterates on). Returns the record id."""
        now = self._clock()
        parent_id, parent_index = parent if parent is not None else (None, None)
        cursor = self._write(
            "INSERT INTO tasks (state, prompt, model, request, idempotency_key, group_id, parent_id, parent_index,"
            " created_at, updated_at) VALUES ('submitting', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                body.get("prompt", ""),
                body.get("model", ""),
                json.dumps(body),
                idempotency_key,
                group_id,
                parent_id,
                parent_index,
                now,
                now,
            ),
        )
        return int(cursor.lastrowid or 0)  # always set after an INSERT

    def update_request(self, record_id: int, body: dict) -> None:
        """After local references were uploaded: the body with their URLs."""
        self._write(
            "UPDATE tasks SET request = ?, updated_at = ? WHERE id = ?", (json.dumps(body), self._clock(), record_id)
        )

    def mark_uncertain(self, record_id: int, error: dict | None = None) -> None:
        """The submit's outcome is unknown: it may be sent again only with the same key."""
        self._write(
            "UPDATE tasks SET state = 'uncertain', error = ?, updated_at = ?"
            " WHERE id = ? AND task_id IS NULL AND linked_to IS NULL",
            (json.dumps(error) if error else None, self._clock(), record_id),
        )

    def mark_sending(self, record_id: int) -> None:
        """The submit request is about to go out (again): if the app dies now, the outcome is unknown."""
        now = self._clock()
        self._write(
            "UPDATE tasks SET state = 'submitting', attempted_at = ?, error = NULL, finished_at = NULL,"
            " updated_at = ? WHERE id = ? AND task_id IS NULL AND linked_to IS NULL",
            (now, now, record_id),
        )

    def mark_submit_failed(self, record_id: int, error: dict) -> None:
        now = self._clock()
        self._write(
            "UPDATE tasks SET state = 'submit_failed', error = ?, finished_at = ?, updated_at = ?"
            " WHERE id = ? AND linked_to IS NULL",
            (json.dumps(error), now, now, record_id),
        )

    def mark_not_found(self, record_id: int, error: dict) -> None:
        """Evolink answers 404 for this record's task: a final state, never polled again (a
        later answer for the same id, from ``check``, still supersedes it)."""
        now = self._clock()
        self._write(
            "UPDATE tasks SET state = ?, error = ?, estimated_time = NULL, finished_at = COALESCE(finished_at, ?),"
            " updated_at = ? WHERE id = ?",
            (NOT_FOUND, json.dumps(error), now, now, record_id),
        )

    def _link_if_taken(self, db: sqlite3.Connection, record_id: int, task_id: str) -> int:
        """The record that news of ``task_id`` for ``record_id`` belongs to.

        A record keeps its task id once it has one. A record without one whose task another
        record already holds is linked to that record (never a second row for one task);
        a holder known only by its task id (``check``) takes this submit's request.
        """
        row = db.execute("SELECT task_id, linked_to FROM tasks WHERE id = ?", (record_id,)).fetchone()
        if row is None or row["task_id"] is not None:
            return record_id
        if row["linked_to"] is not None:
            return int(row["linked_to"])
        holder = db.execute("SELECT id, idempotency_key FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
        if holder is None:
            return record_id
        from .errors import EvolinkError

        now = self._clock()
        if not holder["idempotency_key"]:
            db.execute(
                "UPDATE tasks SET (prompt, request, idempotency_key, group_id, attempted_at, parent_id,"
                " parent_index, created_at) = (SELECT s.prompt, s.request, s.idempotency_key, s.group_id,"
                " s.attempted_at, s.parent_id, s.parent_index, MIN(s.created_at, tasks.created_at)"
                " FROM tasks AS s WHERE s.id = ?),"
                " model = CASE WHEN model = '' THEN (SELECT model FROM tasks WHERE id = ?) ELSE model END,"
                " updated_at = ? WHERE id = ?",
                (record_id, record_id, now, holder["id"]),
            )
        error = EvolinkError(
            "local",
            "linked",
            f"Evolink answered with task {one_line(task_id)}, already recorded as #{holder['id']}: "
            "one task, linked there",
            task_id=task_id,
        )
        db.execute(
            "UPDATE tasks SET state = 'linked', linked_to = ?, error = ?, finished_at = ?, updated_at = ? WHERE id = ?",
            (holder["id"], json.dumps(error.to_json()), now, now, record_id),
        )
        return int(holder["id"])

    def update_task(self, record_id: int, task: Task) -> int:
        """Any news of a task: its status, progress, results, credits, error. Returns
        ``record_id``, or the record it is linked to (see :meth:`_link_if_taken`), which
        keeps its own state (a submit answered with another record's task says nothing
        reliable about that task).

        The error column follows the task: a failed task's error, or nothing (an earlier
        network or download error is cleared by news that supersedes it). A completed task
        gets ``download_state`` pending (until :meth:`set_downloads`) and its URL expiry.
        """
        return self.update_tasks([(record_id, task)])[0]

    def update_tasks(self, news: list[tuple[int, Task]]) -> list[int]:
        """:meth:`update_task` for each (record id, task), in one transaction (the runner's
        progress news of many tasks, written together); the records written, in order."""
        now = self._clock()
        targets = []
        with self.transaction() as db:
            for record_id, task in news:
                target = self._link_if_taken(db, record_id, task.id)
                if target == record_id:  # the holder's own news comes from its own polls, not another submit's answer
                    self._update_task_row(db, target, task, now)
                targets.append(target)
        return targets

    def _update_task_row(self, db: sqlite3.Connection, record_id: int, task: Task, now: float) -> None:
        error = None
        if task.error is not None:
            error = json.dumps(task.error.as_exception(task.id).to_json())
        elif task.status in ("failed", "cancelled"):
            from .errors import EvolinkError

            code = "unknown_error"
            error = json.dumps(EvolinkError("task", code, f"the task ended {task.status}", task_id=task.id).to_json())
        completed = task.status == "completed"
        expires = result_urls_expire(task.results, now) if completed else None
        db.execute(
            "UPDATE tasks SET task_id = COALESCE(task_id, ?), state = ?, progress = ?, estimated_time = ?,"
            " credits = COALESCE(?, credits), results = ?, error = ?, task = ?,"
            " notice = CASE WHEN ? THEN NULL ELSE notice END,"
            " download_state = CASE WHEN ? THEN COALESCE(download_state, 'pending') ELSE download_state END,"
            " url_expires_at = CASE WHEN ?"
            " THEN COALESCE(url_expires_at, ?, COALESCE(finished_at, ?) + ?) ELSE url_expires_at END,"
            " submitted_at = COALESCE(submitted_at, ?),"
            " finished_at = CASE WHEN ? THEN COALESCE(finished_at, ?) ELSE NULL END,"
            " running_seen_at = CASE WHEN ? THEN ? ELSE running_seen_at END,"
            " updated_at = ? WHERE id = ?",
            (
                task.id,
                task.status,
                task.progress,
                task.estimated_time,
                task.credits_reserved,
                json.dumps(task.results),
                error,
                json.dumps(task.raw) if task.raw else None,
                task.is_terminal,
                completed,
                completed,
                expires,
                now,
                RESULT_URL_LIFETIME,
                now,
                task.is_terminal,
                now,
                task.is_active,
                now,
                now,
                record_id,
            ),
        )

    def set_notice(self, record_id: int, notice: str | None) -> None:
        self._write(
            f"UPDATE tasks SET notice = ?, updated_at = ? WHERE {_TARGET}",
            (notice, self._clock(), record_id, record_id),
        )

    def set_error(self, record_id: int, error: dict | None) -> None:
        self._write(
            f"UPDATE tasks SET error = ?, updated_at = ? WHERE {_TARGET}",
            (json.dumps(error) if error else None, self._clock(), record_id, record_id),
        )

    def set_files(self, record_id: int, files: list[str]) -> None:
        self._write(
            f"UPDATE tasks SET files = ?, updated_at = ? WHERE {_TARGET}",
            (json.dumps(files), self._clock(), record_id, record_id),
        )

    def set_downloads(self, record_id: int, files: list[str], state: str, error: dict | None) -> None:
        """The outcome of downloading a completed task's results, in one write."""
        self._write(
            f"UPDATE tasks SET files = ?, download_state = ?, error = ?, updated_at = ? WHERE {_TARGET}",
            (json.dumps(files), state, json.dumps(error) if error else None, self._clock(), record_id, record_id),
        )

    def set_favourite(self, record_id: int, index: int, on: bool = True) -> None:
        """Star (or unstar) result ``index`` of a record."""
        bit = _result_bit(index)
        sql = "favourites | ?" if on else "favourites & ~?"
        now = self._clock()
        self._write(f"UPDATE tasks SET favourites = {sql}, updated_at = ? WHERE id = ?", (bit, now, record_id))

    def mark_file_deleted(self, record_id: int, index: int) -> None:
        """The user deleted result ``index``'s local file: the record stays and says so."""
        bit = _result_bit(index)
        now = self._clock()
        self._write("UPDATE tasks SET deleted = deleted | ?, updated_at = ? WHERE id = ?", (bit, now, record_id))

    def set_dismissed(self, record_id: int, on: bool = True) -> None:
        """Take a record off the app's task list (or put it back): the record stays."""
        now = self._clock()
        self._write("UPDATE tasks SET dismissed_at = ? WHERE id = ?", (now if on else None, record_id))

    def add_task_id(self, task: Task) -> int:
        """A task known only by its id ("check task by id"): recorded so it is not lost."""
        existing = self.by_task_id(task.id)
        if existing:
            self.update_task(existing.id, task)
            return existing.id
        now = self._clock()
        body = {"prompt": "", "model": task.model}
        # Submitted when the server says it was created (its own timestamp), if plausible.
        created = task.created if task.created and now - 7 * 86400 < task.created <= now + 300 else None
        cursor = self._write(
            "INSERT INTO tasks (task_id, state, prompt, model, request, idempotency_key, created_at, submitted_at,"
            " updated_at) VALUES (?, ?, '', ?, ?, '', ?, ?, ?)",
            (task.id, task.status, task.model, json.dumps(body), now, created, now),
        )
        record_id = int(cursor.lastrowid or 0)  # always set after an INSERT
        self.update_task(record_id, task)
        return record_id

    # -- reads --------------------------------------------------------------------

    def get(self, record_id: int) -> TaskRecord | None:
        rows = self._read("SELECT * FROM tasks WHERE id = ?", (record_id,))
        return rows[0] if rows else None

    def by_task_id(self, task_id: str) -> TaskRecord | None:
        rows = self._read("SELECT * FROM tasks WHERE task_id = ?", (task_id,))
        return rows[0] if rows else None

    def recent(self, limit: int = 200, offset: int = 0) -> list[TaskRecord]:
        """Newest first, a page at a time (the TUI loads lazily)."""
        return self._read("SELECT * FROM tasks ORDER BY id DESC LIMIT ? OFFSET ?", (limit, offset))

    def count(self) -> int:
        with self._lock:
            return int(self._db().execute("SELECT COUNT(*) FROM tasks").fetchone()[0])

    def search(
        self,
        text: str = "",
        *,
        model: str | None = None,
        status: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 200,
        offset: int = 0,
        favourites: bool = False,
        sort: str = "newest",
    ) -> list[TaskRecord]:
        """A page at a time, newest first (or ``sort``: a key of :data:`SORTS`). Every word of
        ``text`` is in the prompt or the task id; ``status`` is a state, or ``unfinished``,
        ``uncertain``, ``expired`` or ``undownloaded`` (results not yet on disk);
        ``favourites``: only records with a starred result."""
        where, params = self._filter(text, model, status, since, until, favourites)
        order = SORTS[sort]
        return self._read(f"SELECT * FROM tasks{where} ORDER BY {order} LIMIT ? OFFSET ?", (*params, limit, offset))

    def count_matching(
        self,
        text: str = "",
        *,
        model: str | None = None,
        status: str | None = None,
        since: float | None = None,
        until: float | None = None,
        favourites: bool = False,
    ) -> int:
        """How many records :meth:`search` would find with no limit."""
        where, params = self._filter(text, model, status, since, until, favourites)
        with self._lock:
            return int(self._db().execute(f"SELECT COUNT(*) FROM tasks{where}", params).fetchone()[0])

    @staticmethod
    def _filter(
        text: str,
        model: str | None,
        status: str | None,
        since: float | None,
        until: float | None,
        favourites: bool = False,
    ) -> tuple[str, tuple]:
        """The WHERE clause (with its parameters) of a search."""
        clauses: list[str] = []
        params: list[object] = []
        for word in text.split():  # every word, in the prompt or the task id
            clauses.append("(prompt LIKE ? ESCAPE '\\' OR task_id LIKE ? ESCAPE '\\')")
            pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            params += [pattern, pattern]
        if model:
            clauses.append("model = ?")
            params.append(model)
        if status == "unfinished":
            clauses.append(f"state IN ({','.join('?' for _ in UNFINISHED_STATES)})")
            params += UNFINISHED_STATES
        elif status == "uncertain":
            clauses.append(f"task_id IS NULL AND state IN ({','.join('?' for _ in UNCERTAIN_STATES)})")
            params += UNCERTAIN_STATES
        elif status == "expired":
            clauses.append("download_state = 'expired'")
        elif status == "downloaded":
            clauses.append("state = 'completed' AND download_state = 'done'")
        elif status == "undownloaded":
            clauses.append("state = 'completed' AND download_state IN ('pending', 'failed')")
        elif status:
            clauses.append("state = ?")
            params.append(status)
        if since is not None:
            clauses.append("created_at >= ?")
            params.append(since)
        if until is not None:
            clauses.append("created_at < ?")
            params.append(until)
        if favourites:
            clauses.append("favourites != 0")  # as written: the partial index tasks_favourite serves it
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", tuple(params)

    def children(self, record_id: int) -> list[TaskRecord]:
        """The tasks that iterated on a result of this record, oldest first."""
        return self._read("SELECT * FROM tasks WHERE parent_id = ? ORDER BY id", (record_id,))

    def descendants(self, record_id: int, *, max_depth: int = 100, limit: int = 10_000) -> list[TaskRecord]:
        """The record and everything iterated from it (children, their children...), in id
        order, in one query; at most ``max_depth`` generations and ``limit`` records."""
        return self._read(
            "WITH RECURSIVE tree(id, depth) AS (SELECT id, 0 FROM tasks WHERE id = ?"
            " UNION SELECT tasks.id, tree.depth + 1 FROM tasks JOIN tree ON tasks.parent_id = tree.id"
            " WHERE tree.depth < ?)"
            " SELECT * FROM tasks WHERE id IN (SELECT id FROM tree) ORDER BY id LIMIT ?",
            (record_id, max_depth, limit),
        )

    def states(self) -> list[str]:
        """Every state on record (a server's own statuses included)."""
        with self._lock:
            return [row[0] for row in self._db().execute("SELECT DISTINCT state FROM tasks ORDER BY state")]

    def models(self, status: str = "completed") -> list[str]:
        """Every model with a task in ``status``, by name (for the gallery's model filter)."""
        with self._lock:
            rows = self._db().execute("SELECT DISTINCT model FROM tasks WHERE state = ? ORDER BY model", (status,))
            return [row[0] for row in rows]

    def in_group(self, group_id: str) -> list[TaskRecord]:
        """Every task of one comparison run, in order."""
        return self._read("SELECT * FROM tasks WHERE group_id = ? ORDER BY id", (group_id,))

    def unfinished(self) -> list[TaskRecord]:
        marks = ",".join("?" for _ in UNFINISHED_STATES)
        return self._read(f"SELECT * FROM tasks WHERE state IN ({marks}) ORDER BY id", UNFINISHED_STATES)

    def resendable(self) -> list[TaskRecord]:
        """Submits never confirmed by the server (uncertain, interrupted, or refused), oldest first."""
        marks = ",".join("?" for _ in RESENDABLE_STATES)
        return self._read(
            f"SELECT * FROM tasks WHERE task_id IS NULL AND state IN ({marks}) ORDER BY id", RESENDABLE_STATES
        )

    def needs_download(self) -> list[TaskRecord]:
        """Completed tasks whose results are not all on disk yet (retried while the URLs last)."""
        return [
            r
            for r in self._read(
                "SELECT * FROM tasks WHERE state = 'completed' AND download_state IN (?, ?) ORDER BY id",
                RETRY_DOWNLOAD_STATES,
            )
            if r.needs_download
        ]

    def prompts(self, text: str = "", limit: int = 100) -> list[str]:
        """Distinct earlier prompts, newest first (for recall and search in the composer)."""
        with self._lock:
            rows = (
                self._db()
                .execute(
                    "SELECT prompt, MAX(id) AS last FROM tasks WHERE prompt != '' AND prompt LIKE ? ESCAPE '\\'"
                    " GROUP BY prompt ORDER BY last DESC LIMIT ?",
                    ("%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%", limit),
                )
                .fetchall()
            )
        return [row["prompt"] for row in rows]


def _result_bit(index: int) -> int:
    if not isinstance(index, int) or not 0 <= index < MAX_RESULT_BITS:
        raise ValueError(f"result index {index!r} is not from 0 to {MAX_RESULT_BITS - 1}")
    return 1 << index


def result_urls_expire(urls: list[str], now: float) -> float | None:
    """The earliest expiry that result URLs carry themselves (``expires=`` / ``Expires=``
    unix seconds in the query, as signed links do), if any and plausible."""
    from urllib.parse import parse_qsl, urlsplit

    found = []
    for url in urls:
        try:
            query = parse_qsl(urlsplit(url).query)
        except ValueError:
            continue
        for key, value in query:
            if key.lower() == "expires" and value.isdigit():
                moment = float(value)
                if now - 7 * 86400 < moment < now + 7 * 86400:
                    found.append(moment)
    return min(found) if found else None
