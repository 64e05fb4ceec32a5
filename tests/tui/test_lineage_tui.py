"""The lineage screen: three generations made by iterating, the tree shown as thumbnails,
moved through by keys; the selection is what the result keys act on."""

from __future__ import annotations

from evolink_tui.core.validation import GenerationRequest
from evolink_tui.tui.screens.lineage import LineageScreen
from evolink_tui.tui.widgets.preview import Preview, ResultCard
from evolink_tui.tui.widgets.tasklist import TaskList
from evolink_tui.tui.widgets.thumbnail import ThumbnailView

from .helpers import demo_app, finished, generate, screen_text, type_text, wait_until


async def iterate_on(pilot, record_id: int, result: int, prompt: str) -> int:
    """i on result ``result`` (from 0) of a task in the preview, a new prompt, ctrl+j."""
    app = pilot.app
    app.main.query_one(TaskList).select(record_id)
    await wait_until(pilot, lambda: app.main.preview.record_id == record_id, what=f"#{record_id} shown")
    preview = app.main.query_one(Preview)
    preview.focus()
    await pilot.press(*["right"] * result, "i")
    await wait_until(pilot, lambda: app.main.iterating.current is not None, what="iterating")
    assert app.main.iterating.current.parent == (record_id, result)
    app.main.composer.set_prompt(prompt)
    count = len(app.studio.records)
    await pilot.press("ctrl+j")
    await wait_until(pilot, finished(app, count + 1), what=prompt)
    return max(app.studio.records)


async def three_generations(pilot) -> tuple[int, int, int, int]:
    app = pilot.app
    await generate(pilot, GenerationRequest("a paper boat", model="gpt-image-1.5", n=2), what="the first")
    first = max(app.studio.records)
    second = await iterate_on(pilot, first, 1, "the boat, on a river")
    sibling = await iterate_on(pilot, first, 0, "the boat, burning")
    third = await iterate_on(pilot, second, 0, "the boat on the river, at dawn")
    return first, second, sibling, third


async def test_three_generations_as_a_tree_moved_through_by_keys():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        first, second, sibling, third = await three_generations(pilot)
        assert app.studio.record(third).parent == (second, 0)
        # The lineage of the grandchild, from its row in the task list.
        app.main.query_one(TaskList).select(third)
        app.main.query_one(TaskList).focus()
        await pilot.press("l")
        await wait_until(pilot, lambda: isinstance(app.screen, LineageScreen), what="the lineage screen")
        screen = app.screen
        await wait_until(pilot, lambda: len(screen.query(ResultCard)) == 8, what="eight results")
        head = str(screen.query_one("#lineage-head").content)
        assert head == f"Lineage of #{third}: 4 tasks over 3 generations, from #{first}."
        titles = [str(title.content) for title in screen.query(".lineage-title")]
        assert [title.split(" · ")[0] for title in titles] == [
            f"#{first}",
            f"└ #{second}",
            f"└ #{third}",
            f"└ #{sibling}",
        ]
        assert (
            f"#{second} · from #{first} (result 2)" in titles[1]
            and f"#{sibling} · from #{first} (result 1)" in titles[3]
        )
        assert f"#{third} · from #{second} (result 1)" in titles[2] and titles[2].endswith("◂ this one")
        # The tree scrolled to the asked-for task.
        await wait_until(pilot, lambda: f"#{third} · from #{second} (result 1)" in screen_text(app), what="scrolled")
        assert f"#{first} · gpt-image-1.5" not in screen_text(app)  # the first of the line scrolled out
        # Thumbnails, not placeholders: n=2 came along with each iteration.
        await wait_until(
            pilot,
            lambda: sum(v.thumbnail is not None for v in screen.query(ThumbnailView)) == 8,
            what="eight thumbnails",
        )
        # Tree order: first, second, third (second's child), sibling; the asked-for one is selected.
        assert screen.current_result()[0].id == third
        await pilot.press("up")
        assert screen.current_result()[0].id == second
        assert screen.selected_text == f"#{second} · from #{first} (result 2) · iterated on: #{third} (result 1)"
        await pilot.press("up")
        assert screen.current_result() == (app.studio.record(first), 0)
        await pilot.press("right")  # the first task's second result
        assert screen.current_result() == (app.studio.record(first), 1)
        assert screen.selected_text.endswith(f"iterated on: #{second} (result 2), #{sibling} (result 1)")
        await pilot.press("down", "down", "down")
        assert screen.current_result()[0].id == sibling
        await pilot.press("p")  # its parent, on the result it iterated on
        assert screen.current_result() == (app.studio.record(first), 0)
        # The selected card is the one drawn as selected.
        selected = [card.ref for card in screen.query(ResultCard) if card.has_class("-selected")]
        assert [(ref.record_id, ref.file) for ref in selected] == [(first, 0)]
        # i on the lineage screen iterates on the selection: back on the main screen.
        await pilot.press("i")
        await wait_until(pilot, lambda: app.screen is app.main, what="back to compose")
        await wait_until(pilot, lambda: app.main.iterating.current is not None, what="iterating")
        assert app.main.iterating.current.parent == (first, 0)


async def test_the_lineage_follows_a_new_child_and_esc_returns():
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await generate(pilot, GenerationRequest("a kettle", model="gpt-image-1.5"), what="the first")
        first = max(app.studio.records)
        await pilot.press("ctrl+p")
        await type_text(pilot, "Show lineage")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, LineageScreen), what="the lineage screen")
        await wait_until(pilot, lambda: "1 task over 1 generation" in screen_text(app), what="one task")
        # A child made while the lineage is open (a second terminal, or a batch) joins the tree.
        iteration = app.studio.iterate(app.studio.record(first), 0)
        [child] = app.studio.prepare([iteration.request], parent=iteration.parent)
        app.start(app.studio.run(child), name="child")
        await wait_until(pilot, lambda: "2 tasks over 2 generations" in screen_text(app), what="the child joined")
        # its node is drawn with the rebuilt tree, a frame or more after the summary line
        node = f"#{child} · from #{first} (result 1)"
        await wait_until(pilot, lambda: node in screen_text(app), what="the child's node")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.main, what="back")
