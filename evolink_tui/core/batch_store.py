"""Batches on disk, in the history database (tables ``batches`` and ``batch_items``, schema 4).

A batch is written whole, in one transaction, before its first submit: every task with its
request, its place in the matrix and the idempotency key it will be sent with. Its task
records (in ``tasks``, ``group_id`` = the batch id) are made as each task is sent, so after a
quit or a kill -9 the batch knows what was sent (a record, found by its key even if the link
was not written yet), what was not (a planned item) and resumes from there.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .matrix import Cell
from .validation import GenerationRequest

if TYPE_CHECKING:
    from .history import History
    from .plan import Plan

# Batch states
RUNNING = "running"  # sending and following its tasks (or interrupted: resumed at the next start)
PAUSED = "paused"  # no new task is sent until the user continues it (or the budget is raised)
CANCELLED = "cancelled"  # the unsent tasks will never be sent
DONE = "done"  # every task was sent and saw its end
# Item states
PLANNED = "planned"  # not recorded yet: nothing was sent
RECORDED = "recorded"  # has a task record (which says where it stands)
DROPPED = "dropped"  # left out of the plan by the user
ITEM_CANCELLED = "cancelled"  # not sent: the batch was cancelled


def new_batch_id() -> str:
    return "batch-" + uuid.uuid4().hex[:12]


@dataclass
class BatchItem:
    batch_id: str
    seq: int
    state: str
    request: dict
    cell: Cell
    idempotency_key: str
    credits: float | None
    record_id: int | None

    def generation_request(self) -> GenerationRequest:
        return GenerationRequest.from_body(self.request)

    def to_json(self) -> dict:
        return {
            "seq": self.seq,
            "state": self.state,
            "request": self.request,
            "cell": self.cell.to_json(),
            "expected_credits": self.credits,
            "record_id": self.record_id,
        }


@dataclass
class BatchRecord:
    id: str
    state: str
    reason: str | None
    matrix: dict
    concurrency: int
    budget: float | None
    created_at: float
    updated_at: float
    finished_at: float | None

    def to_json(self) -> dict:
        return {
            "batch_id": self.id,
            "state": self.state,
            "reason": self.reason,
            "matrix": self.matrix,
            "concurrency": self.concurrency,
            "budget": self.budget,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
        }


class BatchStore:
    """Reads and writes batches through a :class:`History` (same file, same lock)."""

    def __init__(self, history: History):
        self.history = history

    def _now(self) -> float:
        return self.history.now()

    def create(self, plan: Plan, *, budget: float | None = None, batch_id: str | None = None) -> BatchRecord:
        """Write ``plan`` (dropped tasks included, marked) as a new running batch, all at once."""
        from .client import new_idempotency_key

        batch_id = batch_id or new_batch_id()
        now = self._now()
        write = self.history.write
        with self.history.transaction():
            write(
                "INSERT INTO batches (id, state, matrix, concurrency, budget, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (batch_id, RUNNING, json.dumps(plan.matrix.to_json()), plan.concurrency, budget, now, now),
            )
            for task in plan.tasks:
                write(
                    "INSERT INTO batch_items (batch_id, seq, state, request, cell, idempotency_key, credits)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        batch_id,
                        task.seq,
                        DROPPED if task.seq in plan.dropped else PLANNED,
                        json.dumps(task.request.to_body()),
                        json.dumps(task.cell.to_json()),
                        new_idempotency_key(),
                        task.credits.median if task.credits else None,
                    ),
                )
        record = self.get(batch_id)
        assert record is not None
        return record

    # -- reads ------------------------------------------------------------------------

    @staticmethod
    def _batch(row) -> BatchRecord:
        data = dict(row)
        return BatchRecord(**{**data, "matrix": json.loads(data["matrix"])})

    def get(self, batch_id: str) -> BatchRecord | None:
        rows = self.history.rows("SELECT * FROM batches WHERE id = ?", (batch_id,))
        return self._batch(rows[0]) if rows else None

    def batches(self, states: tuple[str, ...] | None = None, limit: int = 100) -> list[BatchRecord]:
        """Newest first; only those in ``states`` when given."""
        if states:
            marks = ",".join("?" for _ in states)
            rows = self.history.rows(
                f"SELECT * FROM batches WHERE state IN ({marks}) ORDER BY created_at DESC LIMIT ?", (*states, limit)
            )
        else:
            rows = self.history.rows("SELECT * FROM batches ORDER BY created_at DESC LIMIT ?", (limit,))
        return [self._batch(row) for row in rows]

    def unfinished(self) -> list[BatchRecord]:
        """Batches to resume at the next start (or with ``resume``): running ones, oldest first."""
        return list(reversed(self.batches((RUNNING,), limit=1000)))

    def items(self, batch_id: str) -> list[BatchItem]:
        rows = self.history.rows("SELECT * FROM batch_items WHERE batch_id = ? ORDER BY seq", (batch_id,))
        return [
            BatchItem(
                **{**dict(row), "request": json.loads(row["request"]), "cell": Cell.from_json(json.loads(row["cell"]))}
            )
            for row in rows
        ]

    # -- writes -----------------------------------------------------------------------

    def set_state(self, batch_id: str, state: str, reason: str | None = None) -> None:
        now = self._now()
        finished = now if state in (DONE, CANCELLED) else None
        self.history.write(
            "UPDATE batches SET state = ?, reason = ?, updated_at = ?, finished_at = ? WHERE id = ?",
            (state, reason, now, finished, batch_id),
        )

    def link(self, batch_id: str, seq: int, record_id: int) -> None:
        """Item ``seq`` has its task record now."""
        self.history.write(
            "UPDATE batch_items SET state = ?, record_id = ? WHERE batch_id = ? AND seq = ?",
            (RECORDED, record_id, batch_id, seq),
        )

    def cancel_unsent(self, batch_id: str) -> int:
        """Mark every item not sent yet cancelled; how many."""
        cursor = self.history.write(
            "UPDATE batch_items SET state = ? WHERE batch_id = ? AND state = ?", (ITEM_CANCELLED, batch_id, PLANNED)
        )
        return cursor.rowcount

    def set_requests(self, batch_id: str, bodies: dict[int, dict]) -> None:
        """New request bodies for some items (local references replaced by their uploaded URLs)."""
        with self.history.transaction():
            for seq, body in bodies.items():
                self.history.write(
                    "UPDATE batch_items SET request = ? WHERE batch_id = ? AND seq = ? AND state = ?",
                    (json.dumps(body), batch_id, seq, PLANNED),
                )
