"""What generate and batch share beyond the output: the budget in force for a command
(config caps and ``--budget``), and the notice sent at the end with ``--notify``."""

from __future__ import annotations

from ..core.budget import Budget, Cap, caps_for, parse_budget
from ..core.config import Settings
from ..core.costs import model_stats
from ..core.history import History
from ..core.notify import send_notice
from ..core.preferences import Preferences, load_preferences
from ..core.text import excerpt
from ..core.validation import GenerationRequest
from .output import Output


def preferences(settings: Settings, out: Output) -> Preferences:
    """The batch, budget and notice settings of the config file (warnings on stderr)."""
    prefs = load_preferences(settings.config_path)
    for warning in prefs.warnings:
        out.note(f"warning: {warning}")
    return prefs


def config_budget(history: History, prefs: Preferences, *, started_at: float, stats=None) -> Budget:
    """The caps of the config file for a command started at ``started_at``:
    ``budget_per_run`` (this command) and ``budget_per_day``."""
    caps = caps_for(
        per_run=prefs.budget_per_run, per_day=prefs.budget_per_day, run_started_at=started_at, now=history.now()
    )
    return Budget(history, caps, stats=stats)


def check_generate_budget(settings: Settings, request: GenerationRequest, budget_text: str | None, out: Output) -> None:
    """Before ``generate`` sends anything: refuse (BudgetExceeded, exit 2) when its expected
    cost would cross a budget; say so when the price is unknown (no runs of the model yet)."""
    limit = parse_budget(budget_text)
    prefs = load_preferences(settings.config_path)
    if limit is None and prefs.budget_per_run is None and prefs.budget_per_day is None:
        return
    from ..core import client  # its clock stamps this command's records
    from ..core.history import history_path

    history = History(history_path(settings), clock=client.RealClock().now).open()
    try:
        model = request.resolved_model()
        stats = model_stats(history, [model])
        budget = config_budget(history, prefs, started_at=history.now(), stats=stats)
        if limit is not None:
            budget = budget.with_cap(Cap(f"--budget {limit:g}", limit, since=history.now()))
        expected = stats[model].credits_for(request.n or 1)
        verdict = budget.require(expected.median if expected else None, what=f"this task ({model})")
        if expected is None:
            out.note(
                f"The price of {model} is unknown (no runs yet); {max(0.0, verdict.left or 0.0):g} credits are left "
                "of the budget, so this one task is sent and its price is known from then on."
            )
    finally:
        history.close()


def notify_end(args, settings: Settings, title: str, body: str) -> None:
    """With ``--notify``: the bell and a desktop notification through the terminal (nothing
    when there is no terminal); config keys notify_bell / notify_desktop turn each off."""
    if not getattr(args, "notify", False):
        return
    send_notice(title, excerpt(body, 150), load_preferences(settings.config_path))
