"""Work for news is done at once, and in a wave at most every GAP seconds (pacing.Pace); the
Studio's events reach the views once a frame, after it, all of them in order (messages.News)."""

from __future__ import annotations

from evolink_tui.tui.messages import News
from evolink_tui.tui.pacing import GAP, WAVE, Pace

from .helpers import demo_app, wait_until


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_news_is_handled_at_once_until_it_comes_in_a_wave_then_every_gap():
    clock = Clock()
    pace = Pace(clock=clock)
    for _ in range(WAVE - 1):  # a few pieces of news: at once, however close together
        assert pace.news() == 0.0
        pace.ran()
    clock.now += 0.1
    assert 0 < pace.news() <= GAP  # the WAVE-th within a second: after the last pass, GAP later
    pace.ran()
    clock.now += GAP  # a pass may run again now
    assert pace.news() == 0.0


def test_a_wave_over_a_second_ago_no_longer_delays_anything():
    clock = Clock()
    pace = Pace(clock=clock)
    for _ in range(WAVE):
        pace.news()
    pace.ran()
    clock.now += 1.1  # quiet: the next news is a single piece again
    pace.ran()
    assert pace.news() == 0.0


async def test_events_between_two_frames_reach_the_views_after_the_frame_all_in_order():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.main.ready, what="main screen")
        seen: list[str] = []
        news = News(app, seen.append)
        for event in ("submitted", "progressed", "completed"):
            news.add(event)
        assert seen == []  # not while the events come: once the frame is drawn
        await wait_until(pilot, lambda: len(seen) == 3, what="the events shown")
        assert seen == ["submitted", "progressed", "completed"]
        news.add("finished")  # the next ones: another pass
        await wait_until(pilot, lambda: len(seen) == 4, what="the next event shown")
        assert seen[-1] == "finished"


class _ScreenGone:
    """The app, but each pass asked for after a frame is lost (its screen was taken away first)."""

    def __init__(self, app) -> None:
        self._app = app

    def __getattr__(self, name: str):
        return getattr(self._app, name)

    def call_after_refresh(self, callback, *args) -> bool:
        return True


async def test_events_still_reach_the_views_when_the_pass_after_the_frame_is_lost():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.main.ready, what="main screen")
        seen: list[str] = []
        news = News(_ScreenGone(app), seen.append)  # type: ignore[arg-type]
        news.add("completed")
        news.add("finished")
        await wait_until(pilot, lambda: len(seen) == 2, what="the events shown anyway")
        assert seen == ["completed", "finished"]
