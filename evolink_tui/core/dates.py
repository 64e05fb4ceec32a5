"""Days as people type them (YYYY-MM-DD, local time) and moments as the app shows them;
one definition for the history search in the app and the ``history`` command."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from .errors import ValidationError

DATE_HELP = "a date as YYYY-MM-DD, such as 2025-01-31"
_DATE = r"^\d{4}-\d{2}-\d{2}$"  # compiled on first use (re caches it): `history` rarely filters by day


def parse_day(field: str, text: str | None) -> float | None:
    """The start of a YYYY-MM-DD day (local time) in unix seconds; None for None. A
    ValidationError naming ``field`` for anything else (an empty string too)."""
    if text is None:
        return None
    try:
        if not re.match(_DATE, text.strip()):
            raise ValueError(text)
        return datetime.strptime(text.strip(), "%Y-%m-%d").timestamp()
    except (ValueError, OverflowError, OSError):
        raise ValidationError(field, text, DATE_HELP) from None


def day_range(since: str | None, until: str | None) -> tuple[float | None, float | None]:
    """(from the start of ``since``, to the end of ``until``, exclusive): both days whole."""
    start, end = parse_day("since", since), parse_day("until", until)
    if end is not None:
        end = (datetime.fromtimestamp(end) + timedelta(days=1)).timestamp()
    return start, end


def when(moment: float | None, *, short: bool = False) -> str:
    """A moment as ``2025-01-31 14:05`` (``01-31 14:05`` when short); ``?`` if unknown."""
    if not moment:
        return "?"
    try:
        return datetime.fromtimestamp(moment).strftime("%m-%d %H:%M" if short else "%Y-%m-%d %H:%M")
    except (ValueError, OverflowError, OSError):
        return "?"
