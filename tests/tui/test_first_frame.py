"""The first frame is the whole main screen: task columns that fit, and the keys."""

from __future__ import annotations

from evolink_tui.core.config import load_settings
from evolink_tui.core.history import history_path
from evolink_tui.tui.widgets.keybar import KeyBar
from evolink_tui.tui.widgets.tasklist import TaskList

from .helpers import START, demo_app, wait_until
from .history_seed import seed_history


async def test_the_task_columns_fit_from_the_first_frame(monkeypatch):
    """The columns are built before anything is laid out (history may come first). Built
    too narrow, the first frame shows them so and they are rebuilt a frame later."""
    built: list[int] = []
    build = TaskList._build_columns

    def recording(self) -> None:
        build(self)
        built.append(self._task_width)

    monkeypatch.setattr(TaskList, "_build_columns", recording)
    for size in ((80, 24), (100, 30), (160, 50)):
        built.clear()
        app = demo_app()
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            tasks = app.main.query_one(TaskList)
            assert built == [tasks._wanted_task_width()], size  # built once, at the laid-out width
            assert app.main.query_one(KeyBar).shown, size


async def test_a_history_longer_than_the_list_builds_each_row_once(monkeypatch):
    """A first page of history that overflows the list brings its scrollbar: its column is
    kept for it from the start (scrollbar-gutter: stable), so the columns built before the
    layout already fit and the page's rows are not all built a second time at the first resize
    (with 10,000 tasks, that was half the task list's cost of the first frame)."""
    seed_history(history_path(load_settings(demo=True)), 120, newest=START - 3600)
    added: list[int] = []
    add = TaskList._add

    def recording(self, record) -> None:
        added.append(record.id)
        add(self, record)

    monkeypatch.setattr(TaskList, "_add", recording)
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        tasks = app.main.query_one(TaskList)
        await wait_until(pilot, lambda: tasks.row_count >= 100, what="the first page")
        await pilot.pause()
        assert tasks.max_scroll_y > 0  # the scrollbar is there
        assert tasks._task_width == tasks._wanted_task_width()
        assert len(added) == len(set(added)) == tasks.row_count
