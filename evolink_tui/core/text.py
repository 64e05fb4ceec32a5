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
    (0x00AD, 0x00AD), (0x061C, 0x061C), (0x115F, 0x1160), (0x180E, 0x180E), (0x200B, 0x200B),
    (0x200E, 0x200F), (0x2028, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164), (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0), (0xFFF9, 0xFFFB), (0xE0000, 0xE007F),
)  # fmt: skip


def _escape(code: int) -> str:
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


@cache
def _controls(one_line: bool) -> dict[int, str]:
    """What each character to escape becomes: C0 controls (except tab and newline unless
    ``one_line``), DEL, C1 controls (which include CSI and OSC) and the invisible characters.
    A table for str.translate, made on first use (0.2 ms): two compiled patterns took a
    headless command 2 ms, and translate is several times faster than a pattern's sub."""
    ranges = [(0x00, 0x1F), (0x7F, 0x9F), *_INVISIBLE]
    table = {code: _escape(code) for low, high in ranges for code in range(low, high + 1)}
    if not one_line:
        del table[0x09], table[0x0A]
    return table


def inert(text: object, *, one_line: bool = False) -> str:
    """``text`` with every control character replaced by a visible escape like ``\\x1b``.

    ESC, BEL and C1 controls can recolour a terminal, retitle it or write its clipboard
    (OSC 52); bidi overrides and invisible characters can make text seem to say something
    else: shown as escapes (``\\u202e``) they do nothing. With ``one_line`` newlines are
    escaped too.
    """
    return str(text).translate(_controls(one_line))


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
