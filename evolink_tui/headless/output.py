"""What every headless command shares: the output (text, or one JSON object), the settings,
whole-number arguments and the retry notes."""

from __future__ import annotations

import json
import sys

from ..core.errors import EvolinkError, ValidationError
from ..core.text import inert

TYPE_CHECKING = False  # typing's own costs a headless command milliseconds to import
if TYPE_CHECKING:
    from ..core.config import Settings

DEMO_NOTICE = "DEMO MODE: answers come from the built-in simulator; no key is used and no credits are spent."


class Output:
    """Human text to stdout (live progress on stderr when it is a terminal), or one JSON object."""

    lines = False  # JSON on one line (commands that print JSON lines, such as batch)

    def __init__(self, as_json: bool):
        self.as_json = as_json
        self.live = sys.stderr.isatty() and not as_json
        self._line_open = False

    def say(self, text: str = "") -> None:
        if not self.as_json:
            self._end_line()
            print(inert(text), flush=True)

    def note(self, text: str) -> None:
        """A remark on stderr (demo notice, retries): never mixed into --json stdout."""
        self._end_line()
        print(inert(text), file=sys.stderr, flush=True)

    def progress(self, text: str) -> None:
        if self.live:
            sys.stderr.write("\r\x1b[2K" + inert(text, one_line=True))
            sys.stderr.flush()
            self._line_open = True

    def _end_line(self) -> None:
        if self._line_open:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self._line_open = False

    def emit(self, obj: dict) -> None:
        self._end_line()
        if self.as_json:
            print(json.dumps(obj, ensure_ascii=True, indent=None if self.lines else 2, default=str), flush=True)

    def fail(self, err: Exception, extra: dict | None = None) -> None:
        self._end_line()
        if self.as_json:
            body = err.to_json() if hasattr(err, "to_json") else {"message": str(err)}
            self.emit({**(extra or {}), "error": body})
        else:
            text = err.explain() if isinstance(err, EvolinkError) else str(err)
            print(inert(f"evolink-tui: {text}"), file=sys.stderr, flush=True)


def settings_for(args, out: Output, *, need_key: bool = True) -> Settings:
    from ..core.config import load_settings  # deferred: models and history need no settings

    settings = load_settings(demo=getattr(args, "demo", False), download_dir=getattr(args, "download_dir", None))
    for warning in settings.warnings:
        out.note(f"warning: {warning}")
    if settings.demo:
        out.note(DEMO_NOTICE)
    elif need_key and not settings.has_key:
        raise ValidationError(
            "api_key",
            "(none)",
            "set EVOLINK_API_KEY, save a key from the app (run `evolink-tui`), or try --demo",
            shown="no API key is configured",
        )
    return settings


def retry_listener(out: Output, quiet=lambda op: False):
    """A client listener that notes each retry on stderr (unless ``quiet(op)``)."""
    from ..core.events import RequestRetrying

    def listener(event) -> None:
        if isinstance(event, RequestRetrying) and not quiet(event.op):
            out.note(f"retrying {event.op} in {event.delay:.0f}s after {event.error.summary()}")

    return listener


# Beyond these a number cannot even be stored (SQLite integers are 64-bit).
WHOLE_MIN, WHOLE_MAX = -(2**63), 2**63 - 1


def whole(field: str, text: str, allowed: str, *, low: int = WHOLE_MIN, high: int = WHOLE_MAX) -> int:
    """``text`` as a whole number from ``low`` to ``high``, or a ValidationError naming
    ``field`` (nothing sent)."""
    try:
        value = int(str(text).strip())
    except ValueError:
        raise ValidationError(field, text, allowed) from None
    if not low <= value <= high:
        raise ValidationError(field, value, allowed)
    return value
