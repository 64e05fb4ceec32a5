"""Issue 11, point 2: a 403, 404 or 410 from the result host while the URL still has
hours to live is a hiccup, not an expiry: retried at once, then left "not downloaded" for
``resume``; "expired" only past the URL's lifetime or when the host says so in the body."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evolink_tui.core.history import History
from evolink_tui.simulator import FaultPlan


def _record(isolated_env, record_id: int = 1):
    history = History(isolated_env["data"] / "history.sqlite3")
    try:
        return history.get(record_id)
    finally:
        history.close()


@pytest.mark.parametrize("status", ["403", "404", "410"])
def test_one_transient_refusal_from_the_result_host_is_retried_at_once(run, sim, isolated_env, status):
    sim.faults = FaultPlan.parse(f"{status}@download*1")
    code, out, err = run("generate", "a lighthouse", "-n", "2", "--model", "z-image-turbo", "--json")
    assert code == 0, err
    task = json.loads(out)
    assert len(task["downloads"]) == 2 and all(Path(p).is_file() for p in task["downloads"])
    record = _record(isolated_env)
    assert record.download_state == "done" and len(record.files) == 2


@pytest.mark.parametrize("status", ["403", "404", "410"])
def test_a_refusal_that_outlasts_the_retries_is_left_for_resume_while_the_url_lives(
    run, sim, isolated_env, fake_clock, status
):
    # The first result is refused three times in a row (every try of this run); the second is fine.
    sim.faults = FaultPlan.parse(f"{status}@download*3")
    code, out, err = run("generate", "a lighthouse", "-n", "2", "--model", "z-image-turbo", "--json")
    assert code == 1
    task = json.loads(out)
    assert len(task["downloads"]) == 1
    [failed] = task["download_errors"]
    assert failed["error"]["code"] != "expired" and failed["error"]["retryable"] is True
    assert "expired" not in err.lower().replace("expires", "")
    record = _record(isolated_env)
    assert record.download_state == "failed" and record.needs_download and len(record.files) == 1

    fake_clock.advance(3600)  # an hour later the host serves it again
    code, out, err = run("resume", "--json")
    assert code == 0, err
    [summary] = json.loads(out)["records"]
    assert summary["outcome"] == "completed" and len(summary["files"]) == 2
    assert all(Path(p).is_file() for p in summary["files"])


def test_a_refusal_after_the_lifetime_marks_the_result_expired(run, sim, isolated_env, fake_clock):
    sim.faults = FaultPlan.parse("404@download*3")
    assert run("generate", "a lighthouse", "--model", "z-image-turbo", "--json")[0] == 1
    assert _record(isolated_env).download_state == "failed"
    fake_clock.advance(25 * 3600)
    code, out, _ = run("resume", "--json")
    assert code == 1
    [summary] = json.loads(out)["records"]
    assert summary["outcome"] == "expired" and summary["download_state"] == "expired"


def test_a_host_that_says_the_link_expired_is_believed(run, sim, isolated_env):
    sim.faults = FaultPlan.parse("expired@download")  # 403 "Request has expired"
    code, out, _ = run("generate", "a lighthouse", "--model", "z-image-turbo", "--json")
    assert code == 1
    [failed] = json.loads(out)["download_errors"]
    assert failed["error"]["code"] == "expired" and "Request has expired" in failed["error"]["message"]
    assert _record(isolated_env).download_state == "expired"
    assert sim.count("download") == 1  # no point asking again


# -- point 7: a body that never ends ------------------------------------------------------


@pytest.fixture
def small_images(sim):
    before = sim.image_long_side
    sim.image_long_side = 64  # a few hundred bytes: a trickle that is never cut off still ends
    yield
    sim.image_long_side = before


def test_a_result_that_trickles_is_cut_off_and_fetched_again(run, sim, fake_clock, small_images):
    sim.faults = FaultPlan.parse("trickle:5@download*1")  # a byte every 5 seconds
    before = fake_clock.now()
    code, out, err = run("generate", "a lighthouse", "--model", "z-image-turbo", "--json")
    assert code == 0, err
    assert sim.count("download") == 2  # given up on, then fetched whole
    assert fake_clock.now() - before < 600, "the trickle was waited out instead of cut off"


def test_a_result_that_always_trickles_fails_cleanly_and_is_left_for_resume(
    run, sim, fake_clock, small_images, isolated_env
):
    sim.faults = FaultPlan.parse("trickle:5@download")
    before = fake_clock.now()
    code, out, err = run("generate", "a lighthouse", "--model", "z-image-turbo", "--json")
    assert code == 1
    [failed] = json.loads(out)["download_errors"]
    assert "too slowly" in failed["error"]["message"] and failed["error"]["retryable"]
    assert fake_clock.now() - before < 1800
    assert _record(isolated_env).download_state == "failed"
    sim.faults = FaultPlan.parse("")
    code, out, err = run("resume", "--json")
    assert code == 0, err


def test_an_api_answer_that_trickles_is_cut_off_and_asked_again(run, sim, fake_clock):
    sim.faults = FaultPlan.parse("trickle:5@poll*1")
    before = fake_clock.now()
    code, out, err = run("generate", "a lighthouse", "--model", "z-image-turbo", "--json")
    assert code == 0, err
    assert fake_clock.now() - before < 600, "the trickle was waited out instead of cut off"
