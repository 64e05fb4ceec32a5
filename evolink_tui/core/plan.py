"""The plan of a matrix run, made before anything is sent: every task validated, what it is
expected to cost (from what each model cost this user before) and how long it should take.

``build_plan(matrix, history)`` expands the matrix, validates every task (a bad combination,
such as a size a model does not take, is found here and names the field, the value and what
is allowed), and prices it from :mod:`.costs`. Tasks can be dropped before confirming.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .catalogue import Catalogue, load_catalogue
from .costs import ModelStats, Spread, model_stats, stats_from
from .errors import ValidationError
from .matrix import Cell, Matrix
from .validation import GenerationRequest, problems

if TYPE_CHECKING:
    from .history import History

DEFAULT_CONCURRENCY = 3
DEFAULT_SUBMIT_INTERVAL = 1.0  # seconds between two new submits of a batch


@dataclass(frozen=True)
class PlannedTask:
    seq: int  # 1-based, in matrix order
    cell: Cell
    request: GenerationRequest
    images: int
    credits: Spread | None  # None: this model has no runs with known credits yet
    seconds: float  # expected time from submit to finish
    seconds_guessed: bool  # from the catalogue's speed class, not from runs

    def to_json(self) -> dict:
        return {
            "seq": self.seq,
            "cell": self.cell.to_json(),
            "request": self.request.to_body(),
            "images": self.images,
            "credits": self.credits.to_json() if self.credits else None,
            "seconds": self.seconds,
            "seconds_guessed": self.seconds_guessed,
        }


@dataclass(frozen=True)
class PlanCost:
    """Expected credits of some tasks: the known part (median and range) and what is unknown."""

    known: Spread  # sums over the tasks whose price is known
    unknown_tasks: int
    unknown_models: tuple[str, ...]

    @property
    def fully_known(self) -> bool:
        return self.unknown_tasks == 0

    def describe(self) -> str:
        spread = self.known
        text = f"{spread.median:g} credits"
        if spread.low != spread.high:
            text += f" ({spread.low:g}-{spread.high:g})"
        if self.unknown_tasks:
            models = ", ".join(self.unknown_models)
            text = (text + " + " if spread.high else "") + f"unknown for {self.unknown_tasks} task"
            text += f"{'s' if self.unknown_tasks != 1 else ''} ({models}: no runs yet)"
        return text

    def to_json(self) -> dict:
        return {
            "expected": self.known.median,
            "low": self.known.low,
            "high": self.known.high,
            "unknown_tasks": self.unknown_tasks,
            "unknown_models": list(self.unknown_models),
        }


def cost_of(prices: list[tuple[str, Spread | None]]) -> PlanCost:
    """The cost of tasks given as ``(model, expected credits or None when unknown)``."""
    known = [price for _, price in prices if price is not None]
    unknown = [model for model, price in prices if price is None]
    return PlanCost(
        Spread(sum(s.median for s in known), sum(s.low for s in known), sum(s.high for s in known)),
        len(unknown),
        tuple(dict.fromkeys(unknown)),
    )


def expected_duration(seconds: list[float], concurrency: int, interval: float) -> float:
    """Wall time of tasks run ``concurrency`` at a time, new submits ``interval`` apart."""
    if not seconds:
        return 0.0
    slots = [0.0] * max(1, concurrency)
    last_submit = -interval
    end = 0.0
    for duration in seconds:
        free = heapq.heappop(slots)
        start = max(free, last_submit + interval)
        last_submit = start
        heapq.heappush(slots, start + duration)
        end = max(end, start + duration)
    return end


@dataclass
class Plan:
    matrix: Matrix
    tasks: list[PlannedTask]
    stats: dict[str, ModelStats]
    concurrency: int = DEFAULT_CONCURRENCY
    submit_interval: float = DEFAULT_SUBMIT_INTERVAL
    problems: list[tuple[int, ValidationError]] = field(default_factory=list)
    dropped: set[int] = field(default_factory=set)

    # -- what the user chose ---------------------------------------------------------

    def drop(self, seq: int) -> None:
        """Leave task ``seq`` out (the plan screen's "drop"); :meth:`restore` puts it back."""
        if not any(t.seq == seq for t in self.tasks):
            raise ValidationError("task", seq, f"a task number from 1 to {len(self.tasks)}")
        self.dropped.add(seq)

    def restore(self, seq: int) -> None:
        self.dropped.discard(seq)

    @property
    def chosen(self) -> list[PlannedTask]:
        """The tasks that will be sent (not dropped)."""
        return [t for t in self.tasks if t.seq not in self.dropped]

    # -- what it means ---------------------------------------------------------------

    @property
    def images(self) -> int:
        return sum(t.images for t in self.chosen)

    @property
    def cost(self) -> PlanCost:
        return cost_of([(t.cell.model, t.credits) for t in self.chosen])

    @property
    def seconds(self) -> float:
        return expected_duration([t.seconds for t in self.chosen], self.concurrency, self.submit_interval)

    @property
    def seconds_guessed(self) -> bool:
        return any(t.seconds_guessed for t in self.chosen)

    @property
    def ok(self) -> bool:
        return not self.problems

    def distinct_problems(self) -> list[tuple[list[int], ValidationError]]:
        """Each different problem once, with the tasks it concerns."""
        grouped: dict[str, tuple[list[int], ValidationError]] = {}
        for seq, err in self.problems:
            grouped.setdefault(str(err), ([], err))[0].append(seq)
        return list(grouped.values())

    def check(self) -> Plan:
        """The plan, if every chosen task may be sent; else raise the first problem
        (naming the field, the value, what is allowed, and how many tasks it concerns)."""
        for seqs, err in self.distinct_problems():
            chosen = [s for s in seqs if s not in self.dropped]
            if chosen:
                where = f"task {chosen[0]}" if len(chosen) == 1 else f"{len(chosen)} tasks, from task {chosen[0]}"
                raise ValidationError(err.field, err.value, f"{err.allowed} ({where})")
        return self

    def to_json(self) -> dict:
        return {
            "tasks": [{**t.to_json(), "dropped": t.seq in self.dropped} for t in self.tasks],
            "count": len(self.chosen),
            "images": self.images,
            "credits": self.cost.to_json(),
            "seconds": round(self.seconds, 1),
            "seconds_guessed": self.seconds_guessed,
            "concurrency": self.concurrency,
            "models": {m: s.to_json() for m, s in self.stats.items()},
            "problems": [{"tasks": seqs, **err.to_json()} for seqs, err in self.distinct_problems()],
        }


def build_plan(
    matrix: Matrix,
    history: History | None = None,
    *,
    catalogue: Catalogue | None = None,
    stats: dict[str, ModelStats] | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    submit_interval: float = DEFAULT_SUBMIT_INTERVAL,
) -> Plan:
    """Expand ``matrix`` into a priced, validated plan (nothing is sent). Prices and times
    come from ``stats``, else from ``history``; with neither, every price is unknown."""
    catalogue = catalogue or load_catalogue()
    cells = matrix.cells(catalogue.default.id)
    models = list(dict.fromkeys(c.model for c in cells))
    if stats is None:
        stats = model_stats(history, models, catalogue=catalogue) if history is not None else {}
    stats = {m: stats.get(m) or _no_runs(m, catalogue) for m in models}
    tasks: list[PlannedTask] = []
    found: list[tuple[int, ValidationError]] = []
    for seq, cell in enumerate(cells, 1):
        request = GenerationRequest(
            prompt=cell.prompt,
            model=cell.model,
            size=cell.size,
            n=matrix.n,
            images=matrix.images,
            mask=matrix.mask,
            params=matrix.params,
        )
        if (entry := catalogue.get(cell.model)) is not None:
            request = request.for_model(entry)  # only the extra parameters this model declares
        found.extend((seq, err) for err in problems(request, catalogue))
        model = stats[cell.model]
        images = matrix.n or 1
        tasks.append(
            PlannedTask(
                seq=seq,
                cell=cell,
                request=request,
                images=images,
                credits=model.credits_for(images),
                seconds=model.expected_seconds,
                seconds_guessed=model.seconds is None,
            )
        )
    return Plan(matrix, tasks, stats, max(1, concurrency), max(0.0, submit_interval), found)


def _no_runs(model: str, catalogue: Catalogue) -> ModelStats:
    entry = catalogue.get(model)
    return stats_from(model, [], entry.speed if entry else "normal")
