"""Iterate on a result (i, the palette): the composer filled with the result as reference,
nothing sent until ctrl+j, the parent recorded; a model without references offers the
editing models; a lapsed URL falls back to the local file, uploaded on generate."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import OptionList, TextArea

from evolink_tui.core.validation import GenerationRequest
from evolink_tui.tui.result_actions import result_index
from evolink_tui.tui.screens.gallery import GalleryScreen
from evolink_tui.tui.screens.iterate_dialogs import EditingModelScreen
from evolink_tui.tui.widgets.preview import Preview
from evolink_tui.tui.widgets.tasklist import TaskList

from .helpers import demo_app, finished, generate, notes_text, screen_text, type_text, wait_until


def sim(app):
    return app.studio.client.simulator.state.sim


def submitted(app) -> list:
    return sorted(sim(app).tasks.values(), key=lambda t: t.id)


async def test_i_on_result_2_fills_the_composer_and_the_submit_records_the_parent():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await generate(
            pilot, GenerationRequest("a red kite", model="gpt-image-1.5", size="1024x1024", n=2), what="the first task"
        )
        [parent] = app.studio.records.values()
        assert len(parent.files) == 2
        preview = app.main.query_one(Preview)
        preview.focus()
        await pilot.press("right")  # result 2
        await pilot.press("i")
        composer = app.main.composer
        await wait_until(pilot, lambda: composer.references == [parent.results[1]], what="the reference")
        assert composer.prompt == "a red kite"
        assert composer.models == ("gpt-image-1.5",)
        assert app.focused is composer.query_one("#prompt", TextArea)
        assert len(app.studio.records) == 1 and len(submitted(app)) == 1  # nothing sent
        assert "Iterating on #1 result 2 (its URL)" in notes_text(app)
        assert "iterating on #1 result 2" in screen_text(app)  # the composer's lower border

        composer.set_prompt("the same kite, at night")
        await pilot.press("ctrl+j")
        await wait_until(pilot, finished(app, 2), what="the child")
        child = max(app.studio.records.values(), key=lambda r: r.id)
        assert child.parent == (parent.id, 1)
        assert app.studio.history.get(child.id).parent == (parent.id, 1)  # in the history, not just the index
        sent = submitted(app)[-1]
        assert sent.image_urls == [parent.results[1]] and sent.prompt == "the same kite, at night"
        # The preview of the child says where it came from; the parent's lists the child.
        await wait_until(pilot, lambda: "from #1 (result 2)" in screen_text(app), what="the child's origin")
        app.main.query_one(TaskList).select(parent.id)
        await wait_until(pilot, lambda: "iterated on: #2 (result 2)" in screen_text(app), what="the parent's child")


async def test_a_reference_removed_before_submit_records_no_parent():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await generate(pilot, GenerationRequest("a pear", model="gpt-image-1.5"), what="the first task")
        app.main.query_one(TaskList).focus()
        await pilot.press("i")
        composer = app.main.composer
        await wait_until(pilot, lambda: len(composer.references) == 1, what="the reference")
        composer.query_one("#refs").focus()
        await pilot.press("delete")
        await wait_until(pilot, lambda: not composer.references, what="removed")
        assert "iterating on" not in screen_text(app)
        await pilot.press("ctrl+j")
        await wait_until(pilot, finished(app, 2), what="the second task")
        assert max(app.studio.records.values(), key=lambda r: r.id).parent is None


async def test_a_model_without_references_offers_the_editing_models():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await generate(pilot, GenerationRequest("a blue vase", model="z-image-turbo"), what="the first task")
        [parent] = app.studio.records.values()
        await pilot.press("ctrl+p")
        await type_text(pilot, "Iterate on this result")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, EditingModelScreen), what="the model question")
        text = screen_text(app)
        assert "z-image-turbo does not take reference images" in text
        options = app.screen.query_one(OptionList)
        offered = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert "qwen-image-edit" in offered and "z-image-turbo" not in offered
        await pilot.press(*["down"] * offered.index("qwen-image-edit"), "enter")
        composer = app.main.composer
        await wait_until(pilot, lambda: composer.models == ("qwen-image-edit",), what="the editing model")
        assert composer.prompt == "a blue vase" and composer.references == [parent.results[0]]
        assert len(submitted(app)) == 1  # nothing sent
        await pilot.press("ctrl+j")
        await wait_until(pilot, finished(app, 2), what="the child")
        child = max(app.studio.records.values(), key=lambda r: r.id)
        assert child.parent == (parent.id, 0) and child.model == "qwen-image-edit"


async def test_after_the_url_lapses_the_local_file_is_uploaded_and_sent():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await generate(pilot, GenerationRequest("an old map", model="gpt-image-1.5"), what="the first task")
        [parent] = app.studio.records.values()
        app.studio.clock.advance(25 * 3600)  # past the 24-hour URL lifetime
        app.main.query_one(TaskList).focus()
        await pilot.press("i")
        composer = app.main.composer
        await wait_until(pilot, lambda: composer.references == [parent.files[0]], what="the local file")
        assert "its file, uploaded on generate" in notes_text(app)
        await pilot.press("ctrl+j")
        await wait_until(pilot, finished(app, 2), what="the child")
        child = max(app.studio.records.values(), key=lambda r: r.id)
        assert child.parent == (parent.id, 0)
        [url] = submitted(app)[-1].image_urls
        [uploaded] = sim(app).files.values()  # uploaded through the Files API
        assert url != parent.results[0] and uploaded.file_name in url


async def test_iterating_on_a_failed_task_says_why_and_changes_nothing():
    app = demo_app(faults="fail:content_policy_violation@submit*1")
    async with app.run_test(size=(100, 30)) as pilot:
        await generate(pilot, GenerationRequest("a storm", model="gpt-image-1.5"), what="the first task")
        app.main.composer.set_prompt("kept as typed")
        app.main.query_one(TaskList).focus()
        await pilot.press("i")
        await wait_until(pilot, lambda: "Cannot iterate on #1 result 1" in notes_text(app), what="the refusal")
        assert "a completed task's result" in notes_text(app)
        assert app.main.composer.prompt == "kept as typed" and not app.main.composer.references


async def test_i_in_the_gallery_iterates_on_the_selected_result():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await generate(pilot, GenerationRequest("three pears", model="gpt-image-1.5", n=2), what="the first task")
        [parent] = app.studio.records.values()
        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(app.screen, GalleryScreen), what="the gallery")
        await wait_until(pilot, lambda: app.screen.current_result() is not None, what="a result")
        await pilot.press("right")  # the second card
        record, file = app.screen.current_result()
        index = result_index(record, file)
        await pilot.press("i")
        await wait_until(pilot, lambda: app.screen is app.main, what="back to compose")
        await wait_until(pilot, lambda: bool(app.main.composer.references), what="the reference")
        assert app.main.iterating.current.parent == (parent.id, index)
        assert app.main.composer.references == [parent.results[index]]
        assert Path(record.files[file]).stem.endswith(f"_{index + 1}")  # the card's file is that result's
        assert len(submitted(app)) == 1
