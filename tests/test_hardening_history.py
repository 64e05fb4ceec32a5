"""Issue 11, points 3 and 4: when the history cannot be written, the command says what is
true (the submit may have been charged once it went out; the task id when known; the
resend with its own key), and a record whose task turns up in another record (``check``
after an uncertain submit, or a server answering two submits with one task id) is
linked to it instead of crashing on the unique task id."""

from __future__ import annotations

import json

import pytest

from evolink_tui.core.history import History
from evolink_tui.simulator import FaultPlan

from .conftest import png_bytes


@pytest.fixture
def opened(monkeypatch):
    """The History objects the commands open, so a test can break one mid-run."""
    seen: list[History] = []
    real = History.open

    def spy(self: History) -> History:
        seen.append(self)
        return real(self)

    monkeypatch.setattr(History, "open", spy)
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


# -- point 4: one task, two records -----------------------------------------------------


def test_check_after_an_uncertain_submit_then_resend_links_the_records(run, sim, fake_clock):
    # The submit reaches Evolink (charged) but every answer is lost: uncertain.
    sim.faults = FaultPlan.parse("drop-after@submit")
    code, out, err = run("generate", "a lighthouse at dusk", "--model", "z-image-turbo")
    assert code == 1 and "resume --resend 1" in err
    [task_id] = sim.tasks
    sim.faults = FaultPlan.parse("")
    fake_clock.advance(30)
    # The user looks the task up by id, as the README suggests: record 2 downloads it.
    code, out, err = run("check", task_id, "--json")
    assert code == 0, err
    assert json.loads(out)["record_id"] == 2
    # Then resends record 1: the same task comes back. Linked, not a UNIQUE-constraint crash.
    code, out, err = run("resume", "--resend", "1", "--json")
    assert code == 0, err
    body = json.loads(out)
    [record] = body["records"]
    assert record["record_id"] == 2 and record["task_id"] == task_id and record["outcome"] == "completed"
    assert record["prompt"] == "a lighthouse at dusk"  # the submit's request moved to the task's record
    assert body["linked"] == {"1": 2}
    assert sim.charges == 1 and len(sim.tasks) == 1
    # Nothing is left hanging, now or on the next run; history shows the link.
    code, out, err = run("resume", "--json")
    assert code == 0 and json.loads(out)["records"] == []
    code, out, _ = run("history", "--json")
    rows = {r["record_id"]: r for r in json.loads(out)["records"]}
    assert rows[1]["state"] == "linked" and rows[1]["linked_to"] == 2 and not rows[1]["uncertain"]
    assert rows[2]["state"] == "completed" and len(rows[2]["files"]) == 1
    code, out, _ = run("history")
    assert "linked to #2" in out


def test_two_submits_answered_with_one_task_id_are_linked(run, sim, fake_clock):
    code, out, err = run("generate", "first prompt", "--model", "z-image-turbo", "--json")
    assert code == 0, err
    first = json.loads(out)["id"]
    sim.faults = FaultPlan.parse("dup-id@submit*1")  # the server answers with the first task's id
    code, out, err = run("generate", "second prompt", "--model", "z-image-turbo", "--json")
    assert code == 1
    error = json.loads(out)["error"]
    assert error["code"] == "linked" and first in error["message"] and "#1" in error["message"]
    assert "Traceback" not in err
    code, out, _ = run("history", "--json")
    rows = {r["record_id"]: r for r in json.loads(out)["records"]}
    assert rows[1]["task_id"] == first and rows[1]["prompt"] == "first prompt" and rows[1]["state"] == "completed"
    assert rows[2]["state"] == "linked" and rows[2]["linked_to"] == 1 and rows[2]["prompt"] == "second prompt"
    code, out, _ = run("resume", "--json")
    assert code == 0 and json.loads(out)["records"] == []


def test_a_transaction_is_all_or_nothing_and_a_failure_inside_is_a_history_error(tmp_path):
    """Two writes in one transaction: a failure in the second undoes the first and reads as a
    HistoryError (never a bare sqlite3 error); any other exception undoes it too and comes out
    as it was; the history stays usable from another thread after each (its lock given back)."""
    import threading

    from evolink_tui.core.history import HistoryError

    history = History(tmp_path / "h.sqlite3")
    history.write("CREATE TABLE notes (text TEXT)")

    def count() -> int:
        return history.rows("SELECT COUNT(*) FROM notes")[0][0]

    def write_from_another_thread() -> None:
        done = threading.Event()
        threading.Thread(target=lambda: (history.write("INSERT INTO notes VALUES ('other')"), done.set())).start()
        assert done.wait(30), "the transaction kept the history's lock"

    with history.transaction() as db:
        db.execute("INSERT INTO notes VALUES ('one')")
        history.write("INSERT INTO notes VALUES ('two')")
    assert count() == 2

    with pytest.raises(HistoryError, match="cannot write the history"):
        with history.transaction() as db:
            db.execute("INSERT INTO notes VALUES ('three')")
            db.execute("INSERT INTO no_such_table VALUES (1)")
    assert count() == 2
    write_from_another_thread()
    assert count() == 3

    with pytest.raises(KeyError):
        with history.transaction() as db:
            db.execute("INSERT INTO notes VALUES ('four')")
            raise KeyError("not sqlite's")
    assert count() == 3
    write_from_another_thread()
    assert count() == 4

    _break(history)  # COMMIT refused, as by a full or read-only disk
    with pytest.raises(HistoryError):
        with history.transaction() as db:
            pass
    history.close()


def test_a_record_compares_by_value_and_copies_with_changes(tmp_path):
    """TaskRecord (a plain class since it stopped being a dataclass): records read twice are
    equal, a copy with a change is not and leaves the original as it was, an unknown field is
    refused, and a record cannot be a dict key (it changes as the task runs)."""
    history = History(tmp_path / "h.sqlite3")
    record_id = history.record_submission({"prompt": "a fox", "model": "gpt-image-1.5"}, "key-1")
    first, again = history.get(record_id), history.get(record_id)
    assert first is not again and first == again
    done = first.replace(state="completed", progress=100)
    assert done != first and (done.state, done.progress, done.prompt) == ("completed", 100, "a fox")
    assert (first.state, first.progress) != ("completed", 100)
    with pytest.raises(TypeError, match="colour"):
        first.replace(colour="red")
    with pytest.raises(TypeError):
        hash(first)
    assert "prompt='a fox'" in repr(first)
    history.close()
