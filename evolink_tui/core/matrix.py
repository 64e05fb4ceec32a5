"""Prompt matrices: ``{a|b|c}`` variants and ``{1-3}`` ranges in a prompt, times models,
times sizes, expanded into the requests of a batch before anything is sent.

Syntax of a prompt template:

- ``{red|blue|green}``: one task per choice (spaces around a choice are trimmed; an empty
  choice is allowed, as in ``a {big |}fox``);
- ``{1-3}``: the whole numbers 1, 2, 3 (``{3-1}`` counts down; ``{01-10}`` keeps the zeros);
- ``{{`` and ``}}``: a literal ``{`` and ``}``.

Several groups multiply: ``a {red|blue} fox in {snow|rain}`` is four prompts. A prompt file
holds one template a line; blank lines and lines starting with ``#`` are skipped (``\\#``
at the start of a line is a literal ``#``). Every mistake is a :class:`ValidationError`
naming the field, the value and what is allowed; nothing is expanded past :data:`MAX_TASKS`.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ValidationError
from .params import Value

MAX_TASKS = 1000  # one batch never holds more tasks than this
MAX_PROMPT_FILE_BYTES = 1024 * 1024
_RANGE = re.compile(r"^\s*(\d{1,9})\s*-\s*(\d{1,9})\s*$")
SYNTAX = "variants as {a|b|c}, ranges as {1-3}, and {{ or }} for a literal brace"


@dataclass(frozen=True)
class Group:
    """One ``{...}`` of a template: its choices, in order."""

    source: str  # as written, braces included
    choices: tuple[str, ...]


@dataclass(frozen=True)
class Template:
    """A parsed prompt template: literal text and groups, alternating (``parts[0]`` is text)."""

    source: str
    parts: tuple[str | Group, ...]

    @property
    def groups(self) -> tuple[Group, ...]:
        return tuple(part for part in self.parts if isinstance(part, Group))

    def count(self) -> int:
        """How many prompts this template expands to (the product of its groups' sizes)."""
        return math.prod(len(group.choices) for group in self.groups)

    def expand(self) -> Iterator[tuple[tuple[str, ...], str]]:
        """Every combination once, in order: ``(the choice of each group, the prompt)``."""
        for combo in itertools.product(*(group.choices for group in self.groups)):
            chosen = iter(combo)
            text = "".join(next(chosen) if isinstance(part, Group) else part for part in self.parts)
            yield combo, text


def _range_choices(text: str, source: str) -> tuple[str, ...] | None:
    match = _RANGE.match(text)
    if not match:
        return None
    first, last = match.group(1), match.group(2)
    start, stop = int(first), int(last)
    if abs(stop - start) + 1 > MAX_TASKS:
        raise ValidationError(
            "prompt",
            source,
            f"a range of at most {MAX_TASKS} numbers",
            shown=f"{source} ({abs(stop - start) + 1} numbers)",
        )
    padded = (len(first) > 1 and first.startswith("0")) or (len(last) > 1 and last.startswith("0"))
    width = max(len(first), len(last)) if padded else 0
    step = 1 if stop >= start else -1
    return tuple(str(number).zfill(width) for number in range(start, stop + step, step))


def _group(inner: str, source: str) -> Group:
    numbers = _range_choices(inner, source)
    if numbers is not None:
        return Group(source, numbers)
    if "|" not in inner:
        raise ValidationError(
            "prompt",
            source,
            f"two or more choices such as {{red|blue}} or a range such as {{1-3}}; write {{{{{inner}}}}} for "
            "literal braces",
        )
    choices = tuple(choice.strip() for choice in inner.split("|"))
    seen: set[str] = set()
    for choice in choices:
        if choice in seen:
            raise ValidationError("prompt", source, f"each choice once ({choice!r} is listed twice)")
        seen.add(choice)
    return Group(source, choices)


def parse_template(text: str) -> Template:
    """``text`` as a template; a ValidationError for an unclosed, stray, nested or one-choice group."""
    parts: list[str | Group] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "{" and text.startswith("{{", i):
            literal.append("{")
            i += 2
        elif ch == "}" and text.startswith("}}", i):
            literal.append("}")
            i += 2
        elif ch == "}":
            raise ValidationError(
                "prompt", text, f"{SYNTAX} (a '}}' at character {i + 1} closes no group)", shown=repr(text[: i + 1])
            )
        elif ch == "{":
            end = text.find("}", i + 1)
            nested = text.find("{", i + 1)
            if end < 0:
                raise ValidationError(
                    "prompt", text, f"{SYNTAX} (the '{{' at character {i + 1} is never closed)", shown=repr(text[i:])
                )
            if 0 <= nested < end:
                raise ValidationError(
                    "prompt", text[i : end + 1], f"{SYNTAX}; groups cannot be nested (write one group per choice set)"
                )
            parts.append("".join(literal))
            literal = []
            parts.append(_group(text[i + 1 : end], text[i : end + 1]))
            i = end + 1
        else:
            literal.append(ch)
            i += 1
    parts.append("".join(literal))
    return Template(text, tuple(parts))


def expand_prompt(text: str) -> list[str]:
    """Every prompt ``text`` stands for, in order (checked against :data:`MAX_TASKS` first)."""
    template = parse_template(text)
    _check_count(template.count(), f"{template.count()} prompts")
    return [prompt for _, prompt in template.expand()]


def read_prompt_file(path: str | Path) -> list[str]:
    """The templates of a prompt file: one a line; blank lines and ``#`` comments skipped."""
    path = Path(path).expanduser()
    try:
        if path.stat().st_size > MAX_PROMPT_FILE_BYTES:
            raise ValidationError("prompt_file", str(path), "a prompt file of at most 1 MB")
        text = path.read_text("utf-8")
    except UnicodeDecodeError:
        raise ValidationError("prompt_file", str(path), "a UTF-8 text file, one prompt a line") from None
    except OSError as exc:
        raise ValidationError("prompt_file", str(path), f"a readable text file ({exc.strerror or exc})") from None
    prompts = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        prompts.append("#" + stripped[2:] if stripped.startswith("\\#") else stripped)
    if not prompts:
        raise ValidationError("prompt_file", str(path), "at least one prompt line (lines starting with # are comments)")
    return prompts


def _check_count(count: int, shown: str) -> None:
    if count > MAX_TASKS:
        raise ValidationError(
            "matrix", count, f"at most {MAX_TASKS} tasks in one batch: fewer variants, models or sizes", shown=shown
        )


@dataclass(frozen=True)
class Cell:
    """Where one task sits in the matrix: its template (row group), the choices made, the
    prompt they give, the model (column) and the size."""

    template_index: int
    choices: tuple[str, ...]
    prompt: str
    model: str
    size: str | None

    def to_json(self) -> dict:
        return {
            "template": self.template_index,
            "choices": list(self.choices),
            "prompt": self.prompt,
            "model": self.model,
            "size": self.size,
        }

    @classmethod
    def from_json(cls, data: dict) -> Cell:
        return cls(
            template_index=int(data.get("template", 0)),
            choices=tuple(str(c) for c in data.get("choices") or ()),
            prompt=str(data.get("prompt", "")),
            model=str(data.get("model", "")),
            size=data.get("size"),
        )


@dataclass(frozen=True)
class Matrix:
    """What a matrix run asks for: templates times models times sizes, each with ``n`` images.

    An empty ``models`` means the catalogue's default model; an empty ``sizes`` the model's
    default size (no ``size`` sent).
    """

    templates: tuple[str, ...]
    models: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()
    n: int | None = None
    images: tuple[str, ...] = ()
    mask: str | None = None
    params: tuple[tuple[str, Value], ...] = ()  # extra parameters: each model gets those it declares
    parsed: tuple[Template, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.templates:
            raise ValidationError("prompt", "", "at least one prompt")
        object.__setattr__(self, "parsed", tuple(parse_template(t) for t in self.templates))
        for name, values in (("models", self.models), ("sizes", self.sizes)):
            for value in values:
                if values.count(value) > 1:
                    raise ValidationError(name, value, f"each of the {name} once", shown=f"{value!r} twice")
        _check_count(self.count(), f"{self.count()} tasks")

    def count(self) -> int:
        """How many tasks: (prompts of every template) x models x sizes, without expanding."""
        prompts = sum(t.count() for t in self.parsed)
        return prompts * max(1, len(self.models)) * max(1, len(self.sizes))

    def cells(self, default_model: str) -> list[Cell]:
        """Every task of the matrix once, prompt-major: each prompt on every model, each model
        in every size."""
        models = self.models or (default_model,)
        sizes: tuple[str | None, ...] = self.sizes or (None,)
        return [
            Cell(index, choices, prompt, model, size)
            for index, template in enumerate(self.parsed)
            for choices, prompt in template.expand()
            for model in models
            for size in sizes
        ]

    def to_json(self) -> dict:
        return {
            "templates": list(self.templates),
            "models": list(self.models),
            "sizes": list(self.sizes),
            "n": self.n,
            "images": list(self.images),
            "mask": self.mask,
            "params": dict(self.params),
        }


def split_list(field_name: str, text: str | None) -> tuple[str, ...]:
    """A comma-separated option (``--models a,b``) as a tuple; empty items are refused."""
    if text is None:
        return ()
    items = [item.strip() for item in text.split(",")]
    if any(not item for item in items):
        raise ValidationError(field_name, text, "a comma-separated list with no empty items, such as a,b")
    return tuple(items)
