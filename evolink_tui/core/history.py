"""History of every submission, in SQLite (standard library, WAL mode) in the data dir.

The request is written before the submit goes out; every change after is written as it
happens, so a crash loses nothing: unfinished tasks are polled again on the next start,
and a submit whose outcome is unknown stays marked ``uncertain`` with its idempotency key.
Never stores the API key.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .wire import Task

HISTORY_FILE = "history.sqlite3"
SCHEMA_VERSION = 1
MIGRATIONS = {
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
}

UNFINISHED_STATES = ("submitting", "uncertain", "pending", "processing", "unknown")


@dataclass
class TaskRecord:
    id: int
    task_id: str | None
    state: str
    prompt: str
    model: str
    request: dict
    idempotency_key: str
    group_id: str | None = None
    progress: int = 0
    estimated_time: int | None = None
    credits: float | None = None
    results: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    error: dict | None = None
    notice: str | None = None
    created_at: float = 0.0
    submitted_at: float | None = None
    finished_at: float | None = None
    updated_at: float = 0.0

    @property
    def is_finished(self) -> bool:
        return self.state not in UNFINISHED_STATES

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "TaskRecord":
        return cls(
            id=row["id"], task_id=row["task_id"], state=row["state"], prompt=row["prompt"], model=row["model"],
            request=json.loads(row["request"]), idempotency_key=row["idempotency_key"], group_id=row["group_id"],
            progress=row["progress"], estimated_time=row["estimated_time"], credits=row["credits"],
            results=json.loads(row["results"]), files=json.loads(row["files"]),
            error=json.loads(row["error"]) if row["error"] else None, notice=row["notice"],
            created_at=row["created_at"], submitted_at=row["submitted_at"], finished_at=row["finished_at"],
            updated_at=row["updated_at"],
        )


class History:
    """Thread-safe (one lock) access to the history database; opened on first use."""

    def __init__(self, path: Path, clock=time.time):
        self.path = Path(path)
        self._clock = clock
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()

    # -- connection and schema ----------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._migrate(conn)
            self._conn = conn
        return self._conn

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"history database schema {version} is newer than this evolink-tui ({SCHEMA_VERSION})")
        for target in range(version + 1, SCHEMA_VERSION + 1):
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in MIGRATIONS[target]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {target}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _write(self, sql: str, params: tuple) -> sqlite3.Cursor:
        with self._lock:
            return self._db().execute(sql, params)

    def _read(self, sql: str, params: tuple = ()) -> list[TaskRecord]:
        with self._lock:
            return [TaskRecord.from_row(row) for row in self._db().execute(sql, params).fetchall()]

    # -- writes -------------------------------------------------------------------

    def record_submission(self, body: dict, idempotency_key: str, *, group_id: str | None = None) -> int:
        """Before a submit goes out: the request and its key. Returns the record id."""
        now = self._clock()
        cursor = self._write(
            "INSERT INTO tasks (state, prompt, model, request, idempotency_key, group_id, created_at, updated_at)"
            " VALUES ('submitting', ?, ?, ?, ?, ?, ?, ?)",
            (body.get("prompt", ""), body.get("model", ""), json.dumps(body), idempotency_key, group_id, now, now),
        )
        return int(cursor.lastrowid)

    def update_request(self, record_id: int, body: dict) -> None:
        """After local references were uploaded: the body with their URLs."""
        self._write("UPDATE tasks SET request = ?, updated_at = ? WHERE id = ?", (json.dumps(body), self._clock(), record_id))

    def mark_uncertain(self, record_id: int, error: dict | None = None) -> None:
        """The submit's outcome is unknown: it may be sent again only with the same key."""
        self._write("UPDATE tasks SET state = 'uncertain', error = ?, updated_at = ? WHERE id = ?",
                    (json.dumps(error) if error else None, self._clock(), record_id))

    def mark_submit_failed(self, record_id: int, error: dict) -> None:
        now = self._clock()
        self._write("UPDATE tasks SET state = 'submit_failed', error = ?, finished_at = ?, updated_at = ? WHERE id = ?",
                    (json.dumps(error), now, now, record_id))

    def update_task(self, record_id: int, task: Task) -> None:
        """Any news of a task: its status, progress, results, credits, error."""
        now = self._clock()
        error = None
        if task.error is not None:
            info = task.error.as_exception(task.id)
            error = json.dumps(info.to_json())
        self._write(
            "UPDATE tasks SET task_id = ?, state = ?, progress = ?, estimated_time = ?,"
            " credits = COALESCE(?, credits), results = ?, error = COALESCE(?, error),"
            " submitted_at = COALESCE(submitted_at, ?), finished_at = CASE WHEN ? THEN COALESCE(finished_at, ?) ELSE NULL END,"
            " updated_at = ? WHERE id = ?",
            (task.id, task.status, task.progress, task.estimated_time, task.credits_reserved, json.dumps(task.results),
             error, now, task.is_terminal, now, now, record_id),
        )

    def set_notice(self, record_id: int, notice: str | None) -> None:
        self._write("UPDATE tasks SET notice = ?, updated_at = ? WHERE id = ?", (notice, self._clock(), record_id))

    def set_error(self, record_id: int, error: dict | None) -> None:
        self._write("UPDATE tasks SET error = ?, updated_at = ? WHERE id = ?",
                    (json.dumps(error) if error else None, self._clock(), record_id))

    def set_files(self, record_id: int, files: list[str]) -> None:
        self._write("UPDATE tasks SET files = ?, updated_at = ? WHERE id = ?", (json.dumps(files), self._clock(), record_id))

    def add_task_id(self, task: Task) -> int:
        """A task known only by its id ("check task by id"): recorded so it is not lost."""
        existing = self.by_task_id(task.id)
        if existing:
            self.update_task(existing.id, task)
            return existing.id
        now = self._clock()
        body = {"prompt": "", "model": task.model}
        cursor = self._write(
            "INSERT INTO tasks (task_id, state, prompt, model, request, idempotency_key, created_at, updated_at)"
            " VALUES (?, ?, '', ?, ?, '', ?, ?)",
            (task.id, task.status, task.model, json.dumps(body), now, now),
        )
        record_id = int(cursor.lastrowid)
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

    def search(self, text: str = "", *, model: str | None = None, status: str | None = None,
               since: float | None = None, until: float | None = None, limit: int = 200) -> list[TaskRecord]:
        clauses, params = [], []
        if text:
            clauses.append("prompt LIKE ? ESCAPE '\\'")
            params.append("%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        if model:
            clauses.append("model = ?")
            params.append(model)
        if status:
            clauses.append("state = ?")
            params.append(status)
        if since is not None:
            clauses.append("created_at >= ?")
            params.append(since)
        if until is not None:
            clauses.append("created_at < ?")
            params.append(until)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        return self._read(f"SELECT * FROM tasks{where} ORDER BY id DESC LIMIT ?", (*params, limit))

    def unfinished(self) -> list[TaskRecord]:
        marks = ",".join("?" for _ in UNFINISHED_STATES)
        return self._read(f"SELECT * FROM tasks WHERE state IN ({marks}) ORDER BY id", UNFINISHED_STATES)

    def prompts(self, text: str = "", limit: int = 100) -> list[str]:
        """Distinct earlier prompts, newest first (for recall and search in the composer)."""
        with self._lock:
            rows = self._db().execute(
                "SELECT prompt, MAX(id) AS last FROM tasks WHERE prompt != '' AND prompt LIKE ? ESCAPE '\\'"
                " GROUP BY prompt ORDER BY last DESC LIMIT ?",
                ("%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%", limit),
            ).fetchall()
        return [row["prompt"] for row in rows]
