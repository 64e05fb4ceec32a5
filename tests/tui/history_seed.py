"""A long history written straight into the database (one executemany): thousands of
finished tasks in well under a second, for the tests of lazy loading and searching."""

from __future__ import annotations

import json
from pathlib import Path

from evolink_tui.core.history import History

MODELS = ("gpt-image-1.5", "z-image-turbo", "doubao-seedream-4.5", "nano-banana-2-lite")
SUBJECTS = ("lighthouse", "fox", "harbour", "castle", "koi pond", "desert")
# (state, download_state, error code): finished outcomes only, so startup recovery has nothing to do.
OUTCOMES = (
    ("completed", "done", None),
    ("completed", "done", None),
    ("failed", None, "content_policy_violation"),
    ("completed", "expired", "expired"),
    ("submit_failed", None, "insufficient_quota"),
)


def seeded_prompt(index: int) -> str:
    return f"a {SUBJECTS[index % len(SUBJECTS)]} number {index}"


def seed_history(path: Path, count: int, *, newest: float, step: float = 60.0) -> None:
    """``count`` records, ids 1..count, created ``step`` seconds apart up to ``newest``."""
    history = History(path).open()
    rows = []
    for index in range(1, count + 1):
        state, downloads, code = OUTCOMES[index % len(OUTCOMES)]
        model = MODELS[index % len(MODELS)]
        prompt = seeded_prompt(index)
        created = newest - (count - index) * step
        task_id = None if state == "submit_failed" else f"task-unified-{int(created)}-seed{index:05d}"
        error = json.dumps({"code": code, "message": "seeded", "retryable": False}) if code else None
        results = json.dumps([f"https://files.example/{index}.png"] if state == "completed" else [])
        rows.append(
            (
                task_id,
                state,
                prompt,
                model,
                json.dumps({"prompt": prompt, "model": model}),
                f"run_seed{index}",
                100 if state == "completed" else 0,
                6.0,
                results,
                error,
                created,
                created + 1,
                created + 9,
                created + 9,
                created,
                downloads,
                created + 86400,
            )
        )
    with history._lock:
        db = history._db()
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO tasks (task_id, state, prompt, model, request, idempotency_key, progress, credits, results,"
            " error, created_at, submitted_at, finished_at, updated_at, attempted_at, download_state, url_expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        db.execute("COMMIT")
    history.close()
