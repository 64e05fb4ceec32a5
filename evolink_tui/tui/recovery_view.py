"""Startup recovery as the app shows it.

After a crash, ``kill -9`` or a lost network, the history says what was under way (see
:mod:`evolink_tui.core.recovery`). At startup every such task is put in the task list at
once, one notification says what is being picked up, and then :func:`recover` polls the
unfinished tasks (live in the list, through the runner's events), downloads the results
not yet on disk and marks interrupted submits uncertain. An uncertain submit is never
sent again on its own: the user resends it (t) with its own idempotency key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from evolink_tui.core.history import History, TaskRecord
from evolink_tui.core.text import inert

from .notices import Notice

if TYPE_CHECKING:  # recovery (with the runner and downloads) loads after the first frame
    from evolink_tui.core.recovery import RecoveryPlan, RecoverySummary
    from evolink_tui.core.runner import Runner


def is_resendable(record: TaskRecord) -> bool:
    """An uncertain submit: its outcome is unknown, and resending it with its own
    idempotency key never charges twice (the server answers with the task it made)."""
    return record.task_id is None and record.state == "uncertain"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def startup_notice(plan: RecoveryPlan) -> Notice | None:
    """What one notification says about what an earlier run left, if anything."""
    lines = []
    if plan.unfinished or plan.downloads:
        parts = []
        if plan.unfinished:
            parts.append(f"{_plural(len(plan.unfinished), 'task')} followed again")
        if plan.downloads:
            parts.append(f"{_plural(len(plan.downloads), 'result set')} to download")
        lines.append("Picking up where the last run stopped: " + ", ".join(parts) + ".")
    if plan.uncertain:
        count = len(plan.uncertain)
        lines.append(
            f"{_plural(count, 'submit')} may or may not have reached Evolink (unsure). "
            f"{'It is' if count == 1 else 'They are'} never resent on {'its' if count == 1 else 'their'} own: "
            "select one and press t to resend it with its own key (never a double charge)."
        )
    if not lines:
        return None
    return Notice("\n".join(lines), "Recovering", "warning" if plan.uncertain else "information", 12)


async def recover_at_start(
    runner: Runner,
    history: History,
    *,
    running: set[int],
    show: Callable[[TaskRecord], None],
    announce: Callable[[Notice], None],
) -> RecoverySummary:
    """Say if the download folder cannot be written; show what an earlier run left, say
    so, then recover it.

    ``running``: the record ids this app started itself (read when needed: it grows while
    this runs), which recovery leaves alone. ``show`` puts a record in the task list;
    ``announce`` shows a notification.
    """
    from evolink_tui.core.downloads import folder_problem
    from evolink_tui.core.recovery import plan_recovery, recover

    problem = await asyncio.to_thread(folder_problem, runner.download_dir)
    if problem:
        announce(
            Notice(
                f"Results cannot be saved to the download folder {inert(runner.download_dir)}: "
                f"{inert(problem)}. Tasks are still recorded; their results are downloaded once the folder "
                "is fixed (t, or the next start). --download-dir or EVOLINK_DOWNLOAD_DIR picks another.",
                "Download folder",
                "error",
                15,
            )
        )
    plan = await asyncio.to_thread(plan_recovery, history)
    plan.unfinished, plan.downloads, plan.uncertain = (
        _without(records, running) for records in (plan.unfinished, plan.downloads, plan.uncertain)
    )
    for record in (*plan.uncertain, *plan.unfinished, *plan.downloads):
        show(record)
    notice = startup_notice(plan)
    if notice is not None:
        announce(notice)
    summary = await recover(runner, history, exclude=running)
    for record in summary.records:
        if record.id not in running:
            show(record)
    return summary


def _without(records: Iterable[TaskRecord], running: set[int]) -> list[TaskRecord]:
    return [record for record in records if record.id not in running]
