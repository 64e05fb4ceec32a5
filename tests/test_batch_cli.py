"""The headless batch as a user runs it: `--plan` prices the fox matrix and sends nothing, a
budget below the price stops it before any submit, a kill -9 in the middle of a run through
a burst of 429s is finished by `resume` with nothing sent twice, and `--notify` reaches the
terminal (wrapped in tmux) and nothing else."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evolink_tui.core.history import History
from evolink_tui.simulator import FaultPlan

from .conftest import TEST_KEY
from .history_seed import seed
from .support import history_rows, wait_for
from .test_batch import most_at_once, one_task_per_key

FOX = "a {red|blue} fox in {snow|rain}"
MODELS = "gpt-image-1.5,z-image-turbo,gemini-3.1-flash-image-preview"


@pytest.fixture
def seeded(isolated_env, fake_clock):
    """This user's history: what the three models cost before (6, 1 and 3 credits an image)."""
    history = History(isolated_env["data"] / "history.sqlite3", clock=fake_clock.now)
    for model, price, seconds in (("gpt-image-1.5", 6, 20), ("z-image-turbo", 1, 4), ("gpt-image-1.5", 8, 30)):
        seed(history, fake_clock, model, price, seconds=seconds)
    history.close()
    return isolated_env


def test_plan_prices_the_fox_matrix_and_sends_nothing(run, sim, seeded):
    code, out, err = run("batch", FOX, "--models", MODELS, "--plan")
    assert code == 0, err
    assert "Plan: 12 tasks, 12 images" in out
    assert (
        "Expected cost: 32 credits (28-36) + unknown for 4 tasks (gemini-3.1-flash-image-preview: no runs yet)" in out
    )
    assert "a blue fox in rain" in out and "Nothing was sent (--plan)." in out
    assert "gpt-image-1.5: 7 (6-8) credits/image, 25 s (median of 2 runs)" in out
    assert sim.count() == 0

    code, out, _ = run("batch", FOX, "--models", MODELS, "--plan", "--json")
    plan = json.loads(out)
    assert code == 0 and plan["count"] == 12 and plan["sent"] is False
    assert plan["credits"] == {
        "expected": 32,
        "low": 28,
        "high": 36,
        "unknown_tasks": 4,
        "unknown_models": ["gemini-3.1-flash-image-preview"],
    }
    assert {t["cell"]["prompt"] for t in plan["tasks"]} == {
        "a red fox in snow",
        "a red fox in rain",
        "a blue fox in snow",
        "a blue fox in rain",
    }
    assert sim.count() == 0


def test_a_budget_below_the_plans_price_stops_it_before_anything_is_sent(run, sim, seeded):
    code, out, err = run("batch", FOX, "--models", "gpt-image-1.5,z-image-turbo", "--budget", "31")
    assert code == 2
    assert "Over budget: this batch (8 tasks) is expected to cost 32 credits, and 31 are left" in err
    assert "Nothing was sent" in err and sim.count("submit") == 0
    code, out, err = run("batch", FOX, "--models", "z-image-turbo", "--budget", "3", "--json")
    assert code == 2 and json.loads(out)["error"]["field"] == "budget" and sim.count("submit") == 0


def test_the_daily_budget_of_the_config_file_counts_what_was_charged_today(run, sim, seeded, isolated_env):
    isolated_env["config"].parent.mkdir(parents=True, exist_ok=True)
    isolated_env["config"].write_text("budget_per_day = 20\n", "utf-8")  # 15 charged today already
    code, _, err = run("generate", "one more fox", "--model", "gpt-image-1.5")
    assert code == 2 and "expected to cost 7 credits, and 5 are left of today's budget" in err
    assert sim.count("submit") == 0
    code, _, err = run("generate", "a cheap fox", "--model", "z-image-turbo", "--budget", "2")
    assert code == 0, err
    code, _, err = run("generate", "a cheap fox", "--model", "z-image-turbo", "--budget", "0.5")
    assert code == 2 and "expected to cost 1 credits, and 0.5 are left of --budget 0.5 (0 spent)" in err
    assert sim.count("submit") == 1


def test_a_bad_combination_is_refused_naming_the_field_value_and_what_is_allowed(run, sim):
    code, out, err = run("batch", FOX, "--models", "gpt-image-1.5,gpt-4o-image", "--sizes", "1:1,1024x1024")
    assert code == 2 and sim.count() == 0
    assert "Invalid size: '1024x1024'. Allowed: pixel sizes are only for gpt-4o-image; gpt-image-1.5 takes" in err
    assert "[4 tasks (2, 6, 10, 14)]" in err and "Nothing was sent." in err
    code, _, err = run("batch", "a {red fox", "--models", "z-image-turbo")
    assert code == 2 and "Invalid prompt" in err and "is never closed" in err
    code, _, err = run("batch", FOX, "--concurrency", "40")
    assert code == 2 and "Invalid concurrency: '40'. Allowed: a whole number from 1 to 8" in err


def test_a_run_prints_json_lines_and_ends_with_the_summary(run, sim, isolated_env):
    code, out, err = run("batch", "shot {1-4}", "--models", "z-image-turbo", "--concurrency", "2", "--json")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[0]["event"] == "started" and lines[0]["total"] == 4
    assert [e["event"] for e in lines].count("task_ended") == 4 and lines[-1]["event"] == "finished"
    final = lines[-1]
    assert final["state"] == "done" and final["counts"] == {"completed": 4} and final["credits"] == 4
    for task in final["tasks"]:
        assert Path(task["record"]["files"][0]).is_file()
    assert most_at_once(sim) <= 2


def test_a_local_reference_is_uploaded_once_for_the_whole_batch(run, sim, png_file):
    code, out, err = run("batch", "edit {this|that}", "--models", "gpt-image-1.5", "--image", str(png_file), "--json")
    assert code == 0, err
    final = json.loads(out.splitlines()[-1])
    urls = {url for task in final["tasks"] for url in task["record"]["request"]["image_urls"]}
    assert sim.count("upload") == 1 and len(urls) == 1 and urls.pop().startswith("http://127.0.0.1")
    assert final["counts"] == {"completed": 2}


def test_a_batch_stopped_by_its_budget_says_so_and_continues_with_a_higher_one(run, sim, isolated_env, fake_clock):
    history = History(isolated_env["data"] / "history.sqlite3", clock=fake_clock.now)
    seed(history, fake_clock, "z-image-turbo", 0.25)  # cheaper then than the simulator's 1 credit now
    history.close()
    code, out, err = run("batch", "shot {1-3}", "--models", "z-image-turbo", "--budget", "2")
    assert code == 1
    assert "stopped before task 3: it is expected to cost 1 credits, and 0 are left of --budget 2 for this batch" in err
    batch_id = out.split("batch ", 1)[1].split(":", 1)[0]
    assert f"1 not sent: `evolink-tui batch --continue {batch_id}` sends them" in out and sim.charges == 2
    code, out, err = run("batch", "--continue", batch_id, "--budget", "3")
    assert code == 0, err
    assert f"batch {batch_id} done: 3 completed; 3 credits charged" in out and sim.charges == 3


def test_cancel_and_continue_name_the_batch(run, sim):
    code, _, err = run("batch", "--cancel", "batch-nope")
    assert code == 2 and "Invalid batch: 'batch-nope'" in err
    code, _, err = run("batch", FOX, "--cancel", "batch-nope")
    assert code == 2 and "nothing with --cancel or --continue" in err


# -- real processes: kill -9 in the middle, then resume ------------------------------------


@pytest.fixture
def live(live_server, isolated_env):
    sim = live_server.app.state.sim
    sim.reset()
    url = live_server.url
    env = dict(
        os.environ, EVOLINK_BASE_URL=url, EVOLINK_FILES_BASE_URL=url, EVOLINK_API_KEY=TEST_KEY, PYTHONUNBUFFERED="1"
    )
    isolated_env["config"].parent.mkdir(parents=True, exist_ok=True)
    isolated_env["config"].write_text("batch_submit_interval = 0.2\n", "utf-8")
    yield sim, env, isolated_env
    deadline = time.monotonic() + 10
    while sim.in_flight and time.monotonic() < deadline:
        time.sleep(0.02)


def _cli(args, env, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "evolink_tui", *args], capture_output=True, text=True, env=env, timeout=120, **kwargs
    )
    assert TEST_KEY not in result.stdout + result.stderr
    return result


def test_a_batch_killed_in_the_middle_is_finished_by_resume_nothing_sent_twice_nothing_lost(live):
    sim, env, paths = live
    sim.speed = 4.0
    sim.faults = FaultPlan.parse("429:1@submit*3")  # a burst of rate limiting at the start
    db = paths["data"] / "history.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-m", "evolink_tui", "batch", FOX, "--models", MODELS, "--concurrency", "3", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        wait_for(lambda: sum(1 for r in history_rows(db) if r["task_id"]) >= 3, "three tasks under way", timeout=60)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    sent_before = sim.count("submit")
    assert sim.charges == 3 and sum(sim.refused_submits.values()) == 3  # the rest were never sent

    result = _cli(["resume", "--json"], env)
    assert result.returncode == 0, result.stderr
    [batch] = json.loads(result.stdout)["batches"]
    assert batch["state"] == "done" and batch["counts"] == {"completed": 12} and batch["concurrency"] == 3
    keys = [task["record"]["idempotency_key"] for task in batch["tasks"]]
    one_task_per_key(sim, keys)  # 12 tasks, one per key: nothing sent twice, nothing lost
    assert sim.count("submit") == sent_before + 9 and sim.submits_in_retry_after == 0
    assert most_at_once(sim) <= 3
    for task in batch["tasks"]:
        assert [Path(f).is_file() for f in task["record"]["files"]] == [True]
    again = _cli(["resume", "--json"], env)
    assert again.returncode == 0 and json.loads(again.stdout)["batches"] == [] and sim.charges == 12


# -- --notify: to a terminal only -----------------------------------------------------------


def _on_a_terminal(args, env) -> tuple[int, str]:
    """Run with stderr on a pseudo-terminal (stdout a pipe): exit code and what the terminal got."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "evolink_tui", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    screen = b""
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 60)
            if not ready:
                raise AssertionError("the command wrote nothing for 60 s")
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the other side closed: the command is done
                break
            if not chunk:
                break
            screen += chunk
    finally:
        os.close(master)
        proc.wait(60)
    return proc.returncode, screen.decode("utf-8", "replace")


@pytest.fixture
def demo_env(isolated_env):
    env = dict(os.environ, EVOLINK_SIM_SPEED="8", TERM="xterm-256color")
    for name in ("TMUX", "TERM_PROGRAM", "LC_TERMINAL", "VTE_VERSION"):
        env.pop(name, None)
    return env


def test_notify_rings_and_notifies_on_a_terminal(demo_env):
    code, screen = _on_a_terminal(["batch", "--demo", "fox {1-2}", "--models", "z-image-turbo", "--notify"], demo_env)
    assert code == 0, screen
    assert "\x1b]9;evolink-tui batch: batch done: 2 completed\a" in screen
    assert "\x1b]777;notify;evolink-tui batch;batch done: 2 completed\a" in screen
    assert screen.rstrip("\r\n").endswith("\a")  # and the bell, last


def test_notify_inside_tmux_is_wrapped_for_passthrough(demo_env):
    env = dict(demo_env, TMUX="/tmp/tmux-1000/default,4242,0")
    code, screen = _on_a_terminal(["generate", "--demo", "a fox", "--model", "z-image-turbo", "--notify"], env)
    assert code == 0, screen
    assert "\x1bPtmux;\x1b\x1b]777;notify;evolink-tui generate;done: a fox\a\x1b\\" in screen
    assert "\x1bPtmux;\x1b\x1b]9;evolink-tui generate: done: a fox\a\x1b\\" in screen
    assert "\x1b]777" not in screen.replace("\x1b\x1b]777", "")  # never unwrapped


def test_notify_sends_nothing_without_a_terminal(demo_env):
    result = subprocess.run(
        [sys.executable, "-m", "evolink_tui", "batch", "--demo", "fox {1-2}", "--models", "z-image-turbo", "--notify"],
        capture_output=True,
        text=True,
        env=demo_env,
        timeout=120,
        start_new_session=True,  # no controlling terminal either
    )
    assert result.returncode == 0, result.stderr
    assert "batch done" not in result.stderr  # only the summary line on stdout
    assert "\a" not in result.stdout + result.stderr and "\x1b]" not in result.stdout + result.stderr
    assert "completed" in result.stdout
