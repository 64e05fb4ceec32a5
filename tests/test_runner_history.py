"""The runner keeps the history current at every step; nothing is lost or sent twice."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from evolink_tui.core import events as ev
from evolink_tui.core import runner as r
from evolink_tui.core.errors import ValidationError
from evolink_tui.core.history import SCHEMA_VERSION
from evolink_tui.core.validation import GenerationRequest
from evolink_tui.simulator import FaultPlan

from .conftest import TEST_KEY


@pytest.fixture
def events():
    return []


@pytest.fixture
def runner(client, history, tmp_path, events):
    return r.Runner(client, history, tmp_path / "downloads", on_event=events.append)


async def test_a_generation_is_recorded_before_submit_and_kept_current(runner, history, sim, events):
    record_id = runner.prepare(GenerationRequest("a lighthouse at dusk", n=2))
    first = history.get(record_id)
    assert first.state == "submitting" and first.idempotency_key.startswith("run_") and first.task_id is None
    assert sim.count() == 0
    record = await runner.run(record_id)
    assert record.state == "completed" and record.progress == 100 and record.task_id in sim.tasks
    assert len(record.files) == 2 and all(Path(f).is_file() for f in record.files)
    assert record.credits == sim.tasks[record.task_id].credits
    kinds = [type(e) for e in events]
    assert kinds[:2] == [ev.SubmitStarted, ev.TaskSubmitted] and kinds[-1] == ev.TaskFinished
    assert kinds.count(ev.ResultDownloaded) == 2 and ev.TaskCompleted in kinds
    assert all(e.record_id == record_id for e in events)
    assert events[1].task.id == record.task_id and len(events[-1].downloads) == 2
    sent = [q["idempotency_key"] for q in sim.requests if q["endpoint"] == "submit"]
    assert sent == [first.idempotency_key]


async def test_bad_input_is_refused_before_anything_is_recorded(runner, history, sim):
    with pytest.raises(ValidationError):
        runner.prepare(GenerationRequest("x", n=9))
    assert history.count() == 0 and sim.count() == 0


async def test_an_unknown_submit_outcome_is_uncertain_and_resent_with_the_same_key(runner, history, sim, events):
    sim.faults = FaultPlan.parse("drop-after@submit")  # stored, then every answer lost
    record_id = runner.prepare(GenerationRequest("did it go through?"))
    record = await runner.run(record_id)
    assert record.state == "uncertain" and record.error["code"] == "network"
    assert isinstance(events[-1], ev.SubmitUncertain) and events[-1].error.code == "network"
    assert sim.charges == 1  # the first try did reach the server
    sim.faults = FaultPlan.parse("")
    record = await runner.run(record_id)
    assert record.state == "completed"
    assert sim.charges == 1 and len(sim.tasks) == 1
    keys = {q["idempotency_key"] for q in sim.requests if q["endpoint"] == "submit"}
    assert keys == {record.idempotency_key}


async def test_a_failed_task_keeps_its_error_in_history(runner, history, sim, events):
    sim.faults = FaultPlan.parse("fail:resource_exhausted*1")
    record = await runner.run(runner.prepare(GenerationRequest("busy")))
    assert record.state == "failed"
    assert record.error["code"] == "resource_exhausted" and record.error["retryable"] is True
    assert record.error["resolution"] == "Wait 30–60 seconds and retry"
    assert isinstance(events[-1], ev.TaskFailed) and events[-1].error.retryable
    assert events[-1].task is not None and events[-1].task.status == "failed"


async def test_a_refused_submit_is_recorded_as_failed(runner, history, sim):
    sim.faults = FaultPlan.parse("402@submit*1")
    record = await runner.run(runner.prepare(GenerationRequest("no money")))
    assert record.state == "submit_failed" and record.error["code"] == 402


async def test_the_timeout_notice_is_kept_on_the_task(runner, history, sim):
    sim.speed = 0.001
    record = await runner.run(runner.prepare(GenerationRequest("slow")))
    assert record.notice and record.task_id in record.notice and not record.is_finished


async def test_resume_after_a_restart_polls_and_downloads(client, history, sim, tmp_path, fake_clock):
    first = r.Runner(client, history, tmp_path / "dl")
    record_id = first.prepare(GenerationRequest("interrupted", model="z-image-turbo"))
    await first.run(record_id, follow=False)  # as if the app died right after submitting
    assert history.get(record_id).state == "pending"
    unfinished = history.unfinished()
    assert [u.id for u in unfinished] == [record_id]
    fake_clock.advance(30)
    record = await r.Runner(client, history, tmp_path / "dl").resume(unfinished[0])
    assert record.state == "completed" and Path(record.files[0]).is_file()
    assert sim.charges == 1


async def test_a_record_killed_mid_submit_becomes_uncertain_not_resent(client, history, sim, tmp_path):
    record_id = history.record_submission({"prompt": "p", "model": "gpt-image-1.5"}, "run_" + "c" * 32)
    result = await r.Runner(client, history, tmp_path).resume(history.get(record_id))
    assert result is None and history.get(record_id).state == "uncertain" and sim.count("submit") == 0


async def test_a_task_over_before_its_first_read_is_recorded_as_it_ended(runner, history, sim, client, fake_clock):
    request = GenerationRequest("over at once", model="z-image-turbo")
    task = await client.submit(request)
    fake_clock.advance(60)
    over = await client.get_task(task.id)
    assert over.status == "completed"
    record_id = history.record_submission(request.to_body(), "run_" + "d" * 32)
    reads = sim.count("poll")
    record = await runner.follow(record_id, over)  # followed once already over: no read to write it
    assert sim.count("poll") == reads
    assert record.state == "completed" and record.task_id == over.id and record.progress == 100
    assert record.files and all(Path(f).is_file() for f in record.files)


async def test_check_by_id_adds_the_task(runner, history, sim, client):
    task = await client.submit(GenerationRequest("made elsewhere", model="z-image-turbo"))
    record = await runner.check(task.id)
    assert record.task_id == task.id and record.state == "completed" and record.files


def test_history_search_and_prompt_recall(history):
    for prompt, model in [
        ("a red fox", "gpt-image-1"),
        ("a blue whale", "z-image-turbo"),
        ("a red car", "z-image-turbo"),
    ]:
        history.record_submission({"prompt": prompt, "model": model}, "run_x")
    assert [t.prompt for t in history.search("red")] == ["a red car", "a red fox"]
    assert [t.prompt for t in history.search(model="z-image-turbo")] == ["a red car", "a blue whale"]
    assert history.search("100%_") == []
    assert history.prompts("a") == ["a red car", "a blue whale", "a red fox"]


def test_history_is_wal_versioned_and_never_holds_the_key(history, tmp_path):
    history.record_submission({"prompt": "p", "model": "m"}, "run_y")
    conn = sqlite3.connect(history.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
    for path in history.path.parent.iterdir():
        assert TEST_KEY.encode() not in path.read_bytes()


def _held_runner(client, history, tmp_path, events, held):
    """A runner that holds progress news for ``progress_every`` seconds; the writes it
    schedules are kept in ``held`` (delay, callback) for the test to run when it chooses."""
    return r.Runner(
        client,
        history,
        tmp_path / "downloads",
        on_event=events.append,
        progress_every=1.0,
        later=lambda delay, callback: held.append((delay, callback)),
    )


async def test_progress_news_is_held_and_what_comes_after_it_is_never_undone(client, history, sim, tmp_path):
    """With ``progress_every``, a read that brings nothing but progress is neither written nor
    told at once; every other read is. A write still held when its task ends is dropped: the
    final state stays, and nothing about the task is told after its end."""
    events: list = []
    held: list = []
    runner = _held_runner(client, history, tmp_path, events, held)
    sim.speed = 0.25  # 32 s: reads every 5 s, most of them progress alone
    record = await runner.run(runner.prepare(GenerationRequest("a lighthouse at dusk")))
    assert record.state == "completed" and record.progress == 100 and len(record.files) == 1
    polls = sim.count("poll")
    told = [e.task for e in events if isinstance(e, ev.TaskProgressed)]
    assert len(held) == 1 and held[0][0] == 1.0  # one write asked for, never run: news kept coming
    assert polls >= 5 and len(told) < polls - 2  # the progress-only reads were held, not told
    assert all(a.status != b.status or not b.is_active for a, b in zip(told, told[1:], strict=False))
    ended = len(events)
    held[0][1]()  # the write comes due after the task's end
    assert len(events) == ended and history.get(record.id) == record


async def test_held_progress_of_several_tasks_is_written_in_one_transaction_and_told_in_order(
    client, history, sim, tmp_path, monkeypatch
):
    """The progress news of every task, held together, is written in one transaction and
    then told, one event a task, in the order it came, each carrying what was written."""
    events: list = []
    held: list = []
    runner = _held_runner(client, history, tmp_path, events, held)
    sim.speed = 0.05  # 160 s: the tasks run long after their first progress news
    ids = [runner.prepare(GenerationRequest(f"a lighthouse, take {n}")) for n in range(2)]
    runs = [asyncio.create_task(runner.run(record_id)) for record_id in ids]
    writes: list[list[int]] = []
    real = history.update_tasks
    monkeypatch.setattr(history, "update_tasks", lambda news: writes.append([i for i, _ in news]) or real(news))
    for _ in range(10_000):  # until both tasks have progress news held
        await asyncio.sleep(0)
        if held and all(i in runner._progress for i in ids):
            break
    else:
        raise AssertionError("no progress news held for both tasks")
    news = {i: runner._progress[i] for i in ids}
    writes.clear()
    count = len(events)
    held.pop()[1]()
    assert writes == [list(news)]  # one transaction for both
    told = events[count:]
    assert [(type(e), e.record_id) for e in told] == [(ev.TaskProgressed, i) for i in news]
    assert all(history.get(i).progress == news[i].progress for i in ids)
    for run in runs:
        run.cancel()
    await asyncio.gather(*runs, return_exceptions=True)


async def test_held_progress_that_cannot_be_written_fails_its_task_at_the_next_read(client, history, sim, tmp_path):
    """The history breaks (a full or read-only disk) while progress news is held: its write
    fails, and the task's follow fails with that error at its next read, as a write of its own
    would have made it (the app reports it; the task can be checked again later)."""
    from evolink_tui.core.history import HistoryError

    events: list = []
    held: list = []
    runner = _held_runner(client, history, tmp_path, events, held)
    sim.speed = 0.05
    record_id = runner.prepare(GenerationRequest("a lighthouse at dusk"))
    run = asyncio.create_task(runner.run(record_id))
    for _ in range(10_000):
        await asyncio.sleep(0)
        if held:
            break
    else:
        raise AssertionError("no progress news held")
    with history._lock:
        history._db().execute("PRAGMA query_only = 1")
    count = len(events)
    held.pop()[1]()
    assert len(events) == count  # nothing told that was not written
    with pytest.raises(HistoryError):
        await run
