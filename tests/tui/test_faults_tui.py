"""Faults as the app shows them: the task ends in the right visible state, the error's
meaning and what to do are on screen, the record is kept and the composer keeps its text.
An outage shows "offline, retrying" on the task and in the top bar, and clears itself."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual.worker import WorkerState

from evolink_tui.core import downloads
from evolink_tui.core import events as ev
from evolink_tui.simulator import FaultPlan
from evolink_tui.tui.messages import StudioEvent
from evolink_tui.tui.widgets.tasklist import TaskList

from .helpers import RecordingApp, confirm_spend, demo_app, finished, run_for, screen_text, wait_until

SIZE = (120, 40)


def row_text(app, record_id: int) -> str:
    return " | ".join(app.main.query_one(TaskList).row_text(record_id) or ())


async def generate(pilot, prompt: str) -> int:
    app = pilot.app
    app.main.composer.set_prompt(prompt)  # typing is tested elsewhere; here it would only cost time
    await pilot.press("ctrl+j")
    await wait_until(pilot, lambda: len(app.studio.records) == 1, what="recorded")
    [record_id] = app.studio.records
    return record_id


async def select(pilot, record_id: int) -> None:
    tasks = pilot.app.main.query_one(TaskList)
    tasks.focus()
    tasks.select(record_id)
    await pilot.pause()


def idle(app):
    """Every task worker is done (a task whose download failed is finished without files)."""
    return lambda: (
        bool(app.studio.records)
        and not any(w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in app.workers if w.group == "tasks")
    )


async def shown(pilot, record_id: int) -> None:
    """The app has handled every change of the record (its copy is the history's)."""
    app = pilot.app
    await wait_until(
        pilot,
        lambda: (
            record_id in app.studio.records
            and app.studio.history.get(record_id) is not None
            and app.studio.records[record_id].updated_at == app.studio.history.get(record_id).updated_at
            and app.studio.records[record_id].download_state == app.studio.history.get(record_id).download_state
        ),
        what="the last change shown",
    )


def kept(app, record_id: int, prompt: str):
    """The record is in the history, and the composer still holds the prompt."""
    record = app.studio.history.get(record_id)
    assert record is not None and record.prompt == prompt
    assert app.main.composer.prompt == prompt
    assert app.is_running
    return record


# Faults that pass (some runs meet several in a row): the task completes.
RIDDEN_OUT = [
    pytest.param("429:7@submit*1", id="429-submit-retry-after"),
    pytest.param("429:7@poll*1", id="429-poll-retry-after"),
    pytest.param("502@submit*2", id="502-submit"),
    pytest.param("503@poll*3", id="503-poll"),
    pytest.param("drop@poll*3", id="drop-poll"),
    pytest.param("malformed@poll*2", id="malformed-poll"),
    pytest.param("429:7@poll*1,503@poll*1,drop@poll*1,malformed@poll*1", id="all-in-a-row-on-poll"),
    pytest.param("truncate@download*1", id="truncated-once"),
]


@pytest.mark.parametrize("faults", RIDDEN_OUT)
async def test_a_fault_that_passes_is_ridden_out(faults):
    app = demo_app(faults=faults)
    prompt = f"through {faults}"
    async with app.run_test(size=SIZE) as pilot:
        record_id = await generate(pilot, prompt)
        await wait_until(pilot, finished(app), what="finished")
        record = kept(app, record_id, prompt)
        assert record.state == "completed" and record.download_state == "done" and Path(record.files[0]).is_file()
        assert "done" in row_text(app, record_id)
        sim = app.studio.client.simulator.state.sim
        assert sim.charges == 1
        rules = faults.split(",")
        endpoint = rules[0].split("@")[1].split("*")[0]
        met = sum(int(rule.split("*")[1]) for rule in rules)
        assert sim.count(endpoint) >= met + 1  # every fault was met, then a good answer
        if faults.startswith("429"):  # Retry-After honoured: the next try came 7 s later
            times = [q["time"] for q in sim.requests if q["endpoint"] == endpoint]
            assert times[1] - times[0] >= 7
        assert not app.main.topbar.offline  # cleared by the good answers


async def test_a_500_on_submit_is_unsure_never_resent_alone_and_resent_once_with_t():
    app = demo_app(faults="500@submit*1")
    async with app.run_test(size=SIZE) as pilot:
        record_id = await generate(pilot, "a 500 on the way in")
        await wait_until(pilot, lambda: app.studio.records[record_id].state == "uncertain", what="unsure")
        record = kept(app, record_id, "a 500 on the way in")
        sim = app.studio.client.simulator.state.sim
        assert sim.count("submit") == 1  # a 500 may come after the task was made: never resent on its own
        await select(pilot, record_id)
        text = screen_text(app)
        assert "unsure" in text and "500" in text and "press t to resend it with its own" in text
        assert "1 unsure" in app.main.topbar.render().plain
        assert "Resend same key" in text  # the footer names what t does here
        await pilot.press("t")
        await confirm_spend(pilot)
        await wait_until(pilot, finished(app), what="resent")
        assert app.studio.records[record_id].state == "completed" and sim.charges == 1
        assert {q["idempotency_key"] for q in sim.requests if q["endpoint"] == "submit"} == {record.idempotency_key}
        assert "unsure" not in app.main.topbar.render().plain


async def test_a_truncated_download_is_marked_kept_and_fetched_again_with_t():
    app = demo_app(faults="truncate@download")
    async with app.run_test(size=SIZE) as pilot:
        record_id = await generate(pilot, "half an image")
        await wait_until(pilot, idle(app), what="finished")
        await shown(pilot, record_id)
        record = kept(app, record_id, "half an image")
        assert record.state == "completed" and record.download_state == "failed" and not record.files
        await select(pilot, record_id)
        text = screen_text(app)
        assert "no file" in row_text(app, record_id)
        assert "truncate" in text and "a retry may help" in text and "press t to download again" in text
        assert not list(app.settings.download_dir.glob("*.part"))  # no broken file kept
        app.studio.client.simulator.state.sim.faults = FaultPlan.parse("")
        await pilot.press("t")
        await wait_until(pilot, lambda: app.studio.records[record_id].download_state == "done", what="downloaded")
        assert Path(app.studio.records[record_id].files[0]).is_file() and "done" in row_text(app, record_id)


async def test_an_expired_result_url_is_marked_and_the_record_kept():
    app = demo_app(faults="expired@download")
    async with app.run_test(size=SIZE) as pilot:
        record_id = await generate(pilot, "too late")
        await wait_until(pilot, idle(app), what="finished")
        await shown(pilot, record_id)
        record = kept(app, record_id, "too late")
        assert record.state == "completed" and record.download_state == "expired" and record.task_id
        await select(pilot, record_id)
        text = screen_text(app)
        assert "expired" in row_text(app, record_id)
        assert "The result URL has expired" in text and "Generate the image again" in text
        await pilot.press("t")
        await wait_until(pilot, lambda: any("expired before" in n.message for n in app.notes), what="advice")


async def test_a_full_disk_is_reported_clearly_and_retried_later(monkeypatch):
    """Writes go to /dev/full, which fails them as a full disk does (ENOSPC)."""
    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    real_temp_file = downloads._temp_file

    def full_disk(dest_dir, prefix, suffix):
        fd, path = real_temp_file(dest_dir, prefix, suffix)
        os.close(fd)
        return os.open("/dev/full", os.O_WRONLY), path

    monkeypatch.setattr(downloads, "_temp_file", full_disk)
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        record_id = await generate(pilot, "no room for this")
        await wait_until(pilot, idle(app), what="finished")
        await shown(pilot, record_id)
        record = kept(app, record_id, "no room for this")
        assert record.download_state == "failed" and record.error["code"] == "disk"
        await select(pilot, record_id)
        text = screen_text(app).replace("\n", " ")
        folder = str(app.settings.download_dir)
        assert "no file" in row_text(app, record_id)
        assert "could not write to" in text and "disk is full" in text
        assert any(folder in n.message and "disk is full" in n.message for n in app.notes)
        assert not [p for p in app.settings.download_dir.iterdir() if p.suffix == ".part"]
        monkeypatch.setattr(downloads, "_temp_file", real_temp_file)  # space again
        await pilot.press("t")
        await wait_until(pilot, lambda: app.studio.records[record_id].download_state == "done", what="downloaded")
        assert app.studio.client.simulator.state.sim.charges == 1


@pytest.mark.parametrize("fault", ["503@poll", "drop@poll"])
async def test_an_outage_shows_offline_retrying_and_recovers_by_itself(step_clock, fault):
    app = demo_app(step_clock)
    kinds: list[type] = []

    def hook(message):
        if isinstance(message, StudioEvent):
            kinds.append(type(message.event))

    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        record_id = await generate(pilot, "through the storm")
        await wait_until(pilot, lambda: app.studio.records[record_id].task_id is not None, what="submitted")
        sim = app.studio.client.simulator.state.sim
        sim.faults = FaultPlan.parse(fault)
        await run_for(pilot, step_clock, 4.0)  # the first poll fails: the client retries
        await wait_until(pilot, lambda: app.main.topbar.offline == "offline, retrying", what="top bar")
        await pilot.pause()
        assert "offline, retrying" in app.main.topbar.render().plain
        assert "offline" in row_text(app, record_id) and "retrying…" in row_text(app, record_id)
        await run_for(pilot, step_clock, 60.0, step=1.0)  # a minute offline: past the client's own retries
        await wait_until(pilot, lambda: ev.TaskOffline in kinds, what="the runner's offline report")
        await wait_until(
            pilot, lambda: any("Offline, retrying" in n.message for n in app.notes), what="one notification"
        )
        assert "offline" in row_text(app, record_id) and app.main.topbar.offline
        assert not app.studio.records[record_id].is_finished and not app.studio.records[record_id].notice
        sim.faults = FaultPlan.parse("")  # the network is back
        await run_for(pilot, step_clock, 20.0, step=1.0)
        await wait_until(pilot, finished(app), what="completed after the outage")
        record = app.studio.records[record_id]
        assert record.state == "completed" and record.files and sim.charges == 1
        assert not app.main.topbar.offline and "offline" not in app.main.topbar.render().plain
        assert "offline" not in row_text(app, record_id) and "done" in row_text(app, record_id)
        assert app.main.composer.prompt == "through the storm"


async def test_a_timeout_is_retried_and_the_task_completes(settings, fake_clock, sim):
    """Over a real loopback socket (the in-process demo transport has no timeouts): a poll
    answered after the client's timeout is retried, and the task completes."""
    from evolink_tui.core.client import EvolinkClient, RetryPolicy

    def factory(s, clock=None):
        # 1 s: well above a loopback answer even on a loaded machine, well below the slow one
        return EvolinkClient(s, clock=clock, timeout=1.0, retry=RetryPolicy(jitter=0))

    sim.faults = FaultPlan.parse("slow:4@poll*1")
    app = RecordingApp(settings, clock=fake_clock, client_factory=factory, cursor_blink=False)
    retried = []
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.studio.client is not None, what="client")
        app.studio.client.events.subscribe(
            lambda e: retried.append(e.error) if isinstance(e, ev.RequestRetrying) else None
        )
        record_id = await generate(pilot, "a slow answer")
        await wait_until(pilot, finished(app), what="finished", timeout=30)
        record = kept(app, record_id, "a slow answer")
        assert record.state == "completed" and record.files and sim.charges == 1
        assert [err.code for err in retried] == ["network"] and "Timeout" in retried[0].message
        assert not app.main.topbar.offline


async def test_the_palette_finds_an_uncertain_submit_and_t_resends_it():
    from evolink_tui.core.config import load_settings
    from evolink_tui.core.errors import EvolinkError
    from evolink_tui.core.history import History, history_path

    history = History(history_path(load_settings(demo=True)))
    lost = history.record_submission({"prompt": "lost in the post", "model": "z-image-turbo"}, "run_lost")
    history.mark_uncertain(lost, EvolinkError("local", "network", "connection dropped").to_json())
    newer = history.record_submission({"prompt": "refused", "model": "z-image-turbo"}, "run_refused")
    history.mark_submit_failed(newer, {"code": 400, "message": "bad", "retryable": False})
    history.close()
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        tasks = app.main.query_one(TaskList)
        await wait_until(pilot, lambda: tasks.row_count == 2, what="history")
        assert tasks.selected_id == newer and "Resend same key" not in screen_text(app)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"resend uncertain")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_until(pilot, lambda: tasks.selected_id == lost, what="the uncertain submit selected")
        await pilot.pause()
        assert any("press t to resend" in n.message.lower() for n in app.notes)
        assert "t Resend same key" in screen_text(app) and app.studio.client.simulator.state.sim.count("submit") == 0
        await pilot.press("t")
        await confirm_spend(pilot)
        await wait_until(pilot, finished(app, 2), what="resent")
        sim = app.studio.client.simulator.state.sim
        assert app.studio.records[lost].state == "completed" and sim.charges == 1
        assert [q["idempotency_key"] for q in sim.requests if q["endpoint"] == "submit"] == ["run_lost"]
