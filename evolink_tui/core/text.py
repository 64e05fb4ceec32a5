"""Untrusted text made inert: terminal control characters shown, never obeyed."""

from __future__ import annotations

import re
from functools import cache

# Invisible characters that change what text seems to say: bidi embeddings, overrides,
# isolates and marks (U+202A-202E, U+2066-2069, U+200E/F, U+061C) can show "exe.txt" as
# "txt.exe"; line and paragraph separators (U+2028/9) split lines; zero-width and filler
# characters, the BOM, invisible operators, interlinear annotations and tag characters
# hide text. ZWJ and ZWNJ (U+200C/D) stay: emoji and several scripts need them.
_INVISIBLE = (
    "\u00ad\u061c\u115f\u1160\u180e\u200b\u200e\u200f\u2028\u2029\u202a-\u202e\u2060-\u206f"
    "\u3164\ufeff\uffa0\ufff9-\ufffb\U000e0000-\U000e007f"
)


@cache
def _controls(one_line: bool) -> re.Pattern:
    """C0 controls (except tab and newline unless ``one_line``), DEL, C1 controls (which
    include CSI and OSC) and the invisible characters. Compiled on first use, not at import:
    the two patterns take a headless command about two milliseconds, and `models --json`
    prints nothing through them."""
    c0 = "\\x00-\\x1f" if one_line else "\\x00-\\x08\\x0b-\\x1f"
    return re.compile(f"[{c0}\\x7f-\\x9f{_INVISIBLE}]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def inert(text: object, *, one_line: bool = False) -> str:
    """``text`` with every control character replaced by a visible escape like ``\\x1b``.

    ESC, BEL and C1 controls can recolour a terminal, retitle it or write its clipboard
    (OSC 52); bidi overrides and invisible characters can make text seem to say something
    else: shown as escapes (``\\u202e``) they do nothing. With ``one_line`` newlines are
    escaped too.
    """
    return _controls(one_line).sub(_escape, str(text))


def one_line(text: object) -> str:
    """A server string (a task id, a status) shown inside a line: it cannot break the line."""
    return inert(text, one_line=True)


def excerpt(text: str, limit: int = 60) -> str:
    """A one-line excerpt of a prompt, ending with an ellipsis when cut."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def redact(text: object, *secrets: str | None) -> str:
    """``text`` with every secret (and any ``Bearer``/``Basic`` credential) replaced by
    ``[redacted]``: for exception text that may quote a request header."""
    text = str(text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return re.sub(r"(?i)\b(bearer|basic)\s+[^\s'\"]+", lambda m: f"{m.group(1)} [redacted]", text)
