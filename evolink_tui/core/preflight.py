"""Checks made before anything that costs credits is sent.

:func:`check_download_folder` is what the headless commands call before a submit (and
what the app calls before a generation): a folder results could not be written to is
found out before Evolink is paid, not after.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .errors import ValidationError
from .validation import human_size

RESULT_ROOM = 16 * 1024 * 1024  # room asked for each result: far above any Evolink image
FOLDER_ALLOWED = (
    "a folder that exists or can be made, that you can write to, with room for the results "
    "(--download-dir or EVOLINK_DOWNLOAD_DIR picks another)"
)


def download_folder_problem(
    folder: str | os.PathLike, *, results: int = 1, need_bytes: int | None = None
) -> str | None:
    """Why results could not be saved in ``folder``, or None. Makes the folder if it is
    missing and writes (and removes) a probe file in it; ``need_bytes`` of free space are
    asked for (default: :data:`RESULT_ROOM` per result)."""
    folder = Path(folder).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        return f"{folder} is a file, not a folder"
    except OSError as exc:
        return f"{folder} cannot be made ({exc.strerror or exc})"
    if not folder.is_dir():
        return f"{folder} is not a folder"
    try:  # named like a partial download, so a probe a killed run leaves is cleaned up too
        fd, probe = tempfile.mkstemp(prefix=".download-", suffix=".part", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return f"cannot write in {folder} ({exc.strerror or exc})"
    need = need_bytes if need_bytes is not None else max(1, results) * RESULT_ROOM
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return None
    if free < need:
        return f"only {human_size(free)} free on the disk of {folder}; the results need about {human_size(need)}"
    return None


def check_download_folder(folder: str | os.PathLike, *, results: int = 1) -> None:
    """A ValidationError (nothing sent) when results could not be saved in ``folder``."""
    problem = download_folder_problem(folder, results=results)
    if problem:
        raise ValidationError("download folder", str(folder), FOLDER_ALLOWED, shown=problem)
