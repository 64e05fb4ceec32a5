"""The headless commands: the reference's tools (generate, check, upload, files, delete,
models) plus locate and simulator, on the same core as the TUI. Never imports textual."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from .cli import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, EXIT_RUNNING
from .core.catalogue import load_catalogue
from .core.config import Settings, load_settings
from .core.downloads import download_results
from .core.errors import EvolinkError, ValidationError
from .core import runner as runner_mod
from .core.history import HISTORY_FILE, History
from .core.polling import TaskTimeout, follow_task
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
        "generate": cmd_generate, "check": cmd_check, "upload": cmd_upload, "files": cmd_files,
        "delete": cmd_delete, "models": cmd_models, "locate": cmd_locate, "simulator": cmd_simulator,
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
    except KeyboardInterrupt:
        out.note("Interrupted.")
        return 130


def _settings(args, out: Output, *, need_key: bool = True) -> Settings:
    settings = load_settings(demo=getattr(args, "demo", False), download_dir=getattr(args, "download_dir", None))
    for warning in settings.warnings:
        out.note(f"warning: {warning}")
    if settings.demo:
        out.note(DEMO_NOTICE)
    elif need_key and not settings.has_key:
        raise ValidationError("api_key", "(none)", "set EVOLINK_API_KEY, save a key from the app (run `evolink-tui`), or try --demo",
                              shown="no API key is configured")
    return settings


def _task_line(task: Task) -> str:
    parts = [task.id, task.status]
    if task.status in ("pending", "processing"):
        parts.append(f"{task.progress}%")
        if task.estimated_time is not None:
            parts.append(f"~{task.estimated_time}s left")
    return "  ".join(parts)


def _retry_listener(out: Output):
    def listener(event: str, data: dict) -> None:
        if event == "retry":
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
            out.note(f"evolink-tui: could not download {d.url}\n{d.error.explain() if d.error else ''}\n"
                     f"Run `evolink-tui check {task.id}` to try again (result URLs last 24 hours).")
    return code


def _finish_task(out: Output, task: Task, downloads, *, demo: bool) -> int:
    """Exit code and output for a terminal task."""
    if task.status == "completed":
        code = _report_downloads(out, task, downloads)
        out.emit(_task_json(task, downloads, demo=demo))
        return code
    err = task.error.as_exception(task.id) if task.error else EvolinkError("task", "unknown_error", f"task ended {task.status}", task_id=task.id)
    out.fail(err, extra=_task_json(task, [], demo=demo))
    return EXIT_FAILURE


def cmd_generate(args, out: Output) -> int:
    n = parse_n(args.n) if args.n is not None else None
    request = GenerationRequest(prompt=args.prompt, model=args.model, size=args.size, n=n,
                                images=tuple(args.image), mask=args.mask)
    validate(request)  # bad input exits 2 before any settings, history or network
    settings = _settings(args, out)
    return asyncio.run(_generate(args, out, settings, request))


class _GenerateView:
    """Turns the runner's events into the command's output."""

    def __init__(self, out: Output, request: GenerationRequest):
        self.out = out
        self.request = request
        self.task: Task | None = None
        self.final: runner_mod.TaskEvent | None = None
        self.downloads = []

    def __call__(self, event) -> None:
        out = self.out
        if event.task is not None:
            self.task = event.task
        if event.kind == runner_mod.UPLOADED:
            out.say(f"uploaded {event.detail}")
        elif event.kind == runner_mod.SUBMITTED:
            task = event.task
            credits = f", {task.credits_reserved:g} credits reserved" if task.credits_reserved is not None else ""
            out.say(f"submitted {task.id} ({task.model or self.request.resolved_model()}{credits}): {excerpt(self.request.prompt)}")
        elif event.kind == runner_mod.PROGRESS:
            out.progress(_task_line(event.task))
        elif event.kind == runner_mod.PROBLEM:
            out.progress(f"{self.task.id if self.task else ''}  offline, retrying ({event.error.summary()})")
        elif event.kind in (runner_mod.FAILED, runner_mod.TIMEOUT, runner_mod.UNCERTAIN, runner_mod.FINISHED):
            self.final = event
            self.downloads = event.downloads


async def _generate(args, out: Output, settings: Settings, request: GenerationRequest) -> int:
    history = History(settings.data_dir / HISTORY_FILE)
    view = _GenerateView(out, request)
    try:
        async with make_client(settings) as client:
            client.listeners.append(_retry_listener(out))
            runner = runner_mod.Runner(client, history, settings.download_dir, on_event=view)
            record_id = runner.prepare(request)
            await runner.run(record_id, follow=not args.no_wait)
    finally:
        history.close()
    final = view.final
    if final is None and args.no_wait and view.task is not None:
        out.emit(_task_json(view.task, demo=settings.demo))
        return EXIT_OK
    if final is None:
        raise RuntimeError("the generation ended without a result")
    if final.kind == runner_mod.TIMEOUT:
        out.fail(EvolinkError("local", "timeout", final.notice, task_id=final.task.id),
                 extra=_task_json(final.task, [], demo=settings.demo, notice=final.notice))
        if not out.as_json:
            out.say(final.notice)
        return EXIT_RUNNING
    if final.kind == runner_mod.UNCERTAIN:
        out.fail(final.error, extra={"uncertain": True, "idempotency_key_recorded": True, "demo": settings.demo})
        out.note("The submit may or may not have reached Evolink; it is kept in the history and can be sent "
                 "again with the same idempotency key, which never charges twice.")
        return EXIT_FAILURE
    if final.kind == runner_mod.FAILED and final.task is None:
        out.fail(final.error, extra={"demo": settings.demo})
        return EXIT_FAILURE
    return _finish_task(out, final.task, view.downloads, demo=settings.demo)


def cmd_check(args, out: Output) -> int:
    settings = _settings(args, out)
    return asyncio.run(_check(args, out, settings))


async def _check(args, out: Output, settings: Settings) -> int:
    async with make_client(settings) as client:
        client.listeners.append(_retry_listener(out))
        task = await client.get_task(args.task_id)
        out.say(_task_line(task))
        if task.is_active and args.wait:
            try:
                task = await follow_task(client, task, polls_done=1, on_update=lambda t: out.progress(_task_line(t)))
            except TaskTimeout as timeout:
                out.fail(EvolinkError("local", "timeout", timeout.notice, task_id=task.id),
                         extra=_task_json(timeout.task, [], demo=settings.demo, notice=timeout.notice))
                if not out.as_json:
                    out.say(timeout.notice)
                return EXIT_RUNNING
        if task.is_active:
            out.emit(_task_json(task, [], demo=settings.demo))
            return EXIT_OK
        downloads = []
        if task.status == "completed":
            downloads = await download_results(client, task, {"model": task.model}, settings.download_dir)
        return _finish_task(out, task, downloads, demo=settings.demo)


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
                info = await client.upload_file(args.path, name=args.name, upload_path=args.upload_path,
                                                progress=lambda done, total: out.progress(f"uploading {human_size(done)} of {human_size(total)}"))
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
            out.say(f"quota: {quota.used_files} of {quota.max_files} files used, {quota.remain_files} left"
                    + (f" ({quota.user_group})" if quota.user_group else ""))
            out.say(f"page {listing.page} of {listing.pages}, {listing.total} files in all")
            for info in listing.files:
                out.say(_file_line(info))
            out.emit({"quota": quota.raw, "total": listing.total, "page": listing.page, "page_size": listing.page_size,
                      "files": [f.raw for f in listing.files], "demo": settings.demo})
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
        extras = f"n {model.n_min}-{model.n_max}, up to {model.max_images} reference images" + (", mask" if model.mask else "")
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
