"""The composer: prompt, models, size, n, reference images and mask, validated as you type.

The composer owns its widgets and its inline validation. It never sends anything: the
screen asks it for ``requests()`` (one per marked model) when the user generates.
Validation that touches the disk (local reference files) runs in a thread worker, latest
wins; the character count is updated at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.color import Color
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input, Static, TextArea
from textual.worker import get_current_worker

from evolink_tui.core.catalogue import Model, load_catalogue
from evolink_tui.core.validation import GenerationRequest, problems

from ..format import plain, short_problem
from .action_button import ActionButton
from .choice import Choice
from .fields import ModelsLine, PromptHeader
from .params import ParamFields, specs_of

if TYPE_CHECKING:
    from evolink_tui.core.params import Value

    from .reflist import RefList

AUTO = ""  # the size value meaning "not set: the model's default"


class Limits(NamedTuple):
    """What every marked model accepts: a comparison run sends the same settings to each.
    (NamedTuples here and for other small records: a dataclass takes far longer to define,
    and these are all defined while the app starts.)"""

    sizes: tuple[str, ...]
    n_max: int
    mask: bool
    max_images: int

    @classmethod
    def of(cls, models: list[Model]) -> Limits:
        sizes = [s for s in models[0].all_sizes if all(s in m.all_sizes for m in models[1:])]
        return cls(
            tuple(sizes), min(m.n_max for m in models), all(m.mask for m in models), min(m.max_images for m in models)
        )


def reference_label(ref: str) -> Content:
    """A reference as its file name (the folder or host after it, dim): long URLs and paths
    would show only their start in the narrow list."""
    head, _, name = ref.rstrip("/").rpartition("/")
    if "://" in ref:
        where = ref.split("://", 1)[1].split("/", 1)[0]
        name = name.split("?", 1)[0] or where
    else:
        where = head.rpartition("/")[2] if head else ""
    label = Content(plain(name or ref, 60))
    return label + Content.styled(f"  {plain(where, 40)}", "dim") if where else label


class Composer(Vertical):
    """Everything one generation needs, with the problems shown before submit."""

    BORDER_TITLE = "Compose"
    BINDINGS = [Binding("f8", "edit_prompt", "Editor", show=False, id="composer.editor")]

    models: reactive[tuple[str, ...]] = reactive(tuple, init=False)
    """The marked models; more than one makes a comparison run."""

    class GenerateRequested(Message):
        """The Generate button was pressed."""

    class PickModelsRequested(Message):
        """The model line was clicked."""

    class ReferenceAdded(Message):
        """A reference was added (the App offers to fit a local one over 4 MB)."""

        def __init__(self, ref: str) -> None:
            super().__init__()
            self.ref = ref

    class ReopenRequested(Message):
        """``reopen:PATH`` was typed in the reference field: refill from that image's recipe."""

        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path

    class Validated(Message):
        def __init__(self, problems: list[str], serial: int) -> None:
            super().__init__()
            self.problems = problems
            self.serial = serial

    def __init__(self, *, cursor_blink: bool = True, id: str | None = None) -> None:
        super().__init__(id=id)
        self._catalogue = load_catalogue()
        self._refs: list[str] = []
        self._cursor_blink = cursor_blink
        self._serial = 0
        self._tried = False  # an empty prompt is a problem only once generate was tried
        self.set_reactive(Composer.models, (self._catalogue.default.id,))

    # -- layout -------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        limits = self.limits
        yield PromptHeader(id="count")
        yield TextArea(id="prompt", soft_wrap=True, tab_behavior="focus")
        line = ModelsLine(id="models-line")
        line.tooltip = "Pick models (F2)"
        yield line
        with Horizontal(classes="row"):
            yield Choice("Size", self._size_options(limits), id="size")
            yield Choice("n", self._n_options(limits), id="n")
        # The marked models' extra parameters (quality, seed...), #params, are mounted after this
        # row when the first model that declares some is marked.
        yield Input(placeholder="Add reference: path or URL, enter", id="ref-input")
        # The reference list (#refs) is mounted with the first reference, after #ref-input.
        yield Input(placeholder=self._mask_placeholder(limits), id="mask", disabled=not limits.mask)
        # The problems (#problems) are mounted with the first one to show, before #generate.
        yield ActionButton(f"Generate ({self._generate_key()})", id="generate")

    def _generate_key(self) -> str:
        """The generate key the button names: the user's own ([keymap]) if they set one."""
        settings = getattr(self.app, "settings", None)
        keys = getattr(settings, "keymap", {}).get("generate")
        return keys[0] if keys else "ctrl+j"

    def on_mount(self) -> None:
        self._apply_models()
        self.query_one("#prompt", TextArea).cursor_blink = self._cursor_blink
        for inp in self.query(Input):
            inp.cursor_blink = self._cursor_blink
        self._show_refs()
        self.call_after_refresh(self.reprice)
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.light(self._lit, again=True))

    # -- the border and its title take the accent colour while a field inside has focus. Set on
    # this widget alone: a :focus-within rule restyles every widget in the composer at each
    # focus change, and a border-title-color repaints them all -----------------------------

    _lit = False

    def on_descendant_focus(self) -> None:
        self.light(True)

    def on_descendant_blur(self) -> None:
        self.light(self.has_focus_within)  # focus may have moved to another field in here

    def light(self, lit: bool, *, again: bool = False) -> None:
        if lit == self._lit and not again:
            return
        self._lit = lit
        if lit:
            accent = self.app.theme_variables.get("accent", "ansi_bright_blue")
            self.styles.border = ("round", Color.parse(accent))
            self.border_title = Content.styled(self.BORDER_TITLE, accent)
        else:
            self.styles.border = None  # back to the stylesheet's
            self.border_title = self.BORDER_TITLE

    # -- what the user asked for ----------------------------------------------------

    @property
    def prompt(self) -> str:
        return self.query_one("#prompt", TextArea).text

    @property
    def limits(self) -> Limits:
        return Limits.of(self._marked())

    def _marked(self) -> list[Model]:
        marked = [model for m in self.models if (model := self._catalogue.get(m)) is not None]
        return marked or [self._catalogue.default]

    @property
    def params(self) -> ParamFields | None:
        """The extra parameters' fields; None until a model that declares some was marked."""
        return self.query_one_optional("#params", ParamFields)

    def _show_params(self, values: dict[str, object] | None = None) -> None:
        specs = specs_of(self._marked())
        fields = self.params
        if fields is not None:
            fields.set_specs(specs, values)
        elif specs:  # the first model with extra parameters: their box comes after size and n
            self.mount(ParamFields(specs, values, id="params"), before="#ref-input")

    @property
    def references(self) -> list[str]:
        return list(self._refs)

    @property
    def reference_index(self) -> int | None:
        """The highlighted reference in the list (None: none highlighted, or no list yet)."""
        from .reflist import RefList

        found = self.query("#refs")
        return found.first(RefList).index if found else None

    @property
    def mask(self) -> str:
        return self.query_one("#mask", Input).value.strip()

    def requests(self) -> list[GenerationRequest]:
        """One request per marked model, all with the same settings."""
        size = self.query_one("#size", Choice).value
        n = self.query_one("#n", Choice).value
        mask = self.query_one("#mask", Input)
        fields = self.params
        return [
            GenerationRequest(
                prompt=self.prompt,
                model=model,
                size=size if isinstance(size, str) and size else None,
                n=n if isinstance(n, int) and n > 1 else None,
                images=tuple(self._refs),
                mask=mask.value.strip() or None if not mask.disabled else None,
                # each model gets the parameters it declares (a comparison run may mix them)
                params=self._params_for(fields, model),
            )
            for model in self.models
        ]

    def _params_for(self, fields: ParamFields | None, model: str) -> tuple[tuple[str, Value], ...]:
        """The extra parameters ``model`` declares, as set in the fields (a comparison run may
        mix models that declare different ones)."""
        if fields is None:
            return ()
        return tuple((name, value) for name, value in fields.values(model) if self._declares(model, name))

    def _declares(self, model_id: str, name: str) -> bool:
        model = self._catalogue.get(model_id)
        return model is not None and model.param(name) is not None

    # -- changing it ------------------------------------------------------------------

    def set_models(self, models: list[str] | tuple[str, ...]) -> None:
        known = tuple(dict.fromkeys(m for m in models if m in self._catalogue))
        self.models = known or (self._catalogue.default.id,)

    def watch_models(self) -> None:
        self._apply_models()
        self.revalidate()
        self.reprice()

    # -- what Generate is expected to cost, from what these models cost this user before ------

    def reprice(self) -> None:
        """Read the marked models' past runs (in a thread) and show the expected cost beside Generate."""
        if self.is_mounted:
            n = self.query_one("#n", Choice).value
            self._price(list(self.models), n if isinstance(n, int) else 1)

    @work(thread=True, exclusive=True, group="price", exit_on_error=False)
    def _price(self, models: list[str], n: int) -> None:
        from evolink_tui.core.costs import model_stats

        studio = getattr(self.app, "studio", None)
        if studio is None:
            return
        stats = model_stats(studio.history, models, catalogue=self._catalogue)
        spreads = [s.credits_for(n) for s in stats.values()]
        if all(spreads):
            total = sum(s.median for s in spreads if s)
            seconds = max(s.expected_seconds for s in stats.values())
            short = f"≈{total:g} cr, {seconds:.0f}s"
        else:
            short = "no runs yet" if len(models) == 1 else "cost partly unknown"
        detail = "\n".join(f"{m}: {s.describe()}" for m, s in stats.items())
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_price, short, detail)

    def _show_price(self, short: str, detail: str) -> None:
        button = self.query_one("#generate", ActionButton)
        full = f"Generate ({self._generate_key()}) · {short}"
        room = self.content_region.width - 2  # the key bar says ctrl+j too, when this is narrow
        button.label = full if len(full) <= room else f"Generate · {short}"
        button.tooltip = f"Expected from your earlier runs (credits per image, median time):\n{detail}"

    @staticmethod
    def _size_options(limits: Limits) -> list[tuple[str, str]]:
        return [("auto", AUTO), *((s, s) for s in limits.sizes)]

    @staticmethod
    def _n_options(limits: Limits) -> list[tuple[str, int]]:
        return [(str(i), i) for i in range(1, limits.n_max + 1)]

    def _apply_models(self) -> None:
        limits = self.limits
        shown = plain(", ".join(self.models), 500)
        line = self.query_one("#models-line", ModelsLine)
        line.text = shown if len(self.models) == 1 else f"{len(self.models)} to compare: {shown}"
        # A value the new models do not take falls back to the first option (auto, 1).
        self.query_one("#size", Choice).set_options(self._size_options(limits))
        self.query_one("#n", Choice).set_options(self._n_options(limits))
        mask = self.query_one("#mask", Input)
        mask.disabled = not limits.mask
        mask.placeholder = self._mask_placeholder(limits)
        self._show_params()
        self.query_one("#ref-input", Input).placeholder = self._reference_hint()

    @staticmethod
    def _mask_placeholder(limits: Limits) -> str:
        return "Mask PNG path or URL" if limits.mask else "Mask: only for gpt-4o-image"

    def set_prompt(self, text: str) -> bool:
        """The prompt replaced by ``text`` as one edit (ctrl+z in the prompt undoes it). True
        when a non-empty, different prompt was replaced."""
        area = self.query_one("#prompt", TextArea)
        replaced = bool(area.text.strip()) and area.text != text
        area.replace(text, area.document.start, area.document.end)
        area.move_cursor(area.document.end)
        return replaced

    def action_edit_prompt(self) -> None:
        """The prompt in the user's $EDITOR (F8; the palette's "Edit prompt in editor")."""
        from ..prompt_editor import edit_prompt

        edited = edit_prompt(self.app, self.prompt)
        if edited is not None:
            self.set_prompt(edited)
        self.query_one("#prompt", TextArea).focus()

    def fill(self, request: GenerationRequest) -> bool:
        """The composer refilled with exactly these settings (regenerate). True when a
        different prompt was replaced (ctrl+z in the prompt brings it back)."""
        replaced = self.set_prompt(request.prompt)
        self.set_models([request.resolved_model()])
        self._apply_models()
        size = self.query_one("#size", Choice)
        size.value = request.size if request.size in self.limits.sizes else AUTO
        n = self.query_one("#n", Choice)
        n.value = request.n if isinstance(request.n, int) and 1 <= request.n <= self.limits.n_max else 1
        self._refs = list(request.images)
        self._show_refs()
        mask = self.query_one("#mask", Input)
        mask.value = request.mask or ""
        self._show_params(dict(request.params))
        self.revalidate()
        return replaced

    def add_reference(self, ref: str) -> bool:
        ref = ref.strip()
        if not ref or ref in self._refs:
            return False
        if len(self._refs) >= self.limits.max_images:
            self.notify(f"At most {self.limits.max_images} reference images.", severity="warning", markup=False)
            return False
        self._refs.append(ref)
        self._show_refs()
        self.revalidate()
        self.post_message(self.ReferenceAdded(ref))
        return True

    def replace_reference(self, old: str, new: str) -> bool:
        """Put ``new`` where ``old`` was (a fitted copy in place of the original)."""
        if old not in self._refs or new in self._refs:
            return False
        self._refs[self._refs.index(old)] = new
        self._show_refs()
        self.revalidate()
        return True

    def set_mask(self, mask: str) -> None:
        self.query_one("#mask", Input).value = mask

    def _show_refs(self) -> None:
        self.query_one("#ref-input", Input).placeholder = self._reference_hint()
        found = self.query("#refs")
        if not found and not self._refs:
            return  # no list, and none needed: it (and its module) comes with the first reference
        from .reflist import RefList, ref_item

        if found:
            refs = found.first(RefList)
            refs.clear()
        else:  # the first reference: the list is mounted now, not at startup
            refs = RefList(id="refs")
            self.mount(refs, after="#ref-input")
        studio = getattr(self.app, "studio", None)
        refs.extend(ref_item(ref, reference_label(ref), studio) for ref in self._refs)
        refs.display = bool(self._refs)

    def _reference_hint(self) -> str:
        """The reference field's placeholder: how many the marked models take (reference_range)."""
        ranges = [m.reference_range for m in (self._catalogue.get(i) for i in self.models) if m is not None]
        low = max((r[0] for r in ranges), default=0)
        high = min((r[1] for r in ranges), default=self.limits.max_images)
        if high == 0:
            return "No reference images: this model only draws"
        needs = f", needs {low}+" if low else ""
        return f"Add reference ({len(self._refs)}/{high}{needs}): path or URL, enter"

    # -- events -----------------------------------------------------------------------

    def on_models_line_clicked(self, event: ModelsLine.Clicked) -> None:
        event.stop()
        self.post_message(self.PickModelsRequested())

    @on(ActionButton.Pressed, "#generate")
    def _generate(self, event: ActionButton.Pressed) -> None:
        event.stop()
        self.post_message(self.GenerateRequested())

    @on(Input.Submitted, "#ref-input")
    def _add_ref(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip().lower().startswith("reopen:"):
            self.post_message(self.ReopenRequested(event.value.strip()[len("reopen:") :]))
            event.input.clear()
        elif self.add_reference(event.value):
            event.input.clear()

    def on_ref_list_removed(self, event: RefList.Removed) -> None:
        if 0 <= event.index < len(self._refs):
            del self._refs[event.index]
            self._show_refs()
            self.revalidate()
            if not self._refs:
                self.query_one("#ref-input", Input).focus()

    @on(TextArea.Changed, "#prompt")
    @on(Choice.Changed)
    @on(Input.Changed, "#mask")
    @on(Input.Changed, ".param")
    def _changed(self) -> None:
        self.revalidate()

    @on(Choice.Changed, "#n")
    def _n_changed(self) -> None:
        self.reprice()

    # -- validation ---------------------------------------------------------------------

    def mark_tried(self) -> None:
        """Generate was pressed: from now on an empty prompt is reported too."""
        self._tried = True
        self.revalidate()

    def revalidate(self) -> None:
        if not self.is_mounted:
            return
        self.query_one("#count", PromptHeader).length = len(self.prompt)
        self._serial += 1
        self._validate(self.requests(), self._tried, self._serial)

    @work(thread=True, exclusive=True, group="validate", exit_on_error=False)
    def _validate(self, requests: list[GenerationRequest], tried: bool, serial: int) -> None:
        found: list[str] = []
        for request in requests:
            for err in problems(request):
                if err.field == "prompt" and not request.prompt.strip() and not tried:
                    continue
                if short_problem(err) not in found:
                    found.append(short_problem(err))
        if not get_current_worker().is_cancelled:
            self.post_message(self.Validated(found, serial))

    @on(Validated)
    def _show_problems(self, event: Validated) -> None:
        if event.serial != self._serial:
            return  # an older answer
        self._problems("\n".join(event.problems[:3]))
        self.set_class(bool(event.problems), "-invalid")

    def show_problem(self, text: str) -> None:
        """A problem found at submit time (for example by the runner's own validation)."""
        self._problems(plain(text, 300))

    def _problems(self, text: str) -> None:
        """Show ``text`` under the fields, or hide the box when it is empty. The box is mounted
        with the first problem, not at startup."""
        found = self.query("#problems")
        if found:
            box = found.first(Static)
            box.update(Content(text))
        elif text:
            box = Static(Content(text), id="problems")
            self.mount(box, before="#generate")
        else:
            return
        box.display = bool(text)
