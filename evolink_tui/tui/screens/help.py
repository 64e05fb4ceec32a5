"""Help: the keys of the focused panel, then the keys that work everywhere."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Static

from ..format import key_label


def _panel_name(widget: Widget | None) -> str:
    if widget is None:
        return "this screen"
    for node in (widget, *widget.ancestors):
        title = getattr(node, "border_title", None) or getattr(node, "BORDER_TITLE", None)
        if isinstance(node, Widget) and title:
            return Content.from_markup(str(title)).plain  # a lit border title is stored as markup
    return type(widget).__name__


Rows = list[tuple[str, str]]


def key_table(screen: Screen) -> tuple[Rows, Rows, Rows]:
    """(panel keys, keys everywhere, a built-in widget's own keys such as text editing),
    each as (key, description), for the screen's focused widget."""
    app = screen.app
    panel: list[tuple[bool, str, str]] = []
    everywhere: list[tuple[bool, str, str]] = []
    builtin_rows: list[tuple[bool, str, str]] = []
    seen: set[tuple[str, str]] = set()
    for _key, active in screen.active_bindings.items():
        binding = active.binding
        if not binding.description or binding.system:
            continue
        label = key_label(binding)
        entry = (not binding.show, label, binding.description)  # the key bar's keys first
        if (binding.action, label) in seen:
            continue
        seen.add((binding.action, label))
        if active.node in (screen, app):
            everywhere.append(entry)
        elif type(active.node).__module__.startswith("textual."):
            builtin_rows.append(entry)  # e.g. a text area's cursor keys: listed last
        else:
            panel.append(entry)
    ordered = lambda rows: [(key, text) for _, key, text in sorted(rows, key=lambda row: row[0])]  # noqa: E731
    return ordered(panel), ordered(everywhere), ordered(builtin_rows)


class HelpScreen(ModalScreen[None]):
    """F1 or ?: what the keys do here."""

    CSS_PATH = "../screens.tcss"  # parsed with the first of these screens to open, not at startup

    BINDINGS = [Binding("escape,f1,question_mark,q", "dismiss", "Close", id="help.close")]

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self._panel_name = _panel_name(screen.focused)
        self._panel, self._everywhere, self._builtin = key_table(screen)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box", classes="modal-box") as box:
            box.border_title = "Keys"
            box.border_subtitle = "esc closes"
            yield Static(self._section(f"In {self._panel_name}", self._panel), classes="help-section")
            yield Static(self._section("Everywhere", self._everywhere), classes="help-section")
            if self._builtin:
                yield Static(self._section("Editing and moving", self._builtin), classes="help-section")
            yield Static(
                Content.styled(
                    "ctrl+p opens the command palette: every action by name. Tab and shift+tab move between "
                    "fields; esc switches between the composer and the task list. The mouse works too.",
                    "dim",
                )
            )

    @staticmethod
    def _section(title: str, rows: list[tuple[str, str]]) -> Content:
        width = max((len(key) for key, _ in rows), default=0)
        lines = [Content.styled(title, "bold $accent")]
        if not rows:
            lines.append(Content.styled("  (no keys of its own)", "dim"))
        for key, description in rows:
            lines.append(Content.assemble(("  " + key.ljust(width), "bold"), "  ", description))
        return Content("\n").join(lines)
