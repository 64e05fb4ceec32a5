"""The model catalogue, loaded from ``models.toml`` shipped beside this module."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

TIERS = ("stable", "beta")


@dataclass(frozen=True, slots=True)
class Model:
    id: str
    description: str
    tier: str
    capabilities: tuple[str, ...]
    sizes: tuple[str, ...]
    pixel_sizes: tuple[str, ...]
    mask: bool
    n_min: int
    n_max: int
    max_images: int
    speed: str
    default: bool = False

    @property
    def all_sizes(self) -> tuple[str, ...]:
        """Every size value this model accepts: ratios, then pixel sizes."""
        return self.sizes + self.pixel_sizes

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
            "speed": self.speed,
            "default": self.default,
        }


class Catalogue:
    def __init__(self, models: list[Model]):
        self.models: tuple[Model, ...] = tuple(models)
        self._by_id = {m.id: m for m in models}
        defaults = [m for m in models if m.default]
        self.default: Model = defaults[0] if defaults else models[0]

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
        data = tomllib.loads(text)
        base = data.get("defaults", {})
        models = []
        for entry in data.get("model", []):
            merged = {**base, **entry}
            tier = merged.get("tier", "stable")
            if tier not in TIERS:
                raise ValueError(f"model {merged.get('id')!r}: tier {tier!r} is not one of {TIERS}")
            models.append(
                Model(
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
                )
            )
        if not models:
            raise ValueError("the model catalogue is empty")
        return cls(models)


@lru_cache(maxsize=1)
def load_catalogue() -> Catalogue:
    # Beside this module; not through importlib.resources, which costs the app a millisecond to start.
    text = (Path(__file__).parent / "models.toml").read_text("utf-8")
    return Catalogue.from_toml(text)
