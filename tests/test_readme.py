"""The README's set-up works where Python is "externally managed" (Debian, Ubuntu, Fedora,
Homebrew: a bare `pip install` is refused there): a virtual environment comes first, and it
stays two commands to set up and one to run the demo."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def _try_it_commands() -> list[str]:
    text = README.read_text("utf-8")
    section = text.split("## Try it", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the Try it section opens with a sh block"
    return [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.split("#", 1)[0].strip()]


def test_the_set_up_makes_a_virtual_environment_before_installing():
    commands = _try_it_commands()
    first_install = next(i for i, c in enumerate(commands) if "pip install" in c)
    venv = next(i for i, c in enumerate(commands) if re.search(r"python3? -m venv|pipx install|uv tool install", c))
    assert venv <= first_install
    assert any(".venv/bin/activate" in c for c in commands[: first_install + 1]) or "pipx" in commands[venv]


def test_two_commands_to_set_up_and_one_to_run_the_demo():
    commands = _try_it_commands()
    assert len(commands) == 3 and commands[-1] == "evolink-tui --demo"


def test_the_alternatives_are_named_for_those_who_prefer_them():
    section = README.read_text("utf-8").split("## Try it", 1)[1].split("\n## ", 1)[0]
    assert "externally managed" in section and "pipx" in section and "uv" in section
