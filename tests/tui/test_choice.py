"""The composer's size and n choices (one widget each, a menu on demand), and the composer's
small widget tree at startup."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.widgets import TextArea

from evolink_tui.tui.screens.picker import ModelPicker
from evolink_tui.tui.widgets.choice import Choice
from evolink_tui.tui.widgets.choice_menu import ChoiceMenu
from evolink_tui.tui.widgets.composer import Composer

from .helpers import demo_app, problems_text, screen_text, type_text, wait_until


def sent(app) -> tuple:
    request = app.main.composer.requests()[0]
    return request.size, request.n


async def focus(pilot, selector: str) -> Choice:
    choice = pilot.app.main.query_one(selector, Choice)
    choice.focus()
    await pilot.pause()
    return choice


async def test_right_and_left_step_through_the_options_and_change_what_is_sent():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await focus(pilot, "#size")
        assert sent(app) == (None, None)  # auto, 1
        await pilot.press("left")  # already the first option: nothing happens
        assert sent(app) == (None, None)
        await pilot.press("right")
        assert sent(app) == ("1:1", None)
        await pilot.press("right")
        assert sent(app) == ("16:9", None)
        await pilot.press("left")
        assert sent(app) == ("1:1", None)
        assert "Size  1:1" in screen_text(app)
        n = await focus(pilot, "#n")
        await pilot.press("right", "right")
        assert sent(app) == ("1:1", 3)
        last = len(n.options)
        await pilot.press(*["right"] * (last + 2))  # stops at the last option
        assert sent(app) == ("1:1", last)


async def test_enter_opens_the_menu_under_the_widget_down_and_enter_pick():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        size = await focus(pilot, "#size")
        await pilot.press("right")  # 1:1
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceMenu), what="the menu")
        menu = app.screen.query_one("#choice-menu")
        assert menu.highlighted == 1  # the current value
        assert app.screen.region.contains_region(menu.region)
        texts = screen_text(app)
        assert "16:9" in texts and "21:9" in texts
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: app.screen is app.main, what="menu closed")
        assert size.value == "16:9" and sent(app) == ("16:9", None)
        assert app.focused is size


async def test_escape_or_a_click_outside_leaves_the_value():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        n = await focus(pilot, "#n")
        await pilot.press("space")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceMenu), what="the menu")
        await pilot.press("down", "down", "escape")
        await wait_until(pilot, lambda: app.screen is app.main, what="menu closed")
        assert n.value == 1
        await pilot.click("#n")  # a click opens it too
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceMenu), what="the menu again")
        await pilot.press("down")
        await pilot.click(offset=(90, 2))  # far from the menu
        await wait_until(pilot, lambda: app.screen is app.main, what="menu closed")
        assert n.value == 1 and sent(app) == (None, None)


async def test_a_click_on_an_option_picks_it():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.click("#size")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceMenu), what="the menu")
        menu = app.screen.query_one("#choice-menu")
        await pilot.click(menu, offset=(2, 3))  # border, auto, 1:1, 16:9
        await wait_until(pilot, lambda: app.screen is app.main, what="menu closed")
        assert sent(app) == ("16:9", None)


async def test_the_menu_stays_on_screen_at_80x24_with_many_sizes():
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.main.composer.set_models(["gpt-4o-image"])
        await pilot.pause()
        size = await focus(pilot, "#size")
        assert "1024x1536" in [label for label, _ in size.options]
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceMenu), what="the menu")
        await pilot.pause()
        menu = app.screen.query_one("#choice-menu")
        assert app.screen.region.contains_region(menu.region)
        await pilot.press("end", "enter")
        await wait_until(pilot, lambda: app.screen is app.main, what="menu closed")
        assert sent(app) == (size.options[-1][1], None)


async def test_the_inline_validation_runs_again_after_a_change():
    app = demo_app()
    seen: list[str] = []

    def hook(message) -> None:
        if isinstance(message, Choice.Changed):
            seen.append(f"changed {message.control.id} {message.value!r}")
        elif isinstance(message, Composer.Validated):
            seen.append("validated")

    async with app.run_test(size=(100, 30), message_hook=hook) as pilot:
        await pilot.pause()
        seen.clear()
        await focus(pilot, "#n")
        await pilot.press("right")
        await wait_until(pilot, lambda: "validated" in seen, what="validation")
        assert seen[0] == "changed n 2"
        await pilot.press("ctrl+j")  # an empty prompt: the problem is shown, the n kept
        await wait_until(pilot, lambda: problems_text(app), what="the problem")
        assert "Prompt" in problems_text(app)
        assert sent(app) == (None, 2)


async def test_the_models_line_opens_the_picker_and_the_count_turns_red_past_the_limit():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        assert "F2" in screen_text(app)
        await pilot.click("#models-line")
        await wait_until(pilot, lambda: isinstance(app.screen, ModelPicker), what="the picker")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.main, what="back")
        composer = app.main.composer
        composer.set_prompt("x" * 2001)
        await pilot.pause()
        count = composer.query_one("#count")
        assert count.has_class("-over") and "2001/2000" in screen_text(app)
        composer.query_one("#prompt", TextArea).focus()
        await pilot.press("backspace")
        await pilot.pause()
        assert not count.has_class("-over")


async def test_the_composer_starts_small_and_mounts_the_reference_list_on_first_use():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        composer = app.main.composer
        nodes = list(composer.walk_children(with_self=True))
        assert len(nodes) <= 12, [type(n).__name__ for n in nodes]  # startup cost: every node counts
        assert not composer.query("#refs")
        await type_text(pilot, "fox")
        composer.add_reference("https://example.com/a.png")
        await pilot.pause()
        assert composer.query_one("#refs").display and "a.png  example.com" in screen_text(app)  # name, then host


class OneChoice(App):
    def compose(self) -> ComposeResult:
        yield Choice("Size", [("auto", ""), ("1:1", "1:1"), ("16:9", "16:9")], id="c")


async def test_a_value_must_be_an_option_and_new_options_keep_it_when_they_can():
    app = OneChoice()
    changes: dict = {}  # the hook sees a message once for every node it bubbles through

    def hook(message) -> None:
        if isinstance(message, Choice.Changed):
            changes.setdefault(id(message), message)

    async with app.run_test(message_hook=hook) as pilot:
        choice = app.query_one(Choice)
        assert choice.value == ""
        with pytest.raises(ValueError):
            choice.value = "4:3"
        choice.value = "16:9"
        choice.set_options([("auto", ""), ("16:9", "16:9"), ("4:3", "4:3")])
        assert choice.value == "16:9"  # still there: kept
        choice.set_options([("auto", ""), ("4:3", "4:3")])
        assert choice.value == ""  # gone: the first option
        with pytest.raises(ValueError):
            choice.set_options([])
        await pilot.pause()
        assert [m.value for m in changes.values()] == ["16:9", ""]
