"""What a task transition says in a notification (a toast), if anything.

The text is plain: the app passes it to ``notify(..., markup=False)``; server strings are
made inert here first.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from evolink_tui.core import events as kinds
from evolink_tui.core.history import TaskRecord
from evolink_tui.core.text import inert

from .format import plain
from .messages import TaskChanged


class Notice(NamedTuple):
    text: str
    title: str
    severity: str = "information"
    timeout: float = 5.0


def notice_for(message: TaskChanged, record: TaskRecord, download_dir: Path) -> Notice | None:
    event, name = message.event, plain(record.model)
    error = event.error
    if message.kind == kinds.FAILED and error is not None:
        advice = "A retry may help: press t." if error.retryable else f"Retrying will not help: {error.resolution}"
        return Notice(f"{inert(error.summary())}\n{advice}", f"Task failed: {name}", "error", 8)
    if message.kind == kinds.TIMEOUT:
        return Notice(inert(event.notice or ""), name, "warning", 10)
    if message.kind == kinds.UNCERTAIN:
        return Notice(
            "Not sure the request reached the server. Press t to resend it with its own key (never a double charge).",
            name,
            "warning",
            10,
        )
    if message.kind == kinds.PROBLEM:
        return Notice(f"Offline, retrying. {inert(error.summary()) if error else ''}".strip(), name, "warning")
    if message.kind == kinds.FINISHED:
        failed = [d for d in event.downloads if not d.ok and d.error is not None]
        if failed:
            return Notice(inert(failed[0].error.explain()), f"Download failed: {name}", "error", 8)
        if event.downloads:
            count = len(event.downloads)
            return Notice(f"Saved {count} image{'s' if count != 1 else ''} to {plain(download_dir)}", name, timeout=4)
    return None
