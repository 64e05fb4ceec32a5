"""Notices that reach you: the bell and a desktop notification, sent through the terminal.

The terminal turns them into a system notification, even over SSH:

- the bell, ``BEL``;
- ``OSC 9`` (iTerm2, and many others): ``ESC ] 9 ; message BEL``;
- ``OSC 777`` (VTE terminals such as GNOME Terminal, foot, WezTerm, Ghostty, urxvt):
  ``ESC ] 777 ; notify ; title ; body BEL``.

Terminals that do not know a sequence ignore it. Inside tmux the two OSC sequences are
wrapped for passthrough (``ESC P tmux; ... ESC \\``, with every ESC doubled), which tmux
3.3+ forwards when ``set -g allow-passthrough on``; the bell needs no wrapping (tmux passes
it on by itself).

All text is made inert first: every control character (ESC, BEL, C1, newlines...) is
removed, so a prompt or a server message can never end the sequence early or start
another one. :class:`Attention` is the rule for *when* the app sends one (the user is away:
the terminal lost focus, another screen is in front, or no key for a while).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TextIO

BEL = "\a"
ESC = "\x1b"
MAX_TEXT = 200  # characters of title or body: notifications are short
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
# Terminals known to show one sequence (and so not to be sent the other).
_OSC9_TERMINALS = ("iterm.app", "iterm2")
_OSC777_TERMINALS = ("wezterm", "ghostty", "foot", "vte", "gnome-terminal", "tilix", "rxvt")


def clean(text: object, limit: int = MAX_TEXT) -> str:
    """``text`` with every control character gone (runs of them become one space), trimmed
    to ``limit`` characters."""
    flat = " ".join(_CONTROLS.sub(" ", str(text)).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def osc9(message: str) -> str:
    text = clean(message)
    if re.match(r"\d+;", text):  # ConEmu and Windows Terminal read "9;4;..." as a progress command
        text = " " + text
    return f"{ESC}]9;{text}{BEL}"


def osc777(title: str, body: str) -> str:
    return f"{ESC}]777;notify;{clean(title).replace(';', ',')};{clean(body)}{BEL}"


def tmux_wrap(sequence: str) -> str:
    """``sequence`` wrapped for tmux passthrough (DCS ``tmux;``, every ESC doubled)."""
    return f"{ESC}Ptmux;{sequence.replace(ESC, ESC + ESC)}{ESC}\\"


def desktop_sequences(setting: bool | str, environ: Mapping[str, str]) -> tuple[str, ...]:
    """Which OSC sequences to send: ``osc9``, ``osc777``, both, or none (``setting`` False).

    ``True`` picks from the terminal (``TERM_PROGRAM``, ``LC_TERMINAL``, ``VTE_VERSION``):
    one sequence where the terminal is known, both where it is not (each is ignored by the
    terminals that do not know it)."""
    if setting is False:
        return ()
    if setting in ("osc9", "osc777"):
        return (str(setting),)
    if setting == "both":
        return ("osc9", "osc777")
    names = " ".join(environ.get(k, "") for k in ("TERM_PROGRAM", "LC_TERMINAL", "TERM")).lower()
    if any(name in names for name in _OSC9_TERMINALS):
        return ("osc9",)
    if environ.get("VTE_VERSION") or any(name in names for name in _OSC777_TERMINALS):
        return ("osc777",)
    return ("osc9", "osc777")


def in_tmux(environ: Mapping[str, str]) -> bool:
    return bool(environ.get("TMUX"))


def notice_sequence(
    title: str,
    body: str,
    *,
    bell: bool = True,
    desktop: bool | str = True,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The bytes (as text) to write to the terminal for one notice; empty when both are off."""
    env = os.environ if environ is None else environ
    parts = []
    for kind in desktop_sequences(desktop, env):
        sequence = osc9(f"{clean(title)}: {clean(body)}") if kind == "osc9" else osc777(title, body)
        parts.append(tmux_wrap(sequence) if in_tmux(env) else sequence)
    if bell:
        parts.append(BEL)
    return "".join(parts)


@contextlib.contextmanager
def terminal_stream(stderr: TextIO | None = None) -> Iterator[TextIO | None]:
    """Where a headless command's notice goes: stderr when it is a terminal, else the
    controlling terminal (``/dev/tty``: the output may be redirected while you watch), else
    nowhere (None: no terminal at all, e.g. cron or CI)."""
    stderr = stderr or sys.stderr
    try:
        if stderr.isatty():
            yield stderr
            return
    except (AttributeError, ValueError):  # a closed or unusual stream
        pass
    try:
        tty = open("/dev/tty", "w", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError:
        yield None
        return
    try:
        yield tty
    finally:
        tty.close()


def send_notice(title: str, body: str, prefs, *, environ: Mapping[str, str] | None = None, stderr=None) -> bool:
    """Write one notice (as ``prefs.notify_bell`` / ``prefs.notify_desktop`` allow) to the
    terminal; whether anything was written."""
    sequence = notice_sequence(title, body, bell=prefs.notify_bell, desktop=prefs.notify_desktop, environ=environ)
    if not sequence:
        return False
    with terminal_stream(stderr) as stream:
        if stream is None:
            return False
        try:
            stream.write(sequence)
            stream.flush()
        except OSError:
            return False
    return True


@dataclass
class Attention:
    """Whether the user is away, so that the end of a task or batch should reach them.

    The app feeds it: :meth:`focus` from the terminal's focus events (None until the
    terminal reports one), :meth:`front` when the screen showing the runs is in front or
    not, :meth:`input` at each key or click.
    """

    idle_after: float = 60.0
    focused: bool | None = None
    in_front: bool = True
    last_input: float | None = None

    def focus(self, focused: bool) -> None:
        self.focused = focused

    def front(self, in_front: bool) -> None:
        self.in_front = in_front

    def input(self, now: float) -> None:
        self.last_input = now

    def away(self, now: float) -> bool:
        """Not focused, another screen in front, or idle for ``idle_after`` seconds."""
        if self.focused is False or not self.in_front:
            return True
        return self.last_input is not None and now - self.last_input >= self.idle_after
