"""The first frame is the whole main screen: task columns that fit, and the keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from evolink_tui.core.config import load_settings
from evolink_tui.core.history import history_path
from evolink_tui.tui.widgets.keybar import KeyBar
from evolink_tui.tui.widgets.tasklist import TaskList

from .helpers import START, demo_app, wait_until
from .history_seed import seed_history


async def test_the_task_columns_fit_from_the_first_frame(monkeypatch):
    """Every frame of the task list is drawn at its laid-out width, the first one too (history
    may come before the layout): drawn too narrow, the first frame would show it."""
    drawn: list[int] = []
    render_lines = TaskList.render_lines

    def recording(self, crop):
        lines = render_lines(self, crop)
        drawn.append(self._task_width)
        return lines

    monkeypatch.setattr(TaskList, "render_lines", recording)
    for size in ((80, 24), (100, 30), (160, 50)):
        drawn.clear()
        app = demo_app()
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            tasks = app.main.query_one(TaskList)
            assert drawn and set(drawn) == {tasks._wanted_task_width()}, size
            assert app.main.query_one(KeyBar).shown, size


async def test_a_history_longer_than_the_list_builds_only_the_rows_in_sight(monkeypatch):
    """A first page of 100 tasks builds the text of the rows on screen, once each (with
    10,000 tasks, building every loaded row was half the task list's cost of the first frame);
    the rest are built when they scroll into sight."""
    seed_history(history_path(load_settings(demo=True)), 120, newest=START - 3600)
    built: list[tuple[int, int]] = []
    cells = TaskList._cells

    def recording(self, record):
        built.append((record.id, self._epoch))  # the 1 s clock builds the rows in sight again
        return cells(self, record)

    monkeypatch.setattr(TaskList, "_cells", recording)
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        tasks = app.main.query_one(TaskList)
        await wait_until(pilot, lambda: tasks.row_count >= 100, what="the first page")
        await pilot.pause()
        assert tasks.max_scroll_y > 0  # the scrollbar is there
        assert len(built) == len(set(built))  # no row built twice for one tick of the clock
        in_sight = tasks.scrollable_content_region.height // 2 + 1  # a row cut at the bottom too
        assert 0 < len({record_id for record_id, _ in built}) <= in_sight


# What the first frame does not show is loaded when first needed (each module or widget of the
# first frame is startup time): the reference list, the iterate dialogs, the batch screen, the
# budget code, the Studio's batches. (Not costs: the composer's price estimate loads it in a
# thread as soon as the composer is drawn, which may come before the probe.)
LATER = (
    "evolink_tui.tui.widgets.reflist",
    "evolink_tui.tui.screens.iterate_dialogs",
    "evolink_tui.tui.screens.batch",
    "evolink_tui.core.budget",
    "evolink_tui.core.studio.batches",
)

FIRST_FRAME_PROBE = """
import asyncio, json, sys
from evolink_tui.core.config import load_settings
from evolink_tui.core.history import history_path, read_ahead
from evolink_tui.tui.app import EvolinkApp

seen = {}

class Probe(EvolinkApp):
    def history_shown(self):  # the first page of history is in the first frame: what is loaded now
        seen["modules"] = sorted(sys.modules)
        seen["widgets"] = sorted(w.id or "" for w in self.main.query("*"))
        super().history_shown()

async def main():
    settings = load_settings(demo=True)  # the first page read ahead, as the CLI does: shown as the screen mounts
    app = Probe(settings, cursor_blink=False, history_ahead=read_ahead(history_path(settings)))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()

asyncio.run(main())
json.dump(seen, sys.stderr)
"""


def test_the_first_frame_loads_and_mounts_only_what_it_shows(isolated_env):
    """A fresh interpreter (the test process has loaded everything), the app started as the CLI
    starts it (history read ahead): at the first frame of an empty history, none of LATER is
    loaded and the reference list, the extra parameters' box and the preview's body are not
    mounted."""
    done = subprocess.run(
        [sys.executable, "-c", FIRST_FRAME_PROBE], capture_output=True, text=True, env=dict(os.environ), timeout=120
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stderr.strip().splitlines()[-1])
    assert "evolink_tui.tui.widgets.composer" in seen["modules"]  # the probe ran at the first frame
    assert [m for m in LATER if m in seen["modules"]] == []
    assert {"refs", "params", "preview-body"}.isdisjoint(seen["widgets"])
    assert {"prompt", "preview-head", "tasks"} <= set(seen["widgets"])
