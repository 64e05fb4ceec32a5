"""What a plan costs and how long it takes, from what each model cost this user before; the
one rule for "credits charged"; every task validated before anything is sent."""

from __future__ import annotations

import pytest

from evolink_tui.core import costs
from evolink_tui.core.errors import ValidationError
from evolink_tui.core.matrix import Matrix
from evolink_tui.core.plan import build_plan, expected_duration

from .history_seed import seed

# -- credits charged ------------------------------------------------------------------


def test_only_what_was_charged_counts(past, clock):
    done = past.get(seed(past, clock, "gpt-image-1.5", 12, n=2))
    failed = past.get(seed(past, clock, "gpt-image-1.5", 6, status="failed"))
    said = past.get(seed(past, clock, "gpt-image-1.5", 6, status="failed", usage={"credits_charged": 2}))
    refunded = past.get(seed(past, clock, "gpt-image-1.5", 6, usage={"credits_refunded": 6}))
    partly = past.get(seed(past, clock, "gpt-image-1.5", 8, usage={"credits_refunded": 3}))
    assert costs.charge(done) == costs.Charge(costs.CHARGED, 12)
    assert costs.charge(failed) == costs.Charge(costs.NOT_CHARGED, 0)  # a failed task costs nothing...
    assert costs.charge(said) == costs.Charge(costs.CHARGED, 2)  # ...unless the server says it charged
    assert costs.charge(refunded) == costs.Charge(costs.NOT_CHARGED, 0)
    assert costs.charge(partly) == costs.Charge(costs.REFUNDED, 5)


def test_running_tasks_count_what_they_reserved_and_unsent_ones_nothing(past, clock):
    from evolink_tui.core.wire import Task

    running = past.record_submission({"prompt": "p", "model": "m"}, "run_a")
    past.update_task(running, Task.parse({"id": "t-run", "status": "processing", "usage": {"credits_reserved": 4}}))
    never = past.record_submission({"prompt": "p", "model": "m"}, "run_b")  # recorded, never sent
    in_flight = past.record_submission({"prompt": "p", "model": "m"}, "run_c")
    past.mark_sending(in_flight)  # the submit went out; no answer
    refused = past.record_submission({"prompt": "p", "model": "m"}, "run_d")
    past.mark_sending(refused)
    past.mark_submit_failed(refused, {"code": 400})
    assert costs.charge(past.get(running)) == costs.Charge(costs.RESERVED, 4)
    assert costs.charge(past.get(never)) == costs.Charge(costs.NOT_CHARGED, 0)
    assert costs.charge(past.get(in_flight)) == costs.Charge(costs.UNCERTAIN, None)
    assert costs.charge(past.get(refused)) == costs.Charge(costs.NOT_CHARGED, 0)


# -- what each model has cost -----------------------------------------------------------


def test_stats_are_the_median_price_per_image_and_median_time(past, clock):
    seed(past, clock, "gpt-image-1.5", 6, seconds=10)
    seed(past, clock, "gpt-image-1.5", 10, n=2, seconds=20)  # 5 an image
    seed(past, clock, "gpt-image-1.5", 7, seconds=12)
    seed(past, clock, "gpt-image-1.5", 40, status="failed", seconds=90)  # neither price nor time
    stats = costs.model_stats(past, ["gpt-image-1.5", "z-image-turbo"])
    gpt = stats["gpt-image-1.5"]
    assert gpt.runs == 3
    assert gpt.credits_per_image == costs.Spread(6, 5, 7)
    assert gpt.seconds == costs.Spread(12, 10, 20) and gpt.expected_seconds == 12
    assert gpt.describe() == "6 (5-7) credits/image, 12 s"
    turbo = stats["z-image-turbo"]
    assert turbo.runs == 0 and turbo.credits_per_image is None and turbo.describe() == "no runs yet"
    assert turbo.expected_seconds == costs.SPEED_SECONDS["ultra-fast"]  # a guess from the catalogue


# -- plans ------------------------------------------------------------------------------


def test_a_plan_is_priced_and_timed_from_the_seeded_history(past, clock):
    for price, seconds in ((6, 10), (5, 20), (7, 12)):
        seed(past, clock, "gpt-image-1.5", price, seconds=seconds)
    seed(past, clock, "z-image-turbo", 1, seconds=3)
    matrix = Matrix(
        ("a {red|blue} fox in {snow|rain}",), models=("gpt-image-1.5", "z-image-turbo", "gpt-4o-image"), n=2
    )
    plan = build_plan(matrix, past, concurrency=3, submit_interval=1.0)
    assert plan.ok and len(plan.chosen) == 12 and plan.images == 24
    gpt = [t for t in plan.tasks if t.cell.model == "gpt-image-1.5"]
    assert all(t.credits == costs.Spread(12, 10, 14) and t.seconds == 12 for t in gpt)
    cost = plan.cost
    assert cost.known == costs.Spread(4 * 12 + 4 * 2, 4 * 10 + 4 * 2, 4 * 14 + 4 * 2)
    assert cost.unknown_tasks == 4 and cost.unknown_models == ("gpt-4o-image",)
    assert cost.describe() == "56 credits (48-64) + unknown for 4 tasks (gpt-4o-image: no runs yet)"
    assert plan.seconds_guessed  # gpt-4o-image has no runs: its time is the speed class's
    durations = [t.seconds for t in plan.tasks]
    assert plan.seconds == expected_duration(durations, 3, 1.0)
    plan.drop(3)  # a gpt-4o-image task
    plan.drop(1)
    assert len(plan.chosen) == 10 and plan.cost.unknown_tasks == 3 and plan.cost.known.median == 56 - 12


def test_expected_duration_runs_so_many_at_a_time_with_paced_submits():
    assert expected_duration([10] * 6, 3, 0.0) == 20
    assert expected_duration([10] * 6, 3, 1.0) == 22  # starts at 0, 1, 2, then at 10, 11, 12
    assert expected_duration([10] * 3, 1, 1.0) == 30
    assert expected_duration([], 3, 1.0) == 0


def test_every_task_is_validated_up_front_naming_the_field_value_and_what_is_allowed():
    matrix = Matrix(("a {red|blue} fox",), models=("gpt-image-1.5", "gpt-4o-image"), sizes=("1:1", "1024x1024"))
    plan = build_plan(matrix)
    assert not plan.ok
    [(seqs, err)] = plan.distinct_problems()
    assert seqs == [2, 6]  # gpt-image-1.5 at 1024x1024, for each colour
    assert err.field == "size" and err.value == "1024x1024" and "gpt-image-1.5 takes the ratios" in err.allowed
    with pytest.raises(ValidationError) as caught:
        plan.check()
    assert "(2 tasks, from task 2)" in str(caught.value)
    plan.drop(2)
    plan.drop(6)
    assert plan.check() is plan  # the bad combinations dropped: the rest may be sent


def test_too_many_reference_images_for_a_model_are_found_before_anything_is_sent():
    images = tuple(f"https://e.invalid/{i}.png" for i in range(15))
    plan = build_plan(Matrix(("edit {this|that}",), models=("gpt-image-1.5",), images=images))
    [(seqs, err)] = plan.distinct_problems()
    assert seqs == [1, 2] and err.field == "image_urls" and "at most 14" in err.allowed


def test_each_model_gets_only_the_extra_parameters_it_declares(monkeypatch, tmp_path):
    user = tmp_path / "models.toml"
    user.write_text('[[model]]\nid = "z-image-turbo"\n[model.params]\nseed = "int 0..9"\n', "utf-8")
    monkeypatch.setenv("EVOLINK_TUI_MODELS", str(user))
    matrix = Matrix(("a {red|blue} fox",), models=("z-image-turbo", "gpt-image-1.5"), params=(("seed", 7),))
    plan = build_plan(matrix)
    assert plan.ok
    assert [t.request.to_body().get("seed") for t in plan.tasks] == [7, None, 7, None]
