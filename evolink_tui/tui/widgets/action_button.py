"""A one-line primary button: what the composer's Generate needs of Textual's ``Button``.

Textual's ``Button`` brings a style sheet with rules for every variant, flat and ANSI style
(about 3 ms to parse at startup) for one compact primary button. This one draws the same:
its label centred and bold on ``$primary``, darker on hover, the theme's button focus style
when focused, a short tint when pressed. Enter, space and a click press it.
"""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.widget import Widget


class ActionButton(Widget, can_focus=True):
    """A compact primary button that posts ``ActionButton.Pressed``."""

    ALLOW_SELECT = False

    DEFAULT_CSS = """
    ActionButton {
        width: auto;
        min-width: 16;
        height: 1;
        line-pad: 1;
        text-align: center;
        content-align: center middle;
        text-style: bold;
        color: $button-color-foreground;
        background: $primary;
        pointer: pointer;
        &:hover { background: $primary-darken-2; }
        &:focus { text-style: $button-focus-text-style; background-tint: $foreground 5%; }
        &.-active { background: $primary; tint: $background 30%; }
        &:disabled { text-opacity: 0.6; pointer: not-allowed; }
    }
    """

    BINDINGS = [Binding("enter,space", "press", "Press", show=False, id="button.press")]

    ACTIVE_SECONDS = 0.2

    class Pressed(Message):
        def __init__(self, button: ActionButton) -> None:
            super().__init__()
            self.button = button

        @property
        def control(self) -> ActionButton:
            return self.button

    def __init__(self, label: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._label = Content(label)

    @property
    def label(self) -> Content:
        return self._label

    @label.setter
    def label(self, text: str) -> None:
        label = Content(text)
        if label.plain == self._label.plain:
            return  # the same words: nothing to draw (a wave of finished tasks reprices often)
        width_changed = label.cell_length != self._label.cell_length
        self._label = label
        self.refresh(layout=width_changed)  # a new width lays the screen out again; else a repaint

    def render(self) -> Content:
        return self._label

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return self._label.cell_length + 2

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 1

    def press(self) -> None:
        if self.disabled or not self.display or self.has_class("-active"):
            return
        self.add_class("-active")
        self.set_timer(self.ACTIVE_SECONDS, lambda: self.remove_class("-active"))
        self.post_message(self.Pressed(self))

    def action_press(self) -> None:
        self.press()

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.press()
