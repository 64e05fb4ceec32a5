"""``evolink-tui --demo`` quit with ctrl+q while a task is queued, and started again: the
demo's server still knows the task (as the real service would), so the task completes and
its result is downloaded, instead of a row stuck "queued" and a 404 on every start. A real
process in a real pseudo-terminal, as a new user runs it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from PIL import Image

from .terminal import Terminal, enter_prompt, ready, rows, wait_for

pytestmark = pytest.mark.skipif(not sys.platform.startswith(("linux", "darwin")), reason="needs a POSIX pty")


def test_a_task_queued_before_ctrl_q_completes_after_the_demo_starts_again(isolated_env):
    env = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor")
    env.pop("TEXTUAL", None)
    db = isolated_env["data"] / "history-demo.sqlite3"
    first = Terminal(env, args=("--demo",))
    try:
        ready(first)
        enter_prompt(first, "a lasting lighthouse")
        row = wait_for(lambda: next((r for r in rows(db) if r["task_id"]), None), "the task id in the history")
        assert first.quit() == 0
    finally:
        first.close()
    assert row["state"] in ("pending", "processing")
    assert rows(db)[0]["state"] in ("pending", "processing")  # quit while it still ran

    second = Terminal(env, args=("--demo",))
    try:
        ready(second)
        done = wait_for(
            lambda: next((r for r in rows(db) if r["download_state"] == "done"), None),
            "the task picked up, completed and downloaded",
            timeout=60,
        )
        assert done["id"] == row["id"] and done["task_id"] == row["task_id"] and done["state"] == "completed"
        files = [Path(p) for p in json.loads(done["files"])]
        assert files
        for path in files:
            with Image.open(path) as image:
                image.load()
        assert not second.shows("404")
    finally:
        second.close()
