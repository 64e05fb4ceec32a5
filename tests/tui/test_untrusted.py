"""Text from outside is shown as text on every surface and in a real terminal; the 5-minute
notice; an uncertain submit."""

from __future__ import annotations

import time

from evolink_tui.core.config import load_settings
from evolink_tui.core.errors import EvolinkError
from evolink_tui.core.events import TaskFailed
from evolink_tui.core.history import History, history_path
from evolink_tui.simulator import FaultPlan
from evolink_tui.tui.widgets.tasklist import TaskList

from .helpers import confirm_spend, demo_app, finished, screen_text, type_text, wait_until

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
        err = EvolinkError("task", "service_error", NASTY)
        app.studio.events.emit(TaskFailed(record_id, err, None))
        await wait_until(pilot, lambda: any("[/" in n.message for n in app.notes), what="toast")
        await pilot.pause()
        assert app.is_running


async def test_five_minute_notice_shows_on_the_task_which_stays_checkable():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.studio.client is not None, what="the client")
        sim = app.studio.client.simulator.state.sim
        sim.speed = 0.001  # the task takes hours (of the fake clock): polled about every 4 s
        await type_text(pilot, "a very slow painting")
        await pilot.press("ctrl+j")
        await wait_until(
            pilot, lambda: any(r.notice for r in app.studio.records.values()), timeout=60, what="timeout notice"
        )
        [record] = app.studio.records.values()
        text = screen_text(app)
        assert "5 min+" in text
        assert "taking longer than expected" in text and record.task_id in text
        sim.tasks[record.task_id].duration = 1.0  # done now: checking again finds it completed
        app.main.query_one(TaskList).focus()
        await pilot.press("t")
        await wait_until(
            pilot,
            lambda: app.studio.records[record.id].state == "completed" and bool(app.studio.records[record.id].files),
            what="checked again",
        )


async def test_uncertain_submit_is_resent_with_its_own_key():
    app = demo_app(faults="drop-after@submit*5")
    async with app.run_test(size=(100, 30)) as pilot:
        await type_text(pilot, "a lost letter")
        await pilot.press("ctrl+j")
        await wait_until(
            pilot, lambda: any(r.state == "uncertain" for r in app.studio.records.values()), what="uncertain"
        )
        [record] = app.studio.records.values()
        assert "unsure" in screen_text(app)
        sim = app.studio.client.simulator.state.sim
        charged = sim.charges
        sim.faults = FaultPlan.parse("")
        app.main.query_one(TaskList).focus()
        await pilot.press("t")
        await confirm_spend(pilot)
        await wait_until(pilot, finished(app), what="resent")
        assert len(app.studio.records) == 1 and app.studio.records[record.id].state == "completed"
        assert sim.charges == charged  # the same key: the server answered with the task it already had


# -- every surface, with every kind of hostile text ------------------------------------------------

HOSTILE = "[bold red]loud[/] [/ \x1b[31mred\x1b[0m \x1b]52;c;aGk=\x07 \x1b]0;title\x07 [link=x]y[/link]"
SHOWN = "[bold red]loud[/] [/ \\x1b[31mred\\x1b[0m \\x1b]52;c;aGk=\\x07 \\x1b]0;title\\x07 [link=x]y[/link]"
RAW = ("\x1b[31m", "\x1b]52;c;aGk=", "\x1b]0;title", "\x07")


def hostile_history(folder) -> tuple[int, int]:
    """Two records a hostile server could have made: a failure whose every field is hostile, and
    a completed task with a result file and a sidecar that holds raw escape sequences."""
    from PIL import Image

    history = History(history_path(load_settings(demo=True)))
    failed = history.record_submission({"prompt": HOSTILE, "model": "gpt-image-1.5"}, "key-hostile-1")
    error = EvolinkError("task", "content_policy_violation", HOSTILE, task_id="task-x").to_json()
    history.mark_submit_failed(failed, error)
    done = history.record_submission({"prompt": "plain " + HOSTILE, "model": "z-image-turbo"}, "key-hostile-2")
    folder.mkdir(parents=True, exist_ok=True)
    image = folder / "result_1.png"
    Image.new("RGB", (16, 16), (200, 10, 10)).save(image)
    image.with_suffix(".json").write_text('{"prompt": "' + HOSTILE + '"}\n', "utf-8")  # raw, as a hostile file could be
    history.set_files(done, [str(image)])
    history.mark_submit_failed(done, EvolinkError("task", "unknown_error", HOSTILE).to_json())
    history.close()
    return failed, done


def inert_on_screen(app) -> str:
    text = screen_text(app)
    for raw in RAW:
        assert raw not in text
    return text


async def test_hostile_text_is_inert_on_every_surface(isolated_env):
    from textual.widgets import TextArea

    from evolink_tui.tui.screens.history_search import HistoryResults, HistorySearchScreen
    from evolink_tui.tui.screens.sidecar import SidecarScreen

    failed, done = hostile_history(isolated_env["downloads"])
    app = demo_app()
    async with app.run_test(size=(160, 45)) as pilot:
        tasks = app.main.query_one(TaskList)
        await wait_until(pilot, lambda: tasks.row_count == 2, what="history")
        tasks.focus()
        tasks.select(failed)
        await pilot.pause()
        text = inert_on_screen(app)  # the task row and the preview
        assert "[bold red]loud[/] [/ \\x1b[31mred" in text
        preview = str(app.main.query_one("#preview-body").content)
        assert SHOWN in preview and "\x1b" not in preview
        # A notification with it: no crash, nothing interpreted.
        err = EvolinkError("task", "service_error", HOSTILE)
        app.studio.events.emit(TaskFailed(failed, err, None))
        await wait_until(pilot, lambda: any("\\x1b]52" in n.message for n in app.notes), what="toast")
        await pilot.pause()
        assert all("\x1b" not in n.message for n in app.notes)
        inert_on_screen(app)
        # The history search results.
        await pilot.press("ctrl+f")
        await wait_until(pilot, lambda: isinstance(app.screen, HistorySearchScreen), what="search")
        await wait_until(pilot, lambda: app.screen.query_one(HistoryResults).row_count == 2, what="results")
        await pilot.pause()
        assert "[bold red]loud[/] [/ \\x1b[31mred" in inert_on_screen(app)
        await pilot.press("escape")
        # The sidecar screen, from a file holding raw escape sequences.
        tasks.select(done)
        tasks.focus()
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, SidecarScreen), what="sidecar")
        area = app.screen.query_one(TextArea)
        await wait_until(pilot, lambda: "prompt" in area.text, what="sidecar text")
        assert SHOWN in area.text and "\x1b" not in area.text
        inert_on_screen(app)
        assert app.is_running


def test_hostile_text_never_reaches_a_real_terminal_as_escape_sequences(isolated_env, monkeypatch):
    """The app in a real pseudo-terminal: the bytes it writes hold the hostile text only as
    visible escapes, never as a clipboard write, a title change or a colour."""
    import os

    from .terminal import ESCAPE, Terminal, wait_for

    hostile_history(isolated_env["downloads"])
    env = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor")
    terminal = Terminal(env, size=(140, 40), args=("--demo",))
    try:
        wait_for(lambda: terminal.shows("\\x1b]52;c;aGk=\\x07"), "the hostile text, shown as text")
        terminal.type(ESCAPE)
        wait_for(lambda: terminal.shows("Regenerate"), "the task list's keys")
        terminal.type("\x06")  # ctrl+f: the history search
        wait_for(lambda: terminal.shows("2 tasks match"), "the search results")
        terminal.type(ESCAPE)
        time.sleep(0.3)
        terminal.type("s")  # the sidecar of the newest task, selected
        wait_for(lambda: terminal.shows("result_1.json"), "the sidecar")
        time.sleep(0.5)
        output = bytes(terminal.output)
        for raw in ("\x1b]52;c;aGk=", "\x1b]0;title", "\x1b[31mred"):
            assert raw.encode() not in output
        assert terminal.quit() == 0
    finally:
        terminal.close()
