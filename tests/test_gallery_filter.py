"""The gallery's filter box: words, and days as since:/until:/on: (core/gallery.read_filter)."""

from __future__ import annotations

from datetime import datetime

from evolink_tui.core.gallery import read_filter


def start_of(day: str) -> float:
    return datetime.strptime(day, "%Y-%m-%d").timestamp()


def test_words_and_days_are_told_apart():
    typed = read_filter("red Fox since:2026-11-01 until:2026-11-03")
    assert typed.words == "red Fox" and typed.problem is None
    assert typed.since == start_of("2026-11-01") and typed.until == start_of("2026-11-04")  # until: the whole day


def test_on_is_one_whole_day():
    typed = read_filter("on:2026-02-28")
    assert (typed.since, typed.until, typed.words) == (start_of("2026-02-28"), start_of("2026-03-01"), "")


def test_a_date_that_cannot_be_read_is_named_and_the_rest_applies():
    typed = read_filter("koi until:tomorrow")
    assert typed.words == "koi" and typed.until is None
    assert typed.problem == "Invalid until: 'tomorrow'. Allowed: a date as YYYY-MM-DD, such as 2025-01-31."
    assert "Invalid on: ''" in (read_filter("on:").problem or "")


def test_a_colon_word_that_is_not_a_date_word_is_a_word():
    assert read_filter("task-unified-1:2 model:x").words == "task-unified-1:2 model:x"
