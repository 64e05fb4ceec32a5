"""Two small modals of matrix runs: the budget (per app run and per day) and a prompt file
to plan."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from evolink_tui.core.budget import parse_budget
from evolink_tui.core.errors import ValidationError

from .check import AskScreen


def _shown(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


class BudgetScreen(ModalScreen["tuple[float | None, float | None] | None"]):
    """Returns (per run, per day); an empty field means no cap. Enter in the last field saves."""

    CSS_PATH = "../screens.tcss"

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="budget.cancel")]

    def __init__(self, per_run: float | None, per_day: float | None) -> None:
        super().__init__()
        self._per_run = per_run
        self._per_day = per_day

    def compose(self) -> ComposeResult:
        with Vertical(id="budget-box", classes="modal-box") as box:
            box.border_title = "Budget"
            box.border_subtitle = "enter saves · esc cancels"
            yield Label(
                "Credits this app run may spend, and credits a day may spend (everything counted). "
                "Empty: no cap. Before a submit that would cross one, the app asks.",
                markup=False,
            )
            yield Input(_shown(self._per_run), placeholder="per run, such as 50", id="budget-run")
            yield Input(_shown(self._per_day), placeholder="per day, such as 200", id="budget-day")
            yield Label("", id="budget-problem", markup=False)

    @on(Input.Submitted, "#budget-run")
    def _next(self) -> None:
        self.query_one("#budget-day", Input).focus()

    @on(Input.Submitted, "#budget-day")
    def _save(self) -> None:
        try:
            per_run = parse_budget(self.query_one("#budget-run", Input).value.strip() or None, "budget_per_run")
            per_day = parse_budget(self.query_one("#budget-day", Input).value.strip() or None, "budget_per_day")
        except ValidationError as err:
            self.query_one("#budget-problem", Label).update(str(err))
            return
        self.dismiss((per_run, per_day))


class PromptFileScreen(AskScreen):
    """Returns the path typed."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="promptfile.cancel")]

    BOX_ID = "promptfile-box"
    HEADING = "Plan a prompt file"
    HINT = "enter plans · esc cancels"
    TEXT = (
        "A text file, one prompt a line ({a|b} variants allowed; lines starting with # are comments). "
        "Each line runs on the marked models; nothing is sent before you confirm the plan."
    )
    PLACEHOLDER = "path to the prompt file"
    INPUT_ID = "prompt-file"
