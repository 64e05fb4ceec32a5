"""generate, check and resume: a generation's life, reported by the runner's events."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from ..cli import EXIT_FAILURE, EXIT_OK, EXIT_RUNNING
from ..core import recovery
from ..core.config import Settings
from ..core.errors import EvolinkError
from ..core.events import (
    ReferenceUploaded,
    RequestRetrying,
    ResumeFailed,
    SubmitUncertain,
    TaskFailed,
    TaskFinished,
    TaskGone,
    TaskOffline,
    TaskProgressed,
    TaskSubmitted,
    TaskTimedOut,
)
from ..core.history import History, HistoryError
from ..core.preflight import check_download_folder
from ..core.studio import Studio
from ..core.text import excerpt, one_line
from ..core.timing import time_taken
from ..core.validation import GenerationRequest, human_size, parse_n, parse_param_args, validate
from ..core.wire import Task
from . import limits
from .models import catalogue_for
from .output import Output, settings_for, whole
from .records import record_lines


def _task_line(task: Task) -> str:
    parts = [one_line(task.id), one_line(task.status)]
    if task.status in ("pending", "processing"):
        parts.append(f"{task.progress}%")
        if task.estimated_time is not None:
            parts.append(f"~{task.estimated_time}s left")
    return "  ".join(parts)


def _task_json(task: Task | None, downloads=None, **extra) -> dict:
    obj = dict(task.raw) if task is not None else {}
    if downloads is not None:
        obj["downloads"] = [str(d.path) for d in downloads if d.ok]
        failed = [d.to_json() for d in downloads if not d.ok]
        if failed:
            obj["download_errors"] = failed
    obj.update(extra)
    return obj


def _report_downloads(out: Output, task: Task, downloads) -> int:
    code = EXIT_OK
    for d in downloads:
        if d.ok:
            out.say(f"saved {d.path}  ({d.width}x{d.height} {d.format.upper()}, {human_size(d.bytes)})")
        else:
            code = EXIT_FAILURE
            err = d.error
            hint = (
                "\nThe task stays in the history (`evolink-tui history`)."
                if err is not None and err.code in ("expired", "refused")
                else ""
            )
            out.note(f"evolink-tui: could not download {d.url}\n{err.explain() if err else ''}{hint}")
    return code


def _finish_task(out: Output, task: Task, downloads, *, demo: bool, record_id: int | None = None) -> int:
    """Exit code and output for a terminal task."""
    extra = {"demo": demo} if record_id is None else {"demo": demo, "record_id": record_id}
    if task.status == "completed":
        code = _report_downloads(out, task, downloads)
        out.emit(_task_json(task, downloads, **extra))
        return code
    err = (
        task.error.as_exception(task.id)
        if task.error
        else EvolinkError("task", "unknown_error", f"task ended {task.status}", task_id=task.id)
    )
    out.fail(err, extra=_task_json(task, [], **extra))
    return EXIT_FAILURE


def cmd_generate(args, out: Output) -> int:
    catalogue_for(out)  # the problems of the user's models.toml, before anything else
    n = parse_n(args.n) if args.n is not None else None
    params = parse_param_args(args.param, args.model)
    request = GenerationRequest(
        prompt=args.prompt,
        model=args.model,
        size=args.size,
        n=n,
        images=tuple(args.image),
        mask=args.mask,
        params=params,
    )
    validate(request)  # bad input exits 2 before any settings, history or network
    settings = settings_for(args, out)
    limits.check_generate_budget(settings, request, args.budget, out)  # over budget: exit 2, nothing sent
    code = asyncio.run(_generate(args, out, settings, request))
    limits.notify_end(
        args, settings, "evolink-tui generate", f"{'done' if code == EXIT_OK else 'ended'}: {args.prompt}"
    )
    return code


class _TaskView:
    """Turns the Studio's events into a command's output (and remembers how the task ended)."""

    def __init__(self, out: Output, request: GenerationRequest | None = None):
        self.out = out
        self.request = request
        self.task: Task | None = None
        self.final: TaskFailed | TaskTimedOut | SubmitUncertain | TaskGone | TaskFinished | None = None
        self.offline = False

    def __call__(self, event: object) -> None:
        out = self.out
        match event:
            case RequestRetrying(op=op, delay=delay, error=error):
                if not (self.offline and op == "poll"):  # offline: the line below says it once
                    out.note(f"retrying {op} in {delay:.0f}s after {error.summary()}")
            case ReferenceUploaded(reference=reference, file_url=url):
                out.say(f"uploaded {reference} -> {url}")
            case TaskSubmitted(task=task):
                self.task = task
                credits = f", {task.credits_reserved:g} credits reserved" if task.credits_reserved is not None else ""
                model = task.model or (self.request.resolved_model() if self.request else "")
                prompt = f": {excerpt(self.request.prompt)}" if self.request else ""
                out.say(f"submitted {one_line(task.id)} ({one_line(model)}{credits}){prompt}")
            case TaskProgressed(task=task):
                self.task = task
                if self.offline:
                    self.offline = False
                    out.note(f"{one_line(task.id)}: back online")
                out.progress(_task_line(task))
            case TaskOffline(task_id=task_id, error=error):
                line = f"{one_line(task_id)}: offline, retrying ({error.summary()})"
                if not self.offline:
                    self.offline = True
                    out.note(line)
                else:
                    out.progress(line)
            case ResumeFailed(task_id=task_id, error=error):
                out.note(f"{one_line(task_id)}: could not resume ({error.summary()})")
            case SubmitUncertain() | TaskGone():
                self.final = event
            case TaskFailed() | TaskTimedOut() | TaskFinished():
                self.task = event.task or self.task
                self.final = event
            case _:
                pass


@contextlib.asynccontextmanager
async def _studio(settings: Settings, out: Output, view: _TaskView) -> AsyncIterator[Studio]:
    """The Studio (client, history, runner) with ``view`` listening, closed together. The
    history is opened before anything is sent (a HistoryError stops the command first)."""
    studio = Studio(settings)
    try:
        studio.history.open()
        studio.events.on_failure = lambda failure: out.note(
            f"evolink-tui: internal error in {failure.listener} ({failure.error!r}); "
            f"details in {failure.log or 'the log (it could not be written)'}"
        )
        studio.events.subscribe(view)
        studio.ensure_runner()
        yield studio
    finally:
        await studio.aclose()


def _conclude(out: Output, settings: Settings, view: _TaskView, record_id: int) -> int:
    """Exit code and output once the runner is done with a record."""
    demo = settings.demo
    match view.final:
        case None:
            raise RuntimeError("the task ended without a result")
        case TaskTimedOut(task=task, notice=notice):
            out.fail(
                EvolinkError("local", "timeout", notice, task_id=task.id),
                extra=_task_json(task, [], demo=demo, notice=notice, record_id=record_id),
            )
            if not out.as_json:
                out.say(notice)
            return EXIT_RUNNING
        case SubmitUncertain(error=error):
            out.fail(
                error,
                extra={"uncertain": True, "idempotency_key_recorded": True, "record_id": record_id, "demo": demo},
            )
            out.note(
                "The submit may or may not have reached Evolink; it is kept in the history and can be sent again "
                "with the same idempotency key, which never charges twice:\n"
                f"  evolink-tui resume --resend {record_id}"
            )
            return EXIT_FAILURE
        case TaskFailed(error=error, task=None) | TaskGone(error=error):
            out.fail(error, extra={"record_id": record_id, "demo": demo})
            return EXIT_FAILURE
        case TaskFailed(error=error, task=Task() as task) if task.is_active:
            out.fail(error, extra=_task_json(task, [], demo=demo, record_id=record_id))
            out.note(
                "The task is kept in the history: `evolink-tui resume` or "
                f"`evolink-tui check {one_line(task.id)}` picks it up."
            )
            return EXIT_FAILURE
        case TaskFailed(task=Task() as task):
            return _finish_task(out, task, [], demo=demo, record_id=record_id)
        case TaskFinished(task=task, downloads=downloads):
            return _finish_task(out, task, list(downloads), demo=demo, record_id=record_id)
    raise RuntimeError(f"the task ended with {view.final!r}")


async def _generate(
    args, out: Output, settings: Settings, request: GenerationRequest, *, parent: tuple[int, int] | None = None
) -> int:
    check_download_folder(settings.download_dir, results=request.n or 1)  # before anything is paid for
    view = _TaskView(out, request)
    async with _studio(settings, out, view) as studio:
        runner = studio.ensure_runner()
        record_id = runner.prepare(request, parent=parent)
        try:
            await runner.run(record_id, follow=not args.no_wait)
        except HistoryError:
            raise
        except Exception as exc:  # kept on the record with a clear message, never a traceback
            err = recovery.record_unexpected(runner.history, record_id, exc)
            out.fail(err, extra={"record_id": record_id, "demo": settings.demo})
            out.note(f"The task is kept in the history (record {record_id}): `evolink-tui resume` picks it up.")
            return EXIT_FAILURE
    if view.final is None and args.no_wait and view.task is not None:
        demo = " --demo" if settings.demo else ""
        out.say(f"not waiting: check it later with `evolink-tui check {view.task.id}{demo}` (or `evolink-tui resume`)")
        out.emit(_task_json(view.task, demo=settings.demo, record_id=record_id))
        return EXIT_OK
    return _conclude(out, settings, view, record_id)


def cmd_check(args, out: Output) -> int:
    settings = settings_for(args, out)
    return asyncio.run(_check(args, out, settings))


async def _check(args, out: Output, settings: Settings) -> int:
    view = _TaskView(out)
    async with _studio(settings, out, view) as studio:
        runner = studio.ensure_runner()
        try:
            task = await runner.client.get_task(args.task_id)
        except EvolinkError as err:
            gone = runner.task_not_found(args.task_id, err)  # a task on record: its final state
            if gone is None:
                raise
            said = view.final.error if isinstance(view.final, TaskGone) else err
            out.fail(said, extra={"record_id": gone.id, "demo": settings.demo})
            return EXIT_FAILURE
        record_id = runner.history.add_task_id(task)  # a task known by id is never lost again
        out.say(_task_line(task))
        if task.is_active and args.wait:
            await runner.follow(record_id, task, polls_done=1)
            code = _conclude(out, settings, view, record_id)
            _say_time(out, runner.history, record_id)
            return code
        if task.is_active:
            out.emit(_task_json(task, [], demo=settings.demo, record_id=record_id))
            return EXIT_OK
        downloads = []
        if task.status == "completed":
            downloads = await runner.download(record_id, task)
        code = _finish_task(out, task, downloads, demo=settings.demo, record_id=record_id)
        _say_time(out, runner.history, record_id)
        return code


def _say_time(out: Output, history: History, record_id: int) -> None:
    """How long a finished task took, where known (never a made-up 0.0s)."""
    record = history.get(record_id)
    if record is None or not record.is_finished:
        return
    seconds = time_taken(record)
    if seconds is not None:
        out.say(f"took {seconds:.1f}s")
    else:
        out.say("time taken unknown: it had finished before it was seen (a task carries only its start time)")


def cmd_resume(args, out: Output) -> int:
    resend = [whole("resend", value, "a record id as listed by `evolink-tui resume`", low=1) for value in args.resend]
    settings = settings_for(args, out)
    return asyncio.run(_resume(args, out, settings, resend))


async def _resume(args, out: Output, settings: Settings, resend: list[int]) -> int:
    if resend:  # a resend may be charged: the folder is checked first
        check_download_folder(settings.download_dir, results=len(resend))
    view = _TaskView(out)
    async with _studio(settings, out, view) as studio:
        runner = studio.ensure_runner()
        recovery.check_resend(runner.history, resend)  # before anything is sent
        from .batch import resume_batches

        batches = await resume_batches(runner, settings, out)  # batches first: their unsent tasks are theirs
        summary = await recovery.recover(runner, resend=resend)
    for path in summary.cleaned:
        out.say(f"removed an unfinished download left behind: {path}")
    if not summary.records and not batches:
        out.say("nothing to resume: every task in the history is finished and downloaded")
    for record in summary.records:
        for line in record_lines(record, verdict=recovery.outcome(record)):
            out.say(line)
    out.emit({**summary.to_json(), "batches": [b.to_json() for b in batches], "demo": settings.demo})
    if summary.needs_attention or any(b.needs_attention for b in batches):
        return EXIT_FAILURE
    if summary.still_running or any(b.still_running for b in batches):
        return EXIT_RUNNING
    return EXIT_OK
