"""Opening a result when the app runs in a browser (``evolink-tui serve``).

There the "system viewer" would be on the server, out of the user's sight; instead the
original file goes to the browser with Textual's ``App.deliver_binary`` and opens in a new
tab at full resolution, however far away the server is.
"""

from __future__ import annotations

import re
from pathlib import Path

from textual.app import App
from textual.events import DeliveryFailed

from .format import plain

DELIVERY_PREFIX = "result:"  # the delivery's name: a failure can say which file did not arrive


def delivery_name(path: Path) -> str:
    """The file name the browser is given: ASCII letters, digits, ``._-`` (textual-serve puts it
    in a Content-Disposition header unquoted)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", path.name).strip("-.")
    return name or "evolink-result" + path.suffix


def open_in_browser(app: App, path: str) -> bool:
    """Send ``path`` to the browser when the app runs in one; False (nothing done) in a terminal."""
    if not app.is_web:
        return False
    file = Path(path)
    try:
        handle = file.open("rb")  # deliver_binary reads and closes it in a thread
    except OSError as exc:
        app.notify(f"Could not read {plain(path)}: {exc.strerror or exc}", severity="error", markup=False)
        return True
    name = DELIVERY_PREFIX + file.name
    app.deliver_binary(handle, save_filename=delivery_name(file), open_method="browser", name=name)
    app.notify(
        f"Sent {plain(file.name)} to the browser: it opens in a new tab (allow pop-ups for this page if none does).",
        markup=False,
    )
    return True


def delivery_failed(app: App, event: DeliveryFailed) -> None:
    """Textual could not send a result to the browser: say so plainly, and what to try."""
    if not (event.name or "").startswith(DELIVERY_PREFIX):
        return  # not ours (Textual reports its own screenshots)
    name = event.name.removeprefix(DELIVERY_PREFIX) if event.name else ""
    reason = getattr(event.exception, "strerror", None) or str(event.exception) or type(event.exception).__name__
    app.notify(
        f"{plain(name)} did not reach the browser: {plain(reason, 200)}. The file is still on the server; "
        "press o to send it again, or c to copy its path.",
        title="Not sent",
        severity="error",
        markup=False,
        timeout=15,
    )
