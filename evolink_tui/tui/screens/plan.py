"""The plan of a matrix run, before anything is sent: how many tasks and images, the expected
credits (per model from what it cost this user before: "unknown" with no runs, a range
otherwise) and the expected time; every task listed. Space drops a task (or puts it back),
the sizes field multiplies the matrix by more sizes, ctrl+j confirms, esc sends nothing.

Returns the plan (with its dropped tasks) to the caller, who stores and runs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from evolink_tui.core.errors import ValidationError
from evolink_tui.core.text import excerpt
from evolink_tui.core.timing import duration_text as duration

from ..format import plain
from ..widgets.keybar import KeyBar

if TYPE_CHECKING:
    from evolink_tui.core.plan import Plan, PlannedTask
    from evolink_tui.core.validation import GenerationRequest

    from ..app import EvolinkApp


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def credits_text(task: PlannedTask) -> str:
    if task.credits is None:
        return "unknown"
    text = f"{task.credits.median:g}"
    return text + (f" ({task.credits.low:g}-{task.credits.high:g})" if task.credits.low != task.credits.high else "")


class PlanScreen(Screen["Plan | None"]):
    """See the module docstring."""

    CSS_PATH = "../screens.tcss"

    BINDINGS = [
        Binding("ctrl+j,ctrl+enter", "confirm", "Send", priority=True, id="plan.confirm"),
        Binding("space,d", "drop", "Drop/keep task", id="plan.drop"),
        Binding("ctrl+s", "focus_sizes", "Sizes", id="plan.sizes"),
        Binding("escape", "cancel", "Cancel", id="plan.cancel"),
    ]

    app: EvolinkApp

    def __init__(self, plan: Plan, requests: list[GenerationRequest]) -> None:
        super().__init__(id="plan")
        self.plan = plan
        self._requests = requests

    def compose(self) -> ComposeResult:
        yield KeyBar()
        yield Static(id="plan-summary", markup=False)
        yield Input(
            ", ".join(self.plan.matrix.sizes),
            placeholder="Sizes: the model's default; or several, such as 1:1, 16:9 (enter applies)",
            id="plan-sizes",
        )
        table: DataTable = DataTable(id="plan-tasks", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static(id="plan-models", markup=False)

    def on_mount(self) -> None:
        self._fill()
        self.query_one("#plan-tasks", DataTable).focus()

    # -- drawing ------------------------------------------------------------------------

    def _fill(self) -> None:
        table = self.query_one("#plan-tasks", DataTable)
        table.clear(columns=True)
        table.add_columns("#", "send", "model", "size", "n", "credits", "time", "prompt")
        for task in self.plan.tasks:
            table.add_row(*self._cells(task), key=str(task.seq))
        self._summarise()

    def _cells(self, task: PlannedTask) -> list[Text]:
        dropped = task.seq in self.plan.dropped
        style = "dim strike" if dropped else ""
        values = [
            str(task.seq),
            "dropped" if dropped else "yes",
            plain(task.cell.model, 40),
            task.cell.size or "default",
            str(task.images),
            credits_text(task),
            duration(task.seconds) + ("?" if task.seconds_guessed else ""),
            excerpt(plain(task.cell.prompt, 500), 80),
        ]
        return [Text(value, style=style, no_wrap=True) for value in values]  # Text: never read as markup

    def _summarise(self) -> None:
        plan = self.plan
        chosen = plan.chosen
        sizes = _plural(len(plan.matrix.sizes), "size") if plan.matrix.sizes else "default size"
        prompts = sum(t.count() for t in plan.matrix.parsed)
        lines = [
            f"Plan: {_plural(len(chosen), 'task')}, {_plural(plan.images, 'image')} "
            f"({_plural(prompts, 'prompt')} × {_plural(len(plan.stats), 'model')} × {sizes})"
            + (f"; {len(plan.dropped)} dropped" if plan.dropped else ""),
            f"Expected cost: {plan.cost.describe()}",
            f"Expected time: about {duration(plan.seconds)}, {plan.concurrency} at a time"
            + (" (partly a guess from the models' speed: no runs yet)" if plan.seconds_guessed else ""),
            "Nothing is sent until you press ctrl+j. Space drops a task or puts it back; esc sends nothing.",
        ]
        verdict = self.app.studio.batches.check_plan(plan)
        if verdict.cap is not None:
            left = max(0.0, verdict.left or 0.0)
            lines.append(
                f"Budget: {left:g} credits left of {verdict.cap.label}"
                + ("" if verdict.ok else " — this plan would cross it: drop tasks, or ctrl+j asks to raise it")
            )
        for seqs, err in plan.distinct_problems():
            lines.append(f"Problem ({_plural(len(seqs), 'task')}): {err}")
        self.query_one("#plan-summary", Static).update(Content("\n".join(lines)))
        models = []
        for model, stats in plan.stats.items():
            if stats.runs:
                models.append(f"{model}: {stats.describe()} (median of {_plural(stats.runs, 'run')})")
            else:
                models.append(f"{model}: no runs yet, price unknown (time: about {duration(stats.expected_seconds)})")
        self.query_one("#plan-models", Static).update(Content("\n".join(models)))

    # -- actions ------------------------------------------------------------------------

    def action_drop(self) -> None:
        table = self.query_one("#plan-tasks", DataTable)
        if not self.plan.tasks or table.cursor_row is None:
            return
        task = self.plan.tasks[table.cursor_row]
        if task.seq in self.plan.dropped:
            self.plan.restore(task.seq)
        else:
            self.plan.drop(task.seq)
        for column, value in enumerate(self._cells(task)):
            table.update_cell_at(Coordinate(table.cursor_row, column), value)
        self._summarise()
        if table.cursor_row < len(self.plan.tasks) - 1:
            table.move_cursor(row=table.cursor_row + 1)

    def action_focus_sizes(self) -> None:
        self.query_one("#plan-sizes", Input).focus()

    @on(Input.Submitted, "#plan-sizes")
    def _sizes(self, event: Input.Submitted) -> None:
        from evolink_tui.core.matrix import split_list

        from ..batch_flow import matrix_of

        text = event.value.strip()
        try:
            sizes = split_list("sizes", text) if text else ()
            plan = self.app.studio.batches.plan(matrix_of(self._requests, self.plan.matrix.templates, sizes))
        except ValidationError as err:
            self.notify(f"Sizes not applied. {err}", severity="error", markup=False)
            return
        self.plan = plan
        self._fill()
        self.query_one("#plan-tasks", DataTable).focus()

    def action_confirm(self) -> None:
        if not self.plan.chosen:
            self.notify("Every task is dropped: nothing to send. Space puts a task back.", markup=False)
            return
        try:
            self.plan.check()
        except ValidationError as err:
            self.notify(f"Not sent. {err}", severity="error", markup=False, timeout=10)
            return
        verdict = self.app.studio.batches.check_plan(self.plan)
        if verdict.ok:
            self.dismiss(self.plan)
            return
        from ..batch_flow import ask_budget

        # Asked here, so that "no" leaves the plan open to drop tasks.
        ask_budget(self.app, verdict, f"This batch ({len(self.plan.chosen)} tasks)", self._send)

    def _send(self) -> None:
        self.dismiss(self.plan)

    def action_cancel(self) -> None:
        self.notify("Plan dropped: nothing was sent.", markup=False)
        self.dismiss(None)
