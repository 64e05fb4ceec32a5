"""The model catalogue: ``models.toml`` shipped beside this module, extended by the user's own
``models.toml`` in the config dir (see :mod:`.user_catalogue`).

``models.json`` beside it is ``models.toml`` as tomllib reads it, with the TOML text it was
read from: `evolink-tui models` reads it with json instead of parsing TOML (tomllib takes a
headless command longer to import than all its own work). models.toml stays the one source:
the JSON is used only while its text is models.toml's, and ``python -m
evolink_tui.core.catalogue`` writes it again after an edit (a test fails until it is).
"""

from __future__ import annotations

import json
from collections import namedtuple
from functools import lru_cache
from pathlib import Path

from .config import user_catalogue_path  # re-exported: the catalogue code imports it from here
from .params import ParamSpec, parse_spec

TIERS = ("stable", "beta")
SPEEDS = ("normal", "fast", "ultra-fast")
# Where an entry comes from, as `evolink-tui models` marks it.
BUILT_IN, USER, OVERRIDDEN = "built-in", "user", "overridden"


# A collections.namedtuple, not a dataclass: `evolink-tui models` loads this module, and
# dataclasses (which imports inspect, ast, dis and tokenize) would cost it several ms.
_ModelFields = namedtuple(
    "_ModelFields",
    (
        "id",  # str
        "description",  # str
        "tier",  # str: one of TIERS
        "capabilities",  # tuple[str, ...]
        "sizes",  # tuple[str, ...]
        "pixel_sizes",  # tuple[str, ...]
        "mask",  # bool
        "n_min",  # int
        "n_max",  # int
        "max_images",  # int
        "speed",  # str: one of SPEEDS
        "default",  # bool
        "params",  # tuple[ParamSpec, ...]: extra parameters the model takes (quality, seed...)
        "source",  # str: BUILT_IN, USER (added by the user) or OVERRIDDEN (a built-in the user changed)
        "overridden",  # tuple[str, ...]: for OVERRIDDEN, the fields the user's catalogue set
    ),
    defaults=(False, (), BUILT_IN, ()),
)


class Model(_ModelFields):
    """One image model (immutable; ``model._replace(field=...)`` makes a changed copy)."""

    __slots__ = ()

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)

    @property
    def all_sizes(self) -> tuple[str, ...]:
        """Every size value this model accepts: ratios, then pixel sizes."""
        return self.sizes + self.pixel_sizes

    @property
    def reference_range(self) -> tuple[int, int]:
        """How many reference images a request to this model may carry, from its
        capabilities: an editing-only model needs at least one; a text-to-image-only model
        takes none; one with neither tag is not restricted beyond ``max_images``."""
        draws = "text-to-image" in self.capabilities
        edits = "image-editing" in self.capabilities
        if not (draws or edits):
            return 0, self.max_images
        return (0 if draws else 1), (self.max_images if edits else 0)

    @property
    def tag(self) -> str:
        return self.tier.upper()

    def matches(self, needle: str) -> bool:
        """Case-insensitive filter on id, tier tag, description and capabilities."""
        needle = needle.strip().lower()
        if not needle:
            return True
        haystack = " ".join((self.id, self.tier, self.description, *self.capabilities)).lower()
        return all(word in haystack for word in needle.split())

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "description": self.description,
            "tier": self.tier,
            "capabilities": list(self.capabilities),
            "sizes": list(self.sizes),
            "pixel_sizes": list(self.pixel_sizes),
            "mask": self.mask,
            "n": [self.n_min, self.n_max],
            "max_images": self.max_images,
            "reference_images": list(self.reference_range),
            "speed": self.speed,
            "default": self.default,
            "params": [p.to_json() for p in self.params],
            "source": self.source,
            "overridden": list(self.overridden),
        }


class Catalogue:
    def __init__(
        self,
        models: list[Model],
        *,
        problems: tuple = (),
        user_path: Path | None = None,
        entry_defaults: dict | None = None,
    ):
        self.models: tuple[Model, ...] = tuple(models)
        self._by_id = {m.id: m for m in models}
        defaults = [m for m in models if m.default]
        self.default: Model = defaults[0] if defaults else models[0]
        # What was wrong with the user's catalogue (user_catalogue.CatalogueProblem), and its path.
        self.problems = tuple(problems)
        self.user_path = user_path
        # The built-in [defaults] table: what a model the user adds starts from.
        self.entry_defaults: dict = entry_defaults or {}

    def __iter__(self):
        return iter(self.models)

    def __len__(self) -> int:
        return len(self.models)

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._by_id

    def get(self, model_id: str) -> Model | None:
        return self._by_id.get(model_id)

    def ids(self) -> list[str]:
        return [m.id for m in self.models]

    def filter(self, needle: str) -> list[Model]:
        return [m for m in self.models if m.matches(needle)]

    @classmethod
    def from_toml(cls, text: str) -> Catalogue:
        import tomllib  # deferred: only a command that reads the catalogue parses it

        return cls.from_tables(tomllib.loads(text))

    @classmethod
    def from_tables(cls, data: dict) -> Catalogue:
        """From the tables of a catalogue file, as tomllib reads them."""
        base = data.get("defaults", {})
        models = [model_from_fields({**base, **entry}) for entry in data.get("model", [])]
        if not models:
            raise ValueError("the model catalogue is empty")
        return cls(models, entry_defaults=base)


def model_from_fields(merged: dict, **extra) -> Model:
    """A Model from a catalogue entry already merged with the defaults (checked by the caller
    for a user's entry; the built-in catalogue is ours)."""
    tier = merged.get("tier", "stable")
    if tier not in TIERS:
        raise ValueError(f"model {merged.get('id')!r}: tier {tier!r} is not one of {TIERS}")
    declared = merged.get("params", {})
    params = declared if isinstance(declared, tuple) else tuple(parse_spec(k, v) for k, v in declared.items())
    return Model(
        id=merged["id"],
        description=merged.get("description", ""),
        tier=tier,
        capabilities=tuple(merged.get("capabilities", ())),
        sizes=tuple(merged.get("sizes", ())),
        pixel_sizes=tuple(merged.get("pixel_sizes", ())),
        mask=bool(merged.get("mask", False)),
        n_min=int(merged.get("n_min", 1)),
        n_max=int(merged.get("n_max", 4)),
        max_images=int(merged.get("max_images", 14)),
        speed=merged.get("speed", "normal"),
        default=bool(merged.get("default", False)),
        params=params,
        **extra,
    )


# Beside this module; not through importlib.resources, which costs the app a millisecond to start.
BUILTIN_TOML = Path(__file__).parent / "models.toml"
BUILTIN_JSON = BUILTIN_TOML.with_suffix(".json")


@lru_cache(maxsize=1)
def builtin_catalogue() -> Catalogue:
    """The catalogue this release ships, without the user's additions."""
    return Catalogue.from_tables(builtin_tables(BUILTIN_TOML, BUILTIN_JSON))


def builtin_tables(toml_path: Path, json_path: Path) -> dict:
    """``toml_path`` as tomllib reads it: from ``json_path`` when that was written from this
    very text, else parsed."""
    text = toml_path.read_text("utf-8")
    try:
        stored = json.loads(json_path.read_bytes())
        if stored["toml"] == text:
            return stored["tables"]
    except (OSError, ValueError, KeyError, TypeError):
        pass  # missing, unreadable or not ours: the TOML itself
    import tomllib  # deferred: parsed only when models.json does not match

    return tomllib.loads(text)


def write_builtin_json(toml_path: Path = BUILTIN_TOML, json_path: Path = BUILTIN_JSON) -> None:
    """``json_path`` written from ``toml_path``: what :func:`builtin_tables` reads instead of it."""
    import tomllib

    text = toml_path.read_text("utf-8")
    stored = {"toml": text, "tables": tomllib.loads(text)}
    json_path.write_text(json.dumps(stored, indent=1, ensure_ascii=False) + "\n", "utf-8")


def load_catalogue() -> Catalogue:
    """The catalogue in use: the built-in one with the user's ``models.toml`` applied (read again
    only when that file changes). A broken user entry is left out and listed in ``problems``."""
    path = user_catalogue_path()
    try:
        info = path.stat()
        stamp: tuple | None = (info.st_mtime_ns, info.st_size, info.st_ino)
    except OSError:
        stamp = None
    return _with_user_catalogue(path, stamp)


@lru_cache(maxsize=4)
def _with_user_catalogue(path: Path, stamp: tuple | None) -> Catalogue:
    if stamp is None:
        return builtin_catalogue()
    from .user_catalogue import apply_user_catalogue

    return apply_user_catalogue(builtin_catalogue(), path)


if __name__ == "__main__":  # python -m evolink_tui.core.catalogue: after an edit to models.toml
    write_builtin_json()
    print(f"wrote {BUILTIN_JSON} from {BUILTIN_TOML}")
