"""The app killed with ``kill -9`` while tasks run, and started again: it resumes polling,
downloads what is not on disk and never sends a submit twice. Real processes in a real
pseudo-terminal (keys written to it, the screen read from it), against the simulator on a
loopback port with the real clock."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from evolink_tui.simulator import FaultPlan

from ..conftest import TEST_KEY, quiet
from .terminal import CTRL_J, ESCAPE, Terminal, enter_prompt, ready, rows, wait_for

pytestmark = pytest.mark.skipif(not sys.platform.startswith(("linux", "darwin")), reason="needs a POSIX pty")


@pytest.fixture
def live(live_server, isolated_env):
    sim = live_server.app.state.sim
    quiet(sim)  # no answer of an earlier test lands in this one
    sim.reset()
    sim.speed = 4.0
    url = live_server.url
    env = dict(
        os.environ,
        EVOLINK_BASE_URL=url,
        EVOLINK_FILES_BASE_URL=url,
        EVOLINK_API_KEY=TEST_KEY,
        TERM="xterm-256color",
        COLORTERM="truecolor",
    )
    env.pop("TEXTUAL", None)
    terminals: list[Terminal] = []

    def start() -> Terminal:
        terminal = Terminal(env)
        terminals.append(terminal)
        return terminal

    yield sim, start, isolated_env
    for terminal in terminals:
        terminal.close()
        assert TEST_KEY.encode() not in terminal.output  # the key is never drawn


def test_the_app_killed_while_a_task_runs_picks_it_up_on_the_next_start(live):
    sim, start, paths = live
    db = paths["data"] / "history.sqlite3"
    first = start()
    ready(first)
    enter_prompt(first, "a lighthouse that survives")
    row = wait_for(lambda: next((r for r in rows(db) if r["task_id"]), None), "the task id in the history")
    first.kill()
    assert row["state"] in ("pending", "processing") and row["download_state"] is None
    assert sim.count("submit") == 1 and row["task_id"] in sim.tasks

    second = start()
    ready(second)
    done = wait_for(
        lambda: next((r for r in rows(db) if r["download_state"] == "done"), None),
        "the task polled again, completed and downloaded",
    )
    assert done["id"] == row["id"] and done["state"] == "completed"
    files = [Path(p) for p in json.loads(done["files"])]
    assert files and all(p.parent == paths["downloads"] for p in files)
    for path in files:
        with Image.open(path) as image:
            image.load()
    assert sim.charges == 1 and sim.count("submit") == 1  # polled and fetched, never sent again
    wait_for(lambda: second.shows("done"), "the task shown done")
    assert second.quit() == 0
    assert not list(paths["downloads"].glob(".download-*"))


def test_a_submit_cut_off_by_kill_is_unsure_and_resent_only_when_asked(live):
    sim, start, paths = live
    db = paths["data"] / "history.sqlite3"
    sim.faults = FaultPlan.parse("slow:2@submit*1")  # the submit is in flight when the kill comes
    first = start()
    ready(first)
    enter_prompt(first, "did it go through?")
    # Killed once the server holds the whole submit (it answers 2 s later, to nobody)
    wait_for(lambda: [q.get("buffered") for q in sim.requests if q["endpoint"] == "submit"] == [True], "the submit in")
    first.kill()
    [row] = rows(db)
    assert row["state"] == "submitting" and row["task_id"] is None and row["attempted_at"] is not None
    wait_for(lambda: sim.in_flight == 0 and sim.charges == 1, "the server to finish the cut-off request")

    second = start()
    ready(second)
    wait_for(lambda: rows(db)[0]["state"] == "uncertain", "the submit marked uncertain")
    wait_for(lambda: second.shows("unsure"), "unsure on screen")
    time.sleep(1.0)
    assert sim.count("submit") == 1, "never resent on its own"
    second.type(ESCAPE)  # to the task list: the newest task is selected
    time.sleep(0.4)
    second.type("t")  # resend with the same idempotency key, once asked
    wait_for(lambda: second.shows("spends credits"), "the spend question")
    second.type("y")
    done = wait_for(lambda: next((r for r in rows(db) if r["download_state"] == "done"), None), "resent and done")
    assert done["id"] == row["id"] and done["task_id"] in sim.tasks and len(sim.tasks) == 1
    assert sim.charges == 1 and sim.count("submit") == 2  # the same key found the same task
    assert {q["idempotency_key"] for q in sim.requests if q["endpoint"] == "submit"} == {row["idempotency_key"]}
    assert second.quit() == 0


# -- in-process: what the app shows while it recovers ------------------------------------------------


async def test_at_start_the_app_shows_and_finishes_what_an_earlier_run_left(settings, client, sim, fake_clock):
    """A task still running, a result not on disk, an interrupted submit: all three are in
    the task list at once, one notification says so, the first two finish live, the third
    waits as "unsure" and nothing is sent again."""
    from evolink_tui.core import events as ev
    from evolink_tui.core.history import History, history_path
    from evolink_tui.core.runner import Runner
    from evolink_tui.core.validation import GenerationRequest
    from evolink_tui.tui.messages import StudioEvent

    from .helpers import RecordingApp, screen_text, wait_until

    history = History(history_path(settings), clock=fake_clock.now)
    runner = Runner(client, history, settings.download_dir)
    running = runner.prepare(GenerationRequest("still running", model="gpt-image-1.5"))
    await runner.run(running, follow=False)
    on_disk_not = runner.prepare(GenerationRequest("not on disk yet", model="z-image-turbo"))
    await runner.run(on_disk_not, follow=False)
    fake_clock.advance(30)
    history.update_task(on_disk_not, await client.get_task(history.get(on_disk_not).task_id))
    cut_off = runner.prepare(GenerationRequest("cut off", model="z-image-turbo"))
    history.mark_sending(cut_off)  # the app died with this submit in flight
    history.close()
    submits, charges = sim.count("submit"), sim.charges

    app = RecordingApp(settings, clock=fake_clock, cursor_blink=False)
    seen: list[tuple[type, int]] = []

    def hook(message) -> None:
        if isinstance(message, StudioEvent) and isinstance(message.event, ev.TaskEvent):
            seen.append((type(message.event), message.event.record_id))

    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        await wait_until(
            pilot, lambda: {running, on_disk_not, cut_off} <= set(app.studio.records), what="all three listed"
        )
        await wait_until(
            pilot,
            lambda: (
                app.studio.history.get(running).download_state == "done"
                and app.studio.history.get(on_disk_not).download_state == "done"
            ),
            what="both finished",
        )
        await wait_until(pilot, lambda: app.studio.records[cut_off].state == "uncertain", what="unsure")
        await pilot.pause()
        assert (ev.TaskCompleted, running) in seen and (ev.TaskFinished, running) in seen
        assert (ev.TaskFinished, on_disk_not) in seen
        notice = next(n.message for n in app.notes if n.title == "Recovering")
        assert "1 task followed again, 1 result set to download" in notice
        assert "1 submit may or may not have reached Evolink (unsure)" in notice and "press t" in notice
        assert not any("Not sure the request reached" in n.message for n in app.notes)  # said once
        text = screen_text(app)
        assert "unsure" in text and "1 unsure" in app.main.topbar.render().plain
        assert sim.count("submit") == submits and sim.charges == charges  # nothing sent again
        assert all(app.studio.records[i].files for i in (running, on_disk_not))


def test_text_and_ctrl_j_in_one_burst_send_the_whole_prompt(live):
    """A paste or a script delivers the prompt and ctrl+j in one write: the prompt sent is
    everything typed before ctrl+j, never a prefix of it."""
    sim, start, paths = live
    db = paths["data"] / "history.sqlite3"
    terminal = start()
    ready(terminal)
    prompt = "a burst of words typed faster than anyone types, then sent at once"
    terminal.type(prompt + CTRL_J)
    row = wait_for(lambda: next(iter(rows(db)), None), "the submission in the history")
    assert row["prompt"] == prompt
    assert terminal.quit() == 0
