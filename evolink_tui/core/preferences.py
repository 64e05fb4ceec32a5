"""Settings of batches, budgets, notices and the gallery, read from the config file (``config.toml``).

| key | default | what |
|---|---|---|
| ``batch_concurrency`` | 3 | tasks of a batch running at once (1-8) |
| ``batch_submit_interval`` | 1.0 | seconds between two new submits of a batch (0-60) |
| ``budget_per_run`` | none | credits one app run (or one command) may spend |
| ``budget_per_day`` | none | credits a day (local time) may spend, everything counted |
| ``notify_bell`` | true | ring the bell when a task or batch ends while you are away |
| ``notify_desktop`` | true | a desktop notification through the terminal (OSC 9 / OSC 777) |
| | | ``"osc9"``, ``"osc777"`` or ``"both"`` pick the sequence; ``true`` picks it from the terminal |
| ``notify_idle_seconds`` | 60 | no key or click for this long counts as away |
| ``gallery_cards`` | ``"small"`` | the gallery's card size, ``"small"`` or ``"large"`` (the app saves it) |

A wrong value is ignored with a warning naming the file, the line and what is allowed
(the default applies), as for the other keys of the config file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from .config import config_line, read_config_file

DESKTOP_CHOICES = ("osc9", "osc777", "both")
CARD_SIZES = ("small", "large")  # the gallery's cards, in the order its key cycles them


@dataclass(frozen=True)
class Preferences:
    batch_concurrency: int = 3
    batch_submit_interval: float = 1.0
    budget_per_run: float | None = None
    budget_per_day: float | None = None
    notify_bell: bool = True
    notify_desktop: bool | str = True  # True: chosen from the terminal; False: off; or one of DESKTOP_CHOICES
    notify_idle_seconds: float = 60.0
    gallery_cards: str = "small"  # one of CARD_SIZES
    warnings: tuple[str, ...] = field(default=(), compare=False)


def _number(value, low: float, high: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) and low <= value <= high else None


def load_preferences(path: Path | None) -> Preferences:
    """The preferences in the config file at ``path`` (defaults where unset or wrong)."""
    if path is None:
        return Preferences()
    data, _ = read_config_file(Path(path))  # an unreadable file is reported with the settings
    warnings: list[str] = []
    chosen: dict = {}

    def take(key: str, check, allowed: str) -> None:
        if key not in data:
            return
        value = check(data[key])
        if value is None:
            line = config_line(Path(path), key)
            where = f" at line {line}" if line else ""
            warnings.append(f"The config file {path}{where}: {key} must be {allowed}; the default applies.")
        else:
            chosen[key] = value

    def whole(low: int, high: int):
        def check(value):
            number = _number(value, low, high)
            return int(number) if number is not None and float(number).is_integer() else None

        return check

    def desktop(value):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in DESKTOP_CHOICES:
            return value.strip().lower()
        return None

    take("batch_concurrency", whole(1, 8), "a whole number from 1 to 8")
    take("batch_submit_interval", lambda v: _number(v, 0, 60), "a number of seconds from 0 to 60")
    take("budget_per_run", lambda v: _number(v, 0, 1e12), "a number of credits, 0 or more")
    take("budget_per_day", lambda v: _number(v, 0, 1e12), "a number of credits, 0 or more")
    take("notify_bell", lambda v: v if isinstance(v, bool) else None, "true or false")
    take("notify_desktop", desktop, 'true, false, "osc9", "osc777" or "both"')
    take("notify_idle_seconds", lambda v: _number(v, 1, 86400), "a number of seconds from 1 to 86400")
    take("gallery_cards", lambda v: v if v in CARD_SIZES else None, '"small" or "large"')
    return Preferences(**chosen, warnings=tuple(warnings))
