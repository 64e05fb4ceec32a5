"""Matrix runs and the budget, as the app runs them.

- A prompt with ``{a|b}`` variants or ``{1-3}`` ranges (or a prompt file) on the marked
  models is planned first: the plan screen shows every task with its expected credits and
  time, tasks can be dropped, and nothing is sent until the plan is confirmed.
- A confirmed plan is stored as a batch and run by the core's batch runner (on the
  Studio's runner) as an App worker; the batch screen shows it as a grid and pauses,
  continues or cancels it. Batches a quit left running are taken up at the next start,
  before anything else is recovered.
- Before any submit whose expected cost would cross the budget (per run, per day), the app
  asks; nothing is sent unless the user raises the budget.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from evolink_tui.core.errors import ValidationError

if TYPE_CHECKING:
    from evolink_tui.core.budget import Verdict
    from evolink_tui.core.matrix import Matrix
    from evolink_tui.core.plan import Plan
    from evolink_tui.core.validation import GenerationRequest

    from .app import EvolinkApp


def has_variants(prompt: str) -> bool:
    """Whether ``prompt`` holds ``{a|b}`` variants or ``{1-3}`` ranges (a prompt with a stray
    or unclosed brace is sent as written, as before)."""
    if "{" not in prompt:
        return False
    from evolink_tui.core.matrix import parse_template

    try:
        return bool(parse_template(prompt).groups)
    except ValidationError:
        return False


def matrix_of(requests: list[GenerationRequest], templates: tuple[str, ...] | None = None, sizes=None) -> Matrix:
    """The matrix of what the composer holds: its prompt (or ``templates``), the marked
    models, its size (or ``sizes``), n, references and mask."""
    from evolink_tui.core.matrix import Matrix

    first = requests[0]
    chosen = tuple(sizes) if sizes is not None else ((first.size,) if first.size else ())
    return Matrix(
        templates or (first.prompt,),
        models=tuple(dict.fromkeys(r.model for r in requests if r.model)),
        sizes=chosen,
        n=first.n,
        images=tuple(first.images),
        mask=first.mask,
    )


def open_plan(app: EvolinkApp, requests: list[GenerationRequest], templates: tuple[str, ...] | None = None) -> None:
    """The plan screen for the composer's matrix; nothing is sent until it is confirmed."""
    from .screens.plan import PlanScreen

    if app.needs_key():
        return
    try:
        matrix = matrix_of(requests, templates)
        plan = app.studio.batches.plan(matrix)
    except ValidationError as err:
        app.notify(f"Not planned. {err}", severity="error", markup=False)
        return

    def chosen(confirmed: Plan | None) -> None:
        if confirmed is not None:
            start_plan(app, confirmed)

    app.push_screen(PlanScreen(plan, requests), chosen)


def load_prompt_file(app: EvolinkApp, path: str, requests: list[GenerationRequest]) -> None:
    """A prompt file (one prompt a line, # comments) planned like a typed matrix."""
    from evolink_tui.core.matrix import read_prompt_file

    try:
        templates = tuple(read_prompt_file(Path(path.strip())))
    except ValidationError as err:
        app.notify(f"Not loaded. {err}", severity="error", markup=False)
        return
    open_plan(app, requests, templates)


def start_plan(app: EvolinkApp, plan: Plan) -> None:
    """Store the confirmed plan as a batch and run it (asking first if it would cross the budget)."""
    from evolink_tui.core.budget import BudgetExceeded

    batches = app.studio.batches
    try:
        batch = batches.create(plan)
    except BudgetExceeded as over:
        what = f"This batch ({len(plan.chosen)} tasks)"
        ask_budget(app, over.verdict, what, lambda: start_plan(app, plan))
        return
    except ValidationError as err:
        app.notify(f"Not sent. {err}", severity="error", markup=False)
        return
    run_batch(app, batch.id)
    open_batch(app, batch.id)


def run_batch(app: EvolinkApp, batch_id: str) -> None:
    app.start(_run(app, batch_id), name=f"batch {batch_id}", group="batches")


async def _run(app: EvolinkApp, batch_id: str) -> None:
    from evolink_tui.core.budget import BudgetExceeded

    try:
        await app.studio.batches.run(batch_id)
    except BudgetExceeded as over:
        app.notify(f"{over}", title="Batch paused", severity="warning", markup=False, timeout=12)


def open_batch(app: EvolinkApp, batch_id: str | None = None) -> None:
    """The batch screen (the latest batch when no id is given)."""
    from .screens.batch import BatchScreen

    if batch_id is None:
        latest = app.studio.batches.latest()
        if latest is None:
            app.notify("No batch yet: write a prompt with {a|b} variants and press ctrl+j.", markup=False)
            return
        batch_id = latest.id
    if isinstance(app.screen, BatchScreen) and app.screen.batch_id == batch_id:
        return
    app.push_screen(BatchScreen(batch_id))


def resume_batches(app: EvolinkApp) -> None:
    """At start: the batches a quit or a kill left running, claimed (recovery leaves their
    tasks to them) and taken up."""
    batches = app.studio.batches
    ids = batches.claim_unfinished()
    if not ids:
        return
    app.notify(
        f"Resuming {len(ids)} batch{'es' if len(ids) != 1 else ''} left running: ctrl+b shows it.",
        title="Batches",
        markup=False,
        timeout=8,
    )
    app.start(batches.resume(), name="resume batches", group="batches")


def ask_budget(app: EvolinkApp, verdict: Verdict, what: str, then: Callable[[], None]) -> None:
    """Over budget: say why and ask; yes raises the budget (this run only) and goes on."""
    from .screens.confirm import ConfirmScreen

    body = f"{verdict.explain(what)}.\n\nNothing has been sent. Raise the budget for this run and send?"

    def answered(yes: bool | None) -> None:
        if yes:
            app.studio.batches.raise_for(verdict)
            then()
        else:
            app.notify(
                "Not sent: over budget. Drop some tasks, or raise the budget (palette: Set budget).", markup=False
            )

    app.push_screen(ConfirmScreen("Over budget", body, yes="Raise and send", no="Don't send"), answered)


def check_budget(app: EvolinkApp, requests: list[GenerationRequest], then: Callable[[], None]) -> None:
    """Before a plain generate: go on when it fits the budget, else ask first."""
    verdict = app.studio.batches.check_requests(requests)
    if verdict.ok:
        then()
    else:
        what = "This task" if len(requests) == 1 else f"These {len(requests)} tasks"
        ask_budget(app, verdict, what, then)


def show_event(app: EvolinkApp, event: object) -> None:
    """The batch events the App says itself (the batch screen shows the rest)."""
    from evolink_tui.core.batch_events import BudgetStop

    match event:
        case BudgetStop(batch_id=batch_id, seq=seq, verdict=verdict):
            app.notify(
                f"Batch {batch_id} paused before task {seq}: {verdict.explain('it')}. "
                "Raise the budget (palette: Set budget), then continue it (p on the batch screen).",
                title="Over budget",
                severity="warning",
                markup=False,
                timeout=12,
            )


def set_budget(app: EvolinkApp) -> None:
    """The budget dialog; the caps apply at once and are saved to the config file."""
    import asyncio

    from evolink_tui.core.config import update_config_file

    from .screens.budget import BudgetScreen

    batches = app.studio.batches

    def chosen(caps: tuple[float | None, float | None] | None) -> None:
        if caps is None:
            return
        per_run, per_day = caps
        batches.set_budget(per_run=per_run, per_day=per_day)
        changes = {"budget_per_run": per_run, "budget_per_day": per_day}
        app.start(asyncio.to_thread(update_config_file, changes, app.settings.config_path), name="save budget")
        shown = ", ".join(
            f"{cap:g} credits per {what}" for cap, what in ((per_run, "run"), (per_day, "day")) if cap is not None
        )
        app.notify(f"Budget: {shown or 'none'} (saved to the config file).", markup=False)
        app.main.show_budget()

    app.push_screen(BudgetScreen(batches.per_run, batches.per_day), chosen)
