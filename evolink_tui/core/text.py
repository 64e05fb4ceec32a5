"""Untrusted text made inert: terminal control characters shown, never obeyed."""

from __future__ import annotations

import re

# C0 controls except tab and newline, DEL, and C1 controls (which include CSI and OSC).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def inert(text: object, *, one_line: bool = False) -> str:
    """``text`` with every control character replaced by a visible escape like ``\\x1b``.

    ESC, BEL and C1 controls can recolour a terminal, retitle it or write its clipboard
    (OSC 52); shown as escapes they do nothing. With ``one_line`` newlines are escaped too.
    """
    pattern = _CONTROL_ONE_LINE if one_line else _CONTROL
    return pattern.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def excerpt(text: str, limit: int = 60) -> str:
    """A one-line excerpt of a prompt, ending with an ellipsis when cut."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[^\s'\"]+")


def redact(text: object, *secrets: str | None) -> str:
    """``text`` with every secret (and any ``Bearer``/``Basic`` credential) replaced by
    ``[redacted]``: for exception text that may quote a request header."""
    text = str(text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return _BEARER.sub(lambda m: f"{m.group(1)} [redacted]", text)
