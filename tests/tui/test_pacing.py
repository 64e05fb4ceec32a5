"""Work for news is done at once, and in a wave at most every GAP seconds (pacing.Pace)."""

from __future__ import annotations

from evolink_tui.tui.pacing import GAP, WAVE, Pace


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
