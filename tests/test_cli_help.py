"""The command line's help and errors: each command's parser is built only when that command
runs (issue 17: a headless command loads only what it uses), and nothing a user reads may
lose for it."""

from __future__ import annotations

import pytest

from evolink_tui.cli import build_parser, main
from evolink_tui.headless import COMMANDS


def run(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    printed = capsys.readouterr()
    return exited.value.code, printed.out, printed.err


def test_the_help_lists_every_command_with_what_it_does(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # one line a command
    code, out, _ = run(capsys, "--help")
    assert code == 0
    listed = {line.split()[0] for line in out.split("  COMMAND\n", 1)[1].splitlines() if line.startswith("    ")}
    assert listed == set(COMMANDS)
    assert "list past generations from the local history (no network)" in out
    assert "print the config, data and download paths" in out


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_command_has_its_own_help(capsys, command):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    assert out.startswith(f"usage: evolink-tui {command} ")
    assert "-h, --help" in out


def test_a_command_help_shows_its_options(capsys):
    _, out, _ = run(capsys, "history", "--help")
    for option in ("--search", "--status", "--since", "--until", "--limit", "--favourites", "--sort", "--json"):
        assert option in out
    assert "List recorded generations, newest first" in out


def test_bad_input_is_named_as_before(capsys):
    code, _, err = run(capsys, "hist")
    assert code == 2
    assert "argument COMMAND: invalid choice: 'hist' (choose from 'generate', 'batch'," in err
    code, _, err = run(capsys, "history", "--sort", "size")
    assert code == 2
    assert err.splitlines()[0].startswith("usage: evolink-tui history [-h]")
    assert "argument --sort: invalid choice: 'size' (choose from 'newest', 'oldest', 'model')" in err
    code, _, err = run(capsys, "history", "--bogus")
    assert code == 2 and "unrecognized arguments: --bogus" in err


def test_values_reach_the_command_as_before():
    args = build_parser().parse_args(["--download-dir", "/tmp/x", "history", "-q", "cat", "--limit", "5", "--json"])
    assert (args.command, args.download_dir, args.search, args.limit, args.json) == (
        "history",
        "/tmp/x",
        "cat",
        "5",
        True,
    )
    args = build_parser().parse_args(["export", "--ids", "1", "2:3", "--zip", "out.zip"])
    assert (args.command, args.ids, args.zip, args.demo) == ("export", ["1", "2:3"], "out.zip", False)
