"""Restart recovery: what the app does at startup and ``evolink-tui resume`` does on demand.

After a crash (or ``kill -9``) the history says what was under way. :func:`recover`

1. removes temporary files that a killed download left in the download folder;
2. marks every submit that was interrupted before its outcome was known ``uncertain``
   (it is listed, never resent on its own);
3. resends the records named in ``resend``, each with its own idempotency key (the
   server answers a repeated key with the task it already made: never a second charge);
4. polls every unfinished task again and sees it through (downloads included); a task
   Evolink answers 404 for ends ``not_found`` (final: it is never polled again);
5. downloads every completed result not yet on disk while its URL lasts, and marks the
   record expired (keeping it) once the URL has lapsed.

Everything is reported through the runner's events as it happens, and summed up in a
:class:`RecoverySummary`. Nothing here knows about screens.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .downloads import clean_partial_files
from .errors import EvolinkError, ValidationError
from .history import NOT_FOUND as NOT_FOUND_STATE
from .history import History, HistoryError, TaskRecord
from .runner import Runner
from .text import redact

# What became of a record, as the summary reports it.
COMPLETED = "completed"  # every result on disk
RUNNING = "running"  # still running after the wait: resumed again next time
UNCERTAIN = "uncertain"  # submit outcome unknown: resend it with --resend
FAILED = "failed"  # the task (or its submit) failed: the error is on record
EXPIRED = "expired"  # completed, but the result URLs lapsed first: record kept
DOWNLOAD_FAILED = "download_failed"  # completed, a download failed: retried next time
REFUSED = "refused"  # completed, but a result was not an acceptable image
NOT_FOUND = NOT_FOUND_STATE  # Evolink no longer knows the task (404): final, record kept


def outcome(record: TaskRecord) -> str:
    """The summary's word for where ``record`` stands."""
    if record.is_uncertain:
        return UNCERTAIN
    if record.state == NOT_FOUND:
        return NOT_FOUND
    if record.state == "completed":
        return {"done": COMPLETED, "expired": EXPIRED, "refused": REFUSED}.get(
            record.download_state or "", DOWNLOAD_FAILED
        )
    if not record.is_finished:
        return RUNNING
    return FAILED


@dataclass
class RecoveryPlan:
    """What a recovery would do, read from the history alone (no network)."""

    unfinished: list[TaskRecord] = field(default_factory=list)  # tasks to poll again
    downloads: list[TaskRecord] = field(default_factory=list)  # completed, results not all on disk
    uncertain: list[TaskRecord] = field(default_factory=list)  # need an explicit resend

    @property
    def empty(self) -> bool:
        return not (self.unfinished or self.downloads or self.uncertain)


def record_unexpected(history: History, record_id: int, exc: BaseException) -> EvolinkError:
    """An error that is not an EvolinkError, met while seeing one record through: kept on
    that record (a submit not known to be accepted stays resendable, as ``uncertain``)
    and returned, never raised, so the other records go on."""
    err = EvolinkError("local", "unexpected", f"{type(exc).__name__}: {redact(exc).strip()[:300]}")
    record = history.get(record_id)
    if record is not None and record.task_id is None and record.linked_to is None:
        history.mark_uncertain(record_id, err.to_json())
    else:
        history.set_error(record_id, err.to_json())
    return err


def plan_recovery(history: History) -> RecoveryPlan:
    plan = RecoveryPlan()
    for record in history.unfinished():
        if record.task_id is None:
            plan.uncertain.append(record)
        else:
            plan.unfinished.append(record)
    plan.downloads = history.needs_download()
    return plan


@dataclass
class RecoverySummary:
    records: list[TaskRecord] = field(default_factory=list)  # every record looked at, as it ended
    resent: list[int] = field(default_factory=list)
    cleaned: list[Path] = field(default_factory=list)
    linked: dict[int, int] = field(default_factory=dict)  # record id -> the record holding its task

    def by_outcome(self, name: str) -> list[TaskRecord]:
        return [r for r in self.records if outcome(r) == name]

    @property
    def uncertain(self) -> list[TaskRecord]:
        return self.by_outcome(UNCERTAIN)

    @property
    def needs_attention(self) -> bool:
        """Something is left for the user: an uncertain submit, a failure, a lapsed URL."""
        return any(outcome(r) not in (COMPLETED, RUNNING) for r in self.records)

    @property
    def still_running(self) -> bool:
        return any(outcome(r) == RUNNING for r in self.records)

    def to_json(self) -> dict:
        return {
            "records": [{**r.to_json(), "outcome": outcome(r)} for r in self.records],
            "uncertain": [r.id for r in self.uncertain],
            "resent": self.resent,
            "cleaned": [str(p) for p in self.cleaned],
            "linked": {str(k): v for k, v in self.linked.items()},
        }


def check_resend(history: History, record_ids: Iterable[int]) -> list[TaskRecord]:
    """The records to resend; a ValidationError (nothing sent) for any that may not be."""
    records = []
    for record_id in record_ids:
        record = history.get(record_id)
        if record is None or not record.can_resend:
            shown = f"record {record_id}" + (
                "" if record is None else f" ({record.state}" + (f", task {record.task_id})" if record.task_id else ")")
            )
            raise ValidationError(
                "resend",
                record_id,
                "the record id of a submit with no task yet (uncertain, "
                "interrupted or refused), as listed by `evolink-tui resume`",
                shown=shown,
            )
        records.append(record)
    return records


async def recover(
    runner: Runner,
    history: History | None = None,
    *,
    resend: Iterable[int] = (),
    exclude: Iterable[int] = (),
    concurrency: int = 4,
) -> RecoverySummary:
    """Resume everything a stopped app left under way (see the module docstring).

    ``resend``: record ids of uncertain submits to send again with their own keys
    (checked first: a ValidationError sends nothing). ``exclude``: record ids this
    process is running itself (the app passes the tasks started since it opened). The
    plan is read from the history at the moment of the call, before anything awaits, so
    a generation started after it is never touched. Errors are recorded, never raised.
    """
    history = history or runner.history
    to_resend = check_resend(history, list(dict.fromkeys(resend)))
    plan = plan_recovery(history)
    skip = set(exclude)
    plan.unfinished = [r for r in plan.unfinished if r.id not in skip]
    plan.downloads = [r for r in plan.downloads if r.id not in skip]
    plan.uncertain = [r for r in plan.uncertain if r.id not in skip]
    summary = RecoverySummary(cleaned=await asyncio.to_thread(clean_partial_files, runner.download_dir))
    resend_ids = {r.id for r in to_resend}
    gate = asyncio.Semaphore(max(1, concurrency))
    done: dict[int, TaskRecord] = {}

    def settle(record_id: int) -> None:
        """The record as it ended; a record linked to another is reported as that one."""
        fresh = history.get(record_id)
        if fresh is not None and fresh.linked_to is not None:
            summary.linked[record_id] = fresh.linked_to
            fresh = history.get(fresh.linked_to)
        if fresh is not None:
            done[fresh.id] = fresh

    async def one(record: TaskRecord, action) -> None:
        async with gate:
            try:
                await action(record)
            except HistoryError:  # nothing can be recorded: stop, the message says what to do
                raise
            except Exception as exc:  # one record's trouble never stops the others
                record_unexpected(history, record.id, exc)
            finally:
                settle(record.id)

    async def resend_one(record: TaskRecord) -> None:
        await runner.run(record.id)

    jobs = []
    for record in plan.uncertain:
        if record.id not in resend_ids:
            await runner.resume(record)  # submitting -> uncertain; never sent
            settle(record.id)
    for record in to_resend:
        summary.resent.append(record.id)
        jobs.append(one(record, resend_one))
    for record in plan.unfinished:
        jobs.append(one(record, runner.resume))
    for record in plan.downloads:
        jobs.append(one(record, runner.retry_downloads))
    await asyncio.gather(*jobs)
    summary.records = [done[key] for key in sorted(done)]
    return summary
