"""The model picker: all 20 models, one line each (mark, id, tag, speed, capabilities), the
highlighted one's details and what it cost this user before below; type to filter, space to
mark several (a comparison run), enter to choose."""

from __future__ import annotations

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from evolink_tui.core.catalogue import Model, load_catalogue
from evolink_tui.core.costs import ModelStats

CAPABILITY_SHORT = {"text-to-image": "draw", "image-editing": "edit"}
SPEED_CAPABILITIES = ("fast", "ultra-fast")  # shown in the speed column already
ID_WIDTH = 31


def model_prompt(model: Model, marked: bool) -> Content:
    """One line: mark, id, STABLE/BETA, speed, capabilities (the details go below the list)."""
    tag_style = "bold $success" if model.tier == "stable" else "bold $warning"
    capabilities = [CAPABILITY_SHORT.get(c, c) for c in model.capabilities if c not in SPEED_CAPABILITIES]
    return Content.assemble(
        ("[x] " if marked else "[ ] ", "bold $accent" if marked else "dim"),
        (model.id.ljust(ID_WIDTH), "bold"),
        (model.tag.ljust(7), tag_style),
        (model.speed.ljust(11), "$text-secondary"),
        (", ".join(capabilities), "$text-secondary"),
    )


def model_details(model: Model, stats: ModelStats | None) -> Content:
    """The highlighted model: description; sizes, n, mask, references; what it cost before."""
    low, high = model.reference_range
    refs = "no reference images" if high == 0 else f"{low}-{high} reference images"
    if low:
        refs += " (needs one: editing only)"
    seen = stats.describe() if stats else "…"
    return Content.assemble(
        (model.id, "bold"),
        ": ",
        model.description,
        "\n",
        (
            f"sizes {', '.join(model.all_sizes[:6])}{'…' if len(model.all_sizes) > 6 else ''} · "
            f"n {model.n_min}-{model.n_max} · {'mask' if model.mask else 'no mask'} · {refs}",
            "dim",
        ),
        "\n",
        ("Your runs: ", "dim"),
        (seen, "bold" if stats and stats.runs else "dim"),
    )


class FilterInput(Input):
    """The filter: space is not typed (no model name has one) but marks the highlighted model."""

    async def on_key(self, event: events.Key) -> None:
        if event.key == "space":  # not typed: marks, in turn with the keys typed before it
            event.stop()
            event.prevent_default()
            await self.run_action("screen.toggle_mark")


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
        self._stats: dict[str, ModelStats] = {}
        self._shown_for = ""  # the filter the list was last filled for

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box", classes="modal-box") as box:
            box.border_title = "Pick models"
            box.border_subtitle = "type to filter · space marks · enter chooses · esc cancels"
            yield FilterInput(
                placeholder="Filter: name, tag (stable, beta) or capability (fast, editing...)",
                id="filter",
                compact=True,
                select_on_focus=False,
            )
            yield ModelList(id="models")
            yield Static(id="model-details")
            yield Static(id="marked")

    def on_mount(self) -> None:
        blink = getattr(self.app, "cursor_blink", True)
        self.query_one("#filter", Input).cursor_blink = blink
        self._fill("")
        self.query_one("#filter", Input).focus()
        self._load_stats()

    @work(exclusive=True, group="picker-stats", exit_on_error=False)
    async def _load_stats(self) -> None:
        from ..spend import stats_for

        self._stats = await stats_for(self.app, self._catalogue.ids())  # type: ignore[arg-type]
        self._show_details()

    def _show_details(self) -> None:
        model_id = self._highlighted_id()
        model = self._catalogue.get(model_id) if model_id else None
        details = self.query_one("#model-details", Static)
        details.update(model_details(model, self._stats.get(model.id)) if model else Content(""))

    @on(OptionList.OptionHighlighted, "#models")
    def _highlighted(self) -> None:
        self._show_details()

    # -- the list -------------------------------------------------------------------------

    def _fill(self, needle: str, keep: str | None = None) -> None:
        options = self.query_one("#models", ModelList)
        self._shown_for = needle
        keep = keep or self._highlighted_id() or self._start
        models = self._catalogue.filter(needle)
        options.clear_options()
        options.add_options([Option(model_prompt(m, m.id in self._marked), id=m.id) for m in models])
        ids = [m.id for m in models]
        if ids:
            options.highlighted = ids.index(keep) if keep in ids else 0
        self._show_marked(len(models))
        self._show_details()

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
        if event.value != self._shown_for:
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

    def _current(self) -> None:
        """Keys sent in one burst (``fast``, down, space) can arrive before the filter's change
        was shown: the list is brought up to the filter as typed before a key acts on it."""
        needle = self.query_one("#filter", Input).value
        if needle != self._shown_for:
            self._fill(needle)

    def action_focus_list(self) -> None:
        self._current()
        self.set_focus(self.query_one("#models", ModelList))

    def action_toggle_mark(self) -> None:
        self._current()
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
