"""The key-leak search, for what the app draws: with a real key configured, screenshots of
every screen (as "Save screenshot" writes them) hold the key only masked, and neither do the
history, the results, the sidecars or the config folder's other files."""

from __future__ import annotations

import uuid

from evolink_tui.core.config import load_settings
from evolink_tui.tui.app import EvolinkApp
from evolink_tui.tui.screens.help import HelpScreen
from evolink_tui.tui.screens.history_search import HistorySearchScreen
from evolink_tui.tui.screens.key import KeyScreen
from evolink_tui.tui.screens.picker import ModelPicker
from evolink_tui.tui.screens.sidecar import SidecarScreen

from ..test_security import REPO, assert_no_key
from .helpers import finished, wait_until


async def test_screenshots_of_every_screen_hold_the_key_only_masked(
    server_env, sim, fake_clock, monkeypatch, isolated_env, tmp_path
):
    key = f"sk-leakcheck-{uuid.uuid4().hex}"
    monkeypatch.setenv("EVOLINK_API_KEY", key)
    app = EvolinkApp(load_settings(), clock=fake_clock, cursor_blink=False)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    taken: list[str] = []

    async def shoot(name: str) -> None:
        await pilot.pause()
        taken.append(app.save_screenshot(f"{name}.svg", str(shots)))

    async with app.run_test(size=(120, 36)) as pilot:
        app.main.composer.set_prompt("a picture worth checking")
        await pilot.press("ctrl+j")
        await wait_until(pilot, finished(app), what="a generation", timeout=15)
        app.main.tasks.focus()
        await shoot("main")
        for keys, screen, name in (
            ("f2", ModelPicker, "picker"),
            ("question_mark", HelpScreen, "help"),
            ("ctrl+f", HistorySearchScreen, "history"),
            ("s", SidecarScreen, "sidecar"),
        ):
            await pilot.press(keys)
            await wait_until(pilot, lambda screen=screen: isinstance(app.screen, screen), what=name)
            await shoot(name)
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen is app.main, what="back")
            app.main.tasks.focus()
        app.action_enter_key()
        await wait_until(pilot, lambda: isinstance(app.screen, KeyScreen), what="key screen")
        await shoot("key")
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        await shoot("palette")
    assert len(taken) == 7
    assert f"sk-…{key[-4:]}" in (shots / "main.svg").read_text()  # shown, masked
    looked_at = assert_no_key(
        key,
        [shots, isolated_env["data"], isolated_env["downloads"], REPO / "screenshots"]
        + [p for p in isolated_env["config"].parent.glob("*") if p != isolated_env["config"]],
    )
    assert looked_at >= 10
