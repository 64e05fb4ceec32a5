"""Budgets: spent is what was charged (failed tasks not charged do not count), per run, per
day and per batch; a submit that would cross a cap is refused with the numbers that say why;
the settings come from the config file with clear warnings."""

from __future__ import annotations

import pytest

from evolink_tui.core.budget import Budget, BudgetExceeded, Cap, caps_for, day_start, parse_budget
from evolink_tui.core.costs import model_stats
from evolink_tui.core.errors import ValidationError
from evolink_tui.core.preferences import Preferences, load_preferences

from .history_seed import seed


def test_spent_counts_charged_and_reserved_credits_not_failed_ones(past, clock):
    start = clock.now()
    seed(past, clock, "gpt-image-1.5", 6)
    seed(past, clock, "gpt-image-1.5", 30, status="failed")  # not charged: does not count
    seed(past, clock, "gpt-image-1.5", 8, usage={"credits_refunded": 8})
    budget = Budget(past, [Cap("run", 20, since=start)])
    assert budget.spent(budget.caps[0]) == 6
    verdict = budget.check(14)
    assert verdict.ok and verdict.left == 14
    refused = budget.check(14.5)
    assert not refused.ok and refused.expected == 14.5 and refused.left == 14 and refused.spent == 6


def test_the_run_cap_counts_this_run_and_the_day_cap_today(past, clock):
    clock.set(day_start(clock.now()) + 3600)  # 1 am
    seed(past, clock, "z-image-turbo", 5)  # before this run, earlier today
    clock.advance(3600)
    run_start = clock.now()
    seed(past, clock, "z-image-turbo", 2)
    caps = caps_for(per_run=10, per_day=9, run_started_at=run_start, now=clock.now())
    budget = Budget(past, caps)
    run_cap, day_cap = caps
    assert budget.spent(run_cap) == 2 and budget.spent(day_cap) == 7
    verdict = budget.check(3)
    assert not verdict.ok and verdict.cap is day_cap and verdict.left == 2  # the day binds
    with pytest.raises(BudgetExceeded) as caught:
        budget.require(3)
    message = str(caught.value)
    assert "expected to cost 3 credits" in message and "2 are left of today's budget" in message
    assert "Nothing was sent" in message and caught.value.field == "budget"
    clock.set(day_start(clock.now()) + 86400 + 60)  # the next day: yesterday's spending is gone
    tomorrow = Budget(past, caps_for(per_run=None, per_day=9, run_started_at=run_start, now=clock.now()))
    assert tomorrow.check(9).ok


def test_a_batch_cap_counts_only_the_batch_and_held_submits(past, clock):
    seed(past, clock, "z-image-turbo", 50)  # not the batch's
    seed(past, clock, "z-image-turbo", 4, group_id="batch-1")
    budget = Budget(past).with_cap(Cap("batch", 10, group="batch-1"))
    assert budget.check(6, group="batch-1").ok
    budget.hold("a", 5, "batch-1")  # a submit on its way
    verdict = budget.check(2, group="batch-1")
    assert not verdict.ok and verdict.left == 1
    budget.release("a")
    assert budget.check(2, group="batch-1").ok


def test_an_unknown_price_goes_only_while_there_is_room_left(past, clock):
    seed(past, clock, "z-image-turbo", 9, group_id="b")
    budget = Budget(past, [Cap("batch", 10, group="b")])
    assert budget.check(None, group="b").ok and budget.check(None, group="b").unknown
    seed(past, clock, "z-image-turbo", 1, group_id="b")
    assert not budget.check(None, group="b").ok  # nothing left: not even an unknown price


def test_an_uncertain_submit_counts_at_its_models_expected_price(past, clock):
    seed(past, clock, "gpt-image-1.5", 6)
    start = clock.now()
    uncertain = past.record_submission({"prompt": "p", "model": "gpt-image-1.5", "n": 2}, "run_u")
    past.mark_sending(uncertain)
    past.mark_uncertain(uncertain, {"code": "network"})
    budget = Budget(past, [Cap("run", 100, since=start)], stats=model_stats(past, ["gpt-image-1.5"]))
    assert budget.spent(budget.caps[0]) == 12


def test_no_cap_means_no_limit(past):
    verdict = Budget(past).check(10**9)
    assert verdict.ok and verdict.cap is None and verdict.explain() == "no budget is set"


@pytest.mark.parametrize("text", ["-1", "ten", "nan", "inf"])
def test_a_bad_budget_names_the_value(text):
    with pytest.raises(ValidationError) as caught:
        parse_budget(text)
    assert caught.value.field == "budget" and caught.value.value == text


def test_preferences_come_from_the_config_file_with_clear_warnings(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(
        'batch_concurrency = 4\nbudget_per_day = 200\nnotify_bell = false\nnotify_desktop = "osc777"\n'
        'batch_submit_interval = "soon"\nbudget_per_run = -5\n',
        "utf-8",
    )
    prefs = load_preferences(path)
    assert prefs.batch_concurrency == 4 and prefs.budget_per_day == 200 and prefs.budget_per_run is None
    assert prefs.notify_bell is False and prefs.notify_desktop == "osc777"
    assert prefs.batch_submit_interval == Preferences().batch_submit_interval
    [interval, run] = prefs.warnings
    assert "at line 5: batch_submit_interval must be a number of seconds" in interval
    assert "at line 6: budget_per_run must be a number of credits" in run
    assert load_preferences(tmp_path / "missing.toml") == Preferences()
