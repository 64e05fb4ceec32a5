"""tmux passthrough: an escape tmux does not know is dropped unless it is wrapped.

tmux (3.3 and later) forwards ``ESC P tmux; <sequence> ESC \\`` to the outer terminal when
the pane allows it (``set -g allow-passthrough on``); every ESC inside the wrapped
sequence is doubled so tmux can find the end of the wrapper.
"""

from __future__ import annotations

import os

ESC = "\x1b"
START = ESC + "Ptmux;"
END = ESC + "\\"


def in_tmux(environ: dict | None = None) -> bool:
    env = os.environ if environ is None else environ
    return bool(env.get("TMUX"))


def wrap(sequence: str) -> str:
    """``sequence`` wrapped for tmux passthrough."""
    return START + sequence.replace(ESC, ESC + ESC) + END


def unwrap(data: str) -> str:
    """The inverse of ``wrap`` for one wrapped sequence (ValueError if it is not one)."""
    if not (data.startswith(START) and data.endswith(END)):
        raise ValueError("not a tmux passthrough sequence")
    inner = data[len(START) : -len(END)]
    if inner.replace(ESC + ESC, "").count(ESC):
        raise ValueError("an ESC inside a tmux passthrough sequence is not doubled")
    return inner.replace(ESC + ESC, ESC)
