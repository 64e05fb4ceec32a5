"""Cheap task events (issue 17): a wave of task news between two frames costs one count of the
top bar's totals, a repaint of the task list's rows in sight that changed, no layout, and one
notification a second for the results saved; what the screen shows stays right."""

from __future__ import annotations

from evolink_tui.core import events as ev
from evolink_tui.core.history import TaskRecord
from evolink_tui.simulator import FakeClock
from evolink_tui.tui.format import state_label
from evolink_tui.tui.messages import StudioEvent
from evolink_tui.tui.notices import Notice, Notices, Wave
from evolink_tui.tui.pacing import Pace, Typing
from evolink_tui.tui.widgets.tasklist import TICK_ROWS, TaskList

from .helpers import demo_app, screen_text, type_text, wait_until

TASKS = 200


def running(record_id: int) -> TaskRecord:
    return TaskRecord(
        id=record_id,
        task_id=f"task-unified-{record_id}",
        state="processing",
        prompt=f"prompt {record_id}",
        model="z-image-turbo",
        request={"model": "z-image-turbo", "prompt": f"prompt {record_id}"},
        idempotency_key=f"run_{record_id}",
        progress=40,
        credits=1.0,
        created_at=1_800_000_000.0,
        updated_at=1_800_000_000.0,
    )


def counting(calls: list, method):
    def counted(*args, **kwargs):
        calls.append(args)
        return method(*args, **kwargs)

    return counted


async def _with_running_tasks(pilot) -> list[int]:
    """TASKS running tasks in the Studio's index and the task list, the screen settled."""
    app = pilot.app
    await wait_until(pilot, lambda: app.studio.client is not None, what="the client")
    ids = list(range(1001, 1001 + TASKS))
    for record_id in ids:
        app.studio.remember(running(record_id))
        app.main.show_record(app.studio.record(record_id))
    app.main.update_totals()
    await pilot.pause()
    await wait_until(pilot, lambda: f"{TASKS} running" in screen_text(app), what="the top bar")
    return ids


def _counting_down(app, record_ids: list[int]) -> FakeClock:
    """The Studio on a clock that moves only when told (the app's own 1 s clock ticks the list
    too, and with the real one a tick between two looks put the countdown back to its start);
    each of ``record_ids`` 90 s from its end from now on, as a poll says."""
    clock = FakeClock(app.studio.now())
    app.studio.clock = clock
    for record_id in record_ids:
        timed = app.studio.record(record_id).replace(estimated_time=90, updated_at=clock.now())
        app.studio.remember(timed)
        app.main.show_event(ev.TaskProgressed(record_id, timed.as_task()))
    return clock


async def test_a_wave_of_task_events_between_two_frames_is_drawn_once(monkeypatch):
    """199 tasks finishing between two frames: the top bar counted once, nothing laid out
    again, and the task list repaints only the two lines of each row in sight that changed
    (never the whole list: a DataTable drew every row in sight again for any cell)."""
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        ids = await _with_running_tasks(pilot)
        tasks = app.main.query_one("#tasks", TaskList)
        totals, repaints, layouts = [], [], []
        monkeypatch.setattr(app.studio, "totals", counting(totals, app.studio.totals))
        monkeypatch.setattr(tasks, "refresh", counting(repaints, tasks.refresh))
        app.main.screen_layout_refresh_signal.subscribe(app.main, lambda _: layouts.append(1), immediate=True)

        shown = app.main.preview.record_id  # the selected task, in the preview: left running
        assert shown in ids
        for record_id in (i for i in ids if i != shown):  # every other task completes, between two frames
            done = app.studio.record(record_id).replace(state="completed", progress=100)
            app.studio.remember(done)
            app.main.show_event(ev.TaskCompleted(record_id, done.as_task()))
        await pilot.pause()
        await wait_until(pilot, lambda: " 1 running" in screen_text(app).splitlines()[0], what="the top bar")

        assert len(totals) == 1  # the top bar counted once, not once an event
        assert layouts == []  # rows change in place: nothing is laid out again
        assert all(regions for regions in repaints)  # each repaint names its region: never the whole list
        assert all(region.height == 2 for regions in repaints for region in regions)  # one row's two lines
        rows_in_sight = 30 // 2
        # one repaint a row in sight (the 1 s clock may add a pass of its own on a slow machine)
        assert 0 < len(repaints) <= 2 * rows_in_sight
        second = tasks.row_text(ids[-2])  # the second newest, near the top, shows what happened
        assert second is not None and "done" in second[1] and "running" not in second[1]
        assert "done" in screen_text(app)
        assert "running" in tasks.row_text(shown)[1]


async def test_polls_that_bring_only_progress_do_not_count_the_top_bar_again(monkeypatch):
    """200 polling tasks bring 10 events a second, none of which changes a count: the top bar
    is counted again only when something it shows may have changed, and then it is right."""
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        ids = await _with_running_tasks(pilot)
        totals: list = []
        monkeypatch.setattr(app.studio, "totals", counting(totals, app.studio.totals))
        for step in range(3):  # three rounds of polls, each handed to the screen on its own
            for record_id in ids:
                polled = app.studio.record(record_id).replace(progress=50 + step)
                app.studio.remember(polled)
                app.main.show_event(ev.TaskProgressed(record_id, polled.as_task()))
            await pilot.pause()
        assert totals == []  # nothing counted changed
        first = ids[0]
        done = app.studio.record(first).replace(state="completed", progress=100)
        app.studio.remember(done)
        app.main.show_event(ev.TaskCompleted(first, done.as_task()))
        await wait_until(pilot, lambda: f"{TASKS - 1} running" in screen_text(app).splitlines()[0], what="the top bar")
        assert len(totals) == 1


async def test_the_countdown_moves_on_screen_and_a_changed_status_shows_beside_it():
    """The clock's tick redraws only the time cells; the cells beside them, drawn as they were
    the time before, still show what changed since."""
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        ids = await _with_running_tasks(pilot)
        tasks = app.main.query_one("#tasks", TaskList)
        newest = ids[-1]
        clock = _counting_down(app, [newest])
        now = clock.now()
        timed = app.studio.record(newest)
        tasks.tick(now)
        await wait_until(pilot, lambda: "90s left" in screen_text(app), what="the countdown")
        clock.set(now + 7)
        tasks.tick(now + 7)
        await wait_until(pilot, lambda: "83s left" in screen_text(app), what="the countdown, 7 s on")
        assert "90s left" not in screen_text(app) and "running" in screen_text(app)
        done = timed.replace(state="failed", error={"code": "boom"})
        app.studio.remember(done)
        app.main.show_event(ev.TaskCompleted(newest, done.as_task()))
        await wait_until(pilot, lambda: "boom" in screen_text(app), what="the new status")
        clock.set(now + 8)
        tasks.tick(now + 8)
        await pilot.pause()
        assert "boom" in screen_text(app) and "83s left" not in screen_text(app)


async def test_while_keys_are_typed_the_clocks_tick_draws_a_few_rows_at_each_key_and_none_between(monkeypatch):
    """A tick moves every countdown in sight at once; drawn in one frame, that frame was the
    slowest a key typed meanwhile met, and drawn a few a frame in frames of their own, each of
    those frames delayed the next key's echo. While the prompt is typed in, the tick draws
    nothing by itself: each key brings a few rows up to date (its edit and its cursor move, a
    step each), drawn in the key's own frame; once typing pauses, a tick draws them all at once."""
    app = demo_app()
    async with app.run_test(size=(100, 60)) as pilot:
        ids = await _with_running_tasks(pilot)
        tasks = app.main.query_one("#tasks", TaskList)
        clock = _counting_down(app, ids)
        app.news.typing = Typing(0.5, clock.now)
        now = clock.now()
        tasks.tick(now)
        await wait_until(pilot, lambda: "90s left" in screen_text(app), what="the countdowns")
        await pilot.pause(0.3)
        shown = screen_text(app).count("90s left")
        assert shown > 2 * TICK_ROWS  # more rows in sight than a key draws
        repaints: list = []
        monkeypatch.setattr(tasks, "refresh", counting(repaints, tasks.refresh))

        async def tick_to(seconds: int) -> None:
            clock.set(now + seconds)
            app.main._tick()  # the screen's 1 s clock
            await pilot.pause(0.3)

        await tick_to(7)  # nothing typed: every row at once
        await wait_until(pilot, lambda: screen_text(app).count("83s left") == shown, what="every countdown at 83s")
        assert len(repaints) == shown

        clock.set(now + 8)
        await pilot.press("a")  # typing (the clock stands still: it goes on until told)
        await wait_until(pilot, lambda: app.main.composer.prompt.endswith("a"), what="the key typed")
        repaints.clear()
        await tick_to(8)
        assert repaints == [] and screen_text(app).count("83s left") == shown  # nothing drawn between keys
        typed, per_key = "a", []
        while screen_text(app).count("82s left") < shown:
            # (the screen's own 1 s clock may tick meanwhile: the rows' text is the same then)
            assert len(typed) <= 3 * shown, "the keys stopped bringing rows up to date"
            repaints.clear()
            typed += "b"
            await pilot.press("b")
            await wait_until(pilot, lambda text=typed: app.main.composer.prompt.endswith(text), what="the key typed")
            per_key.append(len(repaints))
        assert max(per_key) <= 2 * TICK_ROWS  # a few rows, drawn with each key
        assert sum(per_key) == shown and len(per_key) > 1  # each row once, over several keys

        repaints.clear()
        await tick_to(20)  # typing has paused: one frame again
        await wait_until(pilot, lambda: screen_text(app).count("70s left") == shown, what="every countdown at 70s")
        assert len(repaints) == shown


def _fail(app, record_id: int, code: str) -> None:
    """The task failed, told as the Studio tells it (through the App's news)."""
    failed = app.studio.record(record_id).replace(state="failed", error={"code": code})
    app.studio.remember(failed)
    app.post_message(StudioEvent(ev.TaskCompleted(record_id, failed.as_task())))


async def test_while_keys_are_typed_a_paced_count_of_the_top_bar_comes_with_a_key():
    """In a wave the top bar is counted at most every pacing.GAP. While keys are typed, a count
    that has to wait is made with a key once the gap is over, never by a timer between two
    keys (its frame would delay the next key's echo) nor by the clock's tick."""
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        ids = await _with_running_tasks(pilot)
        clock = FakeClock(app.studio.now())
        app.studio.clock = clock
        app.news.typing = Typing(10.0, clock.now)
        app.main._totals_pace = Pace(wave=1, gap=0.5, clock=clock.now)  # every news is a wave
        await type_text(pilot, "a fox")
        _fail(app, ids[-1], "first")
        await pilot.press("s")
        await wait_until(pilot, lambda: f"{TASKS - 1} running" in screen_text(app), what="the first count")
        _fail(app, ids[-2], "second")
        await pilot.press("t")  # the news comes with this key; its count has to wait 0.5 s
        await wait_until(pilot, lambda: "second" in app.main.tasks.row_text(ids[-2])[1], what="the news")
        await pilot.pause(1.0)  # longer than the gap on the real clock: no timer counts
        assert f"{TASKS - 1} running" in screen_text(app)
        clock.advance(0.5)  # the gap is over, still typing (the last key 0.5 s ago, of 10)
        await pilot.pause(1.5)  # a tick of the screen's clock comes meanwhile, and does not count
        assert f"{TASKS - 1} running" in screen_text(app)
        await pilot.press("u")
        await wait_until(pilot, lambda: f"{TASKS - 2} running" in screen_text(app), what="the count with the key")


async def test_task_news_waits_for_the_next_key_while_the_prompt_is_typed_in():
    """While keys come, a task's news is not drawn in a frame of its own between two keys (that
    frame kept the next key's echo waiting up to two frame periods): it is drawn with the next
    key, or once typing pauses; a prompt sent ends the wait, its task shown at once."""
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        ids = await _with_running_tasks(pilot)
        tasks = app.main.query_one("#tasks", TaskList)
        clock = FakeClock(app.studio.now())
        app.studio.clock = clock
        app.news.typing = Typing(0.5, clock.now)

        def fail(record_id: int, code: str) -> None:
            _fail(app, record_id, code)

        await type_text(pilot, "a fox")
        await wait_until(pilot, lambda: app.main.composer.prompt == "a fox", what="the prompt typed")
        fail(ids[-1], "first")
        await pilot.pause(0.8)  # longer than the pause, on the real clock: the Studio's stands still
        assert "first" not in tasks.row_text(ids[-1])[1]
        await pilot.press("s")
        await wait_until(pilot, lambda: "first" in tasks.row_text(ids[-1])[1], what="the news with the key")

        fail(ids[-2], "second")
        await pilot.pause(0.3)
        assert "second" not in tasks.row_text(ids[-2])[1]
        clock.advance(1.0)  # no key for a second: typing has paused
        await wait_until(pilot, lambda: "second" in tasks.row_text(ids[-2])[1], what="the news after the pause")

        await pilot.press("e")
        before = set(tasks.record_ids())
        await pilot.press("ctrl+j")
        await wait_until(pilot, lambda: len(tasks.record_ids()) > len(before), what="the new task's row")
        [new] = set(tasks.record_ids()) - before
        await wait_until(pilot, lambda: app.studio.record(new).is_finished, what="the task run")
        finished = state_label(app.studio.record(new))[0]
        await wait_until(pilot, lambda: tasks.row_text(new)[1].startswith(finished), what="its row told, with no key")


async def test_rows_out_of_sight_are_right_when_they_scroll_into_it():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        ids = await _with_running_tasks(pilot)
        tasks = app.main.query_one("#tasks", TaskList)
        oldest = ids[0]  # at the bottom of the list, far out of sight
        for record_id in ids:
            failed = app.studio.record(record_id).replace(state="failed", error={"code": "boom"})
            app.studio.remember(failed)
            app.main.show_event(ev.TaskCompleted(record_id, failed.as_task()))
        await pilot.pause()
        assert "boom" in tasks.row_text(ids[-1])[1]
        tasks.focus()
        await pilot.press("end")  # the last row: the oldest task
        await pilot.pause()
        assert tasks.selected_id == oldest
        assert "boom" in tasks.row_text(oldest)[1]
        assert "boom" in screen_text(app)  # and on the screen, not only in the table's data


async def test_rows_show_the_final_state_after_bursts_of_news():
    """Two bursts of news for every task: the rows show the last of it, those in sight at once
    and the others when they scroll into sight, never an earlier state."""
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        ids = await _with_running_tasks(pilot)
        tasks = app.main.query_one("#tasks", TaskList)
        for state, error in (("failed", {"code": "boom"}), ("completed", None)):  # a burst, drawn; then another
            for record_id in ids:
                changed = app.studio.record(record_id).replace(state=state, error=error, progress=100)
                app.studio.remember(changed)
                app.main.show_event(ev.TaskCompleted(record_id, changed.as_task()))
            await pilot.pause()
        in_sight = ids[-10:]  # the newest, at the top
        await wait_until(
            pilot, lambda: all("done" in tasks.row_text(i)[1] for i in in_sight), what="the last news drawn"
        )
        assert "boom" not in screen_text(app) and "done" in screen_text(app)
        tasks.focus()
        await pilot.press("end")  # the oldest, out of sight until now
        await wait_until(pilot, lambda: "done" in tasks.row_text(ids[0])[1], what="the oldest drawn")


async def test_the_top_bar_follows_a_real_run_to_the_end():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.studio.client is not None, what="the client")
        app.main.composer.set_prompt("three foxes")
        for _ in range(3):
            app.main.action_generate()
        await wait_until(
            pilot,
            lambda: len(app.studio.records) == 3 and all(r.is_finished for r in app.studio.records.values()),
            what="three tasks finished",
        )
        spent = sum(r.credits or 0 for r in app.studio.records.values())
        await wait_until(pilot, lambda: "running" not in screen_text(app).splitlines()[0], what="none running")
        assert spent > 0 and f"credits this run: {spent:g}" in screen_text(app).splitlines()[0]


# -- saved results in a wave: the first at once, the rest once they stop ---------------------------


class Later:
    """``set_timer`` for the Wave, called back when the test says the time has come."""

    def __init__(self) -> None:
        self.waiting: list = []
        self.asked: list[float] = []  # the seconds of every wait asked for

    def __call__(self, seconds: float, callback) -> None:
        self.waiting.append(callback)
        self.asked.append(seconds)

    def come(self) -> None:
        waiting, self.waiting = self.waiting, []
        for callback in waiting:
            callback()


class _Settings:
    download_dir = "/tmp/results"


class _Studio:
    settings = _Settings()


def saved(images: int = 1) -> Notice:
    return Notice(f"Saved {images} image(s) to /tmp/results", "z-image-turbo", timeout=4, saved=images)


def test_results_saved_in_a_wave_are_said_in_one_notice_once_they_stop():
    shown: list[Notice] = []
    later = Later()
    wave = Wave(shown.append, later, Notices(_Studio()).saved_together)  # type: ignore[arg-type]
    wave.add(saved())
    assert [n.text for n in shown] == ["Saved 1 image(s) to /tmp/results"]  # the first, at once
    for _ in range(99):
        wave.add(saved(2))
    failure = Notice("The task failed", "Task failed: z-image-turbo", "error")
    wave.add(failure)  # anything else is said at once
    assert shown[1:] == [failure]
    later.come()  # a second later, results still coming: nothing said, no notice mounted
    assert len(shown) == 2 and not wave.idle
    wave.add(saved(3))
    later.come()  # still coming
    assert len(shown) == 2
    later.come()  # a quiet second: the wave is over, all it saved in one notice
    assert shown[2].text == "Saved 201 images of 100 tasks to /tmp/results" and shown[2].saved == 0
    assert len(shown) == 3 and not later.waiting and wave.idle
    wave.add(saved())  # the next one is said at once again
    assert len(shown) == 4 and len(later.waiting) == 1
    later.come()  # and alone, it is all there was
    assert len(shown) == 4 and wave.idle


def test_a_long_wave_is_said_every_30_seconds_while_results_keep_coming():
    shown: list[Notice] = []
    later = Later()
    wave = Wave(shown.append, later, Notices(_Studio()).saved_together)  # type: ignore[arg-type]
    wave.add(saved())
    for _ in range(70):  # a result every second for 70 s
        wave.add(saved())
        later.come()
    assert set(later.asked) == {1.0}
    # said at once, then after 30 and 60 seconds, each time all that came meanwhile
    assert [n.text for n in shown] == [
        "Saved 1 image(s) to /tmp/results",
        "Saved 30 images of 30 tasks to /tmp/results",
        "Saved 30 images of 30 tasks to /tmp/results",
    ]
    later.come()  # a quiet second: the wave is over, the last ten said
    assert shown[-1].text == "Saved 10 images of 10 tasks to /tmp/results" and wave.idle and not later.waiting
