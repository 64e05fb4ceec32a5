"""The key bar at the bottom of every screen: the keys that work here, and the command
palette's key on the right. Click a key to press it.

One widget that draws the bindings itself, in the compact look of Textual's ``Footer``.
The ``Footer`` is a container with a widget per key, built only after the first frame
(so the first frame has no keys) and rebuilt whole at every focus change; this draws the
keys in the first frame and redraws a single line when the bindings change.
"""

from __future__ import annotations

from typing import NamedTuple

from textual import events
from textual.binding import Binding
from textual.content import Content
from textual.widget import Widget

from ..format import key_label

KEY_STYLE = "bold $footer-key-foreground on $footer-key-background"
DESCRIPTION_STYLE = "$footer-description-foreground on $footer-description-background"
HOVER_STYLE = "on $block-hover-background"


class KeyItem(NamedTuple):
    key: str  # what a click presses
    display: str  # how the key is shown, such as ^j or f2
    description: str
    enabled: bool
    keep: bool = False  # shown even when the bar is short of room (help: it lists the rest)


def _declared_at(node: object, binding: Binding) -> int:
    ids = [b.id for b in getattr(type(node), "BINDINGS", ()) if isinstance(b, Binding)]
    return ids.index(binding.id) if binding.id in ids else len(ids)


class KeyBar(Widget):
    """The bindings of the focused widget and its ancestors, one line."""

    ALLOW_SELECT = False

    DEFAULT_CSS = """
    KeyBar {
        split: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._spans: list[tuple[int, int, KeyItem]] = []  # where each key was drawn
        self._hover: KeyItem | None = None
        self._drawn: tuple = ()  # (what was drawn, the line): a redraw with no change reuses it

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, lambda _screen: self.refresh())

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def items(self) -> tuple[list[KeyItem], KeyItem | None]:
        """The keys shown on the left (one per action, in binding order), and the palette's."""
        app = self.app
        active = self.screen.active_bindings
        shown: dict[str, KeyItem] = {}
        order: dict[str, tuple[int, int]] = {}  # where the action's binding is declared
        nodes: list[object] = []
        for node, binding, enabled, _tooltip in active.values():
            if binding.show and binding.action not in shown:
                keep = binding.action.endswith("show_help")
                shown[binding.action] = KeyItem(binding.key, key_label(binding), binding.description, enabled, keep)
                if node not in nodes:
                    nodes.append(node)
                order[binding.action] = (nodes.index(node), _declared_at(node, binding))
        # A key remapped by the user's [keymap] comes last in Textual's table: keep the
        # declared order (Generate stays first, where a narrow bar still shows it).
        shown = dict(sorted(shown.items(), key=lambda entry: order[entry[0]]))
        palette = None
        if app.ENABLE_COMMAND_PALETTE and app.COMMAND_PALETTE_BINDING in active:
            _node, binding, enabled, _tooltip = active[app.COMMAND_PALETTE_BINDING]
            palette = KeyItem(binding.key, key_label(binding), binding.description, enabled)
        return list(shown.values()), palette

    def _piece(self, item: KeyItem) -> Content:
        piece = Content.assemble((item.display, KEY_STYLE), (f" {item.description}", DESCRIPTION_STYLE))
        if not item.enabled:
            piece = piece.stylize("dim")
        if item == self._hover:
            piece = piece.stylize(HOVER_STYLE)
        return piece

    def render(self) -> Content:
        if self._drawn and not self.screen.is_active and self._drawn[0][2] == self.size.width:
            # A modal is on top: its bindings are not this screen's ("screen." actions would ask
            # the modal), so the bar keeps what it said for this screen.
            return self._drawn[1]
        left, palette = self.items()
        width = self.size.width
        key = (tuple(left), palette, width, self._hover)
        if self._drawn and self._drawn[0] == key:
            return self._drawn[1]
        right = Content.assemble(("▏", "$foreground 20%"), self._piece(palette), " ") if palette else Content("")
        room = width - right.cell_length
        parts: list[Content] = []
        spans: list[tuple[int, int, KeyItem]] = []
        x = 0
        kept = [item for item in left if item.keep]
        if sum(self._piece(item).cell_length + 1 for item in left) - 1 > room:
            # no room for all: the others give way to help (F1), which lists every key
            room -= sum(self._piece(item).cell_length + 1 for item in kept)
            left = [item for item in left if not item.keep]
        else:
            kept = []
        for item in left + kept:
            piece = self._piece(item)
            if x + piece.cell_length > room and item not in kept:
                room = -1  # the rest of the others are dropped; the kept ones still come
                continue
            parts.append(piece)
            spans.append((x, x + piece.cell_length, item))
            x += piece.cell_length + 1
            parts.append(Content(" "))
        line = Content("").join(parts)
        gap = max(0, width - line.cell_length - right.cell_length)
        if palette:
            start = width - right.cell_length + 1
            spans.append((start, width - 1, palette))
        self._spans = spans
        drawn = Content.assemble(line, " " * gap, right)
        self._drawn = (key, drawn)
        return drawn

    @property
    def shown(self) -> list[KeyItem]:
        """The keys on the bar as last drawn (none before the first frame)."""
        return [item for _start, _end, item in self._spans]

    def _item_at(self, x: int) -> KeyItem | None:
        for start, end, item in self._spans:
            if start <= x < end:
                return item
        return None

    def on_click(self, event: events.Click) -> None:
        item = self._item_at(event.x)
        if item is None:
            return
        event.stop()
        if item.enabled:
            self.app.simulate_key(item.key)
        else:
            self.app.bell()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        item = self._item_at(event.x)
        if item != self._hover:
            self._hover = item
            self.refresh()

    def on_leave(self) -> None:
        if self._hover is not None:
            self._hover = None
            self.refresh()
