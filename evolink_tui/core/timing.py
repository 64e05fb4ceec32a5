"""How long a task took, where that is known.

From when it was submitted (our clock for a task we sent; the server's ``created`` for one
known only by its id) to when it was seen finished, provided the finish was seen within
about one poll of the task last being seen running. A task first seen already finished
(checked by id long after) has no known time: the task object carries no completion time,
so rather than a made-up figure (the "0.0s" of a record made at the moment it was read,
or the hours until someone looked) the answer is None.
"""

from __future__ import annotations

from .rules import TERMINAL_STATUSES

TYPE_CHECKING = False  # typing's own costs a headless command milliseconds to import
if TYPE_CHECKING:
    from .history import TaskRecord

FINISH_SEEN_WITHIN = 15.0  # seconds: a few polls (3-5 s apart), with room for a retry


def time_taken(record: TaskRecord) -> float | None:
    """Seconds from submit to finish, or None when not known."""
    if record.task_id is None or record.state not in TERMINAL_STATUSES or record.finished_at is None:
        return None  # not run, still running, or ended without finishing (not_found: Evolink forgot it)
    start = record.submitted_at
    if start is None:
        return None
    if record.running_seen_at is None:
        # Recorded before schema 3 (or never seen running): only our own submits, timed as before.
        if not record.idempotency_key or record.finished_at - start < 0:
            return None
        return record.finished_at - start
    if record.finished_at - record.running_seen_at > FINISH_SEEN_WITHIN:
        return None  # it finished some time while nobody was looking
    return max(0.0, record.finished_at - start)


def duration_text(seconds: float) -> str:
    """An expected duration for people: ``45 s``, ``2 min 5 s``, ``1 h 10 min``."""
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min {rest} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"
