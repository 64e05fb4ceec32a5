"""The composer's fields for a model's extra parameters (quality, seed...), built from what
the catalogue declares (core/params.py): a choice for a list of values or true/false, a text
field for numbers and text. Nothing is sent for a field left at "default" or empty: a
parameter goes only where the user set it, and only to the models that declare it.

A value that cannot be read (``seed = abc``) is kept as typed, so the composer's validation
names the parameter, the value and what is allowed, like any other field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Input, Static

from evolink_tui.core.errors import ValidationError
from evolink_tui.core.params import ParamSpec, Value

from ..format import plain
from .choice import Choice

UNSET = ""  # a field left alone: nothing is sent


class ParamFields(Vertical):
    """One field per extra parameter of the marked models (none: the box takes no room)."""

    DEFAULT_CSS = """
    ParamFields {
        height: auto;
    }
    ParamFields .param-row {
        height: 1;
    }
    ParamFields .param-name {
        width: auto;
        color: $text-muted;
        margin-right: 2;
    }
    ParamFields Input.param {
        width: 1fr;
    }
    """

    def __init__(
        self, specs: Sequence[ParamSpec] = (), values: Mapping[str, object] | None = None, *, id: str | None = None
    ) -> None:
        """Fields for ``specs`` from the start (the composer mounts this box when the first
        model with extra parameters is marked), each at ``values[name]`` if given."""
        super().__init__(id=id)
        self._specs: tuple[ParamSpec, ...] = tuple(specs)
        # name -> its field. Looked up here, not by id: fields are replaced when the models
        # change, and the old ones are removed a moment later (ids would clash meanwhile).
        self._fields: dict[str, Choice | Input] = {}
        values = values or {}
        self._unmounted: list[Horizontal | Choice] | None = [self._field(s, values.get(s.name)) for s in self._specs]
        self.display = bool(self._specs)

    def field(self, name: str) -> Choice | Input | None:
        return self._fields.get(name)

    @property
    def specs(self) -> tuple[ParamSpec, ...]:
        return self._specs

    def set_specs(self, specs: Sequence[ParamSpec], values: Mapping[str, object] | None = None) -> None:
        """Fields for ``specs``; each starts at ``values[name]`` if given, else keeps what the
        user set in the field of the same name, else is left unset."""
        kept = dict(self.raw_values()) if values is None else dict(values)
        if tuple(specs) == self._specs and values is None:
            return
        self._specs = tuple(specs)
        self._fields = {}
        fields = [self._field(spec, kept.get(spec.name)) for spec in self._specs]
        if self._unmounted is not None:  # not composed yet: compose() yields these instead
            self._unmounted = fields
        else:
            self.remove_children()
            self.mount_all(fields)
        self.display = bool(self._specs)

    def _field(self, spec: ParamSpec, value: object) -> Horizontal | Choice:
        """The field for ``spec`` (remembered in ``_fields``), in its row."""
        tip = spec.allowed() + (f"; the server's default: {spec.default}" if spec.default is not None else "")
        tip += f". {spec.description}" if spec.description else ""
        if spec.kind in ("choice", "bool"):
            default = "default" if spec.default is None else f"default ({_shown(spec.default)})"
            values: Iterable[Value] = spec.choices if spec.kind == "choice" else (True, False)
            options: list[tuple[str, object]] = [(default, UNSET), *((_shown(v), v) for v in values)]
            start = value if any(value == v and type(value) is type(v) for _, v in options) else UNSET
            choice = Choice(spec.name, options, value=start, classes="param")
            choice.tooltip = tip
            self._fields[spec.name] = choice
            return choice
        field = Input(
            "" if value is None or value == UNSET else str(value),
            placeholder=spec.shorthand() if spec.kind in ("int", "float") else spec.allowed(),
            classes="param",
            compact=True,
        )
        field.tooltip = tip
        self._fields[spec.name] = field
        return Horizontal(Static(Content(plain(spec.name)), classes="param-name"), field, classes="param-row")

    def compose(self) -> ComposeResult:
        fields, self._unmounted = self._unmounted or [], None
        return iter(fields)

    def raw_values(self) -> list[tuple[str, object]]:
        """What each field holds now (unset ones left out), as typed."""
        found: list[tuple[str, object]] = []
        for name, widget in self._fields.items():
            value = widget.value.strip() if isinstance(widget, Input) else widget.value
            if isinstance(value, bool) or value != UNSET:
                found.append((name, value))
        return found

    def values(self, model_id: str = "") -> tuple[tuple[str, Value], ...]:
        """The values to send: typed as the parameter declares (a number from its text); a
        text that cannot be read is kept as typed, for validation to report."""
        specs = {spec.name: spec for spec in self._specs}
        found: list[tuple[str, Value]] = []
        for name, raw in self.raw_values():
            if isinstance(raw, str) and specs[name].kind not in ("choice", "bool"):
                try:
                    found.append((name, specs[name].parse(raw, model_id)))
                except ValidationError:
                    found.append((name, raw))
            else:
                found.append((name, raw))  # type: ignore[arg-type]
        return tuple(found)


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return plain(value, 40)


def specs_of(models: Iterable[object]) -> list[ParamSpec]:
    """The extra parameters of the marked models, each name once (the first model's spec)."""
    found: dict[str, ParamSpec] = {}
    for model in models:
        for spec in getattr(model, "params", ()):
            found.setdefault(spec.name, spec)
    return list(found.values())
