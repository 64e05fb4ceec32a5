"""Seeding a history with past tasks (their credits, their times) for cost, plan and budget tests."""

from __future__ import annotations

import itertools

from evolink_tui.core.history import History
from evolink_tui.core.wire import Task

_ids = itertools.count(1)


def seed(
    history: History,
    clock,
    model: str,
    credits: float | None,
    *,
    n: int = 1,
    seconds: float = 10.0,
    status: str = "completed",
    usage: dict | None = None,
    group_id: str | None = None,
) -> int:
    """A task of ``model`` submitted now and ended ``seconds`` later (the clock moves), as the
    runner would have recorded it; its record id."""
    number = next(_ids)
    body = {"prompt": f"seeded {number}", "model": model, "n": n}
    record_id = history.record_submission(body, f"run_seed{number:04d}", group_id=group_id)
    task_id = f"task-unified-1-seed{number:04d}"
    spent = {"credits_reserved": credits, **(usage or {})}
    history.update_task(record_id, Task.parse({"id": task_id, "status": "pending", "model": model, "usage": spent}))
    clock.advance(seconds)
    final: dict = {"id": task_id, "status": status, "model": model, "progress": 100, "usage": spent}
    if status == "completed":
        final["results"] = [f"https://results.invalid/{task_id}/{i}.png" for i in range(n)]
    if status == "failed":
        final["error"] = {"code": "service_error", "message": "Internal service error", "type": "server_error"}
    history.update_task(record_id, Task.parse(final))
    return record_id
