"""What a batch reports as it runs: one frozen dataclass per transition; views ``match`` on
the type. (Each task's own steps are the runner's task events, as for any generation.)"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .batch import BatchSummary
    from .budget import Verdict
    from .errors import EvolinkError
    from .history import TaskRecord


@dataclass(frozen=True)
class BatchStarted:
    batch_id: str
    total: int  # tasks in the batch (dropped ones left out)
    to_send: int  # not sent yet
    in_flight: int  # sent before (a resumed batch): followed again
    credits: float  # charged so far (a resumed batch)


@dataclass(frozen=True)
class BatchTaskSent:
    batch_id: str
    seq: int
    record_id: int
    running: int  # tasks of the batch running now, this one included


@dataclass(frozen=True)
class BatchTaskEnded:
    batch_id: str
    seq: int
    record: TaskRecord
    outcome: str  # recovery's word: completed, failed, uncertain, running, expired...
    running: int
    credits: float  # the batch's credits charged so far (the "credits charged" rule)


@dataclass(frozen=True)
class SubmitsHeld:
    """A 429 (Retry-After) paused every submit of the batch for ``seconds``."""

    batch_id: str
    seconds: float
    error: EvolinkError | None


@dataclass(frozen=True)
class BudgetStop:
    """The next submit would cross the budget: the batch is paused, nothing more is sent."""

    batch_id: str
    seq: int
    verdict: Verdict


@dataclass(frozen=True)
class BatchEnded:
    batch_id: str
    summary: BatchSummary


BatchEvent = BatchStarted | BatchTaskSent | BatchTaskEnded | SubmitsHeld | BudgetStop | BatchEnded
