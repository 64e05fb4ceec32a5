"""The batch runner against the simulator on loopback (fake clock): never more than K tasks
at once, one Retry-After holding back every submit, pause and cancel, the budget checked
before each submit, and a batch picked up again after a stop without sending anything twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from evolink_tui.core import batch_store as bs
from evolink_tui.core.batch import BatchRunner, resume_batches
from evolink_tui.core.batch_events import BatchTaskSent, BudgetStop, SubmitsHeld
from evolink_tui.core.budget import Budget, BudgetExceeded
from evolink_tui.core.matrix import Matrix
from evolink_tui.core.plan import build_plan
from evolink_tui.core.runner import Runner
from evolink_tui.simulator import FaultPlan

from .history_seed import seed

FOX = "a {red|blue} fox in {snow|rain}"
THREE = ("gpt-image-1.5", "z-image-turbo", "gemini-3.1-flash-image-preview")


@pytest.fixture
def events():
    return []


@pytest.fixture
def runner(client, history, tmp_path):
    return Runner(client, history, tmp_path / "downloads")


def batches_for(runner, events, **kwargs) -> BatchRunner:
    return BatchRunner(runner, on_event=events.append, **kwargs)


def fox_plan(history, models=THREE, **kwargs):
    return build_plan(Matrix((FOX,), models=models), history, **kwargs)


def most_at_once(sim) -> int:
    """The most tasks the server had under way at one moment."""
    moments = sorted(
        [(t.started, 1) for t in sim.tasks.values()] + [(t.finished_at, -1) for t in sim.tasks.values()],
        key=lambda m: (m[0], m[1]),
    )
    top = current = 0
    for _, step in moments:
        current += step
        top = max(top, current)
    return top


def one_task_per_key(sim, keys) -> None:
    """Every key made exactly one task, and was sent once (plus the refusals it met)."""
    assert sorted(t.idempotency_key for t in sim.tasks.values()) == sorted(keys)
    sent = sim.submits_by_key()
    for key in keys:
        assert sent[key] - sim.refused_submits[key] == 1, key


async def test_never_more_than_k_at_once_and_one_retry_after_holds_every_submit(runner, history, sim, events):
    sim.faults = FaultPlan.parse("429:5@submit*1")  # the first submit is told: come back in 5 s
    batches = batches_for(runner, events, submit_interval=1.0)
    summary = await batches.start(fox_plan(history, concurrency=3))
    assert summary.counts == {"completed": 12} and summary.batch.state == bs.DONE
    assert all(Path(f).is_file() for r in summary.records.values() for f in r.files)
    # bounded concurrency, on both sides
    assert batches.max_running == 3 and most_at_once(sim) <= 3
    # the 429's Retry-After held back the whole batch: no submit came inside those 5 s
    assert sum(sim.refused_submits.values()) == 1 and sim.submits_in_retry_after == 0
    assert batches.gate.pauses == 1 and [e.seconds for e in events if isinstance(e, SubmitsHeld)] == [5.0]
    one_task_per_key(sim, [item.idempotency_key for item in summary.items])


async def test_a_burst_of_429s_past_the_clients_retries_is_sent_again_later_never_twice(runner, history, sim, events):
    sim.faults = FaultPlan.parse("429:2@submit*6")  # more refusals in a row than the client retries (4 tries)
    batches = batches_for(runner, events, submit_interval=0.5)
    summary = await batches.start(fox_plan(history, models=THREE[:2], concurrency=3))
    assert summary.counts == {"completed": 8}
    assert sum(sim.refused_submits.values()) == 6 and sim.submits_in_retry_after == 0
    one_task_per_key(sim, [item.idempotency_key for item in summary.items])


async def test_pause_sends_nothing_more_finishes_what_was_sent_and_continues_later(runner, history, sim, events):
    batches = batches_for(runner, events)

    def pause_after_two(event):
        events.append(event)
        if isinstance(event, BatchTaskSent) and event.seq == 2:
            batches.pause(event.batch_id)

    batches.on_event = pause_after_two
    summary = await batches.start(fox_plan(history, models=THREE[1:2], concurrency=3))
    assert summary.batch.state == bs.PAUSED and summary.counts == {"completed": 2, "unsent": 2}
    assert sim.count("submit") == 2 and all(r.files for r in summary.records.values())  # followed and downloaded
    summary = await batches.run(summary.batch.id)  # continue
    assert summary.batch.state == bs.DONE and summary.counts == {"completed": 4} and len(sim.tasks) == 4


async def test_cancel_never_sends_the_rest(runner, history, sim, events):
    batches = batches_for(runner, events)

    def cancel_after_one(event):
        events.append(event)
        if isinstance(event, BatchTaskSent):
            batches.cancel(event.batch_id)

    batches.on_event = cancel_after_one
    summary = await batches.start(fox_plan(history, models=THREE[1:2], concurrency=3))
    assert summary.batch.state == bs.CANCELLED and summary.counts == {"completed": 1, "cancelled": 3}
    again = await batches.run(summary.batch.id)
    assert again.counts == {"completed": 1, "cancelled": 3} and sim.count("submit") == 1


async def test_a_batch_over_budget_is_refused_before_anything_is_sent_or_stored(
    runner, history, sim, fake_clock, events
):
    for _ in range(3):
        seed(history, fake_clock, "z-image-turbo", 1)
    batches = batches_for(runner, events)
    with pytest.raises(BudgetExceeded) as caught:
        batches.create(fox_plan(history, models=("z-image-turbo",)), budget=3.5)
    assert "expected to cost 4 credits, and 3.5 are left" in str(caught.value)
    assert sim.count() == 0 and batches.store.batches() == []


async def test_the_budget_is_checked_before_each_submit_at_the_price_just_charged(
    runner, history, sim, fake_clock, events
):
    seed(history, fake_clock, "gpt-image-1.5", 0.5)  # once cheap; the simulator now charges 6 an image
    batches = batches_for(runner, events)
    summary = await batches.start(fox_plan(history, models=("gpt-image-1.5",)), budget=13)  # plan: 4 x 0.5
    assert summary.batch.state == bs.PAUSED and summary.batch.reason == "budget"
    assert sim.credits_charged == 12 and summary.counts == {"completed": 2, "unsent": 2}
    [stop] = [e for e in events if isinstance(e, BudgetStop)]
    assert stop.seq == 3 and stop.verdict.expected == 6 and stop.verdict.left == 1
    with pytest.raises(BudgetExceeded):
        await batches.run(summary.batch.id)  # continuing does not get round it
    summary = await batches.run(summary.batch.id, budget=30)  # a higher budget does
    assert summary.batch.state == bs.DONE and sim.credits_charged == 24


async def test_an_unknown_price_is_learned_from_the_first_answer(runner, history, sim, events):
    batches = batches_for(runner, events, budget=Budget(history))
    plan = build_plan(Matrix(("shot {1-8}",), models=("z-image-turbo",)), history, concurrency=3)
    assert plan.cost.unknown_tasks == 8
    summary = await batches.start(plan, budget=5)  # 1 credit each, which nothing knew before
    assert sim.credits_charged == 5 and summary.counts == {"completed": 5, "unsent": 3}


async def test_a_stopped_batch_resumes_without_sending_anything_twice(runner, history, sim, events):
    batches = batches_for(runner, events)
    plan = fox_plan(history, models=THREE[1:2])
    batch = batches.create(plan)
    items = batches.store.items(batch.id)
    # As a kill -9 leaves it: task 1 accepted and running, task 2 recorded but not linked yet,
    # task 3 in flight (outcome unknown), task 4 not sent.
    first = runner.prepare(items[0].generation_request(), group_id=batch.id, idempotency_key=items[0].idempotency_key)
    batches.store.link(batch.id, 1, first)
    await runner.run(first, follow=False)
    runner.prepare(items[1].generation_request(), group_id=batch.id, idempotency_key=items[1].idempotency_key)
    third = runner.prepare(items[2].generation_request(), group_id=batch.id, idempotency_key=items[2].idempotency_key)
    batches.store.link(batch.id, 3, third)
    history.mark_sending(third)

    [summary] = await resume_batches(batches_for(runner, events))
    assert summary.counts == {"completed": 3, "uncertain": 1}
    assert history.get(third).state == "uncertain"  # never resent on its own
    keys = [items[0].idempotency_key, items[1].idempotency_key, items[3].idempotency_key]
    one_task_per_key(sim, keys)
    records = history.in_group(batch.id)  # one record a task: the one made before the stop was taken up
    assert sorted(r.idempotency_key for r in records) == sorted(item.idempotency_key for item in items)
    assert summary.batch.state == bs.DONE and await resume_batches(batches_for(runner, events)) == []
