"""Helpers shared by tests that drive real processes: reading the history database from
outside the process and waiting for a condition with a deadline."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path


def history_rows(db: Path) -> list[dict]:
    """Every task row of a history database another process writes (none if not there yet)."""
    if not db.exists():
        return []
    try:
        conn = sqlite3.connect(db, timeout=1)
        try:
            conn.row_factory = sqlite3.Row
            return [dict(row) for row in conn.execute("SELECT * FROM tasks ORDER BY id")]
        finally:
            conn.close()
    except sqlite3.Error:  # not created yet
        return []


def wait_for(condition, what: str, timeout: float = 20.0, step: float = 0.03):
    """The first truthy value of ``condition()``; AssertionError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")
