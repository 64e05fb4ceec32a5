"""The task list as a user meets it: a row's news on screen (and only that row drawn again),
paging through 10,000 tasks with the highlighted one always in sight, the mouse choosing a row."""

from __future__ import annotations

from textual.geometry import Region

from evolink_tui.core import events as ev
from evolink_tui.core.history import TaskRecord
from evolink_tui.tui.widgets.tasklist import HEADER_HEIGHT, ROW_HEIGHT, TaskList

from .helpers import START, demo_app, screen_text, wait_until


def record(record_id: int, state: str = "completed") -> TaskRecord:
    return TaskRecord(
        id=record_id,
        task_id=f"task-unified-{record_id}",
        state=state,
        prompt=f"prompt number {record_id}",
        model="z-image-turbo",
        request={"model": "z-image-turbo", "prompt": f"prompt number {record_id}"},
        idempotency_key=f"run_{record_id}",
        progress=100 if state == "completed" else 40,
        credits=1.0,
        created_at=START - 3600,
        updated_at=START - 3600,
    )


def in_sight(tasks: TaskList, row: int) -> bool:
    """Both lines of ``row`` are on screen, below the header."""
    top = HEADER_HEIGHT + row * ROW_HEIGHT - round(tasks.scroll_y)
    return HEADER_HEIGHT <= top and top + ROW_HEIGHT <= tasks.scrollable_content_region.height


async def with_records(pilot, records: list[TaskRecord]) -> TaskList:
    app = pilot.app
    await wait_until(pilot, lambda: app.main.ready, what="the main screen")
    tasks = app.main.tasks
    tasks.add_older(sorted(records, key=lambda r: -r.id), app.studio.now())
    await wait_until(pilot, lambda: tasks.row_count == len(records), what="the rows")
    return tasks


async def test_a_rows_news_shows_on_screen_and_only_its_two_lines_are_drawn_again(monkeypatch):
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        running = [record(i, "processing") for i in range(1, 21)]
        for r in running:
            app.studio.remember(r)
        tasks = await with_records(pilot, running)
        await wait_until(pilot, lambda: "prompt number 20" in screen_text(app), what="the list drawn")
        repaints: list[tuple] = []
        refresh = tasks.refresh

        def recording(*regions, **kwargs):
            repaints.append(regions)
            return refresh(*regions, **kwargs)

        monkeypatch.setattr(tasks, "refresh", recording)
        third = running[-3]  # the third row from the top
        failed = third.replace(state="failed", error={"code": "boom_xyz"})
        app.studio.remember(failed)
        app.main.show_event(ev.TaskCompleted(third.id, failed.as_task()))
        await wait_until(pilot, lambda: "boom_xyz" in screen_text(app), what="the new status on screen")
        row = tasks.record_ids().index(third.id)
        assert row == 2
        y = HEADER_HEIGHT + row * ROW_HEIGHT - round(tasks.scroll_y)
        assert repaints == [(Region(0, y, tasks.size.width, ROW_HEIGHT),)]  # that row's two lines, nothing else
        # and the lines show it where the row is: the status beside its own prompt
        lines = screen_text(app).splitlines()
        prompt_line = next(line for line in lines if "prompt number 18" in line)
        assert "boom_xyz" in prompt_line
        assert "failed" in lines[lines.index(prompt_line) - 1]


async def test_paging_through_ten_thousand_tasks_keeps_the_highlighted_one_in_sight():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        tasks = await with_records(pilot, [record(i) for i in range(1, 10_001)])
        tasks.focus()
        await pilot.pause()
        for step in range(1, 41):
            before = tasks.cursor_row
            await pilot.press("pagedown")
            assert tasks.cursor_row > before, step
            assert in_sight(tasks, tasks.cursor_row), step
            shown = f"prompt number {tasks.selected_id} "  # its prompt on screen (and not a longer number's)
            await wait_until(pilot, lambda shown=shown: shown in screen_text(app), what=f"step {step}")
        await pilot.press("end")
        assert tasks.selected_id == 1 and in_sight(tasks, tasks.cursor_row)
        await wait_until(pilot, lambda: "prompt number 1 " in screen_text(app), what="the last row drawn")
        await pilot.press("pageup")
        assert in_sight(tasks, tasks.cursor_row) and tasks.cursor_row < 9_999
        await pilot.press("home")
        assert tasks.selected_id == 10_000 and tasks.scroll_y == 0
        await wait_until(pilot, lambda: "prompt number 10000" in screen_text(app), what="the top again")


async def test_a_click_selects_a_row_and_a_second_click_opens_it():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        tasks = await with_records(pilot, [record(i) for i in range(1, 31)])
        await wait_until(pilot, lambda: app.main.preview.record_id == 30, what="the newest in the preview")
        # the fourth row (record 27): below the header, two lines a row
        offset = (5, HEADER_HEIGHT + 3 * ROW_HEIGHT + 1)
        assert await pilot.click("#tasks", offset=offset)
        await wait_until(pilot, lambda: tasks.selected_id == 27, what="the clicked row selected")
        await wait_until(pilot, lambda: app.main.preview.record_id == 27, what="the preview following it")
        assert await pilot.click("#tasks", offset=offset)  # the highlighted row again: chosen, as enter
        await wait_until(pilot, lambda: app.focused is app.main.preview, what="the preview focused")
        assert tasks.selected_id == 27


async def test_the_highlighted_task_stays_highlighted_as_rows_come_and_go_above_it():
    """A task added above the highlighted one (a batch's, another run's) or dismissed above it
    moves the highlight with its task, not onto a neighbour the preview does not show."""
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        tasks = await with_records(pilot, [record(i) for i in range(2, 12)])
        tasks.select(6)
        await wait_until(pilot, lambda: tasks.selected_id == 6, what="the task highlighted")
        tasks.upsert(record(12), app.studio.now())  # newer: a row above it
        tasks.upsert(record(1), app.studio.now())  # older: a row below it
        assert tasks.selected_id == 6 and tasks.record_ids()[tasks.cursor_row] == 6
        tasks.remove_record(12)  # above it
        tasks.remove_record(1)  # below it
        assert tasks.selected_id == 6 and tasks.record_ids()[tasks.cursor_row] == 6
        await wait_until(pilot, lambda: app.main.preview.record_id == 6, what="the preview on the same task")


async def test_every_task_is_found_on_its_own_row_after_rows_come_out_of_order():
    """Rows are kept newest first whatever order they come in (a page, a search's older task
    shown ahead of its page, a new task, a dismiss): choosing a task highlights its own row."""
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        tasks = await with_records(pilot, [record(i) for i in (30, 20, 10)])
        tasks.add_older([record(25), record(5), record(15)], app.studio.now())  # one ahead of its page
        tasks.upsert(record(40), app.studio.now())
        tasks.upsert(record(12), app.studio.now())
        tasks.remove_record(20)
        tasks.add_older([record(2), record(4)], app.studio.now())  # a page not in order itself
        assert tasks.record_ids() == [40, 30, 25, 15, 12, 10, 5, 4, 2]
        for wanted in (5, 40, 2, 12, 25, 4, 10, 15, 30):
            tasks.select(wanted)
            assert tasks.selected_id == wanted, wanted
        tasks.select(20)  # dismissed: not on the list, the highlight stays
        assert tasks.selected_id == 30


async def test_typing_in_the_prompt_does_not_draw_the_task_list_again(monkeypatch):
    """Textual draws again, at every frame, each widget whose container overlaps a change: in its
    own box, the task list is drawn when it changes, not at every key typed in the prompt."""
    from textual.widgets import TextArea

    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        tasks = await with_records(pilot, [record(i) for i in range(1, 21)])
        await wait_until(pilot, lambda: "prompt number 20" in screen_text(app), what="the list drawn")
        prompt = app.main.query_one("#prompt", TextArea)
        prompt.focus()
        await pilot.pause()
        drawn: list[Region] = []
        render_lines = tasks.render_lines

        def recording(crop):
            drawn.append(crop)
            return render_lines(crop)

        monkeypatch.setattr(tasks, "render_lines", recording)
        await pilot.press(*"a kite at dawn")
        await wait_until(pilot, lambda: prompt.text == "a kite at dawn", what="the keys typed")
        await pilot.pause(0.2)  # their frames drawn (a screenshot here would draw everything)
        assert drawn == []
        tasks.upsert(record(21), app.studio.now())  # news of the list itself: drawn in the next frame
        await pilot.pause(0.2)
        assert drawn
