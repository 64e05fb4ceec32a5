"""Text from outside is shown as text; the 5-minute notice; an uncertain submit."""

from __future__ import annotations

from evolink_tui.core.config import load_settings
from evolink_tui.core.errors import EvolinkError
from evolink_tui.core.history import History, history_path
from evolink_tui.core.runner import FAILED, TaskEvent
from evolink_tui.simulator import FaultPlan
from evolink_tui.tui.messages import task_message
from evolink_tui.tui.widgets.tasklist import TaskList

from .helpers import demo_app, finished, screen_text, type_text, wait_until

PROMPT = "[bold red]x[/] [link=https://evil.example]click[/link]"
NASTY = "\x1b]52;c;ZXZpbA==\x07 boom [/ [b]bold?[/b] \x1b[2J"


def nasty_history() -> int:
    history = History(history_path(load_settings(demo=True)))
    record_id = history.record_submission({"prompt": PROMPT, "model": "gpt-image-1.5"}, "key-1")
    error = EvolinkError("task", "content_policy_violation", NASTY, task_id="task-1").to_json()
    history.mark_submit_failed(record_id, error)
    history.close()
    return record_id


async def test_markup_and_escapes_from_outside_are_shown_as_text():
    record_id = nasty_history()
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        tasks = app.main.query_one(TaskList)
        await wait_until(pilot, lambda: tasks.row_count == 1, what="history")
        tasks.focus()
        tasks.select(record_id)
        await pilot.pause()
        text = screen_text(app)
        assert "[bold red]x[/]" in text  # the prompt, literally, in the list and the preview
        assert "[link=https://evil.example]click[/link]" in text
        assert "\\x1b]52;c;ZXZpbA==\\x07 boom [/ [b]bold?[/b] \\x1b[2J" in text  # escapes shown, not obeyed
        assert "\x1b" not in text and "\x07" not in text
        # A failure message with the same text goes through a notification without a crash.
        record = app.records[record_id]
        err = EvolinkError("task", "service_error", NASTY)
        app.post_message(task_message(TaskEvent(FAILED, record_id, error=err), record))
        await wait_until(pilot, lambda: any("[/" in n.message for n in app._notifications), what="toast")
        await pilot.pause()
        assert app.is_running


async def test_five_minute_notice_shows_on_the_task_which_stays_checkable():
    app = demo_app(faults="500@poll")
    async with app.run_test(size=(100, 30)) as pilot:
        await type_text(pilot, "a very slow painting")
        await pilot.press("ctrl+j")
        await wait_until(pilot, lambda: any(r.notice for r in app.records.values()),
                         timeout=20, what="timeout notice")
        [record] = app.records.values()
        text = screen_text(app)
        assert "5 min+" in text
        assert "taking longer than expected" in text and record.task_id in text
        app.client.simulator.state.sim.faults = FaultPlan.parse("")
        app.main.query_one(TaskList).focus()
        await pilot.press("t")
        await wait_until(pilot, lambda: app.records[record.id].state == "completed"
                         and bool(app.records[record.id].files), what="checked again")


async def test_uncertain_submit_is_resent_with_its_own_key():
    app = demo_app(faults="drop-after@submit*5")
    async with app.run_test(size=(100, 30)) as pilot:
        await type_text(pilot, "a lost letter")
        await pilot.press("ctrl+j")
        await wait_until(pilot, lambda: any(r.state == "uncertain" for r in app.records.values()), what="uncertain")
        [record] = app.records.values()
        assert "unsure" in screen_text(app)
        sim = app.client.simulator.state.sim
        charged = sim.charges
        sim.faults = FaultPlan.parse("")
        app.main.query_one(TaskList).focus()
        await pilot.press("t")
        await wait_until(pilot, finished(app), what="resent")
        assert len(app.records) == 1 and app.records[record.id].state == "completed"
        assert sim.charges == charged  # the same key: the server answered with the task it already had
