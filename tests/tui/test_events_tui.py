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
        row = app.main.query_one(TaskList).get_row(str(record_id))
        assert "done" in row[1].plain  # the main screen, under the buggy one, kept up
        reports = [n for n in app.notes if n.title == "Something went wrong"]
        assert len(reports) == 1 and app.is_running  # once, though every event met the bug
        log = isolated_env["state"] / "evolink-tui.log"
        assert str(log) in reports[0].message and "updates go on" in reports[0].message
        assert log.read_text().count("RuntimeError: the new screen has a bug") >= 3
