"""What generations cost: the one rule for "credits charged", and what each model has cost
this user before (median credits per image and median time, from the history).

The rule (:func:`charge`), from the task object's fields (``usage.credits_reserved``, the
credits Evolink takes for the task, and ``status``/``error``):

- a **completed** task counts its ``credits_reserved``;
- a task still **running** counts them too, as *reserved*: they are committed;
- a **failed** or **cancelled** task counts nothing (Evolink does not charge a task that
  produced nothing), unless the server's own ``usage`` says what was charged
  (``credits_charged``, ``credits_used`` or ``credits_consumed``) or what was refunded
  (``credits_refunded``, or ``refunded: true``): then that is what counts;
- a submit that never reached Evolink (``submit_failed``, or never attempted) counts nothing;
- a submit whose outcome is unknown (**uncertain**) may have been charged: its cost is
  unknown, and a budget counts it at its model's expected price.

The picker and composer (median price and time), the plan and the budget all use this
module; none of them re-derives the rule.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .catalogue import Catalogue, load_catalogue

if TYPE_CHECKING:
    from .history import History, TaskRecord

# Charge kinds
CHARGED = "charged"  # completed (or the server says it charged a failed one)
RESERVED = "reserved"  # submitted, still running
NOT_CHARGED = "not_charged"  # failed or cancelled with nothing charged, or never sent
REFUNDED = "refunded"  # the server says it gave (some of) the credits back
UNCERTAIN = "uncertain"  # the submit may or may not have reached Evolink
UNKNOWN = "unknown"  # accepted, but no credits known (an old record, a server that omits them)

STATS_SAMPLE = 50  # the most recent completed tasks per model that the statistics look at
# Typical seconds for a model never run yet, by the catalogue's speed class: a rough guess,
# always labelled as one.
SPEED_SECONDS = {"ultra-fast": 8.0, "fast": 15.0, "normal": 45.0}
_CHARGED_FIELDS = ("credits_charged", "credits_used", "credits_consumed")


@dataclass(frozen=True)
class Charge:
    kind: str
    credits: float | None  # None: unknown


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if value == value and abs(value) < 1e15 else None


def _server_says(record: TaskRecord, reserved: float | None) -> Charge | None:
    """What the task's ``usage`` says was charged or refunded, when it says so."""
    usage = (record.task_raw or {}).get("usage")
    if not isinstance(usage, dict):
        return None
    for name in _CHARGED_FIELDS:
        amount = _number(usage.get(name))
        if amount is not None and amount >= 0:
            return Charge(CHARGED if amount > 0 else NOT_CHARGED, amount)
    refunded = _number(usage.get("credits_refunded"))
    if refunded is not None and refunded > 0:
        left = max(0.0, (reserved or 0.0) - refunded)
        return Charge(REFUNDED if left > 0 else NOT_CHARGED, left)
    if usage.get("refunded") is True:
        return Charge(NOT_CHARGED, 0.0)
    return None


def charge(record: TaskRecord) -> Charge:
    """What ``record`` counts for in "credits charged" (see the module docstring)."""
    reserved = record.credits
    if record.task_id is None:
        if record.state in ("submitting", "uncertain") and record.attempted_at is not None:
            return Charge(UNCERTAIN, None)
        return Charge(NOT_CHARGED, 0.0)
    said = _server_says(record, reserved)
    if said is not None:
        return said
    if record.state in ("failed", "cancelled"):
        return Charge(NOT_CHARGED, 0.0)
    if reserved is None:
        return Charge(UNKNOWN, None)
    return Charge(CHARGED if record.state == "completed" else RESERVED, reserved)


def images_of(request: dict) -> int:
    """The number of images a request body asks for (the API's default is 1)."""
    n = request.get("n")
    return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1


@dataclass(frozen=True)
class Spread:
    """A median and the range around it."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: list[float]) -> Spread | None:
        return cls(statistics.median(values), min(values), max(values)) if values else None

    def to_json(self) -> dict:
        return {"median": self.median, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class ModelStats:
    """What one model has cost this user and how long it took, from the history."""

    model: str
    runs: int  # completed tasks looked at
    credits_per_image: Spread | None  # None: no runs with known credits yet
    seconds: Spread | None  # submit to finish; None: no runs yet
    speed: str = "normal"  # the catalogue's speed class, for the guess when there are no runs

    @property
    def expected_seconds(self) -> float:
        """The median time, or the speed class's typical time when there are no runs yet."""
        return self.seconds.median if self.seconds else SPEED_SECONDS.get(self.speed, SPEED_SECONDS["normal"])

    def credits_for(self, n: int) -> Spread | None:
        """Expected credits of one task of ``n`` images; None when unknown."""
        per = self.credits_per_image
        return Spread(per.median * n, per.low * n, per.high * n) if per else None

    def describe(self) -> str:
        """One line for the picker or the composer: ``6 credits/image (5-7), 12 s`` or ``no runs yet``."""
        if not self.runs:
            return "no runs yet"
        parts = []
        if self.credits_per_image:
            parts.append(f"{_credits_text(self.credits_per_image)} credits/image")
        if self.seconds:
            parts.append(f"{self.seconds.median:.0f} s")
        return ", ".join(parts) or "no runs yet"

    def to_json(self) -> dict:
        return {
            "model": self.model,
            "runs": self.runs,
            "credits_per_image": self.credits_per_image.to_json() if self.credits_per_image else None,
            "seconds": self.seconds.to_json() if self.seconds else None,
            "expected_seconds": self.expected_seconds,
            "speed": self.speed,
        }


def _credits_text(spread: Spread) -> str:
    text = f"{spread.median:g}"
    if spread.low != spread.high:
        text += f" ({spread.low:g}-{spread.high:g})"
    return text


def stats_from(model: str, records: list[TaskRecord], speed: str = "normal") -> ModelStats:
    """Statistics of ``model`` from its completed ``records``."""
    prices, times = [], []
    for record in records:
        if record.state != "completed":
            continue
        spent = charge(record)
        if spent.kind == CHARGED and spent.credits is not None:
            prices.append(spent.credits / images_of(record.request))
        if record.submitted_at is not None and record.finished_at is not None:
            elapsed = record.finished_at - record.submitted_at
            if 0 < elapsed < 24 * 3600:
                times.append(elapsed)
    runs = sum(1 for r in records if r.state == "completed")
    return ModelStats(model, runs, Spread.of(prices), Spread.of(times), speed)


def model_stats(
    history: History, models: list[str] | None = None, *, catalogue: Catalogue | None = None, sample: int = STATS_SAMPLE
) -> dict[str, ModelStats]:
    """Statistics for ``models`` (default: every model of the catalogue), each from its
    ``sample`` most recent completed tasks."""
    catalogue = catalogue or load_catalogue()
    wanted = models if models is not None else catalogue.ids()
    result = {}
    for model in dict.fromkeys(wanted):
        entry = catalogue.get(model)
        records = history.search(model=model, status="completed", limit=sample)
        result[model] = stats_from(model, records, entry.speed if entry else "normal")
    return result
