"""Issue 11, point 1: a key that cannot travel in an HTTP header is refused before any
request, by every command and by the app, with the key shown masked and what is wrong
with it; surrounding whitespace is stripped; the key never lands in a message, the
history or --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from evolink_tui.cli import main
from evolink_tui.core.client import EvolinkClient
from evolink_tui.core.config import Settings, load_settings, save_api_key
from evolink_tui.core.errors import ValidationError

from .conftest import TEST_KEY
from .test_security import assert_no_key

BASE = "sk-hardening-0123456789abcdef"
# (how the key is damaged, the key, a word the message must use to say what is wrong)
BAD_KEYS = [
    ("newline", BASE[:12] + "\n" + BASE[12:], "line break"),
    ("carriage return", BASE[:12] + "\r" + BASE[12:], "line break"),
    ("tab", BASE[:12] + "\t" + BASE[12:], "tab"),
    ("space", BASE[:12] + " " + BASE[12:], "space"),
    ("nul", BASE[:12] + "\x00" + BASE[12:], "control character"),
    ("escape", BASE[:12] + "\x1b[31m" + BASE[12:], "control character"),
    ("zero width", BASE[:12] + "\u200b" + BASE[12:], "invisible"),
    ("bidi override", BASE[:12] + "\u202e" + BASE[12:], "invisible"),
    ("bom", "\ufeff" + BASE, "invisible"),
    ("non-ascii", BASE[:12] + "é" + BASE[12:], "non-ASCII"),
    ("cyrillic lookalike", BASE[:12] + "а" + BASE[12:], "non-ASCII"),
]
IDS = [case[0] for case in BAD_KEYS]


@pytest.fixture
def cli(server_env, sim, monkeypatch, capsys, fake_clock):
    """``evolink-tui ARGS`` in-process against the simulator: (code, out, err)."""
    monkeypatch.setattr("evolink_tui.core.client.RealClock", lambda: fake_clock)

    def call(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return call


COMMANDS = [
    ("generate", "a lighthouse", "--json"),
    ("generate", "a lighthouse"),
    ("check", "task-unified-1-abc", "--json"),
    ("resume", "--json"),
    ("files",),
    ("delete", "file_0123"),
    ("upload", "--url", "https://example.invalid/a.png"),
]


# An environment variable cannot hold a NUL: that one is tried from the config file below.
ENV_KEYS = [case for case in BAD_KEYS if "\x00" not in case[1]]


@pytest.mark.parametrize(("how", "key", "word"), ENV_KEYS, ids=[case[0] for case in ENV_KEYS])
def test_a_damaged_key_in_the_environment_is_refused_before_anything_is_sent(
    cli, sim, monkeypatch, isolated_env, how, key, word
):
    monkeypatch.setenv("EVOLINK_API_KEY", key)
    outputs = []
    for args in COMMANDS:
        code, out, err = cli(*args)
        outputs += [out, err]
        assert code == 2, (args, out, err)
        text = (json.loads(out)["error"]["message"] if "--json" in args else out) + err
        assert "EVOLINK_API_KEY" in text and word in text, text
        assert f"…{BASE[-4:]}" in text  # shown masked
        assert "Traceback" not in text
    assert sim.count() == 0, "a request went out with a damaged key"
    assert not (isolated_env["data"] / "history.sqlite3").exists() or _no_rows(isolated_env["data"])
    for form in {key, key.strip(), BASE}:
        assert_no_key(form, [isolated_env["data"], isolated_env["downloads"]], outputs)


def _no_rows(data_dir) -> bool:
    import sqlite3

    conn = sqlite3.connect(data_dir / "history.sqlite3")
    try:
        return conn.execute("SELECT COUNT(*) FROM tasks").fetchone()[0] == 0
    except sqlite3.Error:
        return True
    finally:
        conn.close()


@pytest.mark.parametrize(("escape", "word"), [("\\n", "line break"), ("\\u0000", "control character")])
def test_a_damaged_key_in_the_config_file_is_refused_naming_the_file(cli, sim, monkeypatch, isolated_env, escape, word):
    monkeypatch.delenv("EVOLINK_API_KEY")
    config = isolated_env["config"]
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'# my key\napi_key = "{BASE[:10]}{escape}{BASE[10:]}"\n')
    config.chmod(0o600)
    code, out, err = cli("generate", "a lighthouse", "--json")
    assert code == 2 and sim.count() == 0
    body = json.loads(out)
    assert body["error"]["kind"] == "validation" and word in body["error"]["message"]
    assert str(config) in body["error"]["message"] and "line 2" in body["error"]["message"]
    assert_no_key(BASE[10:], [], [out, err])


def test_surrounding_whitespace_is_stripped(cli, sim, monkeypatch):
    monkeypatch.setenv("EVOLINK_API_KEY", f"  \t{TEST_KEY}\r\n")
    assert load_settings().api_key == TEST_KEY
    code, out, err = cli("generate", "a lighthouse", "--model", "z-image-turbo", "--json")
    assert code == 0, err
    assert sim.count("submit") == 1


def test_the_app_refuses_to_open_with_a_damaged_key(isolated_env):
    env = dict(os.environ, EVOLINK_API_KEY=BASE[:12] + "\u200b" + BASE[12:])
    try:
        result = subprocess.run(
            [sys.executable, "-m", "evolink_tui"], env=env, capture_output=True, text=True, timeout=30
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the app opened with a damaged key instead of refusing it")
    assert result.returncode == 2
    assert "EVOLINK_API_KEY" in result.stderr and "invisible" in result.stderr and "U+200B" in result.stderr
    assert BASE not in result.stdout + result.stderr


def test_locate_still_works_and_warns(cli, monkeypatch):
    monkeypatch.setenv("EVOLINK_API_KEY", BASE[:12] + "\n" + BASE[12:])
    code, out, err = cli("locate", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["api_key"] == "(none)" and "line break" in err
    assert BASE[12:] not in out + err


@pytest.mark.parametrize(("how", "key", "word"), BAD_KEYS, ids=IDS)
def test_saving_a_damaged_key_is_refused(isolated_env, how, key, word):
    with pytest.raises(ValidationError) as info:
        save_api_key(key)
    assert word in str(info.value) and key.strip() not in str(info.value)
    assert not isolated_env["config"].exists()


@pytest.mark.parametrize(("how", "key", "word"), BAD_KEYS, ids=IDS)
def test_a_client_is_never_built_with_a_damaged_key(how, key, word):
    from evolink_tui.core.config import api_key_problem

    problem = api_key_problem(key)
    assert problem is not None and word in problem
    with pytest.raises(ValidationError) as info:
        EvolinkClient(Settings(api_key=key, base_url="http://127.0.0.1:9", files_base_url="http://127.0.0.1:9"))
    assert word in str(info.value) and BASE not in str(info.value)


async def test_the_key_dialog_refuses_a_damaged_key():
    from textual.app import App
    from textual.widgets import Input, Static

    from evolink_tui.tui.screens.key import KeyScreen

    answers = []

    class Host(App):
        def on_mount(self) -> None:
            self.push_screen(KeyScreen("/tmp/config.toml"), answers.append)

    app = Host()
    async with app.run_test() as pilot:
        await pilot.pause()
        field = app.screen.query_one("#key-input", Input)
        field.value = BASE[:12] + "\u202e" + BASE[12:]
        await pilot.press("enter")
        await pilot.pause()
        assert answers == [] and isinstance(app.screen, KeyScreen)
        problem = str(app.screen.query_one("#key-problem", Static).render())
        assert "invisible" in problem
        field.value = "  " + BASE + "  "
        await pilot.press("enter")
        await pilot.pause()
    assert answers == [BASE]


def test_transport_error_text_never_carries_a_credential():
    import httpx

    from evolink_tui.core.client import describe_network_error

    key = "sk-" + "q" * 28
    quoted = httpx.LocalProtocolError(f"Illegal header value b'Bearer {key}\\n' for Authorization: bearer other-tok")
    text = describe_network_error(quoted, key)
    assert key not in text and "other-tok" not in text and "LocalProtocolError" in text and "[redacted]" in text
