"""The log file: where a failure that must not stop the app is written down in full.

Only what went wrong inside evolink-tui goes here (a view's event handler that raised, with
its traceback), never requests, prompts or the API key. The file lives in the user's state
dir (``EVOLINK_TUI_STATE_DIR`` moves it); ``evolink-tui locate`` prints its path. Nothing is
created until the first entry is written.
"""

from __future__ import annotations

import os
from _thread import allocate_lock
from pathlib import Path

TYPE_CHECKING = False  # typing's own costs a headless command milliseconds to import
if TYPE_CHECKING:
    import logging

LOG_FILE = "evolink-tui.log"
MAX_BYTES = 1024 * 1024  # one file of 1 MB and one older copy
LOGGER = "evolink_tui"

_lock = allocate_lock()  # threading.Lock itself, without importing threading (locate prints the path)


def state_dir() -> Path:
    override = os.environ.get("EVOLINK_TUI_STATE_DIR")
    if override:
        return Path(override).expanduser()
    from .dirs import APP_NAME, user_dir

    return Path(user_dir("state", APP_NAME))


def log_path() -> Path:
    return state_dir() / LOG_FILE


def _logger() -> logging.Logger:
    """The package's logger, writing to :func:`log_path` (the handler made on first use)."""
    import logging  # deferred: a command that logs nothing (locate) never loads it

    logger = logging.getLogger(LOGGER)
    path = log_path()
    with _lock:
        handlers = [h for h in logger.handlers if getattr(h, "baseFilename", None) == str(path)]
        if not handlers:
            from logging.handlers import RotatingFileHandler

            for old in list(logger.handlers):  # the state dir moved (tests): the old file is left
                logger.removeHandler(old)
                old.close()
            path.parent.mkdir(parents=True, exist_ok=True)
            handler = RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=1, encoding="utf-8")
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            logger.propagate = False
    return logger


def log_failure(what: str, error: BaseException) -> Path | None:
    """Write ``error`` (with its traceback) under the heading ``what``; the log's path, or
    None when even the log cannot be written (the caller still reports the failure)."""
    try:
        _logger().error("%s", what, exc_info=(type(error), error, error.__traceback__))
    except OSError:
        return None
    return log_path()
