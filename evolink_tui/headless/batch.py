"""batch: a prompt matrix (or a prompt file) on several models and sizes, planned, priced,
checked against the budget, then run a few at a time; ``--plan`` only shows the plan."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from ..cli import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, EXIT_RUNNING
from ..core import batch as batch_mod
from ..core.batch_events import BatchEnded, BatchStarted, BatchTaskEnded, BatchTaskSent, BudgetStop, SubmitsHeld
from ..core.budget import parse_budget
from ..core.config import Settings
from ..core.costs import charge
from ..core.errors import ValidationError
from ..core.history import History, history_path
from ..core.matrix import Matrix, read_prompt_file, split_list
from ..core.plan import Plan, build_plan
from ..core.runner import Runner
from ..core.text import excerpt
from ..core.timing import duration_text
from ..core.validation import parse_n
from ..runtime import make_client
from .limits import config_budget, notify_end, preferences
from .models import catalogue_for
from .output import Output, retry_listener, settings_for

MAX_CONCURRENCY = 8


def _matrix(args) -> Matrix:
    source = args.source
    if source is None:
        raise ValidationError("FILE_OR_PROMPT", "", "a prompt (with {a|b} variants), or a file of prompts, one a line")
    path = Path(source).expanduser()
    templates = tuple(read_prompt_file(path)) if path.is_file() else (source,)
    n = parse_n(args.n) if args.n is not None else None
    return Matrix(
        templates,
        models=split_list("models", args.models),
        sizes=split_list("sizes", args.sizes),
        n=n,
        images=tuple(args.image),
    )


def _concurrency(text: str | None, default: int) -> int:
    if text is None:
        return default
    try:
        value = int(str(text).strip())
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_CONCURRENCY:
        raise ValidationError("concurrency", text, f"a whole number from 1 to {MAX_CONCURRENCY}")
    return value


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def plan_lines(plan: Plan) -> list[str]:
    """The plan as text: totals, then one line a task, then what each model costs."""
    chosen = plan.chosen
    sizes = _plural(len(plan.matrix.sizes), "size") if plan.matrix.sizes else "default size"
    lines = [
        f"Plan: {_plural(len(chosen), 'task')}, {_plural(plan.images, 'image')} "
        f"({_plural(len(plan.matrix.templates), 'prompt line')}, {_plural(len(plan.stats), 'model')}, {sizes})",
        f"Expected cost: {plan.cost.describe()}",
        f"Expected time: about {duration_text(plan.seconds)} at {plan.concurrency} at a time"
        + (" (partly a guess from the models' speed: no runs yet)" if plan.seconds_guessed else ""),
        "",
    ]
    width = max(5, *(len(t.cell.model) for t in plan.tasks))
    lines.append(f"{'#':>4}  {'model':<{width}} {'size':<9} {'n':>2}  {'credits':<11} {'time':>6}  prompt")
    for task in plan.tasks:
        credits = "unknown"
        if task.credits:
            credits = f"{task.credits.median:g}"
            if task.credits.low != task.credits.high:
                credits += f" ({task.credits.low:g}-{task.credits.high:g})"
        mark = "-" if task.seq in plan.dropped else " "
        lines.append(
            f"{task.seq:>3}{mark}  {task.cell.model:<{width}} {task.cell.size or 'default':<9} {task.images:>2}  "
            f"{credits:<11} {duration_text(task.seconds):>6}  {excerpt(task.cell.prompt, 70)}"
        )
    lines.append("")
    for model, stats in plan.stats.items():
        if stats.runs:
            lines.append(f"{model}: {stats.describe()} (median of {stats.runs} runs)")
        else:
            guess = f"about {duration_text(stats.expected_seconds)}, typical of {stats.speed}"
            lines.append(f"{model}: no runs yet (time: {guess})")
    return lines


def _problem_lines(plan: Plan) -> list[str]:
    lines = []
    for seqs, err in plan.distinct_problems():
        which = f"task {seqs[0]}" if len(seqs) == 1 else f"{len(seqs)} tasks ({', '.join(map(str, seqs[:8]))}"
        which += "…)" if len(seqs) > 8 else (")" if len(seqs) > 1 else "")
        lines.append(f"{err} [{which}]")
    return lines


class _BatchView:
    """The batch's events as text (a progress bar on a terminal), as JSON lines (``--json``),
    or not at all (``quiet``: ``resume --json`` prints one object at the end)."""

    def __init__(self, out: Output, as_json: bool, *, quiet: bool = False):
        self.out = out
        self.as_json = as_json
        self.quiet = quiet
        self.total = 0
        self.ended = 0
        self.running = 0
        self.credits = 0.0
        self.held = ""

    def line(self, obj: dict) -> None:
        print(json.dumps(obj, ensure_ascii=True, default=str), flush=True)

    def bar(self) -> None:
        width = 24
        filled = int(width * self.ended / self.total) if self.total else 0
        text = f"[{'#' * filled}{'.' * (width - filled)}] {self.ended}/{self.total} done, {self.running} running"
        text += f", {self.credits:g} credits"
        if self.held:
            text += f"; {self.held}"
        self.out.progress(text)

    def __call__(self, event) -> None:
        if self.quiet:
            return
        out = self.out
        match event:
            case BatchStarted(batch_id=batch_id, total=total, to_send=to_send, in_flight=in_flight, credits=credits):
                self.total, self.running, self.credits = total, in_flight, credits
                self.ended = total - to_send - in_flight
                if self.as_json:
                    self.line({"event": "started", "batch_id": batch_id, "total": total, "to_send": to_send})
                else:
                    resumed = f", {in_flight} under way from before" if in_flight else ""
                    out.say(f"batch {batch_id}: {total} tasks, {to_send} to send{resumed}")
            case BatchTaskSent(seq=seq, record_id=record_id, running=running):
                self.running = running
                self.held = ""
                if self.as_json:
                    self.line({"event": "task_sent", "seq": seq, "record_id": record_id})
            case BatchTaskEnded(seq=seq, record=record, outcome=outcome, running=running, credits=credits):
                self.running, self.credits = running, credits
                self.ended += 1
                spent = charge(record).credits
                if self.as_json:
                    self.line({"event": "task_ended", "seq": seq, "outcome": outcome, "record": record.to_json()})
                else:
                    files = f", {len(record.files)} saved" if record.files else ""
                    cost = f", {spent:g} credits" if spent else ""
                    error = f": {record.error.get('code')} {record.error.get('message', '')}" if record.error else ""
                    out.say(
                        f"[{self.ended}/{self.total}] #{seq} {record.model} {outcome}{files}{cost}{error}"
                        f"  {excerpt(record.prompt, 50)}"
                    )
                    for path in record.files:
                        out.say(f"    {path}")
            case SubmitsHeld(seconds=seconds, error=error):
                self.held = f"rate limited: every submit waits {seconds:.0f} s"
                if self.as_json:
                    self.line({"event": "held", "seconds": seconds, "error": error.to_json() if error else None})
                else:
                    out.note(f"{self.held} (Retry-After)")
            case BudgetStop(seq=seq, verdict=verdict):
                text = f"stopped before task {seq}: {verdict.explain('it')}"
                if self.as_json:
                    self.line({"event": "budget_stop", "seq": seq, "message": text})
                else:
                    out.note(text)
            case BatchEnded():
                pass
        if not self.as_json:
            self.bar()


def _exit_code(summary: batch_mod.BatchSummary) -> int:
    if summary.needs_attention:
        return EXIT_FAILURE
    if summary.still_running:
        return EXIT_RUNNING
    return EXIT_OK


def _conclude(out: Output, view: _BatchView, summary: batch_mod.BatchSummary, demo: bool) -> int:
    counts = ", ".join(f"{count} {name}" for name, count in sorted(summary.counts.items()))
    code = _exit_code(summary)
    if view.as_json:
        view.line({"event": "finished", "demo": demo, **summary.to_json()})
    else:
        out.say(f"batch {summary.batch.id} {summary.batch.state}: {counts}; {summary.credits:g} credits charged")
        if summary.uncertain:
            ids = " ".join(f"--resend {r.id}" for r in summary.uncertain)
            out.say(f"uncertain submits (they may have reached Evolink): evolink-tui resume {ids}")
        if summary.batch.state == "paused" or (summary.unsent and summary.batch.state == "running"):
            out.say(f"{summary.unsent} not sent: `evolink-tui batch --continue {summary.batch.id}` sends them")
        if summary.still_running:
            out.say("some tasks are still running: `evolink-tui resume` picks them up")
    return code


def cmd_batch(args, out: Output) -> int:
    if args.cancel or args.continue_id:
        if args.source is not None:
            raise ValidationError(
                "FILE_OR_PROMPT", args.source, "nothing with --cancel or --continue (they take a batch id)"
            )
        settings = settings_for(args, out, need_key=bool(args.continue_id))
        return asyncio.run(_existing(args, out, settings))
    out.lines = args.json  # JSON lines: one object a line, errors included
    catalogue_for(out)  # the problems of the user's models.toml, before anything else
    matrix = _matrix(args)
    budget = parse_budget(args.budget)
    checked = build_plan(matrix)  # bad input exits 2 before any settings, history or network
    if not checked.ok and not args.plan:
        return _refuse(out, args, checked)
    settings = settings_for(args, out, need_key=not args.plan)
    prefs = preferences(settings, out)
    concurrency = _concurrency(args.concurrency, prefs.batch_concurrency)
    if args.plan:
        history = History(history_path(settings)).open()
        try:
            plan = build_plan(matrix, history, concurrency=concurrency, submit_interval=prefs.batch_submit_interval)
        finally:
            history.close()
        return _show_plan(out, args, plan, settings)
    return asyncio.run(_run(args, out, settings, prefs, matrix, concurrency, budget))


def _refuse(out: Output, args, plan: Plan) -> int:
    """Tasks that may not be sent: every distinct problem, exit 2, nothing sent."""
    if args.json:
        problems = plan.to_json()["problems"]
        print(json.dumps({"event": "refused", "sent": False, "problems": problems}, ensure_ascii=True), flush=True)
    else:
        for line in _problem_lines(plan):
            out.note(f"evolink-tui: {line}")
        out.note("Nothing was sent.")
    return EXIT_BAD_INPUT


def _show_plan(out: Output, args, plan: Plan, settings: Settings) -> int:
    if args.json:
        print(json.dumps({**plan.to_json(), "demo": settings.demo, "sent": False}, ensure_ascii=True), flush=True)
    else:
        for line in plan_lines(plan):
            out.say(line)
        for line in _problem_lines(plan):
            out.note(f"evolink-tui: {line}")
        out.say("Nothing was sent (--plan)." if plan.ok else "Nothing was sent: fix the tasks above first.")
    return EXIT_OK if plan.ok else EXIT_BAD_INPUT


async def _batch_runner(client, settings: Settings, out: Output, prefs, view, concurrency: int | None, stats=None):
    history = History(history_path(settings), clock=client.clock.now).open()
    budget = config_budget(history, prefs, started_at=client.clock.now(), stats=stats)
    client.events.subscribe(retry_listener(out, quiet=lambda op: op == "submit"))  # the batch says it
    runner = Runner(client, history, settings.download_dir)
    return batch_mod.BatchRunner(
        runner,
        budget=budget,
        concurrency=concurrency,
        submit_interval=prefs.batch_submit_interval,
        on_event=view,
    )


async def _run(args, out: Output, settings: Settings, prefs, matrix: Matrix, concurrency: int, budget) -> int:
    view = _BatchView(out, args.json)
    async with make_client(settings) as client:
        batches = await _batch_runner(client, settings, out, prefs, view, None)
        try:
            plan = build_plan(
                matrix, batches.history, concurrency=concurrency, submit_interval=prefs.batch_submit_interval
            )
            batches.budget.stats = plan.stats
            batch = batches.create(plan, budget=budget)  # every check before anything is sent
            if not args.json:
                out.say(
                    f"expected cost: {plan.cost.describe()}; about {duration_text(plan.seconds)} at "
                    f"{plan.concurrency} at a time"
                )
            summary = await batches.run(batch.id)
        finally:
            batches.history.close()
    code = _conclude(out, view, summary, settings.demo)
    notify_end(args, settings, "evolink-tui batch", _notice_text(summary))
    return code


def _notice_text(summary: batch_mod.BatchSummary) -> str:
    counts = ", ".join(f"{count} {name}" for name, count in sorted(summary.counts.items()))
    return f"batch {summary.batch.state}: {counts}"


async def _existing(args, out: Output, settings: Settings) -> int:
    prefs = preferences(settings, out)
    view = _BatchView(out, args.json)
    async with make_client(settings) as client:
        batches = await _batch_runner(client, settings, out, prefs, view, None)
        try:
            if args.cancel:
                count = batches.cancel(args.cancel)
                summary = batches.summary(args.cancel)
                if args.json:
                    view.line({"event": "cancelled", "not_sent": count, **summary.to_json()})
                else:
                    out.say(f"batch {args.cancel} cancelled: {count} unsent task{'s' if count != 1 else ''} never sent")
                    out.say("tasks already sent run to their end: `evolink-tui resume` follows and downloads them")
                return EXIT_OK
            summary = await batches.run(args.continue_id, budget=parse_budget(args.budget))
        finally:
            batches.history.close()
    code = _conclude(out, view, summary, settings.demo)
    notify_end(args, settings, "evolink-tui batch", _notice_text(summary))
    return code


async def resume_batches(runner, settings: Settings, out: Output) -> list[batch_mod.BatchSummary]:
    """For ``evolink-tui resume``: take up every batch a quit or a kill left running."""
    from ..core.batch_store import BatchStore

    if not BatchStore(runner.history).unfinished():
        return []
    prefs = preferences(settings, out)
    budget = config_budget(runner.history, prefs, started_at=runner.client.clock.now())
    view = _BatchView(out, False, quiet=out.as_json)
    own = Runner(runner.client, runner.history, runner.download_dir)  # the batch's events, not each task's
    batches = batch_mod.BatchRunner(own, budget=budget, submit_interval=prefs.batch_submit_interval, on_event=view)
    summaries = await batch_mod.resume_batches(batches)
    if not out.as_json:
        for summary in summaries:
            _conclude(out, view, summary, settings.demo)
    return summaries
