"""keys: every binding's id, where it works, its default keys and the keys in force (with the
user's ``[keymap]`` of config.toml), and the conflicts that keymap makes. No Textual: the
bindings are read from the TUI's source (core/keymap.py)."""

from __future__ import annotations

from ..cli import EXIT_OK
from ..core import keymap
from ..core.config import load_settings
from .output import Output


def cmd_keys(args, out: Output) -> int:
    settings = load_settings(strict_key=False)
    for warning in settings.warnings:
        out.note(f"warning: {warning}")
    table = keymap.bindings()
    mapping = settings.keymap
    conflicts, unknown = keymap.check(table, mapping)
    rows = [
        (
            b.id,
            b.scope,
            keymap.describe(b),
            ",".join(b.keys),
            ",".join(keymap.current_keys(b, mapping)),
            b.id in mapping,
        )
        for b in table
    ]
    widths = [max(len(str(row[i])) for row in rows) for i in range(4)]
    heading = ("id", "where", "action", "default")
    out.say("  ".join(h.ljust(w) for h, w in zip(heading, widths, strict=True)) + "  keys now")
    for row in rows:
        line = "  ".join(str(value).ljust(w) for value, w in zip(row[:4], widths, strict=True))
        out.say(f"{line}  {row[4]}{'  (your keymap)' if row[5] else ''}")
    out.say()
    out.say(f'Remap in [keymap] of {settings.config_path}, for example:  generate = "f9"')
    for conflict in conflicts:
        out.note(f"conflict: {conflict.message()}")
    if unknown:
        out.note(f"warning: {keymap.unknown_message(unknown, f'[keymap] in {settings.config_path}')}")
    out.emit(
        {
            "config": str(settings.config_path),
            "bindings": [
                {"id": r[0], "where": r[1], "action": r[2], "default": r[3].split(","), "keys": r[4].split(",")}
                for r in rows
            ],
            "conflicts": [
                {"key": c.key, "ids": [c.first.id, c.second.id or c.second.scope], "message": c.message()}
                for c in conflicts
            ],
            "unknown_ids": unknown,
        }
    )
    return EXIT_OK
