"""The Studio's batches and budget: plan a matrix, run it on the Studio's runner, pause,
cancel, take up at start what a quit left, and the budget every submit of the app is
checked against.

``studio.batches`` (built on first use) is what the app's plan and batch screens and the
budget bar stand on. The batch runner is :class:`~evolink_tui.core.batch.BatchRunner` on the
Studio's own runner, so each task of a batch reports its steps as any generation does, and
the batch's own events (:mod:`~evolink_tui.core.batch_events`) go out on ``studio.events``
beside them. Nothing here imports textual.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

from ..budget import Budget, Cap, Verdict, caps_for
from ..errors import ValidationError
from ..preferences import Preferences, load_preferences

if TYPE_CHECKING:
    from ..batch import BatchRunner, BatchSummary
    from ..batch_store import BatchRecord
    from ..matrix import Matrix
    from ..plan import Plan
    from ..validation import GenerationRequest
    from .studio import Studio


class BudgetBar(NamedTuple):
    """What the top bar shows: credits spent under the tightest cap, and that cap."""

    spent: float
    limit: float
    label: str  # "run" or "day"


class Batches:
    """See the module docstring."""

    def __init__(self, studio: Studio) -> None:
        self.studio = studio
        self.prefs: Preferences = load_preferences(studio.settings.config_path)
        self.started_at = studio.now()
        self.per_run = self.prefs.budget_per_run
        self.per_day = self.prefs.budget_per_day
        self.groups: set[str] = set()  # batches this process runs (recovery leaves their records alone)
        self.active: set[str] = set()  # batches being run now (sending or following their tasks)
        self._runner: BatchRunner | None = None

    # -- the budget ---------------------------------------------------------------------

    def caps(self) -> list[Cap]:
        return caps_for(
            per_run=self.per_run, per_day=self.per_day, run_started_at=self.started_at, now=self.studio.now()
        )

    def budget(self) -> Budget:
        return Budget(self.studio.history, self.caps())

    def set_budget(self, *, per_run: float | None, per_day: float | None) -> None:
        """Caps for this run (the palette's "Set budget"; the caller saves them to the config)."""
        self.per_run, self.per_day = per_run, per_day
        if self._runner is not None:
            self._runner.budget.caps = self.caps()

    def bar(self) -> BudgetBar | None:
        """The cap with the least left, or None when no budget is set."""
        budget = self.budget()
        best: BudgetBar | None = None
        for cap in budget.caps:
            spent = budget.spent(cap)
            label = "run" if cap.since == self.started_at else "day"
            if best is None or cap.limit - spent < best.limit - best.spent:
                best = BudgetBar(spent, cap.limit, label)
        return best

    def check_requests(self, requests: list[GenerationRequest]) -> Verdict:
        """Whether a plain generate (one task a request) fits the budget, priced from what
        each model cost before (unknown: counted as such)."""
        from ..costs import model_stats

        budget = self.budget()
        if not budget.active:
            return Verdict(True, None, None, None)
        models = [r.resolved_model() for r in requests]
        stats = model_stats(self.studio.history, models)
        prices = [stats[m].credits_for(r.n or 1) for m, r in zip(models, requests, strict=True)]
        unknown = any(p is None for p in prices)
        known = sum(p.median for p in prices if p is not None)
        return budget.check(None if unknown and not known else known, unknown=unknown)

    def check_plan(self, plan: Plan) -> Verdict:
        """Whether the chosen tasks of ``plan`` fit the budget (before it is confirmed)."""
        return self.budget().check_plan(plan.cost)

    def raise_for(self, verdict: Verdict) -> None:
        """Raise the cap that stopped a submit just enough for it (this run only)."""
        if verdict.cap is None:
            return
        needed = math.ceil(verdict.spent + (verdict.expected or 0.0)) + (1 if verdict.unknown else 0)
        if verdict.cap.since == self.started_at:
            self.set_budget(per_run=max(needed, self.per_run or 0), per_day=self.per_day)
        else:
            self.set_budget(per_run=self.per_run, per_day=max(needed, self.per_day or 0))

    # -- batches ------------------------------------------------------------------------

    @property
    def runner(self) -> BatchRunner:
        """The batch runner on the Studio's runner (a new one after a switch of mode)."""
        from ..batch import BatchRunner

        runner = self.studio.ensure_runner()
        if self._runner is None or self._runner.runner is not runner:
            self._runner = BatchRunner(
                runner,
                budget=self.budget(),
                concurrency=None,  # each batch's own, as planned
                submit_interval=self.prefs.batch_submit_interval,
                on_event=self._event,
            )
        return self._runner

    def _event(self, event: object) -> None:
        from ..batch_events import BatchTaskEnded, BatchTaskSent

        studio = self.studio
        match event:
            case BatchTaskSent(record_id=record_id):
                studio.session_ids.add(record_id)
                studio.in_flight.add(record_id)
                record = studio.history.get(record_id)
                if record is not None:
                    studio.remember(record)
            case BatchTaskEnded(record=record):
                studio.in_flight.discard(record.id)
                studio.remember(record)
        studio.events.emit(event)

    def plan(self, matrix: Matrix) -> Plan:
        """The priced, checked plan of ``matrix`` (nothing is sent)."""
        from ..plan import build_plan

        return build_plan(
            matrix,
            self.studio.history,
            concurrency=self.prefs.batch_concurrency,
            submit_interval=self.prefs.batch_submit_interval,
        )

    def create(self, plan: Plan) -> BatchRecord:
        """Store ``plan`` as a batch (nothing sent). ValidationError or BudgetExceeded: nothing stored."""
        runner = self.runner
        runner.budget.caps = self.caps()
        runner.budget.stats = plan.stats
        batch = runner.create(plan)
        self.groups.add(batch.id)
        return batch

    async def run(self, batch_id: str) -> BatchSummary:
        """Send and follow the batch (continues a paused one). BudgetExceeded: paused, nothing sent."""
        if batch_id in self.active:
            raise ValidationError("batch", batch_id, "a batch that is not running already (its tasks are finishing)")
        self.groups.add(batch_id)
        self.active.add(batch_id)
        runner = self.runner
        runner.budget.caps = self.caps()
        try:
            return await runner.run(batch_id)
        finally:
            self.active.discard(batch_id)

    def pause(self, batch_id: str) -> None:
        self.runner.pause(batch_id)

    def cancel(self, batch_id: str) -> int:
        return self.runner.cancel(batch_id)

    def summary(self, batch_id: str) -> BatchSummary:
        return self.runner.summary(batch_id)

    def latest(self) -> BatchRecord | None:
        found = self.runner.store.batches(limit=1)
        return found[0] if found else None

    def claim_unfinished(self) -> list[str]:
        """The batches a quit or a kill left running, claimed for this process (recovery
        leaves their records to them). Call before :meth:`Studio.recover`."""
        ids = [batch.id for batch in self.runner.store.unfinished()]
        self.groups.update(ids)
        return ids

    def owned_records(self) -> set[int]:
        """Unfinished records of this process's batches (recovery skips them)."""
        if not self.groups:
            return set()
        return {r.id for r in self.studio.history.unfinished() if r.group_id in self.groups}

    async def resume(self) -> list[BatchSummary]:
        """Take up every batch a quit or a kill left running, as :func:`~evolink_tui.core.batch.resume_batches`
        does (a batch whose rest would cross the budget is paused and said, not sent)."""
        import asyncio

        from ..budget import BudgetExceeded

        async def one(batch_id: str) -> BatchSummary:
            try:
                return await self.run(batch_id)
            except BudgetExceeded:  # paused and said (BudgetStop); the rest waits for the user
                return self.summary(batch_id)

        return list(await asyncio.gather(*(one(b.id) for b in self.runner.store.unfinished())))
