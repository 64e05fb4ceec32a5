"""The user's directories (config, data, cache, state, Pictures), as platformdirs gives them.

On Linux the common cases are answered here, by the XDG Base Directory rules: the variable
(``XDG_DATA_HOME`` and the like) when it holds an absolute path, else the default under an
absolute ``HOME``; Pictures from an absolute ``XDG_PICTURES_DIR``, else ``~/Pictures`` when
there is no ``user-dirs.dirs`` to read. Everything else goes to platformdirs, the reference:
other systems, a ``HOME`` that is not absolute, and a ``user-dirs.dirs`` file (platformdirs
parses it and checks who may have written it).

Why not platformdirs for all: on Python < 3.15 its Unix module loads tempfile, shutil, random,
bz2 and lzma when imported (its lazy imports need PEP 810), 12-16 ms on a 2-core machine, half
of a bare interpreter's start: ``history`` and ``locate`` could not start within 3x of one.
tests/test_dirs.py holds these answers to platformdirs' own, case by case.
"""

from __future__ import annotations

import os
import sys

APP_NAME = "evolink-tui"
DATA_ENV = "EVOLINK_TUI_DATA_DIR"  # moves the data dir (tests use it)

_BASES = {
    "config": ("XDG_CONFIG_HOME", ".config"),
    "data": ("XDG_DATA_HOME", ".local/share"),
    "cache": ("XDG_CACHE_HOME", ".cache"),
    "state": ("XDG_STATE_HOME", ".local/state"),
}


def _home() -> str | None:
    """An absolute ``HOME`` on Linux; None where platformdirs has to decide."""
    home = os.environ.get("HOME", "")
    return home.rstrip("/") if sys.platform == "linux" and home.startswith("/") else None


def _base(kind: str) -> str | None:
    variable, default = _BASES[kind]
    value = os.environ.get(variable, "")
    if value.startswith("/") and sys.platform == "linux":
        return value
    home = _home()
    return None if home is None else f"{home}/{default}"  # as expanduser("~/...") makes it


def user_dir(kind: str, app: str) -> str:
    """``kind`` is config, data, cache or state: the app's own folder of that kind."""
    base = _base(kind)
    if base is not None:
        return os.path.join(base, app)
    import platformdirs  # deferred: see the module's docstring

    return getattr(platformdirs, f"user_{kind}_dir")(app, appauthor=False)


def user_pictures_dir() -> str:
    value = os.environ.get("XDG_PICTURES_DIR", "")
    if value.startswith("/") and sys.platform == "linux":
        return value
    config, home = _base("config"), _home()
    if config is not None and home is not None and not os.path.lexists(os.path.join(config, "user-dirs.dirs")):
        return f"{home}/Pictures"
    import platformdirs  # deferred: see the module's docstring

    return platformdirs.user_pictures_dir()


def data_folder() -> str:
    """The app's data folder (the history lives there), as a string: ``EVOLINK_TUI_DATA_DIR``
    with ``~`` expanded, else the user's data dir. A string so that `evolink-tui history`
    never loads pathlib (with urllib.parse and ipaddress, 0.3-0.4x a bare interpreter's start);
    ``config.data_dir()`` is the same folder as a Path."""
    env = os.environ.get(DATA_ENV)
    return os.path.expanduser(env) if env else user_dir("data", APP_NAME)
