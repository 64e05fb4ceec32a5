"""Long prompts in the user's own editor: which editor, and the round trip through a file.

The editor is ``EVOLINK_TUI_EDITOR``, else ``VISUAL``, else ``EDITOR`` (each may carry
arguments, such as ``code --wait``). The prompt is written to a private temporary file, the
editor runs on it in the foreground, and the file's text is read back; the file is removed
whatever happens. The app runs this while Textual is suspended (``App.suspend``).
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Mapping
from pathlib import Path

VARIABLES = ("EVOLINK_TUI_EDITOR", "VISUAL", "EDITOR")
MAX_PROMPT_FILE = 1_000_000  # characters read back: far beyond any prompt a model takes


class EditorError(Exception):
    """The editor could not be run, or its file not read back: the message says which."""


def editor_command(env: Mapping[str, str] | None = None) -> list[str] | None:
    """The editor to run, as a command line, from the first of :data:`VARIABLES` that is set
    (None: none is)."""
    env = os.environ if env is None else env
    for name in VARIABLES:
        value = env.get(name, "").strip()
        if value:
            try:
                words = shlex.split(value)
            except ValueError as exc:
                raise EditorError(f"{name}={value!r} cannot be read as a command: {exc}") from None
            if words:
                return words
    return None


def edit_text(text: str, command: list[str], *, tmp_dir: str | Path | None = None) -> str | None:
    """Let the user edit ``text`` with ``command`` (blocking until the editor exits); the new
    text, or None when the editor failed (exit status not 0: the text is left as it was)."""
    import tempfile

    fd, name = tempfile.mkstemp(prefix="evolink-prompt-", suffix=".txt", dir=tmp_dir)  # mode 0600
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        try:
            status = subprocess.call([*command, str(path)])
        except OSError as exc:
            raise EditorError(f"could not run {command[0]!r}: {exc.strerror or exc}") from None
        if status != 0:
            return None
        try:
            with path.open(encoding="utf-8", errors="replace") as file:
                edited = file.read(MAX_PROMPT_FILE + 1)
        except OSError as exc:
            raise EditorError(f"could not read the prompt back from {path}: {exc.strerror or exc}") from None
        if len(edited) > MAX_PROMPT_FILE:
            raise EditorError(f"the prompt file grew past {MAX_PROMPT_FILE:,} characters; nothing was changed")
        # Editors end a file with a line break the user did not type as part of the prompt.
        return edited.removesuffix("\n") if not text.endswith("\n") else edited
    finally:
        path.unlink(missing_ok=True)
