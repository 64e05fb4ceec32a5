"""The Studio's events in the app: a view that raises is logged and reported once, and the
other views keep updating."""

from __future__ import annotations

from textual.screen import Screen

from evolink_tui.tui.widgets.tasklist import TaskList

from .helpers import demo_app, finished, wait_until


class BuggyView(Screen):
    """A screen (say, a new one with a bug) that shows the Studio's events and raises."""

    def show_event(self, event: object) -> None:
        raise RuntimeError("the new screen has a bug")


async def test_a_view_that_raises_is_reported_once_and_updates_go_on(isolated_env):
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.studio.client is not None, what="the client")
        await app.push_screen(BuggyView())
        app.main.composer.set_prompt("a fox")
        app.main.action_generate()
        await wait_until(pilot, finished(app), what="the task finished")
        [record_id] = app.studio.records
        row = app.main.query_one(TaskList).row_text(record_id)
        assert row is not None and "done" in row[1]  # the main screen, under the buggy one, kept up
        reports = [n for n in app.notes if n.title == "Something went wrong"]
        assert len(reports) == 1 and app.is_running  # once, though every event met the bug
        log = isolated_env["state"] / "evolink-tui.log"
        assert str(log) in reports[0].message and "updates go on" in reports[0].message
        assert log.read_text().count("RuntimeError: the new screen has a bug") >= 3


async def test_a_task_evolink_no_longer_knows_is_gone_and_says_what_to_do():
    from evolink_tui.core.config import load_settings
    from evolink_tui.core.history import History, history_path
    from evolink_tui.core.wire import Task

    history = History(history_path(load_settings(demo=True)))
    record_id = history.record_submission({"prompt": "long lost", "model": "z-image-turbo"}, "run_lost")
    history.update_task(record_id, Task.parse({"id": "task-unified-1-forgotten", "status": "processing"}))
    history.close()
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:  # recovery reads it again: the server answers 404
        await wait_until(pilot, lambda: record_id in app.studio.records, what="the record read from history")
        await wait_until(pilot, lambda: app.studio.records[record_id].state == "not_found", what="not found")
        row = app.main.query_one(TaskList).row_text(record_id)
        assert row is not None and "gone" in row[1]
        [note] = [n for n in app.notes if n.title.startswith("Task gone")]
        assert "Evolink no longer knows this task" in note.message and "generate it again" in note.message
        app.main.query_one(TaskList).focus()
        await pilot.press("t")  # a retry would not help: said, nothing sent
        await wait_until(pilot, lambda: any("Retrying will not help" in n.message for n in app.notes), what="t")
        assert app.studio.client.simulator.state.sim.count("submit") == 0
