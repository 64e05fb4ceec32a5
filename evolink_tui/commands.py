"""The headless commands: the reference's tools (generate, check, upload, files, delete,
models), the recovery commands (history, resume) plus locate and simulator, on the same
core as the TUI. Never imports textual."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import sys
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

from .cli import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, EXIT_RUNNING
from .core import recovery
from .core import runner as runner_mod
from .core.catalogue import load_catalogue
from .core.config import Settings, data_dir, load_settings
from .core.errors import EvolinkError, ValidationError
from .core.history import DEMO_HISTORY_FILE, HISTORY_FILE, History, HistoryError, TaskRecord, history_path
from .core.text import excerpt, inert
from .core.validation import GenerationRequest, human_size, parse_n, validate
from .core.wire import FileInfo, Task
from .runtime import make_client

DEMO_NOTICE = "DEMO MODE: answers come from the built-in simulator; no key is used and no credits are spent."


class Output:
    """Human text to stdout (live progress on stderr when it is a terminal), or one JSON object."""

    def __init__(self, as_json: bool):
        self.as_json = as_json
        self.live = sys.stderr.isatty() and not as_json
        self._line_open = False

    def say(self, text: str = "") -> None:
        if not self.as_json:
            self._end_line()
            print(inert(text), flush=True)

    def note(self, text: str) -> None:
        """A remark on stderr (demo notice, retries): never mixed into --json stdout."""
        self._end_line()
        print(inert(text), file=sys.stderr, flush=True)

    def progress(self, text: str) -> None:
        if self.live:
            sys.stderr.write("\r\x1b[2K" + inert(text, one_line=True))
            sys.stderr.flush()
            self._line_open = True

    def _end_line(self) -> None:
        if self._line_open:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self._line_open = False

    def emit(self, obj: dict) -> None:
        self._end_line()
        if self.as_json:
            print(json.dumps(obj, ensure_ascii=True, indent=2, default=str), flush=True)

    def fail(self, err: Exception, extra: dict | None = None) -> None:
        self._end_line()
        if self.as_json:
            body = err.to_json() if hasattr(err, "to_json") else {"message": str(err)}
            self.emit({**(extra or {}), "error": body})
        else:
            text = err.explain() if isinstance(err, EvolinkError) else str(err)
            print(inert(f"evolink-tui: {text}"), file=sys.stderr, flush=True)


def dispatch(args: argparse.Namespace) -> int:
    handler = {
        "generate": cmd_generate,
        "check": cmd_check,
        "upload": cmd_upload,
        "files": cmd_files,
        "delete": cmd_delete,
        "models": cmd_models,
        "locate": cmd_locate,
        "simulator": cmd_simulator,
        "history": cmd_history,
        "resume": cmd_resume,
    }[args.command]
    out = Output(getattr(args, "json", False))
    try:
        return handler(args, out)
    except ValidationError as err:
        out.fail(err)
        return EXIT_BAD_INPUT
    except EvolinkError as err:
        out.fail(err)
        return EXIT_FAILURE
    except HistoryError as err:
        out.fail(err)
        if args.command in ("generate", "check", "resume"):
            out.note("Nothing was sent: a generation is never sent without being recorded first.")
        return EXIT_FAILURE
    except KeyboardInterrupt:
        out.note(
            "Interrupted."
            + (
                " Anything under way is kept in the history: `evolink-tui resume` picks it up."
                if args.command in ("generate", "check", "resume")
                else ""
            )
        )
        return 130


def _settings(args, out: Output, *, need_key: bool = True) -> Settings:
    settings = load_settings(demo=getattr(args, "demo", False), download_dir=getattr(args, "download_dir", None))
    for warning in settings.warnings:
        out.note(f"warning: {warning}")
    if settings.demo:
        out.note(DEMO_NOTICE)
    elif need_key and not settings.has_key:
        raise ValidationError(
            "api_key",
            "(none)",
            "set EVOLINK_API_KEY, save a key from the app (run `evolink-tui`), or try --demo",
            shown="no API key is configured",
        )
    return settings


def _task_line(task: Task) -> str:
    parts = [task.id, task.status]
    if task.status in ("pending", "processing"):
        parts.append(f"{task.progress}%")
        if task.estimated_time is not None:
            parts.append(f"~{task.estimated_time}s left")
    return "  ".join(parts)


def _retry_listener(out: Output, quiet=lambda op: False):
    def listener(event: str, data: dict) -> None:
        if event == "retry" and not quiet(data["op"]):
            err = data["error"]
            out.note(f"retrying {data['op']} in {data['delay']:.0f}s after {err.summary()}")

    return listener


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
    n = parse_n(args.n) if args.n is not None else None
    request = GenerationRequest(
        prompt=args.prompt, model=args.model, size=args.size, n=n, images=tuple(args.image), mask=args.mask
    )
    validate(request)  # bad input exits 2 before any settings, history or network
    settings = _settings(args, out)
    return asyncio.run(_generate(args, out, settings, request))


class _TaskView:
    """Turns the runner's events into a command's output."""

    def __init__(self, out: Output, request: GenerationRequest | None = None):
        self.out = out
        self.request = request
        self.task: Task | None = None
        self.final: runner_mod.TaskEvent | None = None
        self.downloads = []
        self.offline = False

    def quiet(self, op: str) -> bool:
        """While offline, the per-request retry notes would only repeat the offline line."""
        return self.offline and op == "poll"

    def __call__(self, event) -> None:
        out = self.out
        if event.task is not None:
            self.task = event.task
        if event.kind == runner_mod.UPLOADED:
            out.say(f"uploaded {event.detail}")
        elif event.kind == runner_mod.SUBMITTED:
            task = event.task
            credits = f", {task.credits_reserved:g} credits reserved" if task.credits_reserved is not None else ""
            model = task.model or (self.request.resolved_model() if self.request else "")
            prompt = f": {excerpt(self.request.prompt)}" if self.request else ""
            out.say(f"submitted {task.id} ({model}{credits}){prompt}")
        elif event.kind == runner_mod.PROGRESS:
            if self.offline:
                self.offline = False
                out.note(f"{event.task.id}: back online")
            out.progress(_task_line(event.task))
        elif event.kind == runner_mod.PROBLEM:
            prefix = self.task.id + ": " if self.task else ""
            line = f"{prefix}{event.detail or 'offline, retrying'} ({event.error.summary()})"
            if not self.offline:
                self.offline = True
                out.note(line)
            else:
                out.progress(line)
        elif event.kind in (runner_mod.FAILED, runner_mod.TIMEOUT, runner_mod.UNCERTAIN, runner_mod.FINISHED):
            self.final = event
            self.downloads = event.downloads


@contextlib.asynccontextmanager
async def _runner(settings: Settings, out: Output, view) -> AsyncIterator[runner_mod.Runner]:
    """The client, the history and a runner reporting to ``view``, closed together."""
    async with make_client(settings) as client:
        history = _open_history(settings, client.clock)
        try:
            client.listeners.append(_retry_listener(out, view.quiet))
            yield runner_mod.Runner(client, history, settings.download_dir, on_event=view)
        finally:
            history.close()


def _open_history(settings: Settings, clock=None) -> History:
    """The history, opened before anything is sent (a HistoryError stops the command first)."""
    return History(history_path(settings), **({"clock": clock.now} if clock is not None else {})).open()


def _conclude(out: Output, settings: Settings, view: _TaskView, record_id: int) -> int:
    """Exit code and output once the runner is done with a record."""
    final = view.final
    demo = settings.demo
    if final is None:
        raise RuntimeError("the task ended without a result")
    if final.kind == runner_mod.TIMEOUT:
        out.fail(
            EvolinkError("local", "timeout", final.notice, task_id=final.task.id),
            extra=_task_json(final.task, [], demo=demo, notice=final.notice, record_id=record_id),
        )
        if not out.as_json:
            out.say(final.notice)
        return EXIT_RUNNING
    if final.kind == runner_mod.UNCERTAIN:
        out.fail(
            final.error,
            extra={"uncertain": True, "idempotency_key_recorded": True, "record_id": record_id, "demo": demo},
        )
        out.note(
            "The submit may or may not have reached Evolink; it is kept in the history and can be sent again "
            "with the same idempotency key, which never charges twice:\n"
            f"  evolink-tui resume --resend {record_id}"
        )
        return EXIT_FAILURE
    if final.kind == runner_mod.FAILED and final.task is None:
        out.fail(final.error, extra={"record_id": record_id, "demo": demo})
        return EXIT_FAILURE
    if final.kind == runner_mod.FAILED and final.task.is_active:
        out.fail(final.error, extra=_task_json(final.task, [], demo=demo, record_id=record_id))
        out.note(
            f"The task is kept in the history: `evolink-tui resume` or `evolink-tui check {final.task.id}` picks it up."
        )
        return EXIT_FAILURE
    return _finish_task(out, final.task, view.downloads, demo=demo, record_id=record_id)


async def _generate(args, out: Output, settings: Settings, request: GenerationRequest) -> int:
    view = _TaskView(out, request)
    async with _runner(settings, out, view) as runner:
        record_id = runner.prepare(request)
        await runner.run(record_id, follow=not args.no_wait)
    if view.final is None and args.no_wait and view.task is not None:
        out.emit(_task_json(view.task, demo=settings.demo, record_id=record_id))
        return EXIT_OK
    return _conclude(out, settings, view, record_id)


def cmd_check(args, out: Output) -> int:
    settings = _settings(args, out)
    return asyncio.run(_check(args, out, settings))


async def _check(args, out: Output, settings: Settings) -> int:
    view = _TaskView(out)
    async with _runner(settings, out, view) as runner:
        task = await runner.client.get_task(args.task_id)
        record_id = runner.history.add_task_id(task)  # a task known by id is never lost again
        out.say(_task_line(task))
        if task.is_active and args.wait:
            await runner.follow(record_id, task, polls_done=1)
            return _conclude(out, settings, view, record_id)
        if task.is_active:
            out.emit(_task_json(task, [], demo=settings.demo, record_id=record_id))
            return EXIT_OK
        downloads = []
        if task.status == "completed":
            downloads = await runner.download(record_id, task)
        return _finish_task(out, task, downloads, demo=settings.demo, record_id=record_id)


# -- history and recovery -------------------------------------------------------------

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _day(field: str, text: str | None) -> float | None:
    """A YYYY-MM-DD date (local time) as unix seconds at its start."""
    if text is None:
        return None
    try:
        if not _DATE.match(text.strip()):
            raise ValueError
        return datetime.strptime(text.strip(), "%Y-%m-%d").timestamp()
    except (ValueError, OverflowError, OSError):
        raise ValidationError(field, text, "a date as YYYY-MM-DD, such as 2025-01-31") from None


def _when(moment: float | None) -> str:
    if not moment:
        return "?"
    try:
        return datetime.fromtimestamp(moment).strftime("%Y-%m-%d %H:%M")
    except (ValueError, OverflowError, OSError):
        return "?"


def _error_line(error: dict | None) -> str:
    if not error:
        return ""
    code = error.get("code", "")
    meaning = error.get("meaning") or ""
    message = error.get("message") or ""
    text = f"{code}: {meaning}" if meaning else str(code)
    if message and message != meaning:
        text += f" ({message})"
    return text


def _record_lines(record: TaskRecord, *, verdict: str | None = None) -> list[str]:
    head = [
        f"#{record.id}",
        _when(record.created_at),
        verdict or record.state,
        record.model or "?",
        record.task_id or "(no task id)",
    ]
    if record.credits is not None:
        head.append(f"{record.credits:g} credits")
    if record.state in ("pending", "processing"):
        head.append(f"{record.progress}%")
    lines = ["  ".join(head)]
    if record.prompt:
        lines.append(f"    prompt: {excerpt(record.prompt, 70)}")
    if record.files:
        lines.append(f"    files: {' '.join(record.files)}")
    if record.state == "completed" and record.download_state not in (None, "done"):
        lines.append(
            f"    downloads: {record.download_state}"
            + (" (result URLs have lapsed; the record is kept)" if record.is_expired else "")
        )
    if record.error:
        lines.append(f"    error: {excerpt(_error_line(record.error), 160)}")
    if record.notice and not record.is_finished:
        lines.append(f"    note: {record.notice}")
    if record.can_resend:
        lines.append(
            f"    resend with its own idempotency key (never charged twice): evolink-tui resume --resend {record.id}"
        )
    return lines


def _history_file(args) -> Path:
    return data_dir() / (DEMO_HISTORY_FILE if getattr(args, "demo", False) else HISTORY_FILE)


def cmd_history(args, out: Output) -> int:
    since = _day("since", args.since)
    until = _day("until", args.until)
    if until is not None:
        until = (datetime.fromtimestamp(until) + timedelta(days=1)).timestamp()  # the whole day
    limit = _whole("limit", args.limit, "a whole number from 1 up")
    if limit < 1:
        raise ValidationError("limit", limit, "a whole number from 1 up")
    status = (args.status or "").strip().lower() or None
    if status is not None and not re.fullmatch(r"[a-z_]{1,40}", status):
        raise ValidationError(
            "status",
            args.status,
            "a state such as completed, failed, pending, uncertain, expired, unfinished or undownloaded",
        )
    path = _history_file(args)
    if not path.exists():
        out.say(f"no history yet ({path})")
        out.emit({"history": str(path), "count": 0, "records": []})
        return EXIT_OK
    history = History(path)
    try:
        records = history.search(
            args.search or "", model=args.model or None, status=status, since=since, until=until, limit=limit
        )
        total = history.count()
    finally:
        history.close()
    for record in records:
        for line in _record_lines(record):
            out.say(line)
    out.say(f"{len(records)} of {total} records shown ({path})")
    out.emit({"history": str(path), "count": len(records), "total": total, "records": [r.to_json() for r in records]})
    return EXIT_OK


def cmd_resume(args, out: Output) -> int:
    resend = [_whole("resend", value, "a record id as listed by `evolink-tui resume`") for value in args.resend]
    settings = _settings(args, out)
    return asyncio.run(_resume(args, out, settings, resend))


async def _resume(args, out: Output, settings: Settings, resend: list[int]) -> int:
    view = _TaskView(out)
    async with _runner(settings, out, view) as runner:
        summary = await recovery.recover(runner, resend=resend)
    for path in summary.cleaned:
        out.say(f"removed an unfinished download left behind: {path}")
    if not summary.records:
        out.say("nothing to resume: every task in the history is finished and downloaded")
    for record in summary.records:
        for line in _record_lines(record, verdict=recovery.outcome(record)):
            out.say(line)
    out.emit({**summary.to_json(), "demo": settings.demo})
    if summary.needs_attention:
        return EXIT_FAILURE
    if summary.still_running:
        return EXIT_RUNNING
    return EXIT_OK


def _file_line(info: FileInfo) -> str:
    expires = info.expires_at.strftime("%Y-%m-%d %H:%M UTC") if info.expires_at else "?"
    return f"{info.file_id}  {info.name}  {human_size(info.file_size)}  {info.mime_type or '?'}  expires {expires}"


def cmd_upload(args, out: Output) -> int:
    if args.path:
        from .core.client import check_upload_file

        check_upload_file(Path(args.path).expanduser())
    settings = _settings(args, out)

    async def run() -> int:
        async with make_client(settings) as client:
            client.listeners.append(_retry_listener(out))
            if args.path:
                info = await client.upload_file(
                    args.path,
                    name=args.name,
                    upload_path=args.upload_path,
                    progress=lambda done, total: out.progress(f"uploading {human_size(done)} of {human_size(total)}"),
                )
            elif args.url:
                info = await client.upload_url(args.url, name=args.name, upload_path=args.upload_path)
            else:
                info = await client.upload_base64(args.base64, name=args.name, upload_path=args.upload_path)
            out.say(f"uploaded {_file_line(info)}")
            out.say(f"file_url: {info.file_url}")
            out.emit({**info.raw, "demo": settings.demo})
            return EXIT_OK

    return asyncio.run(run())


def cmd_files(args, out: Output) -> int:
    page = _whole("page", args.page, "a whole number from 1 up")
    page_size = _whole("page_size", args.page_size, "a whole number from 1 to 100")
    if page < 1:
        raise ValidationError("page", page, "a whole number from 1 up")
    if not 1 <= page_size <= 100:
        raise ValidationError("page_size", page_size, "a whole number from 1 to 100")
    settings = _settings(args, out)

    async def run() -> int:
        async with make_client(settings) as client:
            client.listeners.append(_retry_listener(out))
            listing, quota = await asyncio.gather(client.list_files(page, page_size), client.quota())
            out.say(
                f"quota: {quota.used_files} of {quota.max_files} files used, {quota.remain_files} left"
                + (f" ({quota.user_group})" if quota.user_group else "")
            )
            out.say(f"page {listing.page} of {listing.pages}, {listing.total} files in all")
            for info in listing.files:
                out.say(_file_line(info))
            out.emit(
                {
                    "quota": quota.raw,
                    "total": listing.total,
                    "page": listing.page,
                    "page_size": listing.page_size,
                    "files": [f.raw for f in listing.files],
                    "demo": settings.demo,
                }
            )
            return EXIT_OK

    return asyncio.run(run())


def _whole(field: str, text: str, allowed: str) -> int:
    try:
        return int(str(text).strip())
    except ValueError:
        raise ValidationError(field, text, allowed) from None


def cmd_delete(args, out: Output) -> int:
    settings = _settings(args, out)

    async def run() -> int:
        async with make_client(settings) as client:
            client.listeners.append(_retry_listener(out))
            data = await client.delete_file(args.file_id)
            out.say(f"deleted {args.file_id}")
            out.emit({"deleted": args.file_id, "data": data, "demo": settings.demo})
            return EXIT_OK

    return asyncio.run(run())


def cmd_models(args, out: Output) -> int:
    catalogue = load_catalogue()
    if out.as_json:
        out.emit({"default": catalogue.default.id, "models": [m.to_json() for m in catalogue]})
        return EXIT_OK
    width = max(len(m.id) for m in catalogue)
    for model in catalogue:
        default = " (default)" if model.default else ""
        out.say(f"{model.id:<{width}}  {model.tag:<6}  {model.description}{default}")
        sizes = ", ".join(model.all_sizes)
        extras = f"n {model.n_min}-{model.n_max}, up to {model.max_images} reference images" + (
            ", mask" if model.mask else ""
        )
        out.say(f"{'':<{width}}  {'':<6}  {', '.join(model.capabilities)}; sizes {sizes}; {extras}")
    return EXIT_OK


def cmd_locate(args, out: Output) -> int:
    settings = load_settings(demo=getattr(args, "demo", False), download_dir=getattr(args, "download_dir", None))
    info = settings.describe()
    for warning in settings.warnings:
        out.note(f"warning: {warning}")
    out.say(f"config:    {info['config']}")
    out.say(f"data:      {info['data']}")
    out.say(f"downloads: {info['downloads']}")
    out.say(f"api key:   {info['api_key']} (from {info['key_source']})")
    out.say(f"hosts:     {info['base_url']}  {info['files_base_url']}")
    out.emit(info)
    return EXIT_OK


def cmd_simulator(args, out: Output) -> int:
    from .simulator.server import main as serve

    argv = ["--port", str(args.port)]
    if args.faults is not None:
        argv += ["--faults", args.faults]
    if args.speed is not None:
        argv += ["--speed", args.speed]
    return serve(argv)
