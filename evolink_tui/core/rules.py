"""The domain's rules, each defined once: what a retry of a record may do, and the limits
every part of the app and the commands share. Pure functions on records, no I/O; the
:class:`~evolink_tui.core.studio.Studio` asks them and views show the answers.

Where a record stands is defined by :class:`~evolink_tui.core.history.TaskRecord` itself
(``is_uncertain``, ``can_resend``, ``needs_download``, ``is_expired``, ``is_finished``);
:func:`is_unsure` adds what only a running process knows: whether it is sending the record
right now.
"""

from __future__ import annotations

from collections import namedtuple

TYPE_CHECKING = False  # typing's own costs a headless command milliseconds to import
if TYPE_CHECKING:
    from .history import TaskRecord

TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})  # a task's final statuses
RESULT_URL_LIFETIME = 24 * 3600  # seconds a result URL works after its task finished
MAX_PIXELS = 40_000_000  # 40 megapixels: far above any Evolink size, far below a decompression bomb
QUOTA_FULL = "40003"  # the Files API's code for a full file quota

# What a retry does (RetryAction.kind)
RESEND = "resend"  # send the same submit again with its own idempotency key: never charged twice
CHECK = "check"  # read the task again (it outlasted the wait)
NEW_TASK = "new_task"  # the same request as a new task, with a new key
DOWNLOAD = "download"  # fetch the results not yet on disk, while the URLs last
REFUSE = "refuse"  # nothing a retry can do: ``reason`` says why and what to do instead


# kind: one of the above; reason (str): what the user is told; warning (bool): the reason is a
# warning, the user should do something else. A collections.namedtuple, not typing's
# NamedTuple: the history (and so `evolink-tui history`) loads this module.
RetryAction = namedtuple("RetryAction", ("kind", "reason", "warning"), defaults=(False,))


MAX_RESULTS = 10  # the most images any catalogue entry may ask for (core.user_catalogue.MAX_N)


def results_asked(request: dict) -> int:
    """How many results the request asked for (``n``, else 1): as many are downloaded; any
    more a server sends stay URLs in the history."""
    n = request.get("n") if isinstance(request, dict) else None
    if isinstance(n, int) and not isinstance(n, bool) and n >= 1:
        return min(n, MAX_RESULTS)
    return 1


def is_quota_full(error: object) -> bool:
    """The Files API refused an upload because the file quota is full."""
    return getattr(error, "kind", None) == "file" and str(getattr(error, "code", "")) == QUOTA_FULL


def is_unsure(record: TaskRecord, *, in_flight: bool = False) -> bool:
    """A submit whose outcome nobody knows and that nothing is sending now: the user may
    resend it with its own key (a record being sent this moment is not unsure yet)."""
    return record.is_uncertain and not in_flight


def retry_action(record: TaskRecord, *, in_flight: bool = False) -> RetryAction:
    """What a retry of ``record`` may safely do. ``in_flight``: this process is sending,
    following or downloading it right now."""
    if in_flight:
        return RetryAction(REFUSE, "This task is being sent or followed right now.")
    if record.is_uncertain:
        return RetryAction(RESEND, "Resending with the same idempotency key: the server will not charge twice.")
    if record.notice and not record.is_finished and record.task_id:
        return RetryAction(CHECK, "Checking the task again.")
    if record.state in ("failed", "submit_failed", "cancelled", "not_found"):  # not_found: Evolink lost it
        error = record.error or {}
        if error and not error.get("retryable", True):
            resolution = error.get("resolution") or "see the error"
            return RetryAction(
                REFUSE, f"Retrying will not help: {resolution}. Press r to edit and regenerate.", warning=True
            )
        return RetryAction(NEW_TASK, "Retrying as a new task (with a new idempotency key).")
    if record.needs_download:
        return RetryAction(DOWNLOAD, "Downloading the results again (their URLs last 24 hours).")
    if record.is_expired:
        return RetryAction(
            REFUSE,
            "The result URLs expired before they were downloaded (they last 24 hours); the record is kept. "
            "Press r to regenerate it.",
            warning=True,
        )
    if record.is_finished:
        return RetryAction(REFUSE, "This task completed: nothing to retry. Press r to regenerate it.")
    return RetryAction(REFUSE, "This task is still running.")
