"""The picker, help, palette, gallery, recall, copy, theme memory and the 80x24 layout."""

from __future__ import annotations

from textual.widgets import Input, OptionList, TextArea

from evolink_tui.core.config import read_config_file
from evolink_tui.core.validation import GenerationRequest
from evolink_tui.tui.commands import COMMANDS
from evolink_tui.tui.screens.gallery import GalleryScreen
from evolink_tui.tui.screens.help import HelpScreen
from evolink_tui.tui.screens.picker import ModelPicker
from evolink_tui.tui.screens.recall import RecallScreen
from evolink_tui.tui.widgets.tasklist import TaskList
from evolink_tui.tui.widgets.thumbnail import ThumbnailView

from .helpers import demo_app, finished, generate, problems_text, screen_text, type_text, wait_until


def option_ids(screen) -> list[str]:
    options = screen.query_one("#models", OptionList)
    return [options.get_option_at_index(i).id for i in range(options.option_count)]


async def test_picker_lists_all_models_with_tags_and_filters_by_name_tag_capability():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(app.screen, ModelPicker), what="picker")
        picker = app.screen
        assert len(option_ids(picker)) == 20
        text = screen_text(app)
        assert "STABLE" in text and "OpenAI GPT Image 1.5" in text and "text-to-image" in text
        await type_text(pilot, "beta")
        await pilot.pause()
        assert "BETA" in screen_text(app)
        assert option_ids(picker) == [
            "gpt-image-1.5-lite",
            "gpt-4o-image",
            "gemini-2.5-flash-image",
            "nano-banana-2-lite",
        ]
        picker.query_one("#filter", Input).value = "instruction"
        await pilot.pause()
        assert option_ids(picker) == ["qwen-image-edit", "qwen-image-edit-plus"]
        picker.query_one("#filter", Input).value = "seedream"
        await pilot.pause()
        assert len(option_ids(picker)) == 3
        await pilot.press("enter")  # the highlighted model
        await wait_until(pilot, lambda: app.screen is app.main, what="closed")
        assert app.main.composer.models == ("doubao-seedream-4.5",)


async def test_choosing_gpt_4o_image_offers_pixel_sizes_and_the_mask():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        composer = app.main.composer
        sizes = lambda: [value for _, value in composer.query_one("#size")._options]  # noqa: E731
        assert "1024x1024" not in sizes()
        assert composer.query_one("#mask", Input).disabled
        composer.set_models(["gpt-4o-image"])
        await pilot.pause()
        assert {"1024x1024", "1024x1536", "1536x1024", "16:9"} <= set(sizes())
        assert not composer.query_one("#mask", Input).disabled
        composer.set_models(["gpt-4o-image", "z-image-turbo"])  # a comparison: what both accept
        await pilot.pause()
        assert "1024x1024" not in sizes() and composer.query_one("#mask", Input).disabled


async def test_references_can_be_added_and_removed(tmp_path):
    from PIL import Image

    image = tmp_path / "ref.png"
    Image.new("RGB", (8, 8), (10, 200, 10)).save(image)
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        refs_input = app.main.query_one("#ref-input", Input)
        refs_input.focus()
        refs_input.value = str(image)
        await pilot.press("enter")
        refs_input.value = "https://example.com/a.png"
        await pilot.press("enter")
        assert app.main.composer.references == [str(image), "https://example.com/a.png"]
        refs_input.value = str(tmp_path / "missing.png")
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: "missing.png" in problems_text(app) and "not found" in problems_text(app),
            what="inline problem",
        )
        refs = app.main.query_one("#refs")
        refs.focus()
        refs.index = 2
        await pilot.press("delete")
        assert app.main.composer.references == [str(image), "https://example.com/a.png"]


async def test_help_lists_the_keys_of_the_focused_panel():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        app.main.query_one(TaskList).focus()
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        text = screen_text(app)
        listed = "\n".join(str(section.content) for section in app.screen.query(".help-section"))
        assert "In Tasks" in text and "Regenerate" in text and "Copy path" in text and "Generate" in listed
        await pilot.press("escape")
        await pilot.pause()
        app.main.query_one("#prompt", TextArea).focus()
        await pilot.press("question_mark")  # typed, not help, in the prompt
        await pilot.pause()
        assert app.screen is app.main and app.main.composer.prompt == "?"
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help from the prompt")
        assert "In Compose" in screen_text(app)  # the lit border's title, as text (it was shown as markup)


async def test_palette_commands_start_with_a_verb_and_run():
    verbs = {
        "Generate",
        "Pick",
        "Check",
        "Open",
        "Regenerate",
        "Retry",
        "Copy",
        "Show",
        "Use",
        "Recall",
        "Change",
        "Enter",
        "Save",
        "Quit",
        "Search",
        "Resend",
        "Upload",
        "Delete",
        "Make",
        "Refresh",
        "View",
        "Iterate",
        "Reopen",
        "Edit",
        "Plan",
        "Load",
        "Set",
    }
    assert {name.split()[0] for name, _, _ in COMMANDS} <= verbs
    names = [name for name, _, _ in COMMANDS]
    for required in (
        "Generate",
        "Pick models",
        "Check task by ID",
        "Open gallery",
        "Regenerate selected task",
        "Retry selected task",
        "Copy result path",
        "Copy result URL",
        "Open result in viewer",
        "Show sidecar",
        "Use result as reference",
        "Recall earlier prompt",
        "Change theme",
        "Show help",
    ):
        assert required in names
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await type_text(pilot, "pick models")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ModelPicker), what="picker from the palette")


async def test_gallery_shows_every_result_and_copies_a_path():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await generate(pilot, GenerationRequest("three moons", model="z-image-turbo", n=2), what="task")
        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(app.screen, GalleryScreen), what="gallery")
        gallery = app.screen
        await wait_until(
            pilot,
            lambda: sum(v.thumbnail is not None for v in gallery.query(ThumbnailView)) == 2,
            what="thumbnails",
        )
        await pilot.press("right", "c")
        [record] = app.studio.records.values()
        assert app.clipboard == record.files[1]
        await pilot.press("u")
        assert app.clipboard == record.results[1]
        await pilot.press("f")  # use as reference: back to the composer
        await wait_until(pilot, lambda: app.screen is app.main, what="back to main")
        assert app.main.composer.references == [record.files[1]]


async def test_recall_finds_earlier_prompts():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        for prompt in ("a blue whale", "a red kite"):
            app.main.composer.set_prompt(prompt)
            await pilot.press("ctrl+j")
            await pilot.pause()
        await wait_until(pilot, finished(app, 2), what="tasks")
        app.main.composer.set_prompt("")
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: isinstance(app.screen, RecallScreen), what="recall")
        await type_text(pilot, "whale")
        await wait_until(pilot, lambda: "1 earlier prompt" in screen_text(app), what="search")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is app.main, what="closed")
        assert app.main.composer.prompt == "a blue whale"


async def test_theme_choice_is_remembered(isolated_env):
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        app.theme = "nord"
        await wait_until(pilot, lambda: isolated_env["config"].exists(), what="config written")
        await app.workers.wait_for_complete()
    assert read_config_file(isolated_env["config"])[0]["theme"] == "nord"
    again = demo_app()
    async with again.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert again.theme == "nord"


async def test_nothing_essential_is_cut_off_at_80x24():
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await type_text(pilot, "small screen")
        await pilot.press("ctrl+j")
        await wait_until(pilot, finished(app), what="task")
        await pilot.pause()
        screen = app.screen.region
        for selector in (
            "#prompt",
            "#models-line",
            "#size",
            "#n",
            "#ref-input",
            "#mask",
            "#generate",
            "#tasks",
            "#preview",
        ):
            widget = app.main.query_one(selector)
            assert screen.contains_region(widget.region), selector
            assert widget.region.height >= 1 and widget.region.width >= 3, selector
        text = screen_text(app)
        for words in ("Generate", "credits this run", "gpt-image-1.5", "done"):
            assert words in text, words


async def test_sidecar_is_shown_as_text():
    from evolink_tui.tui.screens.sidecar import SidecarScreen

    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_text(pilot, "a sidecar")
        await pilot.press("ctrl+j")
        await wait_until(pilot, finished(app), what="task")
        app.main.query_one(TaskList).focus()
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, SidecarScreen), what="sidecar")
        await wait_until(pilot, lambda: '"task_id"' in app.screen.query_one(TextArea).text, what="json")
        assert '"prompt": "a sidecar"' in app.screen.query_one(TextArea).text
        await pilot.press("escape")
        await pilot.press("o")  # no display in tests: says so instead of starting a viewer
        await wait_until(pilot, lambda: any("No display" in n.message for n in app.notes), what="no viewer")
