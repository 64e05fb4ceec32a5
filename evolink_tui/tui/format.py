"""How task facts read on screen: ages, bars, credits, statuses. Pure functions, no widgets.

Everything that comes from outside (prompts, model names, server messages) is made inert
here and returned as plain strings, to be wrapped in ``Content``/``Text``: never markup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evolink_tui.core.history import TaskRecord
from evolink_tui.core.text import excerpt, inert

if TYPE_CHECKING:
    from rich.color import Color as RichColor
    from textual.binding import Binding

BLOCKS = " ▏▎▍▌▋▊▉█"
EMPTY = "░"

# state -> (label, role); a role is a theme colour name: "accent", "success", ...
STATES = {
    "submitting": ("sending", "accent"),
    "uncertain": ("unsure", "warning"),
    "submit_failed": ("failed", "error"),
    "pending": ("queued", "secondary"),
    "processing": ("running", "accent"),
    "completed": ("done", "success"),
    "failed": ("failed", "error"),
    "cancelled": ("cancelled", "warning"),
    "unknown": ("unknown", "warning"),
    "not_found": ("gone", "error"),  # Evolink no longer knows the task (final)
}


def key_label(binding: Binding) -> str:
    """A key as the key bar and the help show it: ``^j``, ``f2``, ``shift+tab`` (ctrl as a
    caret, Textual's names for the keys; no binding of ours names its key otherwise)."""
    from textual.keys import format_key

    *modifiers, key = binding.key.split("+")
    shown = format_key(key)
    if "ctrl" in modifiers:
        modifiers.remove("ctrl")
        shown = f"^{shown}"
    return "+".join([*modifiers, shown])


def theme_colour(app: object, role: str) -> RichColor | None:
    """A theme variable (``success``, ``error``...) as a Rich colour, for Rich ``Text`` and
    ``Style``. Textual names the ANSI themes' colours ``ansi_green`` and so on, which Rich does
    not read: Textual's own parser turns every form into the colour Rich draws."""
    from textual.color import Color

    value = getattr(app, "theme_variables", {}).get(role)
    if not value:
        return None
    try:
        return Color.parse(value).rich_color
    except Exception:  # a theme variable Textual cannot read either: no colour
        return None


def plain(text: object, limit: int | None = None) -> str:
    """Untrusted text on one line, control characters shown as escapes, optionally cut."""
    flat = inert(" ".join(str(text or "").split()), one_line=True)
    return excerpt(flat, limit) if limit else flat


def age(seconds: float) -> str:
    """A compact age: 5s, 3m, 2h, 4d."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def duration(seconds: float | None) -> str:
    """Time taken: 6.2s, 1m05s."""
    if seconds is None or seconds < 0:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s"


def credits(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:g}"


def task_credits(record: TaskRecord, index: int | None = None) -> str:
    """A task's credits as the label of its result ``index`` shows them (costs.charge): once
    a task, on its first result with the number of images ("12 cr / 2 images"; the others
    say "cr on #1"); a task not charged or refunded says so, never as spent."""
    from evolink_tui.core.costs import NOT_CHARGED, REFUNDED, UNCERTAIN, charge

    spent = charge(record)
    if spent.kind == NOT_CHARGED:
        return "not charged"
    if spent.kind == REFUNDED:
        return f"{credits(spent.credits)} cr, rest refunded"
    if spent.kind == UNCERTAIN:
        return "? cr"
    images = max(len(record.results), len(record.files))
    if images <= 1:
        return f"{credits(spent.credits)} cr"
    return f"{credits(spent.credits)} cr / {images} images" if not index else "cr on #1"


def bar(progress: int, width: int = 10) -> str:
    """A progress bar of ``width`` cells with eighth-cell resolution."""
    progress = max(0, min(100, int(progress)))
    eighths = round(progress * width * 8 / 100)
    full, part = divmod(eighths, 8)
    text = "█" * full
    if full < width:
        text += (BLOCKS[part] if part else "") + EMPTY * (width - full - (1 if part else 0))
    return text


def state_label(record: TaskRecord) -> tuple[str, str]:
    """(label, role) for a record's state, with the timeout notice taking precedence."""
    if record.notice and not record.is_finished:
        return "5 min+", "warning"
    label, role = STATES.get(record.state, (plain(record.state, 10), "warning"))
    if record.state == "completed" and getattr(record, "download_state", None) == "expired":
        return "expired", "warning"
    if record.state == "completed" and record.error:
        return "no file", "warning"
    return label, role


def eta_left(record: TaskRecord, now: float) -> int | None:
    """Seconds left: the server's estimate counted down since it was given."""
    if record.is_finished or record.estimated_time is None:
        return None
    return max(0, int(record.estimated_time - max(0.0, now - record.updated_at)))


def error_lines(error: dict | None) -> list[tuple[str, str]]:
    """(label, value) lines for an error dict from ``EvolinkError.to_json()``."""
    if not error:
        return []
    lines = []
    code = error.get("code")
    if code is not None:
        lines.append(("Error", plain(code)))
    if error.get("message"):
        lines.append(("Message", inert(str(error["message"]))))
    if error.get("meaning") and error.get("meaning") != error.get("message"):
        lines.append(("Meaning", inert(str(error["meaning"]))))
    if "retryable" in error:
        lines.append(("Retry", "a retry may help (t)" if error.get("retryable") else "retrying will not help"))
    if error.get("resolution"):
        lines.append(("What to do", inert(str(error["resolution"]))))
    return lines


def request_summary(request: dict) -> str:
    """size · n · refs · mask, from a submitted body."""
    parts = [f"size {plain(request.get('size') or 'auto')}", f"n {request.get('n') or 1}"]
    refs = request.get("image_urls") or []
    if refs:
        parts.append(f"{len(refs)} ref{'s' if len(refs) != 1 else ''}")
    if request.get("mask_url"):
        parts.append("mask")
    return " · ".join(parts)


FIELD_NAMES = {
    "prompt": "Prompt",
    "model": "Model",
    "size": "Size",
    "n": "n",
    "image_urls": "Reference",
    "mask_url": "Mask",
}


def short_problem(err) -> str:
    """A ValidationError in one short line for a narrow panel: field, value, what is allowed."""
    field = FIELD_NAMES.get(err.field, err.field)
    value = err.value
    if err.field in ("image_urls", "mask_url") and isinstance(value, str) and "://" not in value:
        value = value.rstrip("/").rsplit("/", 1)[-1]  # a local path: its file name says enough
    if err.field == "prompt":
        shown = f" ({len(value)} characters)" if isinstance(value, str) and value.strip() else ""
    elif isinstance(value, list):
        shown = f" ({len(value)})"
    else:
        shown = f" {plain(value, 30)}"
    return f"{field}{shown}: {plain(err.allowed, 200)}"


def from_text(record: TaskRecord) -> str:
    """Where a record came from: ``from #12 (result 2)``, or "" for a first generation."""
    if record.parent is None:
        return ""
    parent_id, index = record.parent
    return f"from #{parent_id} (result {index + 1})"


def children_text(children: list[TaskRecord], limit: int = 6) -> str:
    """What was made from a record: ``iterated on: #14 (result 1), #15 (result 2)``, or ""."""
    if not children:
        return ""
    shown = [f"#{c.id} (result {c.parent[1] + 1})" if c.parent else f"#{c.id}" for c in children[:limit]]
    more = f" and {len(children) - limit} more" if len(children) > limit else ""
    return f"iterated on: {', '.join(shown)}{more}"


def lineage_text(record: TaskRecord, children: list[TaskRecord]) -> str:
    """The preview's (and the viewer's) lineage line: where the record came from and what
    was made from it (``history.children(record.id)``, read in a thread), "" if neither."""
    return " · ".join(part for part in (from_text(record), children_text(children)) if part)
