"""A dismiss (x in the task list) is kept in the history: the record stays, marked, so a later
run leaves it off the list and out of the running count; undo clears the mark. An older
history (schema 6, before the mark) opens and keeps its records."""

from __future__ import annotations

import sqlite3

from evolink_tui.core.config import load_settings
from evolink_tui.core.history import MIGRATIONS, SCHEMA_VERSION, History
from evolink_tui.core.studio import Studio
from evolink_tui.headless.records import record_lines


def _submitted(history: History, prompt: str) -> int:
    return history.record_submission({"prompt": prompt, "model": "z-image-turbo"}, "run_key_" + prompt)


def test_a_schema_6_history_opens_with_its_records_listed(tmp_path):
    path = tmp_path / "history.sqlite3"
    conn = sqlite3.connect(path)
    for version in range(1, 7):
        for statement in MIGRATIONS[version]:
            statement(conn) if callable(statement) else conn.execute(statement)
    conn.execute("PRAGMA user_version = 6")
    conn.execute(
        "INSERT INTO tasks (task_id, state, prompt, model, request, idempotency_key, created_at, updated_at)"
        " VALUES ('task-old', 'processing', 'an old one', 'm', '{}', 'run_x', 1, 1)"
    )
    conn.commit()
    conn.close()
    history = History(path)
    try:
        [old] = history.recent()
        assert old.task_id == "task-old" and old.dismissed_at is None and not old.to_json()["dismissed"]
        history.set_dismissed(old.id)
        assert history.get(old.id).dismissed_at is not None
    finally:
        history.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 7
    conn.close()


async def test_a_dismiss_is_read_back_by_the_next_studio_and_undo_clears_it(tmp_path):
    settings = load_settings()
    first = Studio(settings)
    kept, hidden = _submitted(first.history, "kept"), _submitted(first.history, "hidden")
    await first.load_history(0)
    assert first.totals().running == 2
    first.dismiss(kept)
    first.dismiss(hidden)
    assert first.dismissed == {kept, hidden} and first.totals().running == 0
    assert first.undismiss() == hidden  # the last one first
    assert first.dismissed == {kept} and first.totals().running == 1
    first.history.close()

    second = Studio(settings)  # the next run of the app, on the same history
    await second.load_history(0)
    assert second.dismissed == {kept}
    assert second.totals().running == 1
    assert second.undismiss() is None  # nothing this run dismissed: undo is per run
    record = second.history.get(kept)
    assert record is not None and record.prompt == "kept"  # the record itself is kept
    assert record.to_json()["dismissed"] is True
    assert any("dismissed from the app's task list" in line for line in record_lines(record))
    second.history.close()


async def test_a_dismissed_task_shown_from_the_history_search_is_listed_again(tmp_path):
    settings = load_settings()
    first = Studio(settings)
    record_id = _submitted(first.history, "found again")
    await first.load_history(0)
    first.dismiss(record_id)
    first.history.close()

    second = Studio(settings)
    await second.load_history(0)
    assert record_id in second.dismissed
    [shown] = second.reveal(record_id)  # enter on it in the history search (ctrl+f)
    assert shown.dismissed_at is None and record_id not in second.dismissed
    assert second.totals().running == 1
    assert second.history.get(record_id).dismissed_at is None  # and so after the next restart too
    second.history.close()
