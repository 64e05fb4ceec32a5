"""The model picker: all 20 models with tag, description and capabilities; type to filter,
space to mark several (a comparison run), enter to choose."""

from __future__ import annotations

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from evolink_tui.core.catalogue import Model, load_catalogue


def model_prompt(model: Model, marked: bool) -> Content:
    tag_style = "bold $success" if model.tier == "stable" else "bold $warning"
    return Content.assemble(
        ("[x] " if marked else "[ ] ", "bold $accent" if marked else "dim"),
        (model.id, "bold"),
        "  ",
        (model.tag, tag_style),
        "  ",
        (", ".join(model.capabilities), "$text-secondary"),
        "\n    ",
        (model.description, "dim"),
        (f" · sizes {len(model.all_sizes)} · n {model.n_min}-{model.n_max}" + (" · mask" if model.mask else ""), "dim"),
    )


class ModelList(OptionList):
    """The models; space marks, enter chooses, typing goes to the filter."""

    BINDINGS = [Binding("space", "screen.toggle_mark", "Mark", id="picker.mark")]

    def on_key(self, event: events.Key) -> None:
        screen = self.screen
        if not isinstance(screen, ModelPicker):
            return
        if event.is_printable and event.character and event.character != " ":
            event.stop()
            event.prevent_default()
            screen.type_into_filter(event.character)
        elif event.key == "backspace":
            event.stop()
            event.prevent_default()
            screen.type_into_filter(None)


class ModelPicker(ModalScreen[list[str] | None]):
    """Returns the chosen model ids (several for a comparison), or None."""

    CSS_PATH = "../screens.tcss"  # parsed with the first of these screens to open, not at startup

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="picker.cancel"),
        Binding("down", "focus_list", "To the list", show=False, id="picker.down"),
        Binding("ctrl+u", "clear_marks", "Clear marks", id="picker.clear"),
    ]

    def __init__(self, current: list[str] | tuple[str, ...]) -> None:
        super().__init__()
        self._catalogue = load_catalogue()
        self._marked: set[str] = set(current) if len(current) > 1 else set()
        self._start = current[0] if current else self._catalogue.default.id

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box", classes="modal-box") as box:
            box.border_title = "Pick models"
            box.border_subtitle = "type to filter · space marks · enter chooses · esc cancels"
            yield Input(
                placeholder="Filter: name, tag (stable, beta) or capability (fast, editing...)",
                id="filter",
                compact=True,
                select_on_focus=False,
            )
            yield ModelList(id="models")
            yield Static(id="marked")

    def on_mount(self) -> None:
        blink = getattr(self.app, "cursor_blink", True)
        self.query_one("#filter", Input).cursor_blink = blink
        self._fill("")
        self.query_one("#filter", Input).focus()

    # -- the list -------------------------------------------------------------------------

    def _fill(self, needle: str, keep: str | None = None) -> None:
        options = self.query_one("#models", ModelList)
        keep = keep or self._highlighted_id() or self._start
        models = self._catalogue.filter(needle)
        options.clear_options()
        options.add_options([Option(model_prompt(m, m.id in self._marked), id=m.id) for m in models])
        ids = [m.id for m in models]
        if ids:
            options.highlighted = ids.index(keep) if keep in ids else 0
        self._show_marked(len(models))

    def _highlighted_id(self) -> str | None:
        options = self.query_one("#models", ModelList)
        if options.highlighted is None or options.option_count == 0:
            return None
        return options.get_option_at_index(options.highlighted).id

    def _show_marked(self, shown: int | None = None) -> None:
        marked = [m.id for m in self._catalogue if m.id in self._marked]
        count = self.query_one("#models", ModelList).option_count if shown is None else shown
        head = f"{count} of {len(self._catalogue)} models shown. "
        if marked:
            text = Content.assemble(head, (f"{len(marked)} marked for a comparison: ", "bold"), ", ".join(marked))
        else:
            text = Content.assemble(head, ("Enter picks the highlighted model; space marks several.", "dim"))
        self.query_one("#marked", Static).update(text)

    @on(Input.Changed, "#filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def type_into_filter(self, character: str | None) -> None:
        """Typing in the list goes to the filter; None is a backspace."""
        box = self.query_one("#filter", Input)
        box.cursor_position = len(box.value)
        if character is None:
            box.value = box.value[:-1]
        else:
            box.insert_text_at_cursor(character)
        box.focus()

    # -- actions --------------------------------------------------------------------------

    def action_focus_list(self) -> None:
        self.query_one("#models", ModelList).focus()

    def action_toggle_mark(self) -> None:
        model_id = self._highlighted_id()
        if model_id is None:
            return
        self._marked.symmetric_difference_update({model_id})
        options = self.query_one("#models", ModelList)
        model = self._catalogue.get(model_id)
        assert model is not None
        options.replace_option_prompt(model_id, model_prompt(model, model_id in self._marked))
        self._show_marked()

    def action_clear_marks(self) -> None:
        self._marked.clear()
        self._fill(self.query_one("#filter", Input).value)

    def _choose(self) -> None:
        if self._marked:
            self.dismiss([m.id for m in self._catalogue if m.id in self._marked])
        elif (model_id := self._highlighted_id()) is not None:
            self.dismiss([model_id])

    @on(Input.Submitted, "#filter")
    def _submitted(self) -> None:
        self._choose()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._choose()
