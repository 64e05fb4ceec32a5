"""A long prompt written in the user's editor: F8 in the composer hands the terminal to
$EDITOR (a fake editor script here) through App.suspend and reads the prompt back; in a
browser session the key says why it cannot and does nothing."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from ..test_editor import fake_editor
from .helpers import RecordingApp, demo_app, notes_text, type_text, wait_until
from .terminal import CTRL_J, Terminal, ready, rows, wait_for

F8 = "\x1b[19~"


@pytest.mark.skipif(not sys.platform.startswith(("linux", "darwin")), reason="needs a POSIX pty")
def test_f8_writes_the_prompt_in_the_editor_and_generate_sends_what_was_written(isolated_env, tmp_path: Path):
    script = fake_editor(tmp_path, " at dawn, seen from a boat")
    env = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor", EVOLINK_TUI_EDITOR=str(script))
    env.pop("TEXTUAL", None)
    env["EDITOR"] = "/no/such/editor"  # the app's own variable comes first
    terminal = Terminal(env, args=("--demo",))
    try:
        ready(terminal)
        terminal.type("a lighthouse")
        wait_for(lambda: terminal.shows("a lighthouse"), "the prompt on screen")
        terminal.type(F8)
        wait_for(lambda: (tmp_path / "edited-file").exists(), "the editor run on the prompt's file")
        wait_for(lambda: terminal.shows("a boat"), "the edited prompt back in the composer")
        terminal.type(CTRL_J)
        db = isolated_env["data"] / "history-demo.sqlite3"
        row = wait_for(lambda: next(iter(rows(db)), None), "the task recorded")
        assert row["prompt"] == "a lighthouse at dawn, seen from a boat"
        assert terminal.quit() == 0
    finally:
        terminal.close()


class BrowserApp(RecordingApp):
    """The app as `evolink-tui serve` runs it: in a browser, where nothing can be suspended."""

    @property
    def is_web(self) -> bool:
        return True


async def test_in_a_browser_f8_says_why_and_leaves_the_prompt_alone(tmp_path: Path, monkeypatch):
    script = fake_editor(tmp_path, " changed")
    monkeypatch.setenv("EDITOR", str(script))
    app = demo_app(app_class=BrowserApp)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await type_text(pilot, "a lighthouse")
        await pilot.press("f8")
        await wait_until(pilot, lambda: "No editor here" in notes_text(app), what="the reason")
        assert app.main.composer.prompt == "a lighthouse"
    assert "cannot open in a browser session" in notes_text(app)
    assert not (tmp_path / "edited-file").exists()
