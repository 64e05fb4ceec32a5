"""The user's own ``models.toml`` (beside config.toml): models Evolink added since this
release, and corrections to the built-in ones, without waiting for a release.

::

    [[model]]                          # a new model: starts from the built-in [defaults]
    id = "gpt-image-2"
    description = "OpenAI GPT Image 2"
    tier = "beta"
    n_max = 1
    [model.params]                     # extra parameters it takes (see core/params.py)
    quality = ["low", "medium", "high"]
    seed = "int 0..2147483647"

    [[model]]                          # a built-in model: only the fields given change
    id = "gpt-image-1.5"
    n_max = 1
    params.quality = ["low", "medium", "high"]   # `= false` takes a parameter away

A mistake is reported with the file, the line and the field, and only the entry that has it
is left out: the other entries and the whole built-in catalogue keep working.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .catalogue import BUILT_IN, OVERRIDDEN, SPEEDS, TIERS, USER, Catalogue, Model, model_from_fields
from .params import ParamSpec, SpecError, parse_spec

MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/+-]{0,99}$")
MAX_N = 10
MAX_IMAGES = 50


@dataclass(frozen=True)
class CatalogueProblem:
    """One mistake in the user's catalogue: where it is and what is wrong."""

    path: Path
    line: int | None
    field: str  # "model 'gpt-image-2', n_max", or "" for the whole file
    message: str

    def __str__(self) -> str:
        where = f"{self.path}, line {self.line}" if self.line else str(self.path)
        return f"{where}: {self.field + ': ' if self.field else ''}{self.message}"

    def to_json(self) -> dict:
        return {"file": str(self.path), "line": self.line, "field": self.field, "message": self.message}


class _EntryError(Exception):
    def __init__(self, keys: tuple[str, ...], message: str):
        super().__init__(message)
        self.keys = keys
        self.message = message


# ---- the fields of an entry: each check returns what is wrong, or None
def _text(limit: int):
    return lambda v: None if isinstance(v, str) and len(v) <= limit else f"text of at most {limit} characters"


def _words(limit: int, count: int):
    def check(value) -> str | None:
        if (
            isinstance(value, list)
            and len(value) <= count
            and all(
                isinstance(w, str) and w.strip() and len(w) <= limit and not any(c.isspace() for c in w) for w in value
            )
            and len(set(value)) == len(value)
        ):
            return None
        return f'a list of at most {count} distinct strings without spaces, such as ["1:1", "16:9"]'

    return check


def _whole(low: int, high: int):
    def check(value) -> str | None:
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        return None if ok else f"a whole number from {low} to {high}"

    return check


def _flag(value) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def _one_of(choices: tuple[str, ...]):
    return lambda v: None if v in choices else "one of " + ", ".join(f'"{c}"' for c in choices)


FIELDS = {
    "id": lambda v: None if isinstance(v, str) and MODEL_ID.match(v) else 'a model id such as "gpt-image-2"',
    "description": _text(300),
    "tier": _one_of(TIERS),
    "capabilities": _words(40, 20),
    "sizes": _words(32, 50),
    "pixel_sizes": _words(32, 50),
    "mask": _flag,
    "n_min": _whole(1, MAX_N),
    "n_max": _whole(1, MAX_N),
    "max_images": _whole(0, MAX_IMAGES),
    "speed": _one_of(SPEEDS),
    "default": _flag,
    "params": lambda v: None if isinstance(v, dict) else 'a table of parameters, such as quality = ["low", "high"]',
}


def _checked_fields(entry: dict) -> dict:
    for key, value in entry.items():
        check = FIELDS.get(key)
        if check is None:
            raise _EntryError((key,), f"unknown field (known: {', '.join(FIELDS)})")
        if problem := check(value):
            raise _EntryError((key,), f"{value!r} is not allowed; use {problem}")
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in entry.items() if k != "params"}
    return fields


def _params(base: tuple[ParamSpec, ...], declared: dict) -> tuple[ParamSpec, ...]:
    specs = {p.name: p for p in base}
    for name, declaration in declared.items():
        if declaration is False:  # a built-in parameter taken away
            specs.pop(name, None)
            continue
        try:
            specs[name] = parse_spec(name, declaration)
        except SpecError as exc:
            message = str(exc).removeprefix(f"parameter {name!r}: ")  # the field names it already
            raise _EntryError(("params", name, *([exc.key] if exc.key else [])), message) from None
    return tuple(specs.values())


def _entry_model(builtin: Catalogue, entry: dict) -> Model:
    if "id" not in entry:
        raise _EntryError((), "every [[model]] needs an id")
    fields = _checked_fields(entry)
    base = builtin.get(entry["id"])
    if base is not None:
        params = _params(base.params, entry.get("params", {}))
        changed = tuple(k for k in entry if k != "id")
        model = base._replace(**fields, params=params, source=OVERRIDDEN if changed else BUILT_IN, overridden=changed)
    else:
        params = _params((), entry.get("params", {}))
        merged = {**builtin.entry_defaults, **fields, "params": params}
        model = model_from_fields(merged, source=USER)
    if model.n_min > model.n_max:
        raise _EntryError(("n_min",), f"n_min {model.n_min} is above n_max {model.n_max}")
    return model


# ---- where things are in the file (tomllib gives lines only for syntax errors)
_ENTRY = re.compile(r"^\s*\[\[\s*model\s*\]\]")


def _key_pattern(name: str) -> re.Pattern:
    quoted = re.escape(name)
    return re.compile(rf"""(?:^|[\s{{,.\[])(?:{quoted}|"{quoted}"|'{quoted}')\s*(?:=|\.|\])""")


def _locate(lines: list[str], entry: int | None, keys: tuple[str, ...]) -> int | None:
    """The line of ``keys`` (a path such as params, quality, default) in the ``entry``-th
    [[model]] (None: at the top level), or the nearest line found on the way."""
    starts = [i for i, line in enumerate(lines) if _ENTRY.match(line)]
    if entry is None:
        start, end = 0, starts[0] if starts else len(lines)
        found = None
    else:
        if entry >= len(starts):
            return None
        start = starts[entry]
        end = starts[entry + 1] if entry + 1 < len(starts) else len(lines)
        found = start + 1
    for key in keys:
        pattern = _key_pattern(key)
        for number in range(start, end):
            text = lines[number].split("#", 1)[0] if '"' not in lines[number] else lines[number]
            if pattern.search(text):
                found, start = number + 1, number
                break
        else:
            break
    return found


def _syntax_line(exc: tomllib.TOMLDecodeError) -> int | None:
    line = getattr(exc, "lineno", None)  # Python 3.14 and later
    if line:
        return int(line)
    match = re.search(r"line (\d+)", str(exc))
    return int(match.group(1)) if match else None


def apply_user_catalogue(builtin: Catalogue, path: Path) -> Catalogue:
    """``builtin`` with the entries of the user's catalogue at ``path`` applied; every mistake is
    listed in the result's ``problems`` (the entry that has it is left out)."""
    problems: list[CatalogueProblem] = []

    def kept(problem: CatalogueProblem) -> Catalogue:
        return Catalogue(list(builtin), problems=(problem,), user_path=path, entry_defaults=builtin.entry_defaults)

    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return builtin
    except OSError as exc:
        return kept(CatalogueProblem(path, None, "", f"could not read it ({exc.strerror or exc}); it is not used"))
    except UnicodeDecodeError:
        return kept(CatalogueProblem(path, None, "", "it is not UTF-8 text; it is not used"))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        return kept(CatalogueProblem(path, _syntax_line(exc), "", f"not valid TOML ({message}); it is not used"))
    lines = text.splitlines()
    for key in data:
        if key != "model":
            problems.append(
                CatalogueProblem(path, _locate(lines, None, (key,)), key, "unknown; the file holds [[model]] entries")
            )
    entries = data.get("model", [])
    if not isinstance(entries, list):
        problems.append(CatalogueProblem(path, _locate(lines, None, ("model",)), "model", "write each as [[model]]"))
        entries = []

    models = {m.id: m for m in builtin}
    added: list[str] = []
    seen: dict[str, int] = {}
    default_from: str | None = None
    for index, entry in enumerate(entries):
        label = f"model {entry.get('id')!r}" if isinstance(entry.get("id"), str) else f"[[model]] number {index + 1}"
        try:
            model = _entry_model(builtin, entry)
            if model.id in seen:
                raise _EntryError(("id",), f"already given by the [[model]] at line {seen[model.id]}; merge the two")
            if model.default and default_from is not None:
                raise _EntryError(("default",), f"{default_from} is already the default")
        except _EntryError as err:
            line = _locate(lines, index, err.keys)
            field = f"{label}, {'.'.join(err.keys)}" if err.keys else label
            problems.append(CatalogueProblem(path, line, field, f"{err.message}; this entry is left out"))
            continue
        seen[model.id] = _locate(lines, index, ()) or 0
        if model.default:
            default_from = model.id
        if model.id not in models:
            added.append(model.id)
        models[model.id] = model
    if default_from is not None:
        models = {k: m._replace(default=(k == default_from)) for k, m in models.items()}
    ordered = [models[m.id] for m in builtin] + [models[i] for i in added]
    return Catalogue(ordered, problems=tuple(problems), user_path=path, entry_defaults=builtin.entry_defaults)
