"""Budgets: caps on the credits spent per app run, per day, per batch or per command.

One :class:`Budget` holds the caps in force; the app and the headless commands share it.
What was spent is read from the history with the one "credits charged" rule
(:func:`.costs.charge`: failed tasks that were not charged, or were refunded, do not count;
running tasks count what they reserved; an uncertain submit counts at its model's expected
price). Submits on their way (sent, no answer yet) are *held* at their expected cost.

Before a submit whose expected cost would cross a cap, the app asks and the headless
commands refuse (:class:`BudgetExceeded`, exit 2, nothing sent).

Unknown prices (a model with no runs yet): the cost cannot be checked before the first
task, so such a task is let through only while the budget has room left, and only one at a
time per model (:class:`.batch.BatchRunner` waits for the submit's answer, which carries
the credits Evolink reserved, before it sends the next one of that model). A budget can
therefore be passed by at most one task of a model never used before; the plan and the
refusal say so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from .costs import UNCERTAIN, ModelStats, charge, images_of
from .errors import ValidationError

if TYPE_CHECKING:
    from .history import History, TaskRecord
    from .plan import PlanCost

EPSILON = 1e-9


def day_start(now: float) -> float:
    """Local midnight before ``now`` (the per-day budget's day)."""
    return datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def parse_budget(text: str | float | None, field: str = "budget") -> float | None:
    """A budget as typed (``--budget 50``, a config value): a number of credits, 0 or more."""
    if text is None:
        return None
    try:
        value = float(text) if not isinstance(text, bool) else math.nan
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ValidationError(field, text, "a number of credits, 0 or more, such as 50")
    return value


@dataclass(frozen=True)
class Cap:
    """One limit: ``limit`` credits over the records created since ``since``, or over the
    tasks of batch ``group``."""

    label: str  # how the user set it: "--budget 50", "budget_per_day (config)", ...
    limit: float
    since: float | None = None
    group: str | None = None

    def applies(self, group: str | None) -> bool:
        return self.group is None or self.group == group


@dataclass(frozen=True)
class Verdict:
    """Whether a submit (or a plan) fits the budget, and the numbers that say why."""

    ok: bool
    expected: float | None  # None: the price is unknown
    left: float | None  # None: no cap applies
    cap: Cap | None  # the cap that binds (least left)
    spent: float = 0.0  # spent under that cap (held submits included)
    unknown: bool = False  # part of the cost is unknown (a model with no runs yet)

    def explain(self, what: str = "this task") -> str:
        if self.cap is None:
            return "no budget is set"
        expected = "an unknown number of" if self.expected is None else f"{self.expected:g}"
        text = (
            f"{what} is expected to cost {expected} credits, and {max(0.0, self.left or 0.0):g} are left of "
            f"{self.cap.label} ({self.spent:g} spent)"
        )
        if self.unknown and self.expected is not None:
            text += "; the price of some of it is unknown (no runs yet)"
        return text


class BudgetExceeded(ValidationError):
    """A submit (or a plan) would cross a budget: nothing was sent."""

    def __init__(self, verdict: Verdict, what: str = "this task"):
        super().__init__("budget", verdict.expected, verdict.explain(what))
        self.verdict = verdict
        advice = "raise the budget or drop some tasks" if "batch" in what or "plan" in what else "raise the budget"
        self.args = (f"Over budget: {verdict.explain(what)}. Nothing was sent: {advice}.",)

    def __str__(self) -> str:
        return self.args[0]


class Budget:
    """The caps in force and the submits held against them."""

    def __init__(self, history: History, caps: Iterable[Cap] = (), *, stats: dict[str, ModelStats] | None = None):
        self.history = history
        self.caps = [cap for cap in caps if cap is not None]
        self.stats = stats or {}
        self._holds: dict[object, tuple[float | None, str | None]] = {}

    @property
    def active(self) -> bool:
        return bool(self.caps)

    def with_cap(self, cap: Cap | None) -> Budget:
        """This budget and one more cap (a batch's own), sharing the submits on their way."""
        if cap is None:
            return self
        view = Budget(self.history, [*self.caps, cap], stats=self.stats)
        view._holds = self._holds
        return view

    # -- what was spent -----------------------------------------------------------------

    def _records(self, cap: Cap) -> list[TaskRecord]:
        if cap.group is not None:
            return self.history.in_group(cap.group)
        total = self.history.count_matching(since=cap.since)
        return self.history.search(since=cap.since, limit=max(1, total))

    def _price(self, record: TaskRecord) -> float:
        spent = charge(record)
        if spent.credits is not None:
            return spent.credits
        if spent.kind == UNCERTAIN:  # may have been charged: count what it would cost
            stats = self.stats.get(record.model)
            expected = stats.credits_for(images_of(record.request)) if stats else None
            return expected.median if expected else 0.0
        return 0.0

    def spent(self, cap: Cap) -> float:
        """Credits charged (and reserved) under ``cap``, from the history."""
        return sum(self._price(record) for record in self._records(cap))

    # -- submits on their way -----------------------------------------------------------

    def hold(self, key: object, cost: float | None, group: str | None = None) -> None:
        """A submit is on its way at expected ``cost``: count it until :meth:`release`."""
        self._holds[key] = (cost, group)

    def release(self, key: object) -> None:
        """The submit was answered (its record now says what it reserved) or not sent."""
        self._holds.pop(key, None)

    def _held(self, cap: Cap) -> float:
        return sum(cost or 0.0 for cost, group in self._holds.values() if cap.applies(group))

    # -- decisions ----------------------------------------------------------------------

    def check(self, cost: float | None, *, group: str | None = None, unknown: bool | None = None) -> Verdict:
        """Whether a submit of expected ``cost`` (None: unknown) fits every cap that applies.

        A known cost fits when it does not cross any cap; an unknown one while every cap
        has room left (see the module docstring)."""
        unknown = cost is None if unknown is None else unknown
        verdicts = []
        for cap in self.caps:
            if not cap.applies(group):
                continue
            spent = self.spent(cap) + self._held(cap)
            left = cap.limit - spent
            fits = (cost or 0.0) <= left + EPSILON and (not unknown or left > (cost or 0.0) + EPSILON)
            verdicts.append(Verdict(fits, cost, left, cap, spent, unknown))
        if not verdicts:
            return Verdict(True, cost, None, None, 0.0, unknown)
        failing = [v for v in verdicts if not v.ok]
        return min(failing or verdicts, key=lambda v: v.left or 0.0)

    def check_plan(self, cost: PlanCost, *, group: str | None = None) -> Verdict:
        """Whether tasks of expected ``cost`` (a plan, or what is left of a batch) fit."""
        return self.check(cost.known.median, group=group, unknown=not cost.fully_known)

    def require(self, cost: float | None, *, group: str | None = None, what: str = "this task") -> Verdict:
        """:meth:`check`, raising :class:`BudgetExceeded` when it does not fit."""
        verdict = self.check(cost, group=group)
        if not verdict.ok:
            raise BudgetExceeded(verdict, what)
        return verdict

    def require_plan(self, cost: PlanCost, *, group: str | None = None, what: str = "this batch") -> Verdict:
        verdict = self.check_plan(cost, group=group)
        if not verdict.ok:
            raise BudgetExceeded(verdict, what)
        return verdict


def caps_for(*, per_run: float | None, per_day: float | None, run_started_at: float, now: float) -> list[Cap]:
    """The configured caps of a run: ``budget_per_run`` since it started, ``budget_per_day`` since midnight."""
    caps = []
    if per_run is not None:
        caps.append(Cap(f"the budget per run (budget_per_run = {per_run:g})", per_run, since=run_started_at))
    if per_day is not None:
        caps.append(Cap(f"today's budget (budget_per_day = {per_day:g})", per_day, since=day_start(now)))
    return caps
