"""The history: 10,000 tasks open at once (one page read), and the search screen finds past
tasks by prompt, model, status and date, shows them in the task list, regenerates and
retries them."""

from __future__ import annotations

from datetime import datetime

from textual.widgets import Input, Select, TextArea

from evolink_tui.core.config import load_settings
from evolink_tui.core.errors import EvolinkError
from evolink_tui.core.history import PAGE as HISTORY_PAGE
from evolink_tui.core.history import History, history_path
from evolink_tui.tui.screens.history_search import PAGE, HistoryResults, HistorySearchScreen
from evolink_tui.tui.widgets.preview import Preview
from evolink_tui.tui.widgets.tasklist import TaskList

from .helpers import START, confirm_spend, demo_app, finished, screen_text, wait_until
from .history_seed import seed_history, seeded_prompt

NEWEST = START - 3600  # the seeded tasks end an hour before the app's clock starts


def seed(count: int) -> None:
    seed_history(history_path(load_settings(demo=True)), count, newest=NEWEST)


def results(screen: HistorySearchScreen) -> list[int]:
    table = screen.query_one(HistoryResults)
    return [int(table.coordinate_to_cell_key((row, 0)).row_key.value) for row in range(table.row_count)]


async def open_search(pilot) -> HistorySearchScreen:
    app = pilot.app
    await pilot.press("ctrl+f")
    await wait_until(pilot, lambda: isinstance(app.screen, HistorySearchScreen), what="search screen")
    screen = app.screen
    await wait_until(pilot, lambda: "match" in str(screen.query_one("#search-count").render()), what="first results")
    return screen


async def settled(pilot, screen: HistorySearchScreen, expected: list[int]) -> None:
    """Wait until the table shows (the first page of) ``expected``."""
    await wait_until(pilot, lambda: results(screen) == expected[:PAGE], what=f"results {expected[:5]}…")


async def test_ten_thousand_tasks_open_with_the_newest_first_and_one_page_read():
    seed(10_000)
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        tasks = app.main.query_one(TaskList)
        await wait_until(pilot, lambda: tasks.row_count > 0, what="the first rows")
        # The first frame with history shows the newest tasks, and only one page was read.
        assert tasks.row_count == HISTORY_PAGE
        assert tasks.record_ids()[0] == 10000
        text = screen_text(app)
        assert seeded_prompt(10_000) in text and seeded_prompt(9_999) in text
        await pilot.pause(0.2)
        assert tasks.row_count == HISTORY_PAGE and len(app.studio.records) == HISTORY_PAGE
        assert app.studio.client.simulator.state.sim.requests == []  # finished tasks: nothing to recover
        # Searching all of it also reads a page, and counts the rest.
        screen = await open_search(pilot)
        assert len(results(screen)) == PAGE and results(screen)[0] == 10_000
        assert "10000 tasks match · 100 loaded" in str(screen.query_one("#search-count").render())
        screen.query_one(HistoryResults).focus()
        await pilot.press("end")
        await wait_until(pilot, lambda: len(results(screen)) == 2 * PAGE, what="the next page of results")


async def test_search_by_prompt_model_status_and_date():
    seed(600)
    history = History(history_path(load_settings(demo=True)))
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_search(pilot)
        text = screen.query_one("#search-text", Input)
        model = screen.query_one("#search-model", Select)
        status = screen.query_one("#search-status", Select)
        since = screen.query_one("#search-since", Input)
        until = screen.query_one("#search-until", Input)

        await pilot.press(*"koi")
        await settled(pilot, screen, [r.id for r in history.search("koi", limit=PAGE)])
        assert history.count_matching("koi") == 100
        assert "100 tasks match" in screen_text(app)

        text.value = "fox 7"  # every word, anywhere in the prompt
        await settled(pilot, screen, [r.id for r in history.search("fox 7", limit=PAGE)])
        found = [app.studio.history.get(i) for i in results(screen)]
        assert found and all("fox" in r.prompt and "7" in r.prompt + (r.task_id or "") for r in found)
        assert "a fox number 7" in [r.prompt for r in found]
        text.value = "koi"

        model.value = "doubao-seedream-4.5"
        expected = [r.id for r in history.search("koi", model="doubao-seedream-4.5", limit=PAGE)]
        await settled(pilot, screen, expected)
        assert expected and all(app.studio.history.get(i).model == "doubao-seedream-4.5" for i in results(screen))

        text.value = ""
        model.value = ""
        for chosen in ("expired", "failed", "submit_failed", "completed"):
            status.value = chosen
            expected = [r.id for r in history.search(status=chosen, limit=PAGE)]
            await settled(pilot, screen, expected)
            assert expected
        status.value = "expired"
        await settled(pilot, screen, [r.id for r in history.search(status="expired", limit=PAGE)])
        assert "expired" in screen_text(app)

        # The seeded tasks are a minute apart: one day of them, given as a date range.
        status.value = ""
        day = datetime.fromtimestamp(NEWEST - 300 * 60)
        since.value = until.value = day.strftime("%Y-%m-%d")
        start = datetime(day.year, day.month, day.day).timestamp()
        expected = [r.id for r in history.search(since=start, until=start + 86400, limit=PAGE)]
        await settled(pilot, screen, expected)
        assert all(
            datetime.fromtimestamp(app.studio.history.get(i).created_at).date() == day.date() for i in results(screen)
        )

        since.value = "2025-13-45"  # bad input: said clearly, nothing lost
        await wait_until(pilot, lambda: "From '2025-13-45': a date as YYYY-MM-DD" in screen_text(app), what="message")
        assert results(screen) == expected[:PAGE]
        since.value = ""
        until.value = ""
        await settled(pilot, screen, [r.id for r in history.search(limit=PAGE)])

        text.value = "nothing like this"
        await wait_until(pilot, lambda: "No task matches." in screen_text(app), what="no match")
    history.close()


async def test_a_result_is_shown_in_the_task_list_and_preview_then_regenerated():
    seed(500)
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        tasks = app.main.query_one(TaskList)
        await wait_until(pilot, lambda: tasks.row_count == HISTORY_PAGE, what="first page")
        screen = await open_search(pilot)
        screen.query_one("#search-text", Input).value = "seed00007"  # by task id: an old task, not loaded yet
        await settled(pilot, screen, [7])
        screen.query_one(HistoryResults).focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is app.main, what="back to the main screen")
        assert tasks.selected_id == 7 and app.focused is tasks
        assert app.main.query_one(Preview).record_id == 7
        assert seeded_prompt(7) in screen_text(app)
        # Scrolling on loads the older pages around it, in order.
        await pilot.press("end")
        await wait_until(pilot, lambda: tasks.row_count > HISTORY_PAGE + 1, what="the next page")
        keys = tasks.record_ids()
        assert keys == sorted(keys, reverse=True)

        screen = await open_search(pilot)
        screen.query_one("#search-text", Input).value = "seed00006"
        await settled(pilot, screen, [6])
        screen.query_one(HistoryResults).focus()
        await pilot.press("r")
        await wait_until(pilot, lambda: app.main.composer.prompt == seeded_prompt(6), what="composer refilled")
        assert app.screen is app.main and app.main.composer.models == (app.studio.history.get(6).model,)
        assert app.focused is app.main.query_one("#prompt", TextArea)


async def test_an_uncertain_submit_found_by_status_is_resent_with_its_own_key():
    history = History(history_path(load_settings(demo=True)))
    lost = history.record_submission({"prompt": "did it arrive?", "model": "z-image-turbo"}, "run_lost")
    history.mark_uncertain(lost, EvolinkError("local", "network", "connection dropped").to_json())
    history.record_submission({"prompt": "other", "model": "z-image-turbo"}, "run_other")
    history.mark_submit_failed(2, {"code": 400, "message": "bad", "retryable": False})
    history.close()
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_search(pilot)
        screen.query_one("#search-status", Select).value = "uncertain"
        await settled(pilot, screen, [lost])
        assert "unsure" in screen_text(app)
        sim = app.studio.client.simulator.state.sim
        assert sim.count("submit") == 0  # never sent on its own
        screen.query_one(HistoryResults).focus()
        await pilot.press("t")
        await confirm_spend(pilot)
        await wait_until(pilot, finished(app, 2), what="resent and finished")
        record = app.studio.records[lost]
        assert record.state == "completed" and record.files and app.main.tasks.selected_id == lost
        assert [q["idempotency_key"] for q in sim.requests if q["endpoint"] == "submit"] == ["run_lost"]
        assert sim.charges == 1


async def test_search_history_is_in_the_palette():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"search history")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, HistorySearchScreen), what="search from the palette")


def test_history_search_snapshot(snap_compare, monkeypatch):
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    seed(300)
    app = demo_app()

    async def run_before(pilot):
        await wait_until(pilot, lambda: app.main.ready and app.main.tasks.row_count > 0)
        screen = await open_search(pilot)
        screen.query_one("#search-text", Input).value = "lighthouse"
        screen.query_one("#search-model", Select).value = "gpt-image-1.5"
        await wait_until(pilot, lambda: "25 tasks match" in screen_text(app))
        screen.query_one(HistoryResults).focus()
        await pilot.press("down")
        app.clear_notifications()
        await pilot.pause()

    try:
        assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)
    finally:
        monkeypatch.undo()
        time.tzset()
