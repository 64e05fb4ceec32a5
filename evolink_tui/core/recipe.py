"""The recipe of a result: what made it, kept in the image file, in its sidecar and in the
history, and read back from any of them ("reopen").

The recipe is a JSON object (:data:`RECIPE_FIELDS`) stored under the key
``evolink:recipe`` (see :mod:`.imagemeta` for where each format keeps it), beside a
human-readable ``parameters`` text in the style of AUTOMATIC1111: the prompt, then one
line of ``Key: value`` pairs. Never the API key: nothing here has it.

Result numbers in a recipe (``index``, ``parent.result``) count from 1, as file names and
sidecars do.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ValidationError
from .imagemeta import PARAMETERS_KEYWORD, RECIPE_KEYWORD, read_recipe_text, write_recipe
from .validation import GenerationRequest

if TYPE_CHECKING:
    from .history import History, TaskRecord

RECIPE_VERSION = 1
# What the recipe holds, in this order: everything needed to make the image again and to
# find where it came from. The sidecar holds all of it and more (source URL, size, format).
RECIPE_FIELDS = (
    "recipe_version",
    "generator",
    "prompt",
    "model",
    "size",
    "n",
    "defaults",
    "image_urls",
    "mask_url",
    "params",
    "task_id",
    "index",
    "record_id",
    "parent",
    "credits_reserved",
    "created_at",
    "finished_at",
    "downloaded_at",
)
MAX_RECIPE_BYTES = 1 << 20
SIDECAR_SUFFIX = ".json"


def recipe_of(sidecar: dict) -> dict:
    """The recipe part of a sidecar record (see ``downloads.sidecar_record``)."""
    recipe: dict = {"recipe_version": RECIPE_VERSION}
    recipe.update((key, sidecar.get(key)) for key in RECIPE_FIELDS if key != "recipe_version")
    return recipe


def record_fields(history: History, record: TaskRecord) -> dict:
    """What a result's sidecar and recipe say about its record: its id, when it finished
    and the result it iterated on (with that record's task id, which outlives this history)."""
    from .downloads import _iso

    parent = None
    if record.parent is not None:
        parent_id, index = record.parent
        found = history.get(parent_id)
        parent = {"record_id": parent_id, "result": index + 1, "task_id": found.task_id if found else None}
    return {"record_id": record.id, "parent": parent, "finished_at": _iso(record.finished_at)}


# -- the parameters line ------------------------------------------------------------------

_PARAM = re.compile(r'\s*(\w[\w \-/]*):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)')
_LABELS = (  # recipe key -> label on the parameters line
    ("model", "Model"),
    ("size", "Size"),
    ("n", "n"),
    ("index", "Result"),
    ("task_id", "Task"),
    ("record_id", "Record"),
    ("parent", "Parent"),
    ("image_urls", "References"),
    ("mask_url", "Mask"),
    ("params", "Params"),
    ("credits_reserved", "Credits"),
    ("created_at", "Created"),
    ("finished_at", "Finished"),
    ("downloaded_at", "Downloaded"),
    ("generator", "Generator"),
)


def _quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False) if re.search(r'[,"\n]', value) else value


def parameters_line(recipe: dict) -> str:
    """The prompt, then ``Model: ..., Size: ..., ...`` on one line (A1111's layout), for
    tools and people that read that. Empty fields are left out."""
    pairs = []
    for key, label in _LABELS:
        value = recipe.get(key)
        if value in (None, "", []):
            continue
        if key == "parent":
            value = f"#{value.get('record_id')} result {value.get('result')}" + (
                f" ({value['task_id']})" if value.get("task_id") else ""
            )
        elif key == "image_urls":
            value = " ".join(value)
        elif key == "params":
            value = json.dumps(value, ensure_ascii=False, sort_keys=True) if isinstance(value, dict) else None
            if not value or value == "{}":
                continue
        elif isinstance(value, float):
            value = f"{value:g}"
        pairs.append(f"{label}: {_quote(str(value))}")
    return f"{recipe.get('prompt') or ''}\n{', '.join(pairs)}"


def parse_parameters(text: str) -> dict | None:
    """A recipe rebuilt from a parameters text this app wrote (the JSON was lost, the Exif
    kept); None for anyone else's."""
    prompt, _, last = text.rstrip("\n").rpartition("\n")
    pairs = {}
    for match in _PARAM.finditer(last):
        key, value = match.group(1).strip(), match.group(2).strip()
        if value.startswith('"'):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        pairs[key] = value
    if not str(pairs.get("Generator", "")).startswith("evolink-tui"):
        return None
    labels = dict((label, key) for key, label in _LABELS)
    recipe: dict = {"recipe_version": RECIPE_VERSION, "prompt": prompt}
    for label, value in pairs.items():
        key = labels.get(label)
        if key is None:
            continue
        if key in ("n", "index", "record_id"):
            recipe[key] = int(value) if str(value).isdigit() else None
        elif key == "credits_reserved":
            try:
                recipe[key] = float(value)
            except ValueError:
                recipe[key] = None
        elif key == "image_urls":
            recipe[key] = str(value).split()
        elif key == "params":
            try:
                recipe[key] = json.loads(value) if isinstance(value, str) else None
            except ValueError:
                recipe[key] = None
        elif key == "parent":
            found = re.match(r"#(\d+) result (\d+)(?: \((.*)\))?$", str(value))
            recipe[key] = {"record_id": int(found[1]), "result": int(found[2]), "task_id": found[3]} if found else None
        else:
            recipe[key] = value
    return recipe


# -- writing ------------------------------------------------------------------------------


def embed_recipe(path: Path, kind: str, sidecar: dict) -> bool:
    """Write the recipe of ``sidecar`` into the image at ``path`` (before it is renamed into
    place): True when the format holds it (PNG, JPEG, WebP), pixels untouched."""
    recipe = recipe_of(sidecar)
    return write_recipe(path, kind, json.dumps(recipe, ensure_ascii=False), parameters_line(recipe))


# -- reading ("reopen") -------------------------------------------------------------------


@dataclass(frozen=True)
class Reopened:
    """What a file says about how it was made."""

    path: Path
    kind: str | None  # "png", "jpeg", "webp", "gif", or "json" for a sidecar
    recipe: dict | None  # None: no recipe in the file or beside it
    source: str  # where the recipe came from (see :func:`reopen`), "" if none
    foreign: str | None = None  # generation text another tool left (an A1111 "parameters")

    @property
    def found(self) -> bool:
        return self.recipe is not None

    def generation_request(self) -> GenerationRequest:
        """The composer's fields refilled from the recipe (prompt, model, size, n,
        references, mask). Raises ValidationError when there is no recipe."""
        if self.recipe is None:
            raise ValidationError("file", str(self.path), "an image made by evolink-tui, or its .json sidecar")
        recipe = self.recipe
        defaults = recipe.get("defaults")
        left_out: list = defaults if isinstance(defaults, list) else []
        n = None if "n" in left_out else recipe.get("n")  # left to the default: sent left out again
        params = recipe.get("params")
        return GenerationRequest(
            prompt=str(recipe.get("prompt") or ""),
            model=str(recipe.get("model") or ""),
            size=None if "size" in left_out else recipe.get("size") or None,
            n=n if isinstance(n, int) and not isinstance(n, bool) else None,
            images=tuple(str(u) for u in recipe.get("image_urls") or () if isinstance(u, str)),
            mask=recipe.get("mask_url") or None,
            params=tuple((str(k), v) for k, v in params.items()) if isinstance(params, dict) else (),
        )

    def references_may_have_lapsed(self, now: float) -> bool:
        """Whether the recipe's reference URLs are likely gone: they were sent when the task
        was made, and result URLs last 24 hours (uploaded files 72) from then."""
        from datetime import datetime

        from .rules import RESULT_URL_LIFETIME

        recipe = self.recipe or {}
        urls = [u for u in recipe.get("image_urls") or () if isinstance(u, str) and "://" in u]
        made = recipe.get("created_at") or recipe.get("finished_at")
        if not urls or not isinstance(made, str):
            return False
        try:
            moment = datetime.fromisoformat(made.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return False
        return now - moment > RESULT_URL_LIFETIME

    def record_in(self, history: History) -> TaskRecord | None:
        """The history record of this result, found by its task id (record ids differ
        between machines), if this history has it."""
        task_id = (self.recipe or {}).get("task_id")
        return history.by_task_id(task_id) if isinstance(task_id, str) and task_id else None

    def to_json(self) -> dict:
        return {
            "path": str(self.path),
            "kind": self.kind,
            "found": self.found,
            "source": self.source or None,
            "recipe": self.recipe,
            "foreign_parameters": self.foreign,
        }


def _load_json(text: str) -> dict | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) and "prompt" in data else None


def _read_sidecar(path: Path) -> dict | None:
    try:
        if path.stat().st_size > MAX_RECIPE_BYTES:
            return None
        data = _load_json(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError):
        return None
    if data is None or not str(data.get("generator", "")).startswith("evolink-tui"):
        return None
    return recipe_of(data)


def reopen(path: str | Path) -> Reopened:
    """The recipe of an image file (moved, renamed, from anywhere) or of a sidecar.

    Looks in the file first (``source`` names where: ``png:evolink:recipe``,
    ``xmp:evolink:recipe``, or ``png:parameters`` / ``exif:UserComment`` when only the
    parameters text survived), then in the sidecar beside it (``sidecar``). Raises
    ValidationError for a path that is not a file, or neither an image nor a sidecar.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ValidationError("file", str(path), "an image file or its .json sidecar (not found)")
    if path.suffix.lower() == SIDECAR_SUFFIX:
        recipe = _read_sidecar(path)
        if recipe is None:
            try:
                readable = path.stat().st_size <= MAX_RECIPE_BYTES and _load_json(path.read_text("utf-8")) is not None
            except (OSError, UnicodeDecodeError):
                readable = False
            if not readable:
                raise ValidationError("file", str(path), "an image file or a sidecar written by evolink-tui")
        return Reopened(path, "json", recipe, "sidecar" if recipe else "")
    try:
        kind, recipe_text, parameters = read_recipe_text(path)
    except (OSError, SyntaxError, ValueError):
        raise ValidationError("file", str(path), "a JPEG, PNG, WebP or GIF image, or a .json sidecar") from None
    where = "png" if kind == "png" else "xmp"
    recipe = _load_json(recipe_text) if recipe_text else None
    if recipe is not None:
        return Reopened(path, kind, recipe, f"{where}:{RECIPE_KEYWORD}")
    if parameters:
        rebuilt = parse_parameters(parameters)
        if rebuilt is not None:
            return Reopened(path, kind, rebuilt, "png:parameters" if kind == "png" else "exif:UserComment")
    sidecar = _read_sidecar(path.with_suffix(SIDECAR_SUFFIX))
    if sidecar is not None:
        return Reopened(path, kind, sidecar, "sidecar")
    return Reopened(path, kind, None, "", foreign=parameters or None)


__all__ = [
    "PARAMETERS_KEYWORD",
    "RECIPE_FIELDS",
    "RECIPE_KEYWORD",
    "Reopened",
    "embed_recipe",
    "parameters_line",
    "parse_parameters",
    "recipe_of",
    "record_fields",
    "reopen",
]
