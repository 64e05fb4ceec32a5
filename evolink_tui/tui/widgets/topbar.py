"""The one-line bar on top: app name, DEMO label, which key is in use, "offline, retrying"
while Evolink does not answer, uncertain submits, running tasks and the credits reserved
by this run of the app."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from ..format import credits


def budget_gauge(spent: float, limit: float, label: str, width: int = 8) -> str:
    """``budget/day ▰▰▰▱▱▱▱▱ 12/50``: how much of the tightest cap is spent."""
    share = min(1.0, spent / limit) if limit > 0 else 1.0
    filled = round(share * width)
    return f"· budget/{label} {'▰' * filled}{'▱' * (width - filled)} {credits(spent)}/{credits(limit)}"


class TopBar(Widget):
    demo: reactive[bool] = reactive(False)
    key: reactive[str] = reactive("")
    running: reactive[int] = reactive(0)
    spent: reactive[float] = reactive(0.0)
    endpoint: reactive[str] = reactive("")
    offline: reactive[str] = reactive("")  # "offline, retrying" while requests fail and are retried
    unsure: reactive[int] = reactive(0)  # uncertain submits waiting for the user
    budget: reactive[tuple[float, float, str] | None] = reactive(None)  # (spent, cap, "run"/"day")
    not_charged: reactive[int] = reactive(0)  # tasks of this run that failed or were refunded

    def render(self) -> Content:
        warn = f"{self.offline} · " if self.offline else ""
        warn += f"{self.unsure} unsure · " if self.unsure else ""
        right = f"{self.running} running · " if self.running else ""
        right += f"credits this run: {credits(self.spent) if self.spent else 0} "
        if self.budget is not None:
            right += budget_gauge(*self.budget) + " "
        if self.not_charged:
            right += f"(+{self.not_charged} failed, not charged) "
        left = self._left(detail=True)
        if left.cell_length + len(warn) + len(right) + 1 > self.size.width:
            left = self._left(detail=False)
        gap = max(1, self.size.width - left.cell_length - len(warn) - len(right))
        return Content.assemble(left, " " * gap, (warn, "bold $text-warning"), (right, "bold"))

    def _left(self, *, detail: bool) -> Content:
        parts: list = [(" evolink-tui ", "bold")]
        if self.demo:
            # ANSI themes cannot blend colours: the muted background would be the text's colour
            badge = "bold reverse $warning" if self.app.current_theme.ansi else "bold $text-warning on $warning-muted"
            parts.append((" DEMO ", badge))
            if detail:
                parts.append((" simulator: no key, no network, no credits", "dim"))
        else:
            parts.append((f" key {self.key}", "dim"))
            if detail and self.endpoint:
                parts.append((f" · {self.endpoint}", "dim"))
        return Content.assemble(*parts)
