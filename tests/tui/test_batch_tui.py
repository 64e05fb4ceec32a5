"""Matrix runs, the budget and notices in the app, against the demo simulator (which counts
every submit): the plan is shown before anything is sent, a dropped task is never sent, a
budget that would be crossed asks first, a batch left running is taken up at the next start,
the results come as a grid, and notices are written only while the user is away."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual import events
from textual.widgets import Static

from evolink_tui.core import batch_store as bs
from evolink_tui.core.budget import day_start
from evolink_tui.core.config import load_settings
from evolink_tui.core.history import History, history_path
from evolink_tui.core.matrix import Matrix
from evolink_tui.simulator import FakeClock
from evolink_tui.tui.attention import NoticeEscape
from evolink_tui.tui.screens.batch import BatchScreen, MatrixCell
from evolink_tui.tui.screens.confirm import ConfirmScreen
from evolink_tui.tui.screens.plan import PlanScreen
from evolink_tui.tui.widgets.thumbnail import ThumbnailView

from ..history_seed import seed
from .helpers import START, demo_app, finished, run_for, screen_text, type_text, wait_until

FOX = "a {red|blue} fox in {snow|rain}"
THREE = ["gpt-image-1.5", "z-image-turbo", "gemini-3.1-flash-image-preview"]


def sim_of(app):
    return app.studio.client.simulator.state.sim


def write_config(text: str) -> None:
    path = Path(os.environ["EVOLINK_TUI_CONFIG"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def seed_prices(model: str = "gpt-image-1.5", credits: float = 6.0) -> None:
    """One earlier completed run of ``model`` (before this run of the app) that cost ``credits``."""
    clock = FakeClock(max(day_start(START) + 1, START - 3600))  # today, before the app starts
    history = History(history_path(load_settings(demo=True)), clock=clock.now).open()
    try:
        seed(history, clock, model, credits)
    finally:
        history.close()


def done_this_run(app, count: int):
    """``count`` tasks started by this run of the app, each finished (and downloaded)."""

    def check() -> bool:
        mine = [app.studio.record(i) for i in app.studio.session_ids]
        return len(mine) >= count and all(r is not None and r.is_finished and r.files for r in mine)

    return check


def question(app) -> str:
    """What the dialog in front says, on one line."""
    return " ".join(str(app.screen.query_one("#confirm-body", Static).render()).split())


async def ready(pilot) -> None:
    app = pilot.app
    await wait_until(pilot, lambda: app.studio.client is not None and bool(app.main.query("#prompt")), what="client")
    await pilot.pause()


async def plan_fox(pilot) -> PlanScreen:
    app = pilot.app
    await ready(pilot)
    await type_text(pilot, FOX)
    app.main.composer.set_models(THREE)
    await pilot.press("ctrl+j")
    await wait_until(pilot, lambda: isinstance(app.screen, PlanScreen), what="the plan")
    assert isinstance(app.screen, PlanScreen)
    return app.screen


async def test_a_variant_prompt_is_planned_and_nothing_is_sent_before_confirm_and_a_dropped_task_never():
    seed_prices()
    app = demo_app()
    async with app.run_test(size=(160, 50)) as pilot:
        plan = await plan_fox(pilot)
        text = screen_text(app)
        assert "Plan: 12 tasks, 12 images (4 prompts × 3 models × default size)" in text
        # priced from what gpt-image-1.5 cost before; the two others have no runs yet
        assert "Expected cost: 24 credits + unknown for 8 tasks" in text
        assert "z-image-turbo: no runs yet" in text and "gpt-image-1.5: 6 credits/image" in text
        assert "Expected time: about" in text
        await pilot.pause(0.2)
        assert sim_of(app).count("submit") == 0 and app.studio.history.count() == 1  # nothing sent or recorded
        await pilot.press("space")  # drop task 1: gpt-image-1.5, "a red fox in snow"
        await pilot.pause()
        assert plan.plan.dropped == {1}
        assert "Plan: 11 tasks" in screen_text(app) and "1 dropped" in screen_text(app)
        assert sim_of(app).count("submit") == 0
        await pilot.press("ctrl+j")
        await wait_until(pilot, lambda: isinstance(app.screen, BatchScreen), what="the batch screen")
        screen = app.screen
        assert isinstance(screen, BatchScreen)
        await wait_until(
            pilot, lambda: app.studio.batches.summary(screen.batch_id).batch.state == bs.DONE, what="batch done"
        )
        sim = sim_of(app)
        sent = {(t.model, t.prompt) for t in sim.tasks.values()}
        assert sim.count("submit") == 11 and len(sent) == 11
        assert ("gpt-image-1.5", "a red fox in snow") not in sent
        assert ("z-image-turbo", "a red fox in snow") in sent


async def test_escape_on_the_plan_sends_nothing():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await plan_fox(pilot)
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.main, what="back to main")
        await pilot.pause(0.2)
        assert sim_of(app).count("submit") == 0 and app.studio.history.count() == 0
        assert app.studio.batches.latest() is None


async def test_the_grid_shows_each_result_in_its_row_and_column():
    app = demo_app()
    async with app.run_test(size=(160, 50)) as pilot:
        await plan_fox(pilot)
        await pilot.press("ctrl+j")
        await wait_until(pilot, lambda: isinstance(app.screen, BatchScreen), what="the batch screen")
        screen = app.screen
        assert isinstance(screen, BatchScreen)
        await wait_until(pilot, finished(app, 12), what="12 tasks finished")
        await wait_until(
            pilot,
            lambda: all(v.thumbnail is not None for v in screen.query(ThumbnailView)),
            what="every thumbnail",
        )
        text = screen_text(app)
        for label in ("red · snow", "red · rain", "blue · snow", "blue · rain", "gpt-image-1.5", "z-image-turbo"):
            assert label in text, label
        assert "12/12 done" in text and f"{screen.batch_id} · done" in text
        assert screen.matrix is not None
        assert screen.matrix.rows == ["red · snow", "red · rain", "blue · snow", "blue · rain"]
        assert screen.matrix.columns == THREE
        # each cell holds the result of its own prompt and model
        for cell in screen.query(MatrixCell):
            record = app.studio.record(cell.record_id or -1)
            assert record is not None and cell.files == record.files
            row, column = screen.matrix.place[cell.seq]
            red, snow = row in (0, 1), row in (0, 2)
            assert record.prompt == f"a {'red' if red else 'blue'} fox in {'snow' if snow else 'rain'}"
            assert record.model == THREE[column]
        # arrows move across the grid; the cursor starts on the first task
        assert screen.focused is screen.query_one("#cell-1")
        await pilot.press("right", "down")
        assert screen.focused is screen.query_one("#cell-5")  # row 2, column 2


async def test_a_submit_that_would_cross_the_budget_asks_and_sends_nothing_unless_raised():
    seed_prices(credits=6.0)
    write_config("budget_per_run = 10\n")
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await type_text(pilot, "a red fox")
        await pilot.press("ctrl+j")  # 6 of 10: fits
        await wait_until(pilot, done_this_run(app, 1), what="the first task")
        sim = sim_of(app)
        assert sim.count("submit") == 1
        await pilot.press("ctrl+j")  # 6 more would make 12 of 10
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the budget question")
        assert "This task is expected to cost 6 credits, and 4 are left of the budget per run" in question(app)
        await pilot.pause(0.2)
        assert sim.count("submit") == 1 and app.studio.history.count() == 2  # asked before anything was recorded
        await pilot.press("n")
        await wait_until(pilot, lambda: app.screen is app.main, what="back to main")
        await pilot.pause(0.2)
        assert sim.count("submit") == 1 and app.studio.history.count() == 2
        # The bar is read again at the screen's 1 s clock after the first task's charge is known
        # (MainScreen._tick): waited for, not assumed to have come (under load it may not have yet).
        await wait_until(pilot, lambda: "6/10" in app.main.topbar.render().plain, what="the budget bar at 6 of 10")
        assert "budget/run" in app.main.topbar.render().plain
        await pilot.press("ctrl+j")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="asked again")
        await pilot.press("y")  # raise the budget for this run, and send
        await wait_until(pilot, done_this_run(app, 2), what="the second task")
        assert sim.count("submit") == 2


async def test_a_plan_over_budget_is_stopped_before_anything_is_sent():
    seed_prices(credits=6.0)
    write_config("budget_per_day = 10\n")  # 6 of it spent earlier today
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await plan_fox(pilot)
        assert "Budget: 4 credits left of today's budget" in screen_text(app)
        assert "this plan would cross it" in screen_text(app)
        await pilot.press("ctrl+j")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the budget question")
        asked = question(app)
        assert "This batch (12 tasks) is expected to cost 24 credits, and 4 are left of today's budget" in asked
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, PlanScreen), what="back to the plan, to drop tasks")
        await pilot.pause(0.2)
        assert sim_of(app).count("submit") == 0 and app.studio.batches.latest() is None


async def test_a_batch_left_running_is_taken_up_at_the_next_start():
    first = demo_app()
    async with first.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        batches = first.studio.batches
        plan = batches.plan(Matrix((FOX,), models=tuple(THREE[:2])))
        batch = batches.create(plan)  # stored, as just before a quit: nothing sent yet
        assert sim_of(first).count("submit") == 0
    second = demo_app()
    async with second.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, finished(second, 8), what="the batch resumed")
        summary = second.studio.batches.summary(batch.id)
        assert summary.batch.state == bs.DONE and summary.counts == {"completed": 8}
        assert "Resuming 1 batch left running" in "\n".join(n.message for n in second.notes)


async def notify_one_task(app, pilot, focused: bool) -> None:
    await ready(pilot)
    app.post_message(events.AppFocus() if focused else events.AppBlur())
    await pilot.pause()
    await type_text(pilot, "a red fox")
    await pilot.press("ctrl+j")
    await wait_until(pilot, finished(app, 1), what="the task")
    await pilot.pause()


async def test_a_task_ending_while_the_terminal_is_not_focused_rings_and_notifies(monkeypatch):
    monkeypatch.delenv("TMUX", raising=False)
    monkeypatch.setenv("TERM_PROGRAM", "unknown-terminal")
    app = demo_app()
    mounted: list[str] = []
    async with app.run_test(size=(100, 30)) as pilot:
        await notify_one_task(app, pilot, focused=False)
        await wait_until(pilot, lambda: bool(app.notifier.sent), what="a notice")
        [sequence] = app.notifier.sent
        assert "\x1b]9;evolink-tui: task #1 done: gpt-image-1.5: a red fox\x07" in sequence
        assert "\x1b]777;notify;evolink-tui: task #1 done;gpt-image-1.5: a red fox\x07" in sequence
        assert sequence.endswith("\x07")  # the bell
        mounted = [w.sequence for w in app.screen.query(NoticeEscape)]
    assert mounted in ([], [sequence])  # written with the next frame, then gone


async def test_notices_are_wrapped_for_tmux_and_the_bell_setting_turns_it_off(monkeypatch):
    monkeypatch.setenv("TMUX", "/tmp/tmux-1/default,1,0")
    write_config('notify_bell = false\nnotify_desktop = "osc9"\n')
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await notify_one_task(app, pilot, focused=False)
        await wait_until(pilot, lambda: bool(app.notifier.sent), what="a notice")
        [sequence] = app.notifier.sent
        assert sequence.startswith("\x1bPtmux;\x1b\x1b]9;") and sequence.endswith("\x1b\\")
        assert "777" not in sequence and not sequence.endswith("\x07\x07")


async def test_no_notice_while_the_app_is_focused_and_in_front():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await notify_one_task(app, pilot, focused=True)
        await pilot.pause(0.2)
        assert app.notifier.sent == [] and not app.screen.query(NoticeEscape)


async def test_a_batch_ending_while_another_screen_is_in_front_notifies_once(step_clock):
    from evolink_tui.tui.screens.help import HelpScreen

    app = demo_app(step_clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await plan_fox(pilot)
        app.post_message(events.AppFocus())
        await pilot.press("ctrl+j")
        await wait_until(pilot, lambda: isinstance(app.screen, BatchScreen), what="the batch screen")
        await pilot.press("f1")  # help: another screen in front while the batch runs
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        for _ in range(200):
            if finished(app, 12)():
                break
            await run_for(pilot, step_clock, 2.0)
        await wait_until(pilot, lambda: bool(app.notifier.sent), what="a notice")
        await pilot.pause(0.2)
        # one notice for the batch, none for each of its 12 tasks
        assert len(app.notifier.sent) == 1 and "batch done" in app.notifier.sent[0]


async def run_fox_batch(pilot) -> BatchScreen:
    app = pilot.app
    await plan_fox(pilot)
    await pilot.press("ctrl+j")
    await wait_until(pilot, lambda: isinstance(app.screen, BatchScreen), what="the batch screen")
    assert isinstance(app.screen, BatchScreen)
    return app.screen


async def test_enter_on_a_cell_opens_its_result_in_the_viewer():
    viewer = pytest.importorskip(
        "evolink_tui.tui.screens.viewer", reason="the viewer screen (issue 13) is not merged into this branch yet"
    )
    app = demo_app()
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await run_fox_batch(pilot)
        await wait_until(pilot, finished(app, 12), what="12 tasks finished")
        await wait_until(pilot, lambda: all(c.files for c in screen.query(MatrixCell)), what="every cell's file")
        await pilot.press("right", "down", "enter")  # task 5: red · rain on z-image-turbo
        await wait_until(pilot, lambda: isinstance(app.screen, viewer.ViewerScreen), what="the viewer")
        record = app.studio.record(screen.query_one("#cell-5", MatrixCell).record_id or -1)
        assert record is not None and record.prompt == "a red fox in rain" and record.model == "z-image-turbo"
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, what="back to the grid")
        assert screen.focused is screen.query_one("#cell-5")


async def test_pause_sends_nothing_more_and_cancel_never_sends_the_rest(step_clock):
    app = demo_app(step_clock)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await run_fox_batch(pilot)
        batch_id = screen.batch_id
        batches = app.studio.batches
        await wait_until(pilot, lambda: sim_of(app).count("submit") >= 1, what="the first submit")
        await pilot.press("p")
        await wait_until(pilot, lambda: batches.summary(batch_id).batch.state == bs.PAUSED, what="paused")
        for _ in range(60):  # time passes: the sent tasks finish, nothing more is sent
            if batch_id not in batches.active:
                break
            await run_for(pilot, step_clock, 2.0)
        sent = sim_of(app).count("submit")
        await run_for(pilot, step_clock, 20.0)
        assert sim_of(app).count("submit") == sent and 1 <= sent < 12
        assert "paused" in screen_text(app) and "p continues it" in screen_text(app)
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="asked first")
        await pilot.press("y")
        await wait_until(pilot, lambda: batches.summary(batch_id).batch.state == bs.CANCELLED, what="cancelled")
        await run_for(pilot, step_clock, 20.0)
        summary = batches.summary(batch_id)
        assert sim_of(app).count("submit") == sent
        assert summary.counts.get("cancelled") == 12 - sent and summary.counts.get("completed") == sent
        await pilot.press("p")  # a cancelled batch does not continue
        await run_for(pilot, step_clock, 10.0)
        assert sim_of(app).count("submit") == sent
