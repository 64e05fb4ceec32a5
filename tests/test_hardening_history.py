"""Issue 11, points 3 and 4: when the history cannot be written, the command says what is
true (the submit may have been charged once it went out; the task id when known; the
resend with its own key), and a record whose task turns up in another record (``check``
after an uncertain submit, or a server answering two submits with one task id) is
linked to it instead of crashing on the unique task id."""

from __future__ import annotations

import json

import pytest

from evolink_tui.core.history import History
from evolink_tui.headless import tasks as tasks_mod
from evolink_tui.simulator import FaultPlan

from .conftest import png_bytes


@pytest.fixture
def opened(monkeypatch):
    """The History objects the commands open, so a test can break one mid-run."""
    seen: list[History] = []
    real = tasks_mod._open_history

    def spy(settings, clock=None):
        history = real(settings, clock)
        seen.append(history)
        return history

    monkeypatch.setattr(tasks_mod, "_open_history", spy)
    return seen


def _break(history: History) -> None:
    """From now on every write fails the way a full or read-only disk makes SQLite fail."""
    with history._lock:
        history._db().execute("PRAGMA query_only = 1")


def _breaking_hook(opened):
    def hook(body):
        _break(opened[-1])
        return None  # the answer itself goes out unchanged

    return hook


def test_history_lost_after_the_submit_went_out_says_it_may_be_charged_and_names_the_task(
    run, sim, opened, isolated_env
):
    sim.overrides["submit"] = _breaking_hook(opened)
    code, out, err = run("generate", "a lighthouse", "--model", "z-image-turbo")
    assert code == 1
    [task_id] = sim.tasks
    assert "Nothing was sent" not in err
    assert task_id in err and "charged" in err and "evolink-tui resume --resend 1" in err
    assert sim.charges == 1

    # Once the history can be written again, the advice works: same key, no second charge.
    sim.overrides.clear()
    code, out, err = run("resume", "--resend", "1", "--json")
    assert code == 0, err
    [record] = json.loads(out)["records"]
    assert record["task_id"] == task_id and record["outcome"] == "completed" and len(record["files"]) == 1
    assert sim.charges == 1 and len(sim.tasks) == 1


def test_history_lost_after_the_submit_json_says_so(run, sim, opened):
    sim.overrides["submit"] = _breaking_hook(opened)
    code, out, err = run("generate", "a lighthouse", "--model", "z-image-turbo", "--json")
    assert code == 1
    [task_id] = sim.tasks
    error = json.loads(out)["error"]
    assert error["sent"] is True and error["task_id"] == task_id and error["record_id"] == 1
    assert "charged" in error["message"] and "Nothing was sent" not in out + err


def test_history_lost_while_polling_still_names_the_task(run, sim, opened):
    sim.overrides["poll"] = _breaking_hook(opened)
    code, out, err = run("generate", "a lighthouse", "--model", "z-image-turbo")
    assert code == 1
    [task_id] = sim.tasks
    assert "Nothing was sent" not in err and task_id in err and "charged" in err


def test_history_lost_when_the_submit_was_lost_too_says_it_may_have_been_charged(run, sim, opened):
    # The server stores the task, the connection drops, and the history cannot record that.
    sim.faults = FaultPlan.parse("drop-after@submit")
    sim.overrides["submit"] = _breaking_hook(opened)
    code, out, err = run("generate", "a lighthouse", "--model", "z-image-turbo")
    assert code == 1
    assert "Nothing was sent" not in err and "charged" in err and "resume --resend 1" in err


def test_history_lost_before_the_submit_says_nothing_was_sent_and_nothing_was(run, sim, opened, tmp_path):
    ref = tmp_path / "ref.png"
    ref.write_bytes(png_bytes())
    sim.overrides["upload"] = _breaking_hook(opened)  # breaks while the reference uploads
    code, out, err = run("generate", "edit this", "--model", "gpt-image-1", "--image", str(ref))
    assert code == 1
    assert "Nothing was sent" in err and sim.count("submit") == 0 and sim.charges == 0
