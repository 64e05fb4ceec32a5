"""Opening a result when the app runs in a browser (``evolink-tui serve``).

There the "system viewer" would be on the server, out of the user's sight; instead the
original file goes to the browser with Textual's ``App.deliver_binary`` and opens in a new
tab at full resolution, however far away the server is.
"""

from __future__ import annotations

import re
from pathlib import Path

from textual.app import App

from .format import plain


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
    app.deliver_binary(handle, save_filename=delivery_name(file), open_method="browser")
    app.notify(
        f"Sent {plain(file.name)} to the browser: it opens in a new tab (allow pop-ups for this page if none does).",
        markup=False,
    )
    return True
