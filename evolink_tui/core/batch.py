"""Running a batch: many tasks, a few at a time, paced, within a budget, surviving kill -9.

:class:`BatchRunner` sends the tasks of a stored batch (:mod:`.batch_store`) through the
ordinary :class:`.runner.Runner` (each task is recorded in the history before it is sent,
and followed to the end and downloaded as any generation is):

- at most ``concurrency`` tasks are under way at once (sent and not yet finished);
- every submit goes through the client's :class:`.gate.SubmitGate`: one at a time, paced,
  and a 429's ``Retry-After`` holds back every submit of the batch, not just the one that
  met it; a submit refused by a 429 after all the client's retries is sent again later
  with the same key (nothing was made);
- before each submit the :class:`.budget.Budget` is asked; one that would cross it pauses
  the batch (nothing more is sent) and says why;
- :meth:`BatchRunner.pause` and :meth:`BatchRunner.cancel`: no new task is sent (cancel
  also marks the unsent ones as never to be sent); tasks already sent are followed to the
  end and downloaded;
- a batch interrupted by a quit or a kill -9 stays ``running`` in the history and
  :func:`resume_batches` (the app at start, ``evolink-tui resume``) takes it up: sent tasks
  are followed again, unsent ones are sent with the key chosen for them when the batch was
  planned, and nothing is sent twice. A submit whose outcome is unknown (in flight at the
  kill) is left *uncertain*, never resent on its own (``resume --resend ID`` does, with its
  own key), as for any generation.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import batch_store as bs
from .batch_events import BatchEnded, BatchEvent, BatchStarted, BatchTaskEnded, BatchTaskSent, BudgetStop, SubmitsHeld
from .budget import Budget, BudgetExceeded, Cap
from .costs import Spread, charge, images_of
from .errors import EvolinkError, ValidationError
from .gate import SubmitGate
from .history import TaskRecord
from .imagetypes import is_url
from .jobs import reference_name
from .plan import DEFAULT_CONCURRENCY, DEFAULT_SUBMIT_INTERVAL, Plan, PlanCost, cost_of
from .recovery import COMPLETED, RUNNING, UNCERTAIN, outcome
from .runner import Runner

REQUEUE_LIMIT = 3  # times a submit refused by rate limiting (after the client's retries) is queued again
REQUEUE_STATUSES = frozenset({429, 502, 503})  # refusals after which nothing was made on the server
# Outcomes of an item that has no record
UNSENT = "unsent"  # planned, not sent (paused, stopped by the budget, interrupted)
DROPPED = "dropped"
CANCELLED = "cancelled"


@dataclass
class BatchSummary:
    """Where every task of a batch stands."""

    batch: bs.BatchRecord
    items: list[bs.BatchItem]
    records: dict[int, TaskRecord] = field(default_factory=dict)

    def outcome(self, item: bs.BatchItem) -> str:
        record = self.records.get(item.record_id) if item.record_id is not None else None
        if record is not None:
            return outcome(record)
        return {bs.DROPPED: DROPPED, bs.ITEM_CANCELLED: CANCELLED}.get(item.state, UNSENT)

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(self.outcome(item) for item in self.items))

    @property
    def credits(self) -> float:
        """Credits charged so far (the one rule: failed tasks not charged do not count)."""
        return sum(charge(r).credits or 0.0 for r in self.records.values())

    @property
    def total(self) -> int:
        return sum(1 for item in self.items if item.state != bs.DROPPED)

    @property
    def done(self) -> int:
        """Tasks that saw their end (completed or not)."""
        return sum(1 for item in self.items if self.outcome(item) not in (UNSENT, RUNNING, DROPPED, CANCELLED))

    @property
    def unsent(self) -> int:
        return sum(1 for item in self.items if self.outcome(item) == UNSENT)

    @property
    def still_running(self) -> bool:
        return any(self.outcome(item) == RUNNING for item in self.items)

    @property
    def needs_attention(self) -> bool:
        """A failure, an uncertain submit, a download that failed or lapsed, or unsent tasks."""
        fine = (COMPLETED, RUNNING, DROPPED, CANCELLED)
        return any(self.outcome(item) not in fine for item in self.items)

    @property
    def uncertain(self) -> list[TaskRecord]:
        return [r for r in self.records.values() if outcome(r) == UNCERTAIN]

    def to_json(self) -> dict:
        return {
            **self.batch.to_json(),
            "total": self.total,
            "counts": self.counts,
            "credits": self.credits,
            "tasks": [
                {
                    **item.to_json(),
                    "outcome": self.outcome(item),
                    "record": self.records[item.record_id].to_json() if item.record_id in self.records else None,
                }
                for item in self.items
            ],
        }


@dataclass
class _Control:
    paused: bool = False
    cancelled: bool = False
    over_budget: bool = False

    @property
    def stopped(self) -> bool:
        return self.paused or self.cancelled or self.over_budget


class BatchRunner:
    """Runs stored batches on one :class:`Runner` (its client, history and download folder)."""

    def __init__(
        self,
        runner: Runner,
        *,
        budget: Budget | None = None,
        concurrency: int | None = None,
        submit_interval: float = DEFAULT_SUBMIT_INTERVAL,
        on_event: Callable[[BatchEvent], None] | None = None,
    ):
        self.runner = runner
        self.history = runner.history
        self.store = bs.BatchStore(runner.history)
        self.budget = budget or Budget(runner.history)
        self.concurrency = concurrency  # None: each batch's own (as planned)
        self.submit_interval = submit_interval
        self.on_event = on_event
        self.max_running = 0  # the most tasks this runner had under way at once
        self._controls: dict[str, _Control] = {}
        self._prices: dict[str, float] = {}  # credits per image learned from this run's submits

    def _emit(self, event: BatchEvent) -> None:
        if self.on_event:
            try:
                self.on_event(event)
            except Exception:  # a view's handler must never break a batch
                pass

    @property
    def gate(self) -> SubmitGate:
        """The client's submit gate (installed on first use)."""
        client = self.runner.client
        if client.submit_gate is None:
            client.submit_gate = SubmitGate(client.clock, self.submit_interval)
        return client.submit_gate

    # -- creating, pausing, cancelling --------------------------------------------------

    def create(self, plan: Plan, *, budget: float | None = None) -> bs.BatchRecord:
        """Check ``plan`` (every task valid, the whole within the budget) and store it as a
        running batch; nothing is sent. Raises ValidationError or BudgetExceeded, storing nothing."""
        plan.check()
        if not plan.chosen:
            raise ValidationError("tasks", 0, "at least one task (every task of the plan was dropped)")
        batch_id = bs.new_batch_id()
        spend = self.budget.with_cap(_batch_cap(batch_id, budget))
        spend.require_plan(plan.cost, group=batch_id, what=f"this batch ({len(plan.chosen)} tasks)")
        return self.store.create(plan, budget=budget, batch_id=batch_id)

    async def start(self, plan: Plan, *, budget: float | None = None) -> BatchSummary:
        """:meth:`create`, then :meth:`run`."""
        return await self.run(self.create(plan, budget=budget).id)

    def pause(self, batch_id: str) -> None:
        """Send no new task of the batch (sent ones run to their end); :meth:`run` continues it."""
        self._batch(batch_id)
        self._controls.setdefault(batch_id, _Control()).paused = True
        self.store.set_state(batch_id, bs.PAUSED, "paused")

    def cancel(self, batch_id: str) -> int:
        """Never send the unsent tasks (sent ones run to their end); how many were cancelled."""
        self._batch(batch_id)
        self._controls.setdefault(batch_id, _Control()).cancelled = True
        count = self.store.cancel_unsent(batch_id)
        self.store.set_state(batch_id, bs.CANCELLED, "cancelled")
        return count

    def _batch(self, batch_id: str) -> bs.BatchRecord:
        batch = self.store.get(batch_id)
        if batch is None:
            raise ValidationError("batch", batch_id, "the id of a batch, as `evolink-tui batch` printed it")
        return batch

    def summary(self, batch_id: str) -> BatchSummary:
        batch = self._batch(batch_id)
        records = {r.id: r for r in self.history.in_group(batch_id)}
        return BatchSummary(batch, self.store.items(batch_id), records)

    def remaining_cost(self, summary: BatchSummary) -> PlanCost:
        """Expected credits of the tasks not sent yet."""
        return cost_of(
            [(item.cell.model, self._expected(item)) for item in summary.items if summary.outcome(item) == UNSENT]
        )

    def _expected(self, item: bs.BatchItem) -> Spread | None:
        """An unsent task's expected credits: at the price its model was charged in this run
        if known, else as planned; None when unknown."""
        price = self._prices.get(item.cell.model)
        cost = price * images_of(item.request) if price is not None else item.credits
        return Spread(cost, cost, cost) if cost is not None else None

    # -- running ------------------------------------------------------------------------

    async def run(self, batch_id: str, *, budget: float | None = None) -> BatchSummary:
        """Send and follow the batch's tasks until each has ended, or the batch is paused,
        cancelled or stopped by the budget. Continues a paused or interrupted batch;
        ``budget`` replaces its own cap. Raises BudgetExceeded (the batch paused, nothing
        sent) when what is left to send would cross the budget."""
        batch = self._batch(batch_id)
        if batch.state in (bs.DONE, bs.CANCELLED):
            return self.summary(batch_id)
        if budget is not None and budget != batch.budget:
            self.history.write("UPDATE batches SET budget = ? WHERE id = ?", (budget, batch_id))
        spend = self.budget.with_cap(_batch_cap(batch_id, budget if budget is not None else batch.budget))
        summary = self._link_orphans(self.summary(batch_id))
        verdict = spend.check_plan(self.remaining_cost(summary), group=batch_id)
        if not verdict.ok:
            self.store.set_state(batch_id, bs.PAUSED, "budget")
            first = next(item.seq for item in summary.items if summary.outcome(item) == UNSENT)
            self._emit(BudgetStop(batch_id, first, verdict))
            raise BudgetExceeded(verdict, f"the rest of this batch ({summary.unsent} tasks)")
        control = self._controls[batch_id] = _Control()
        self.store.set_state(batch_id, bs.RUNNING)
        listener = self._gate_listener(batch_id)
        self.gate.listeners.append(listener)
        try:
            await self._upload_references(batch_id, summary.items)
            summary = self.summary(batch_id)
            await self._run_items(summary, spend, control)
        finally:
            self.gate.listeners.remove(listener)
        summary = self.summary(batch_id)
        if control.cancelled:
            self.store.cancel_unsent(batch_id)
            self.store.set_state(batch_id, bs.CANCELLED, "cancelled")
        elif not summary.unsent and not summary.still_running:
            self.store.set_state(batch_id, bs.DONE)
        # else: paused (by the user or the budget), or tasks still running after the wait:
        # the state says which, and a resume takes it up.
        summary = self.summary(batch_id)
        self._emit(BatchEnded(batch_id, summary))
        return summary

    def _gate_listener(self, batch_id: str) -> Callable[[float, object], None]:
        clock = self.runner.client.clock

        def held(until: float, error) -> None:
            self._emit(SubmitsHeld(batch_id, max(0.0, until - clock.now()), error))

        return held

    def _link_orphans(self, summary: BatchSummary) -> BatchSummary:
        """Items whose record was made but not linked yet (a kill between the two writes)."""
        by_key = {r.idempotency_key: r for r in summary.records.values()}
        orphans = [i for i in summary.items if i.state == bs.PLANNED and i.idempotency_key in by_key]
        for item in orphans:
            self.store.link(item.batch_id, item.seq, by_key[item.idempotency_key].id)
        return self.summary(summary.batch.id) if orphans else summary

    async def _upload_references(self, batch_id: str, items: list[bs.BatchItem]) -> None:
        """Local reference files are uploaded once for the whole batch, not once a task."""
        planned = [item for item in items if item.state == bs.PLANNED]
        local = dict.fromkeys(
            ref
            for item in planned
            for ref in [*item.request.get("image_urls", []), item.request.get("mask_url")]
            if ref and not is_url(ref)
        )
        if not local:
            return
        mapping = {}
        for ref in local:
            path = Path(ref).expanduser()
            info = await self.runner.client.upload_file(path, name=reference_name(path, batch_id), retry_safe=True)
            if not info.file_url:
                raise EvolinkError("file", "malformed", f"the upload of {ref} returned no file_url")
            mapping[ref] = info.file_url
        bodies = {}
        for item in planned:
            body = dict(item.request)
            if body.get("image_urls"):
                body["image_urls"] = [mapping.get(u, u) for u in body["image_urls"]]
            if body.get("mask_url"):
                body["mask_url"] = mapping.get(body["mask_url"], body["mask_url"])
            bodies[item.seq] = body
        self.store.set_requests(batch_id, bodies)

    async def _run_items(self, summary: BatchSummary, spend: Budget, control: _Control) -> None:
        """Launch the tasks, ``concurrency`` at a time: first those already under way (a
        resumed batch), then the unsent ones in order."""
        batch_id = summary.batch.id
        slots = asyncio.Semaphore(max(1, self.concurrency or summary.batch.concurrency or DEFAULT_CONCURRENCY))
        sending = asyncio.Lock()  # one task of the batch between "may it go?" and the submit's answer
        under_way = [i for i in summary.items if i.state == bs.RECORDED and self._unsettled(summary, i)]
        to_send = [i for i in summary.items if i.state == bs.PLANNED]
        self._emit(BatchStarted(batch_id, summary.total, len(to_send), len(under_way), summary.credits))
        running = 0
        jobs: list[asyncio.Task] = []

        async def one(item: bs.BatchItem) -> None:
            nonlocal running
            record = None
            try:
                record = await self._one(item, control, spend, sending, lambda: running)
            finally:
                running -= 1
                slots.release()
                if record is not None:
                    charged = sum(charge(r).credits or 0.0 for r in self.history.in_group(batch_id))
                    self._emit(BatchTaskEnded(batch_id, item.seq, record, outcome(record), running, charged))

        for item in [*under_way, *to_send]:
            await slots.acquire()
            if item.state == bs.PLANNED and control.stopped:
                slots.release()
                break
            running += 1
            self.max_running = max(self.max_running, running)
            jobs.append(asyncio.create_task(one(item)))
        if jobs:
            await asyncio.gather(*jobs)

    def _unsettled(self, summary: BatchSummary, item: bs.BatchItem) -> bool:
        """A recorded task with something left to do: running, results to fetch, never sent,
        refused for now by rate limiting, or in flight when the batch stopped (to be marked)."""
        record = summary.records.get(item.record_id) if item.record_id is not None else None
        if record is None:
            return True
        if record.task_id is not None:
            return not record.is_finished or record.needs_download
        return record.state in ("submitting", "uncertain") or self._refused_for_now(record)

    async def _one(
        self, item: bs.BatchItem, control: _Control, spend: Budget, sending: asyncio.Lock, running
    ) -> TaskRecord | None:
        """Send (if not sent yet) and follow one task; its record as it ended (None: not sent).

        Between the budget's yes and the submit's answer no other task of the batch is
        admitted: the next one is priced knowing what this one reserved (a model's first
        answer gives its price, so a model never used before goes one at a time)."""
        runner, history = self.runner, self.history
        batch_id, key = item.batch_id, (item.batch_id, item.seq)
        record = history.get(item.record_id) if item.record_id is not None else None
        if record is not None and record.task_id is not None:  # sent before: follow it again
            return await runner.resume(record) or history.get(record.id)
        if record is not None and record.attempted_at is not None and not self._refused_for_now(record):
            await runner.resume(record)  # in flight when the batch stopped: uncertain, never resent here
            return history.get(record.id)
        started = runner.client.clock.now()
        async with sending:
            await self._wait_for_gate(control)  # a pause or cancel meanwhile still holds it back
            if control.stopped:
                return record
            cost = self._expected(item)
            expected = cost.median if cost else None
            verdict = spend.check(expected, group=batch_id)
            if not verdict.ok:
                control.over_budget = True
                self.store.set_state(batch_id, bs.PAUSED, "budget")
                self._emit(BudgetStop(batch_id, item.seq, verdict))
                return record
            spend.hold(key, expected, batch_id)
            try:
                if record is None:
                    record_id = runner.prepare(
                        item.generation_request(), group_id=batch_id, idempotency_key=item.idempotency_key
                    )
                    self.store.link(batch_id, item.seq, record_id)
                    record = history.get(record_id)
                    assert record is not None
                self._emit(BatchTaskSent(batch_id, item.seq, record.id, running()))
                for _ in range(REQUEUE_LIMIT + 1):
                    record = await runner.run(record.id, follow=False)
                    if not self._refused_for_now(record):
                        break
                    await self._wait_for_gate(control)  # rate limited after every retry: later, same key
                    if control.stopped:
                        return record
            finally:
                spend.release(key)
            self._learn_price(record)
        if record.task_id is None:
            return record
        return await runner.follow(record.id, record.as_task(), started_at=started, polls_done=0)

    @staticmethod
    def _refused_for_now(record: TaskRecord) -> bool:
        """Refused by rate limiting or an overloaded server after every retry: nothing was made."""
        error = record.error or {}
        return record.state == "submit_failed" and error.get("status") in REQUEUE_STATUSES

    def _learn_price(self, record: TaskRecord) -> None:
        if record.credits is not None and record.credits >= 0 and record.task_id is not None:
            self._prices[record.model] = record.credits / images_of(record.request)

    async def _wait_for_gate(self, control: _Control) -> None:
        gate, clock = self.gate, self.runner.client.clock
        while not control.stopped and gate.paused_for() > 0:
            await clock.sleep(min(gate.paused_for(), 1.0))


def _batch_cap(batch_id: str, limit: float | None) -> Cap | None:
    return Cap(f"--budget {limit:g} for this batch", limit, group=batch_id) if limit is not None else None


async def resume_batches(batches: BatchRunner) -> list[BatchSummary]:
    """Take up every batch a quit or a kill -9 left running (the app calls this at start,
    ``evolink-tui resume`` too). A batch whose rest would cross the budget is paused and
    reported, not sent."""
    results = []

    async def one(batch: bs.BatchRecord) -> None:
        try:
            results.append(await batches.run(batch.id))
        except BudgetExceeded:
            results.append(batches.summary(batch.id))

    await asyncio.gather(*(one(b) for b in batches.store.unfinished()))
    return sorted(results, key=lambda s: s.batch.created_at)
