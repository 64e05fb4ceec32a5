"""The simulator's state on disk, so that it outlives a run the way the real service does.

``evolink-tui --demo`` builds its simulator in-process; without this file every run would
meet a server that has never heard of the tasks, files and credits of the run before. With
it, a task submitted before quitting is still there (and still on its own timetable) when
the app or ``resume`` starts again, an uploaded file is still listed, and an idempotency key
still finds its task.

SQLite (standard library) in WAL mode: every change is one transaction, so a crash never
leaves half a write, and several processes may share the file (the app and a headless
command at once). A process re-reads what the others changed before each request (cheaply:
``PRAGMA data_version`` says whether anything changed) and makes its own changes inside
``BEGIN IMMEDIATE`` after re-reading, so two writers never decide on stale state.

Bounded like the real service: a task is forgotten once its result URLs have lapsed (24 h
after it finished), a file at its 72-hour expiry; at most :data:`MAX_TASKS` tasks are kept.
The request log, fault plan and rendered images stay in memory: they are the simulator's
own workings, not the service's state. The API key is never stored, only a hash of it to
scope idempotency keys.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

from .state import SimFile, SimTask

SCHEMA_VERSION = 1
MAX_TASKS = 10_000

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS tasks (
        id TEXT PRIMARY KEY,
        started REAL NOT NULL,
        forget_at REAL NOT NULL,     -- when the result URLs have lapsed: the task goes then
        key_scope TEXT,              -- a hash of the API key it was submitted with
        idempotency_key TEXT,
        task TEXT NOT NULL           -- the SimTask's fields as JSON (never the key)
    )""",
    "CREATE UNIQUE INDEX IF NOT EXISTS tasks_idempotency ON tasks(key_scope, idempotency_key)"
    " WHERE idempotency_key IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS tasks_forget ON tasks(forget_at)",
    """CREATE TABLE IF NOT EXISTS files (
        file_id TEXT PRIMARY KEY,
        file_name TEXT NOT NULL,
        original_name TEXT NOT NULL,
        mime_type TEXT NOT NULL,
        upload_path TEXT NOT NULL,
        upload_time REAL NOT NULL,
        seq INTEGER NOT NULL,
        data BLOB NOT NULL
    )""",
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value REAL NOT NULL)",
]


class SimStore:
    """One SQLite file holding tasks, files and the credits spent. Opened on first use;
    thread-safe (one lock); :meth:`close` may be followed by more use (it reopens)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()

    # -- connection ---------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
            try:
                conn.execute("PRAGMA auto_vacuum=FULL")  # a new file gives back the pages of deleted files
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise sqlite3.DatabaseError(f"schema {version} is newer than this simulator's {SCHEMA_VERSION}")
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def version(self) -> int:
        """Changes when another connection (another process) committed since the last look."""
        with self._lock:
            return int(self._db().execute("PRAGMA data_version").fetchone()[0])

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction, taken before reading (BEGIN IMMEDIATE): nobody else writes meanwhile."""
        with self._lock:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # -- reads --------------------------------------------------------------------------------

    def task_ids(self) -> set[str]:
        with self._lock:
            return {row[0] for row in self._db().execute("SELECT id FROM tasks")}

    def tasks(self, ids: set[str]) -> list[tuple[SimTask, str | None]]:
        """The tasks named (with the key scope each was submitted with)."""
        if not ids:
            return []
        with self._lock:
            if len(ids) <= 50:  # the usual case: a few tasks another process added
                rows = [
                    row
                    for task_id in ids
                    for row in self._db().execute("SELECT id, task, key_scope FROM tasks WHERE id = ?", (task_id,))
                ]
            else:  # a first read: one pass
                rows = [row for row in self._db().execute("SELECT id, task, key_scope FROM tasks") if row[0] in ids]
        return [(SimTask(**json.loads(task)), scope) for _, task, scope in rows]

    def file_heads(self) -> list[tuple]:
        """Every file's fields but its bytes: (file_id, file_name, original_name, mime_type,
        upload_path, upload_time, seq)."""
        with self._lock:
            return (
                self._db()
                .execute(
                    "SELECT file_id, file_name, original_name, mime_type, upload_path, upload_time, seq FROM files"
                )
                .fetchall()
            )

    def file_data(self, file_id: str) -> bytes | None:
        with self._lock:
            row = self._db().execute("SELECT data FROM files WHERE file_id = ?", (file_id,)).fetchone()
        return bytes(row[0]) if row else None

    def counters(self) -> dict[str, float]:
        with self._lock:
            return {name: value for name, value in self._db().execute("SELECT name, value FROM counters")}

    # -- writes -------------------------------------------------------------------------------

    def put_task(self, task: SimTask, scope: str | None) -> None:
        fields = asdict(task)
        fields["api_key"] = ""
        with self._lock:
            self._db().execute(
                "INSERT OR REPLACE INTO tasks (id, started, forget_at, key_scope, idempotency_key, task)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (task.id, task.started, task.expires, scope, task.idempotency_key, json.dumps(fields)),
            )

    def add(self, name: str, amount: float) -> None:
        with self._lock:
            self._db().execute(
                "INSERT INTO counters (name, value) VALUES (?, ?)"
                " ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                (name, amount),
            )

    def put_file(self, item: SimFile) -> None:
        with self._lock:
            self._db().execute(
                "INSERT OR REPLACE INTO files"
                " (file_id, file_name, original_name, mime_type, upload_path, upload_time, seq, data)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    item.file_id,
                    item.file_name,
                    item.original_name,
                    item.mime_type,
                    item.upload_path,
                    item.upload_time,
                    item.seq,
                    item.data,
                ),
            )

    def delete_files(self, file_ids: list[str]) -> None:
        with self._lock:
            self._db().executemany("DELETE FROM files WHERE file_id = ?", [(f,) for f in file_ids])

    def forget(self, now: float, file_ttl: float) -> None:
        """Drop what the real service would have dropped by ``now``, and keep the task table bounded."""
        with self._lock:
            db = self._db()
            db.execute("DELETE FROM tasks WHERE forget_at <= ?", (now,))
            db.execute(
                "DELETE FROM tasks WHERE id NOT IN (SELECT id FROM tasks ORDER BY started DESC LIMIT ?)", (MAX_TASKS,)
            )
            db.execute("DELETE FROM files WHERE upload_time + ? <= ?", (file_ttl, now))

    def clear(self) -> None:
        with self.transaction():
            for table in ("tasks", "files", "counters"):
                self._db().execute(f"DELETE FROM {table}")
