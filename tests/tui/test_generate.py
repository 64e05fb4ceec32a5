"""Submit, progress, completion, failure and retry, comparison, regenerate, check by id."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, TextArea

from evolink_tui.core import events as ev
from evolink_tui.core.validation import GenerationRequest
from evolink_tui.tui.messages import StudioEvent
from evolink_tui.tui.screens.check import CheckTaskScreen
from evolink_tui.tui.screens.picker import ModelPicker
from evolink_tui.tui.widgets.choice import Choice
from evolink_tui.tui.widgets.preview import Preview, ResultCard
from evolink_tui.tui.widgets.tasklist import TaskList
from evolink_tui.tui.widgets.thumbnail import ThumbnailView

from .helpers import (
    confirm_spend,
    demo_app,
    finished,
    generate,
    problems_text,
    run_for,
    screen_text,
    type_text,
    wait_until,
)


def row_text(app, record_id: int) -> str:
    table = app.main.query_one(TaskList)
    return " | ".join(table.row_text(record_id) or ())


async def test_submit_shows_progress_then_thumbnails(step_clock):
    app = demo_app(step_clock)
    seen: list[type] = []

    def hook(message):
        if isinstance(message, StudioEvent) and isinstance(message.event, ev.TaskEvent):
            seen.append(type(message.event))

    async with app.run_test(size=(100, 30), message_hook=hook) as pilot:
        await type_text(pilot, "a red fox in snow")
        await pilot.press("ctrl+j")
        await wait_until(pilot, lambda: ev.TaskSubmitted in seen, what="submitted")
        [record_id] = app.studio.records
        assert app.main.query_one("#prompt", TextArea).text == "a red fox in snow"  # never cleared
        await run_for(pilot, step_clock, 6.0)
        await wait_until(pilot, lambda: app.studio.records[record_id].state == "processing", what="processing")
        row = row_text(app, record_id)
        assert "gpt-image-1.5" in row and "running" in row and "█" in row and "s left" in row
        assert "6 ·" in row  # credits reserved
        assert "credits this run: 6" in app.main.topbar.render().plain
        await run_for(pilot, step_clock, 6.0)
        await wait_until(pilot, finished(app), what="finished")
        record = app.studio.records[record_id]
        assert record.state == "completed" and Path(record.files[0]).is_file()
        assert "done" in row_text(app, record_id)
        preview = app.main.query_one(Preview)
        await wait_until(
            pilot,
            lambda: (
                all(v.thumbnail is not None for v in preview.query(ThumbnailView))
                and len(preview.query(ThumbnailView)) == 1
            ),
            what="thumbnail",
        )
    assert seen[:2] == [ev.SubmitStarted, ev.TaskSubmitted]
    assert ev.TaskProgressed in seen
    assert seen[-3:] == [ev.TaskCompleted, ev.ResultDownloaded, ev.TaskFinished]


async def test_failure_shows_code_resolution_and_retry_runs_with_a_new_key():
    app = demo_app(faults="fail:service_error@submit*1")
    async with app.run_test(size=(100, 30)) as pilot:
        await type_text(pilot, "a castle")
        await pilot.press("ctrl+j")
        await wait_until(pilot, finished(app), what="failed task")
        [failed] = app.studio.records.values()
        assert failed.state == "failed"
        text = screen_text(app)
        assert "service_error" in text
        assert "a retry may help" in text
        assert "Retry after 1 minute" in text
        app.main.query_one(TaskList).focus()
        await pilot.press("t")
        await confirm_spend(pilot)
        await wait_until(pilot, lambda: len(app.studio.records) == 2 and finished(app, 2)(), what="retried task")
        retried = max(app.studio.records.values(), key=lambda r: r.id)
        assert retried.state == "completed"
        assert retried.request == failed.request
        assert retried.idempotency_key != failed.idempotency_key


async def test_non_retryable_failure_is_not_retried():
    app = demo_app(faults="fail:content_policy_violation@submit*1")
    async with app.run_test(size=(100, 30)) as pilot:
        await type_text(pilot, "a castle")
        await pilot.press("ctrl+j")
        await wait_until(pilot, finished(app), what="failed task")
        assert "retrying will not help" in screen_text(app)
        app.main.query_one(TaskList).focus()
        await pilot.press("t")
        await pilot.pause()
        assert len(app.studio.records) == 1


async def test_comparison_across_two_models_shows_results_side_by_side():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_text(pilot, "a lighthouse")
        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(app.screen, ModelPicker), what="picker")
        await type_text(pilot, "turbo")
        await pilot.press("down", "space", "ctrl+u")  # mark, then clear the marks
        await pilot.press("space")
        app.screen.query_one("#filter", Input).focus()
        app.screen.query_one("#filter", Input).value = "lite"
        await pilot.pause()
        await pilot.press("down", "down", "space", "enter")  # nano-banana-2-lite
        await wait_until(pilot, lambda: app.screen is app.main, what="picker closed")
        assert app.main.composer.models == ("z-image-turbo", "nano-banana-2-lite")
        await pilot.press("ctrl+j")
        await wait_until(pilot, finished(app, 2), what="both finished")
        records = sorted(app.studio.records.values(), key=lambda r: r.id)
        assert [r.model for r in records] == ["z-image-turbo", "nano-banana-2-lite"]
        assert records[0].group_id and records[0].group_id == records[1].group_id
        assert all(r.request["prompt"] == "a lighthouse" for r in records)
        preview = app.main.query_one(Preview)
        await wait_until(pilot, lambda: len(preview.query(ResultCard)) == 2, what="two cards")
        labels = [str(card.query_one(".card-label").render()) for card in preview.query(ResultCard)]
        assert "z-image-turbo" in labels[0] and "nano-banana-2-lite" in labels[1]
        assert all(" cr" in label and "s ·" in label for label in labels)


async def test_regenerate_refills_the_composer_with_exact_settings():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await generate(
            pilot, GenerationRequest("a quiet harbour", model="gpt-4o-image", size="1024x1536", n=2), what="first task"
        )
        app.main.composer.fill(GenerationRequest("something else"))
        app.main.query_one(TaskList).focus()
        await pilot.press("r")
        await wait_until(pilot, lambda: app.main.composer.prompt == "a quiet harbour", what="refilled")
        composer = app.main.composer
        assert composer.models == ("gpt-4o-image",)
        assert composer.query_one("#size", Choice).value == "1024x1536"
        assert composer.query_one("#n", Choice).value == 2
        assert app.focused is composer.query_one("#prompt", TextArea)
        composer.query_one("#size", Choice).value = "1536x1024"
        await pilot.press("ctrl+j")
        await wait_until(pilot, finished(app, 2), what="regenerated")
        newest = max(app.studio.records.values(), key=lambda r: r.id)
        assert newest.request == {"prompt": "a quiet harbour", "model": "gpt-4o-image", "size": "1536x1024", "n": 2}


async def test_check_task_by_id_adds_it_to_the_list():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.studio.client is not None, what="client")
        task = await app.studio.client.submit(GenerationRequest("made elsewhere", model="z-image-turbo"))
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, CheckTaskScreen), what="check screen")
        app.screen.query_one(Input).value = task.id
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(app.studio.records) == 1 and finished(app)(), what="checked task")
        [record] = app.studio.records.values()
        assert record.task_id == task.id and record.state == "completed" and record.files
        assert app.main.query_one(TaskList).selected_id == record.id


async def test_bad_task_id_is_reported_and_the_app_stays_up():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        app.main.generation.check_task("task-does-not-exist")
        await wait_until(pilot, lambda: any("404" in n.message for n in app.notes), what="notice")
        assert app.is_running and not app.studio.records


async def test_invalid_request_is_not_sent_and_the_prompt_stays():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+j")  # empty prompt
        await pilot.pause()
        assert not app.studio.records
        await wait_until(pilot, lambda: "Prompt: a prompt is required" in problems_text(app), what="inline problem")
        area = app.main.query_one("#prompt", TextArea)
        area.load_text("x" * 2001)
        await wait_until(pilot, lambda: "at most 2000 characters" in problems_text(app), what="too long")
        assert "2001/2000" in screen_text(app)
        await pilot.press("ctrl+j")
        await pilot.pause()
        assert not app.studio.records and area.text == "x" * 2001


async def tab_to(pilot, selector: str, limit: int = 12) -> None:
    """Press tab until ``selector`` has focus, as a person would."""
    target = pilot.app.main.query_one(selector)
    for _ in range(limit):
        if pilot.app.focused is target:
            return
        await pilot.press("tab")
    assert pilot.app.focused is target, f"tab never reached {selector}"


@pytest.mark.parametrize("how", ["enter", "space", "click"])
async def test_the_generate_button_sends_on_enter_space_and_click(how):
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_text(pilot, f"pressed with {how}")
        await tab_to(pilot, "#generate")
        if how == "click":
            assert await pilot.click("#generate")
        else:
            await pilot.press(how)
        await wait_until(pilot, lambda: len(app.studio.records) == 1, what="the task")
        [record] = app.studio.records.values()
        assert record.prompt == f"pressed with {how}"
        await pilot.pause(0.3)
        assert len(app.studio.records) == 1  # one press, one task
        assert app.main.query_one("#prompt", TextArea).text == f"pressed with {how}"


async def test_the_generate_button_with_an_empty_prompt_shows_the_problem_until_it_is_fixed():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert not app.main.query("#problems")  # nothing to show: not even mounted
        await tab_to(pilot, "#generate")
        await pilot.press("enter")
        await wait_until(pilot, lambda: "Prompt: a prompt is required" in problems_text(app), what="the problem")
        assert not app.studio.records
        assert "Prompt: a prompt is required" in screen_text(app)
        button = app.main.query_one("#generate")
        assert app.main.query_one("#problems").region.bottom <= button.region.y  # above the button
        app.main.query_one("#prompt", TextArea).focus()
        await type_text(pilot, "fixed")
        await wait_until(pilot, lambda: not problems_text(app), what="the problem gone")
        assert "a prompt is required" not in screen_text(app)
        await tab_to(pilot, "#generate")
        await pilot.press("space")
        await wait_until(pilot, lambda: len(app.studio.records) == 1, what="the task")
        assert next(iter(app.studio.records.values())).prompt == "fixed"


async def test_a_card_shows_its_new_text_when_its_task_ends():
    """A card's label and placeholder are repainted in place when their text changes (no
    layout of the screen, see ResultCard.take): the terminal shows the new text, not the old."""
    from .helpers import StepClock, comparison_mid_run

    clock = StepClock()
    app = demo_app(clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await comparison_mid_run(pilot, clock)
        running = next(r for r in app.studio.records.values() if not r.is_finished)
        preview = screen_text(app).split("Preview")[-1]
        assert f"running {running.progress}%" in preview and preview.count(" cr ") == 1
        while not app.studio.records[running.id].is_finished:
            await run_for(pilot, clock, 0.5)
        await wait_until(pilot, lambda: screen_text(app).split("Preview")[-1].count(" cr ") == 2, what="both labels")
        assert "running" not in screen_text(app).split("Preview")[-1]


async def test_a_task_on_its_way_has_a_card_for_each_image_and_its_results_take_them():
    """n=2: two cards while it runs, and the two results arrive in those very cards (none is
    mounted or moved along the row as they come: each would lay out the whole screen)."""
    from .helpers import StepClock

    clock = StepClock()
    app = demo_app(clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.studio.client is not None, what="the client")
        app.main.composer.fill(GenerationRequest("two foxes", model="z-image-turbo", n=2))
        await pilot.press("ctrl+j")
        await wait_until(pilot, lambda: any(r.task_id for r in app.studio.records.values()), what="the submit")
        preview = app.main.query_one(Preview)
        await wait_until(pilot, lambda: len(preview.query(ResultCard)) == 2, what="two cards")
        cards = list(preview.query(ResultCard))
        await wait_until(pilot, lambda: all(len(card.children) == 2 for card in cards), what="the cards drawn")
        assert all(card.query_one(ThumbnailView).source is None for card in cards)
        shown = screen_text(app).split("Preview")[-1]
        assert "z-image-turbo #1" in shown and "z-image-turbo #2" in shown
        while not all(r.is_finished for r in app.studio.records.values()):
            await run_for(pilot, clock, 0.5)
        await wait_until(
            pilot,
            lambda: all(card.query_one(ThumbnailView).thumbnail is not None for card in cards),
            what="both pictures",
        )
        assert list(preview.query(ResultCard)) == cards
        record = next(iter(app.studio.records.values()))
        assert [str(card.query_one(ThumbnailView).source) for card in cards] == record.files
