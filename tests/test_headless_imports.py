"""A headless command loads only what it uses (issue 17): each is run in a fresh
interpreter exactly as `evolink-tui COMMAND` runs it, and the modules it left loaded are
read back. The heavy ones a command has no use for must not be among them; this is what
keeps `models --json` and friends quick to start (their time is measured, against a bare
`python -c pass`, by `benchmarks/commands.py`, not asserted here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from evolink_tui.core.history import History

from .history_seed import seed

# What each command must not load: the network stack, the TUI, Pillow, the event loop, and
# what only other commands need (the history's sqlite3, the thread pool and its logging, the
# simulator, the thumbnail code, the TOML parser when no TOML is read: the built-in catalogue
# is read from models.json). Nor the standard library's slow imports that only definitions
# need: typing (NamedTuple, TYPE_CHECKING) and dataclasses (which loads inspect, ast, dis).
NEVER = ("httpx", "textual", "PIL", "asyncio", "ssl", "evolink_tui.simulator", "evolink_tui.tui")
DEFINITIONS = ("typing", "dataclasses", "inspect")
NOT_FOR = {
    "models --json": (
        *(NEVER + DEFINITIONS),
        *("sqlite3", "concurrent.futures", "logging", "evolink_tui.core.history", "tomllib", "tempfile"),
        *("threading", "platformdirs"),
    ),
    "history": (
        *(NEVER + DEFINITIONS),
        *("typing", "threading", "evolink_tui.core.wire", "evolink_tui.core.catalogue", "platformdirs"),
        *("concurrent.futures", "logging", "evolink_tui.core.thumbnails", "tomllib", "tempfile"),
        *("pathlib", "urllib.parse", "ipaddress"),  # the history file's path is a string
    ),
    "locate": (
        *(NEVER + DEFINITIONS),
        *("sqlite3", "concurrent.futures", "logging", "evolink_tui.core.thumbnails", "tomllib", "tempfile"),
        *("threading", "evolink_tui.core.catalogue", "platformdirs"),
    ),
}

PROBE = """
import io, json, sys
from contextlib import redirect_stdout
from evolink_tui.cli import main
with redirect_stdout(io.StringIO()) as printed:
    code = main(sys.argv[1:])
json.dump({"code": code, "printed": printed.getvalue(), "modules": sorted(sys.modules)}, sys.stderr)
"""


def loaded_by(command: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *command.split()],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stderr)


@pytest.fixture
def seeded(isolated_env, clock):
    """A history with a few finished tasks, so `history` really reads one."""
    history = History(isolated_env["data"] / "history.sqlite3", clock=clock.now)
    for model in ("gpt-image-1.5", "z-image-turbo", "doubao-seedream-4.5"):
        seed(history, clock, model, 4.0)
    seed(history, clock, "gpt-image-1.5", 8.0, n=2)  # two results: the listing checks how many were asked
    history.close()


@pytest.mark.parametrize("command", sorted(NOT_FOR))
def test_a_headless_command_loads_only_what_it_uses(command, seeded):
    run = loaded_by(command)
    assert run["code"] == 0
    assert run["printed"].strip(), "the command printed nothing: it did not run"
    loaded = set(run["modules"])
    heavy = sorted(name for name in NOT_FOR[command] if name in loaded)
    assert not heavy, f"`evolink-tui {command}` loaded {heavy}, which it does not use"


def test_the_commands_still_do_their_work(seeded):
    """The same runs did what the commands are for (so an empty run cannot pass above)."""
    models = json.loads(loaded_by("models --json")["printed"])
    assert models["default"] and len(models["models"]) >= 20
    history = loaded_by("history")
    assert history["printed"].count("seeded ") == 4 and "sqlite3" in history["modules"]
    assert "cache:" in loaded_by("locate")["printed"]
