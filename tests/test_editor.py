"""The prompt's round trip through the user's editor (core/editor.py), with a fake editor."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from evolink_tui.core.editor import EditorError, edit_text, editor_command


def fake_editor(folder: Path, body: str, status: int = 0) -> Path:
    """A script that behaves as an editor: it notes the file it was given, appends ``body``
    (and a final line break, as editors do) and exits with ``status``."""
    script = folder / "fake-editor"
    script.write_text(
        f"#!{sys.executable}\n"
        "import pathlib, sys\n"
        "target = pathlib.Path(sys.argv[-1])\n"
        f"pathlib.Path({str(folder / 'edited-file')!r}).write_text(str(target))\n"
        f"target.write_text(target.read_text() + {body!r} + '\\n')\n"
        f"sys.exit({status})\n"
    )
    script.chmod(0o700)
    return script


def test_the_app_s_own_variable_wins_then_visual_then_editor():
    assert editor_command({"EDITOR": "nano", "VISUAL": "vim -u NONE", "EVOLINK_TUI_EDITOR": "code --wait"}) == [
        "code",
        "--wait",
    ]
    assert editor_command({"EDITOR": "nano", "VISUAL": "vim -u NONE"}) == ["vim", "-u", "NONE"]
    assert editor_command({"EDITOR": "nano", "VISUAL": "  "}) == ["nano"]
    assert editor_command({}) is None
    with pytest.raises(EditorError, match="EDITOR='vim \"unclosed'"):
        editor_command({"EDITOR": 'vim "unclosed'})


def test_the_edited_text_comes_back_and_the_file_is_removed(tmp_path: Path):
    script = fake_editor(tmp_path, " at dawn\nwith a second paragraph")
    edited = edit_text("a lighthouse", [str(script)])
    assert edited == "a lighthouse at dawn\nwith a second paragraph"  # the editor's final line break dropped
    used = Path((tmp_path / "edited-file").read_text())
    assert not used.exists()
    assert used.name.startswith("evolink-prompt-")


def test_an_editor_that_fails_leaves_the_prompt_alone(tmp_path: Path):
    script = fake_editor(tmp_path, " ruined", status=1)
    assert edit_text("a lighthouse", [str(script)]) is None
    with pytest.raises(EditorError, match="could not run"):
        edit_text("a lighthouse", [str(tmp_path / "no-such-editor")])
