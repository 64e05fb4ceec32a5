"""Starting up: focus, the DEMO label, history at once, no network, first run without a key."""

from __future__ import annotations

import stat

from textual.widgets import Input, TextArea

from evolink_tui.core.config import load_settings, read_config_file
from evolink_tui.core.history import History, history_path
from evolink_tui.tui.screens.key import KeyScreen
from evolink_tui.tui.widgets.tasklist import TaskList

from .helpers import demo_app, screen_text, wait_until


async def test_demo_start_focuses_prompt_and_shows_demo_label():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.focused, TextArea) and app.focused.id == "prompt"
        top = app.main.topbar.render().plain
        assert "DEMO" in top
        assert "credits this run: 0" in top


async def test_history_is_on_screen_at_once_and_nothing_is_sent(isolated_env):
    settings = load_settings(demo=True)
    history = History(history_path(settings))
    for i in range(3):
        record_id = history.record_submission({"prompt": f"earlier prompt {i}", "model": "z-image-turbo"}, f"key{i}")
        history.mark_submit_failed(record_id, {"code": 400, "message": "bad", "retryable": False})
    history.close()
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        tasks = app.main.query_one(TaskList)
        await wait_until(pilot, lambda: tasks.row_count == 3, what="history rows")
        # the client (and the demo's simulator) is built just after the frame that shows history
        await wait_until(pilot, lambda: app.studio.client is not None, what="client")
        assert app.studio.client.simulator.state.sim.requests == []  # startup sent nothing


async def test_first_run_without_key_saves_key_0600_and_shows_it_masked(isolated_env):
    app = demo_app(demo=False)
    assert not app.settings.has_key
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, KeyScreen), what="key screen")
        await pilot.pause()
        assert "No Evolink API key is configured" in screen_text(app)
        app.screen.query_one("#key-input", Input).value = "sk-test-abcdefghijkl1234"
        await pilot.click("#save")
        await wait_until(pilot, lambda: app.settings.has_key, what="key saved")
        await pilot.pause()
        path = isolated_env["config"]
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert read_config_file(path)[0]["api_key"] == "sk-test-abcdefghijkl1234"
        assert "sk-…1234" in app.main.topbar.render().plain
        assert "abcdefgh" not in app.main.topbar.render().plain
        assert app.focused is not None and app.focused.id == "prompt"


async def test_first_run_without_key_can_continue_in_demo_mode():
    app = demo_app(demo=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, KeyScreen), what="key screen")
        await pilot.pause()
        await pilot.click("#demo")
        await wait_until(pilot, lambda: app.settings.demo, what="demo mode")
        await pilot.pause()
        assert "DEMO" in app.main.topbar.render().plain
        assert app.studio.client is not None and hasattr(app.studio.client, "simulator")


async def test_long_history_loads_a_page_at_a_time():
    settings = load_settings(demo=True)
    history = History(history_path(settings))
    for i in range(450):
        record_id = history.record_submission({"prompt": f"prompt {i}", "model": "z-image-turbo"}, f"key{i}")
        history.mark_submit_failed(record_id, {"code": 400, "message": "bad", "retryable": False})
    history.close()
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        tasks = app.main.query_one(TaskList)
        await wait_until(pilot, lambda: tasks.row_count == 200, what="first page")
        assert tasks.row_text(450) is not None and tasks.selected_id == 450  # newest first
        tasks.focus()
        await pilot.press("end")
        await wait_until(pilot, lambda: tasks.row_count == 400, what="second page")
        await pilot.press("end")
        await wait_until(pilot, lambda: tasks.row_count == 450, what="last page")
        await pilot.press("end")
        await pilot.pause()
        assert tasks.row_count == 450


async def test_an_interrupted_submit_is_listed_as_uncertain_never_resent_alone():
    settings = load_settings(demo=True)
    history = History(history_path(settings))
    record_id = history.record_submission({"prompt": "cut off", "model": "z-image-turbo"}, "key-cut")
    history.close()
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(
            pilot,
            lambda: record_id in app.studio.records and app.studio.records[record_id].state == "uncertain",
            what="marked uncertain",
        )
        await pilot.pause()
        assert "unsure" in screen_text(app)
        assert app.studio.client.simulator.state.sim.requests == []
