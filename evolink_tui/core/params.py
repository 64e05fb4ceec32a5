"""Extra model parameters: what a catalogue entry declares beyond prompt, size, n and images.

Evolink adds per-model parameters often (``quality``, ``seed``, ``output_format``...). A
catalogue entry (built-in or the user's ``models.toml``) declares each one with its type and
allowed values; a :class:`ParamSpec` then turns what a user typed into a value
(:meth:`ParamSpec.parse`), checks a value from JSON (:meth:`ParamSpec.check`), and says
what is allowed in words, for messages, the composer and ``evolink-tui models``.

Declared in TOML in one of three forms::

    [model.params]
    quality = ["low", "medium", "high"]          # one of these values
    seed = "int 0..2147483647"                   # int, float (optional A..B, either end open), bool, string
    style = { values = ["vivid", "natural"], default = "vivid", description = "colour treatment" }

``default`` is the server's own default, shown to the user; it is never sent on its own: a
parameter is sent only when the user sets it, and only to a model that declares it.
"""

from __future__ import annotations

import math
import re
from collections import namedtuple

from .errors import ValidationError

TYPE_CHECKING = False  # not typing's: importing typing costs a headless command milliseconds
if TYPE_CHECKING:
    from typing import Any

KINDS = ("choice", "int", "float", "bool", "string")
# The fields every model has: an extra parameter may not take one of these names.
CORE_FIELDS = frozenset({"prompt", "model", "size", "n", "image_urls", "mask_url"})
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_STRING = 2000
MAX_CHOICES = 100
TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
FALSE_WORDS = frozenset({"false", "no", "off", "0"})

Value = str | int | float | bool


class SpecError(ValueError):
    """A parameter declaration that cannot be used; ``key`` is the part at fault (for its line)."""

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.key = key


# A collections.namedtuple, not typing's NamedTuple nor a dataclass: the catalogue (and so
# `evolink-tui models`) loads this module, and either would cost it several milliseconds.
_ParamFields = namedtuple(
    "_ParamFields",
    (
        "name",  # str
        "kind",  # str: one of KINDS
        "choices",  # tuple[Value, ...]: kind "choice": the allowed values
        "minimum",  # int | float | None: kinds "int"/"float": inclusive bounds (None: open)
        "maximum",  # int | float | None
        "default",  # Value | None: the server's default, shown; never sent on its own
        "description",  # str
    ),
    defaults=((), None, None, None, ""),
)


class ParamSpec(_ParamFields):
    __slots__ = ()

    # ---- describing
    def allowed(self) -> str:
        """What may be given, in words: "one of low, medium, high", "a whole number from 0 to 9"."""
        if self.kind == "choice":
            return "one of " + ", ".join(str(c) for c in self.choices)
        if self.kind == "bool":
            return "true or false"
        if self.kind == "string":
            return f"text of at most {MAX_STRING} characters"
        what = "a whole number" if self.kind == "int" else "a number"
        low, high = self.minimum, self.maximum
        if low is not None and high is not None:
            return f"{what} from {low} to {high}"
        if low is not None:
            return f"{what} of at least {low}"
        if high is not None:
            return f"{what} of at most {high}"
        return what

    def shorthand(self) -> str:
        """The declaration in TOML's short form (``"int 0..9"`` or the list of choices)."""
        if self.kind == "choice":
            return "[" + ", ".join(_toml(c) for c in self.choices) + "]"
        if self.kind in ("int", "float") and (self.minimum is not None or self.maximum is not None):
            low = "" if self.minimum is None else str(self.minimum)
            high = "" if self.maximum is None else str(self.maximum)
            return f"{self.kind} {low}..{high}"
        return self.kind

    def to_json(self) -> dict:
        data: dict[str, Any] = {"name": self.name, "type": self.kind, "allowed": self.allowed()}
        if self.kind == "choice":
            data["values"] = list(self.choices)
        if self.minimum is not None:
            data["min"] = self.minimum
        if self.maximum is not None:
            data["max"] = self.maximum
        data["default"] = self.default
        if self.description:
            data["description"] = self.description
        return data

    # ---- values
    def check(self, value: object, model_id: str = "") -> ValidationError | None:
        """A typed value (from JSON: a recipe, a recorded request): None if it may be sent."""
        if self.kind == "choice":
            ok = any(_same_kind(value, c) and value == c for c in self.choices)
        elif self.kind == "bool":
            ok = isinstance(value, bool)
        elif self.kind == "string":
            ok = isinstance(value, str) and 0 < len(value) <= MAX_STRING
        elif self.kind == "int":
            ok = isinstance(value, int) and not isinstance(value, bool) and self._in_range(value)
        else:
            ok = (
                isinstance(value, (int, float))
                and not isinstance(value, bool)
                and math.isfinite(value)
                and self._in_range(value)
            )
        if ok:
            return None
        return ValidationError(self.name, value, self.allowed() + (f" for {model_id}" if model_id else ""))

    def parse(self, text: str, model_id: str = "") -> Value:
        """What a user typed (``--param``, a composer field) as the value to send; raises a
        ValidationError naming the parameter, the text and what is allowed."""
        raw = str(text).strip()
        value: object = raw
        if self.kind == "choice":
            value = next((c for c in self.choices if str(c) == raw or _numerically(raw, c)), raw)
        elif self.kind == "bool":
            word = raw.lower()
            value = True if word in TRUE_WORDS else False if word in FALSE_WORDS else raw
        elif self.kind == "int":
            try:
                value = int(raw)
            except ValueError:
                pass
        elif self.kind == "float":
            try:
                value = float(raw)
            except ValueError:
                pass
        if err := self.check(value, model_id):
            raise ValidationError(self.name, text, err.allowed)
        return value  # type: ignore[return-value]

    def _in_range(self, value: int | float) -> bool:
        return (self.minimum is None or value >= self.minimum) and (self.maximum is None or value <= self.maximum)


def _numerically(text: str, choice: Value) -> bool:
    if isinstance(choice, bool) or not isinstance(choice, (int, float)):
        return False
    try:
        return float(text) == choice
    except ValueError:
        return False


def _same_kind(value: object, choice: Value) -> bool:
    if isinstance(choice, bool) or isinstance(value, bool):
        return type(value) is type(choice)
    if isinstance(choice, (int, float)):
        return isinstance(value, (int, float))
    return isinstance(value, str)


def _toml(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f'"{value}"' if isinstance(value, str) else str(value)


def _number(text: str, kind: str, where: str) -> int | float | None:
    if not text:
        return None
    try:
        return int(text) if kind == "int" else float(text)
    except ValueError:
        raise SpecError(f"{where}: {text!r} is not {'a whole number' if kind == 'int' else 'a number'}") from None


def _choices(values: list, name: str) -> tuple[Value, ...]:
    if not values:
        raise SpecError(f"parameter {name!r}: the list of allowed values is empty")
    if len(values) > MAX_CHOICES:
        raise SpecError(f"parameter {name!r}: at most {MAX_CHOICES} allowed values")
    kinds = {float if type(v) is int else type(v) for v in values}  # whole and decimal numbers mix
    if not kinds <= {str, float, bool} or len(kinds) != 1:
        raise SpecError(f"parameter {name!r}: allowed values must all be strings, or all numbers, or all true/false")
    if len(set(values)) != len(values):
        raise SpecError(f"parameter {name!r}: an allowed value is listed twice")
    return tuple(values)


def parse_spec(name: str, declared: object) -> ParamSpec:
    """One declaration from a catalogue (a list, a shorthand string or a table) as a ParamSpec;
    raises SpecError saying what is wrong (``key`` names the table key at fault)."""
    if not NAME.match(name):
        raise SpecError(f"parameter name {name!r}: letters, digits and _ only (it is sent as a JSON field)")
    if name in CORE_FIELDS:
        raise SpecError(f"parameter {name!r} is a field every model has; declare only extra ones")
    if isinstance(declared, list):
        return ParamSpec(name, "choice", choices=_choices(declared, name))
    if isinstance(declared, str):
        kind, _, bounds = declared.strip().partition(" ")
        low, dots, high = (part.strip() for part in bounds.partition(".."))
        if kind not in ("int", "float", "bool", "string") or (bounds.strip() and not dots):
            raise SpecError(
                f"parameter {name!r} = {declared!r}: use a list of values, or one of "
                '"int", "int 0..100", "float 0..1", "bool", "string"'
            )
        if kind in ("bool", "string") and dots:
            raise SpecError(f"parameter {name!r} = {declared!r}: a range is only for int and float")
        minimum = _number(low, kind, f"parameter {name!r}")
        maximum = _number(high, kind, f"parameter {name!r}")
        if minimum is not None and maximum is not None and minimum > maximum:
            raise SpecError(f"parameter {name!r} = {declared!r}: the range is empty ({low} > {high})")
        return ParamSpec(name, kind, minimum=minimum, maximum=maximum)
    if isinstance(declared, dict):
        return _spec_from_table(name, declared)
    raise SpecError(f'parameter {name!r}: declare it as a list of values, a type such as "int 0..100", or a table')


def _spec_from_table(name: str, table: dict) -> ParamSpec:
    known = {"type", "values", "min", "max", "default", "description"}
    for key in table:
        if key not in known:
            raise SpecError(f"parameter {name!r}: unknown key {key!r} (known: {', '.join(sorted(known))})", key)
    if "values" in table:
        if not isinstance(table["values"], list):
            raise SpecError(f"parameter {name!r}: values must be a list", "values")
        if table.get("type", "choice") != "choice" or "min" in table or "max" in table:
            raise SpecError(f"parameter {name!r}: values go with no type, min or max", "values")
        spec = ParamSpec(name, "choice", choices=_choices(table["values"], name))
    else:
        kind = table.get("type")
        if kind not in ("int", "float", "bool", "string"):
            raise SpecError(f"parameter {name!r}: type must be int, float, bool or string (or give values)", "type")
        bounds: dict[str, int | float | None] = {}
        for key in ("min", "max"):
            value = table.get(key)
            if value is not None and (
                kind not in ("int", "float")
                or isinstance(value, bool)
                or not isinstance(value, int if kind == "int" else (int, float))
            ):
                raise SpecError(
                    f"parameter {name!r}: {key} must be {'a whole number' if kind == 'int' else 'a number'} "
                    f"(and is only for int and float)",
                    key,
                )
            bounds[key] = value
        if bounds["min"] is not None and bounds["max"] is not None and bounds["min"] > bounds["max"]:
            raise SpecError(f"parameter {name!r}: min is above max", "min")
        spec = ParamSpec(name, kind, minimum=bounds["min"], maximum=bounds["max"])
    description = table.get("description", "")
    if not isinstance(description, str):
        raise SpecError(f"parameter {name!r}: description must be text", "description")
    default = table.get("default")
    if default is not None and (err := spec.check(default)):
        raise SpecError(f"parameter {name!r}: default {default!r} is not {err.allowed}", "default")
    return ParamSpec(
        name, spec.kind, spec.choices, spec.minimum, spec.maximum, default=default, description=description.strip()
    )
