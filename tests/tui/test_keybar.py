"""The key bar: the keys of the focused panel from the first frame on, pressed by a click."""

from __future__ import annotations

from evolink_tui.tui.screens.picker import ModelPicker
from evolink_tui.tui.widgets.keybar import KeyBar
from evolink_tui.tui.widgets.tasklist import TaskList

from .helpers import RecordingApp, demo_app, wait_until


def bar_text(app) -> str:
    return str(app.screen.query_one(KeyBar).render())


class FirstFrame(RecordingApp):
    """The app, noting what the key bar drew by the time the first frame was on the screen."""

    first: str | None = None

    def on_mount(self) -> None:
        super().on_mount()
        self.call_after_refresh(self._framed)

    def _framed(self) -> None:
        bars = self.screen.query(KeyBar)
        self.first = " ".join(f"{item.display} {item.description}" for item in bars.first().shown) if bars else ""


async def test_the_first_frame_already_shows_the_keys():
    """Drawn from the bindings as the screen first appears, not a frame later (Textual's
    Footer builds its keys only after the first frame)."""
    app = demo_app(app_class=FirstFrame)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.first is not None, what="the first frame")
    assert app.first, "no key on the first frame"
    for words in ("^j Generate", "f2 Models", "f5 Files", "f1 Help", "^p palette"):
        assert words in app.first, words


async def test_the_keys_follow_the_focus():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert "Regenerate" not in bar_text(app)
        app.main.query_one(TaskList).focus()
        await wait_until(pilot, lambda: "Regenerate" in bar_text(app), what="the task list's keys")


async def test_a_click_on_a_key_presses_it_and_keys_that_do_not_fit_are_left_out():
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = bar_text(app)
        # no room for every key at 80 columns: the others give way to help, which lists them all
        assert len(text) <= 80 and "^p palette" in text and "f1 Help" in text and "^f History" not in text
        column = text.index("f2 Models")
        await pilot.click(KeyBar, offset=(column + 3, 0))
        await wait_until(pilot, lambda: isinstance(app.screen, ModelPicker), what="the model picker")
