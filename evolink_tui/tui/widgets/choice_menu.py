"""The menu of a ``Choice``: a small list placed just under the widget (or above it when
there is no room below), its options lined up with the value, the current one highlighted.
Enter or a click picks, escape or a click outside cancels. Imported only when opened."""

from __future__ import annotations

from rich.cells import cell_len
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.geometry import Region
from textual.screen import ModalScreen
from textual.widgets import OptionList

BORDER = 1
PAD = 1  # each option's padding, left and right


class ChoiceMenu(ModalScreen[int | None]):
    """Returns the index of the picked option, or None."""

    DEFAULT_CSS = """
    ChoiceMenu > OptionList, ChoiceMenu > OptionList:focus {
        position: absolute;
        border: round $accent;
        background: $surface;
        padding: 0;
        scrollbar-size-vertical: 1;
        & > .option-list--option {
            padding: 0 1;
        }
    }
    """

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="choice.cancel")]

    def __init__(self, labels: list[str], index: int, anchor: Region, *, value_column: int = 0) -> None:
        super().__init__()
        self._labels = labels
        self._index = index
        self._anchor = anchor
        self._value_column = value_column

    def compose(self) -> ComposeResult:
        yield OptionList(*(Content(label) for label in self._labels), id="choice-menu")

    def on_mount(self) -> None:
        menu = self.query_one(OptionList)
        screen_w, screen_h = self.app.size
        anchor = self._anchor
        height = min(len(self._labels) + 2 * BORDER, screen_h)
        scrolls = height < len(self._labels) + 2 * BORDER
        widest = max(cell_len(label) for label in self._labels)
        width = min(widest + 2 * (BORDER + PAD) + (1 if scrolls else 0), screen_w)
        x = max(0, min(anchor.x + self._value_column - BORDER - PAD, screen_w - width))  # options under the value
        if anchor.bottom + height <= screen_h:
            y = anchor.bottom  # below the widget
        elif anchor.y - height >= 0:
            y = anchor.y - height  # above it
        else:
            y = max(0, screen_h - height)
        menu.styles.width = width
        menu.styles.height = height
        menu.styles.offset = (x, y)
        menu.highlighted = self._index
        menu.focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option_index)

    def on_click(self, event: events.Click) -> None:
        if event.widget is self:  # outside the list
            self.dismiss(None)
