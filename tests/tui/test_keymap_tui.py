"""Your own keys in the app: [keymap] in config.toml remaps a binding (the key bar and F1 show
the new key, and it works); a key given to two actions is reported at start."""

from __future__ import annotations

from evolink_tui.tui.screens.help import HelpScreen

from .helpers import demo_app, notes_text, screen_text, type_text, wait_until
from .test_keybar import bar_text


def write_keymap(isolated_env, body: str) -> None:
    config = isolated_env["config"]
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("[keymap]\n" + body)


async def test_generate_remapped_to_f9_shows_in_the_key_bar_and_help_and_sends(isolated_env):
    write_keymap(isolated_env, 'generate = "f9"\n')
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: "f9 Generate" in bar_text(app), what="f9 on the key bar")
        assert "^j Generate" not in bar_text(app)
        assert "Generate (f9)" in screen_text(app)  # the button names the key too
        await type_text(pilot, "a lighthouse")
        await pilot.press("ctrl+j")  # no longer generate
        await pilot.pause()
        assert not app.studio.records
        await pilot.press("f9")
        await wait_until(pilot, lambda: len(app.studio.records) == 1, what="the task sent by f9")
        assert next(iter(app.studio.records.values())).prompt.startswith("a lighthouse")
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help")
        help_lines = [line for line in screen_text(app).splitlines() if "Generate" in line]
        assert any("f9" in line for line in help_lines), help_lines
        assert not any("^j" in line for line in help_lines), help_lines
        await pilot.press("escape", "ctrl+p")
        await type_text(pilot, "Generate")
        await wait_until(pilot, lambda: "marked model(s) (f9)" in screen_text(app), what="the palette's key")
    assert "Keymap" not in notes_text(app)


async def test_a_key_given_to_two_actions_is_reported_at_start_with_both(isolated_env):
    write_keymap(isolated_env, 'generate = "f2"\n"composer.editor" = "f6"\nbogus = "x"\n')
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: notes_text(app).count("Keymap") >= 3, what="the keymap notices")
    text = notes_text(app)
    assert "Key f2 is given to two actions: generate (Generate) and pick_models (Models)" in text
    assert "Key f6 is given to composer.editor (Editor), but while the cursor is in a text field" in text
    assert "no binding has the id bogus" in text and str(isolated_env["config"]) in text
