"""Bad input in the app: a clear message each time and nothing lost. An invalid config file
is named with its line and the app starts on defaults; an unwritable download folder is
named; the composer keeps its text (and settings) after any error."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import TextArea

from evolink_tui.cli import main
from evolink_tui.core.validation import GenerationRequest
from evolink_tui.tui.widgets.choice import Choice

from .helpers import demo_app, finished, problems_text, screen_text, wait_until
from .test_faults_tui import idle, select


def notices(app) -> str:
    return "\n".join(n.message for n in app.notes)


@pytest.mark.parametrize(
    "text, line",
    [
        ('theme = "nord"\n\napi_key = = broken\n', 3),  # not TOML
        ('download_dir = "/tmp"\ntheme = 5\n', 2),  # TOML, but a number where a name belongs
    ],
)
async def test_an_invalid_config_file_is_named_with_its_line_and_the_app_starts_on_defaults(isolated_env, text, line):
    config = isolated_env["config"]
    config.parent.mkdir(parents=True)
    config.write_text(text)
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: str(config) in notices(app), what="the notice")
        message = notices(app)
        assert f"line {line}" in message and str(config) in message
        assert app.theme == "textual-dark"  # defaults
        app.main.composer.set_prompt("still works")
        await pilot.press("ctrl+j")
        await wait_until(pilot, finished(app), what="a generation on defaults")
        assert app.studio.records[1].state == "completed"
    assert config.read_text() == text  # never rewritten behind the user's back


def test_a_refused_base_url_in_the_config_file_stops_with_the_file_and_line(isolated_env, capsys):
    """Falling back to the real host would send the key and spend credits where the user
    did not point: the app says why and does not start."""
    config = isolated_env["config"]
    config.parent.mkdir(parents=True)
    config.write_text('theme = "nord"\nbase_url = "http://evolink.example.com"\n')
    assert main([]) == 2
    err = capsys.readouterr().err
    assert f"base_url in the config file {config} at line 2" in err and "loopback" in err


async def test_an_unwritable_download_folder_is_named_at_start_and_on_the_task(isolated_env, monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    folder = blocker / "evolink"
    monkeypatch.setenv("EVOLINK_DOWNLOAD_DIR", str(folder))
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: "Results cannot be saved" in notices(app), what="the startup notice")
        assert f"download folder {folder}: {blocker} is not a folder" in notices(app)
        app.main.composer.set_prompt("nowhere to put it")
        await pilot.press("ctrl+j")  # checked before anything is sent (issue 11 point 8): nothing paid
        refused = lambda: [n.message for n in app.notes if n.title == "Download folder" and "Not sent" in n.message]  # noqa: E731
        await wait_until(pilot, lambda: bool(refused()), what="the refusal")
        assert str(blocker) in refused()[0] and app.studio.history.get(1) is None
        assert app.studio.client.simulator.state.sim.count("submit") == 0
        assert app.main.composer.prompt == "nowhere to put it"


@pytest.mark.parametrize(
    "faults, state, shown",
    [
        (None, None, "Prompt (2001 characters): at most 2000 characters"),  # validation: nothing sent
        ("402@submit*1", "submit_failed", "402"),  # the API refused it
        ("fail:content_policy_violation@submit*1", "failed", "content_policy_violation"),  # the task failed
        ("drop@submit", "uncertain", "unsure"),  # the network failed
    ],
)
async def test_the_composer_keeps_its_text_and_settings_after_any_error(faults, state, shown):
    app = demo_app(faults=faults)
    prompt = "x" * 2001 if faults is None else "keep every word of this"
    async with app.run_test(size=(120, 40)) as pilot:
        app.main.composer.fill(GenerationRequest(prompt, model="gpt-4o-image", size="1024x1536", n=2))
        await pilot.pause()
        await pilot.press("ctrl+j")
        if state is None:
            await wait_until(pilot, lambda: shown in problems_text(app), what="the inline problem")
            assert not app.studio.records
        else:
            await wait_until(pilot, idle(app), what="the task ended")
            await wait_until(pilot, lambda: app.studio.records[1].state == state, what=state)
            await select(pilot, 1)
            assert shown in screen_text(app)
        composer = app.main.composer
        assert composer.query_one("#prompt", TextArea).text == prompt
        assert composer.models == ("gpt-4o-image",)
        assert composer.query_one("#size", Choice).value == "1024x1536"
        assert composer.query_one("#n", Choice).value == 2
        assert app.is_running
        if state is not None:
            assert (
                Path(app.studio.history.path).exists() and app.studio.history.get(1).prompt == prompt
            )  # the record is kept
