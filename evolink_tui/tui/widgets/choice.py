"""A one-line choice among a few options, for the composer's size and n.

One focusable widget with no children, drawn as ``Size  auto  ▾``, in place of a textual
``Select`` (six nodes with its overlay, each costing style and layout work at startup). The
menu is a small modal screen (``choice_menu.py``) built only when it is opened.

Keys: right and left step to the next and previous option (no wrap: they stop at the ends,
like a spinner); enter, space or down open the menu; a click opens it too.

``value`` is always one of the options' values: setting any other value raises
``ValueError``, and ``set_options`` keeps the value when the new options still have it, else
falls back to the first option. Every change of value posts ``Choice.Changed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.cells import cell_len
from textual import events
from textual.binding import Binding
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

ARROW = "▾"
GAP = "  "  # between the label and the value


class Choice(Widget, can_focus=True):
    """A label and a value chosen among ``options`` (``(label, value)`` pairs)."""

    DEFAULT_CSS = """
    Choice {
        width: auto;
        height: 1;
        color: $text-muted;  /* the label; the value is drawn in $foreground */
        pointer: pointer;
    }
    """

    BINDINGS = [
        Binding("right", "step(1)", "Next option", show=False, id="choice.next"),
        Binding("left", "step(-1)", "Previous option", show=False, id="choice.previous"),
        Binding("enter,space,down", "open", "Choose from a list", show=False, id="choice.open"),
    ]

    value: reactive[Any] = reactive(None, init=False)
    """The value of the chosen option (always one of the options)."""

    class Changed(Message):
        """The value changed (by a key, the menu, or code)."""

        def __init__(self, choice: Choice, value: Any) -> None:
            super().__init__()
            self.choice = choice
            self.value = value

        @property
        def control(self) -> Choice:
            return self.choice

    def __init__(
        self,
        label: str,
        options: Sequence[tuple[str, Any]],
        *,
        value: Any = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.label = label
        self._options = self._checked(options)
        values = [v for _, v in self._options]
        if value is not None and value not in values:
            raise ValueError(f"{value!r} is not an option of {label!r}")
        self.set_reactive(Choice.value, values[0] if value is None else value)

    # -- options and value ------------------------------------------------------------

    @staticmethod
    def _checked(options: Sequence[tuple[str, Any]]) -> list[tuple[str, Any]]:
        checked = [(str(label), value) for label, value in options]
        if not checked:
            raise ValueError("a Choice needs at least one option")
        return checked

    @property
    def options(self) -> list[tuple[str, Any]]:
        """The ``(label, value)`` pairs, in order."""
        return list(self._options)

    def set_options(self, options: Sequence[tuple[str, Any]]) -> None:
        """New options; the value stays if it is still among them, else it becomes the first."""
        self._options = self._checked(options)
        values = [v for _, v in self._options]
        if self.value not in values:
            self.value = values[0]
        self.refresh(layout=True)

    @property
    def index(self) -> int:
        """The position of the value among the options."""
        for i, (_, value) in enumerate(self._options):
            if value == self.value:
                return i
        return 0

    @property
    def value_label(self) -> str:
        return self._options[self.index][0]

    def validate_value(self, value: Any) -> Any:
        if all(value != v for _, v in self._options):
            raise ValueError(f"{value!r} is not an option of {self.label!r}")
        return value

    def watch_value(self, value: Any) -> None:
        self.post_message(self.Changed(self, value))

    # -- drawing ------------------------------------------------------------------------

    def render(self) -> Content:
        width = self.content_size.width
        head = f"{self.label}{GAP}"
        label = self.value_label
        box_width = max(cell_len(label) + 2, width - cell_len(head))  # value, padding, arrow
        pad = " " * max(1, box_width - cell_len(label) - 1)
        if self.has_focus:  # NO_COLOR drops colours: reverse video shows the focus there
            box = "bold reverse" if self.app.no_color else "bold $block-cursor-foreground on $block-cursor-background"
            return Content.assemble(head, (label + pad + ARROW, box))
        return Content.assemble(head, (label, "bold $foreground"), pad, ARROW)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        widest = max(cell_len(label) for label, _ in self._options)
        return cell_len(self.label) + len(GAP) + widest + 2  # a space and the arrow

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 1

    # -- keys and mouse -----------------------------------------------------------------

    def action_step(self, delta: int) -> None:
        index = self.index + delta
        if 0 <= index < len(self._options):
            self.value = self._options[index][1]

    def action_open(self) -> None:
        from .choice_menu import ChoiceMenu

        menu = ChoiceMenu(
            [label for label, _ in self._options], self.index, self.region, value_column=cell_len(self.label) + len(GAP)
        )
        self.app.push_screen(menu, self._picked)

    def _picked(self, index: int | None) -> None:
        if index is not None and 0 <= index < len(self._options):
            self.value = self._options[index][1]

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.action_open()
