"""The first frame is the whole main screen: task columns that fit, and the keys."""

from __future__ import annotations

from evolink_tui.tui.widgets.keybar import KeyBar
from evolink_tui.tui.widgets.tasklist import TaskList

from .helpers import demo_app


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
