"""A task the history holds that Evolink answers 404 for is not an outage: it ends in the
final state ``not_found`` ("Evolink no longer knows this task"), says what to do, stops
counting as running, and is never polled again by recovery."""

from __future__ import annotations

import json

import pytest

from evolink_tui.core import events as ev
from evolink_tui.core import runner as r
from evolink_tui.core.history import NOT_FOUND
from evolink_tui.core.recovery import outcome, plan_recovery, recover
from evolink_tui.core.timing import time_taken
from evolink_tui.core.validation import GenerationRequest


@pytest.fixture
def runner(client, history, tmp_path):
    return r.Runner(client, history, tmp_path / "downloads")


async def _submitted(runner, prompt: str) -> int:
    record_id = runner.prepare(GenerationRequest(prompt, model="z-image-turbo"))
    await runner.run(record_id, follow=False)
    return record_id


async def test_recovery_ends_a_task_the_server_no_longer_knows(runner, history, sim):
    record_id = await _submitted(runner, "forgotten")
    sim.tasks.clear()  # the server lost it
    summary = await recover(runner)
    record = history.get(record_id)
    assert record.state == NOT_FOUND and record.is_finished and record.task_id
    assert record.error["code"] == "task_not_found" and record.error["retryable"] is False
    assert record.error["meaning"] == "Evolink no longer knows this task"
    assert "generate it again" in record.error["resolution"]
    assert [outcome(rec) for rec in summary.records] == [NOT_FOUND] and summary.needs_attention
    assert not summary.still_running
    polls = sim.count("poll")
    assert (await recover(runner)).records == [] and sim.count("poll") == polls  # final: never asked again
    assert plan_recovery(history).empty
    assert time_taken(record) is None  # it never finished: no time to show
    assert history.search(status="unfinished") == []
    assert [rec.id for rec in history.search(status=NOT_FOUND)] == [record_id]


async def test_a_task_forgotten_while_it_is_followed_ends_not_found_not_offline(runner, history, sim, fake_clock):
    record_id = await _submitted(runner, "vanishes mid-run")
    events: list[ev.TaskEvent] = []
    runner.events.subscribe(events.append)
    sim.tasks.clear()
    record = await runner.follow(record_id, history.get(record_id).as_task(), polls_done=1)
    assert record.state == NOT_FOUND and record.finished_at is not None
    assert events == [ev.TaskGone(record_id, record.task_id, events[0].error)]
    assert events[0].error.code == "task_not_found"
    assert sim.count("poll") == 1  # the reference does not retry a 404


def test_headless_resume_and_check_say_so_and_what_to_do(run, sim):
    code, out, _ = run("generate", "soon forgotten", "--no-wait", "--json")
    task_id = json.loads(out)["id"]
    sim.tasks.clear()
    code, out, err = run("resume")
    assert code == 1, out + err
    assert "not_found" in out and "Evolink no longer knows this task" in out and "generate it again" in out
    assert run("resume")[0] == 0  # nothing left running: the next resume has nothing to do
    code, out, err = run("check", task_id)
    assert code == 1 and "Evolink no longer knows this task" in err and "generate it again" in err
    code, out, _ = run("history", "--status", "not_found", "--json")
    [record] = json.loads(out)["records"]
    assert record["task_id"] == task_id and record["state"] == "not_found"


def test_check_of_a_task_never_recorded_is_still_a_plain_404(run, sim):
    code, _, err = run("check", "task-unified-1-nope")
    assert code == 1 and "404" in err and "Verify task_id" in err
    code, out, _ = run("history", "--json")
    assert json.loads(out)["count"] == 0  # nothing recorded for an id nobody ever had
