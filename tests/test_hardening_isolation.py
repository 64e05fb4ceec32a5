"""Issue 11, point 6: one bad task never stops the others. Whatever goes wrong with one
record in ``resume`` or ``generate`` (a redirect loop, a damaged gzip body, JSON nested
past any parser, a malformed result URL, a server task id no user would type, an
unexpected error) is caught for that record, recorded with a clear message, and the
others go on; the exit code and the --json summary say what happened to each. A server
id refused after the charge is never exit 2 ("bad input")."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from evolink_tui.simulator import FaultPlan

from .hostile import HostileServer, raw_answer


async def redirect_loop(method, path, headers, writer):
    writer.write(raw_answer("302 Found", {"Location": path, "Content-Length": "0"}))


async def damaged_gzip(method, path, headers, writer):
    body = b"\x1f\x8b\x08\x00" + b"not really gzip at all" * 4
    writer.write(
        raw_answer(
            "200 OK",
            {"Content-Type": "image/png", "Content-Encoding": "gzip", "Content-Length": str(len(body))},
            body,
        )
    )


async def brotli(method, path, headers, writer):
    body = b"\x0b\x02\x80hello\x03"  # an encoding never asked for
    writer.write(
        raw_answer(
            "200 OK", {"Content-Type": "image/png", "Content-Encoding": "br", "Content-Length": str(len(body))}, body
        )
    )


@pytest.fixture
def hostile():
    servers = {}
    with HostileServer(redirect_loop) as loop, HostileServer(damaged_gzip) as gz, HostileServer(brotli) as br:
        servers["redirect loop"] = loop.url + "/results/loop.png"
        servers["damaged gzip"] = gz.url + "/results/bad.png"
        servers["unasked encoding"] = br.url + "/results/br.png"
        yield servers


def _pending_tasks(run, fake_clock, count: int) -> list[str]:
    ids = []
    for number in range(count):
        code, out, err = run("generate", f"picture {number}", "--model", "z-image-turbo", "--no-wait", "--json")
        assert code == 0, err
        ids.append(json.loads(out)["id"])
    fake_clock.advance(30)  # all done on the server by now
    return ids


def _results_of(bad_id: str, urls):
    def hook(body):
        if isinstance(body, dict) and body.get("id") == bad_id:
            if isinstance(urls, str):
                return urls  # the whole answer replaced
            body["results"] = urls
            body.pop("result_data", None)
        return body

    return hook


CASES = {
    "redirect loop": ("download_failed", "redirect"),
    "damaged gzip": ("download_failed", "damaged"),
    "unasked encoding": ("refused", "only one layer of gzip or deflate"),
    "malformed url": ("refused", "URL"),
    "bare host url": ("refused", "URL"),
    "nested json": ("running", ""),
}


@pytest.mark.parametrize("case", list(CASES))
def test_one_hostile_record_does_not_stop_resume_for_the_others(run, sim, fake_clock, hostile, case):
    ids = _pending_tasks(run, fake_clock, 4)
    bad = ids[1]
    answer = {
        "malformed url": ["http://[::1"],
        "bare host url": ["http://"],
        "nested json": "[" * 200_000,
    }.get(case) or [hostile.get(case)]
    sim.overrides["poll"] = _results_of(bad, answer)
    code, out, err = run("resume", "--json")
    assert "Traceback" not in err
    body = json.loads(out)
    records = {r["task_id"]: r for r in body["records"]}
    assert set(records) == set(ids)
    for task_id in ids:
        if task_id != bad:
            assert records[task_id]["outcome"] == "completed", records[task_id]
            assert all(Path(p).is_file() for p in records[task_id]["files"])
    expected_outcome, word = CASES[case]
    broken = records[bad]
    assert broken["outcome"] == expected_outcome, broken
    said = json.dumps(broken["error"]) + (broken["notice"] or "")
    assert word.lower() in said.lower(), said
    assert code == (3 if expected_outcome == "running" else 1)


def test_a_hostile_result_in_generate_fails_that_task_cleanly(run, sim, hostile):
    def completed(body):
        body.update(status="completed", progress=100, results=[hostile["redirect loop"]])
        body.pop("result_data", None)
        return body

    sim.overrides["submit"] = completed
    code, out, err = run("generate", "a lighthouse", "--model", "z-image-turbo", "--json")
    assert code == 1 and "Traceback" not in err
    [failed] = json.loads(out)["download_errors"]
    assert "redirect" in failed["error"]["message"].lower()


def _rename_task(sim, new_id: str):
    """The server names its task ``new_id`` (and knows it by that name)."""

    def hook(body):
        task = sim.tasks.pop(body["id"])
        task.id = new_id
        sim.tasks[new_id] = task
        body["id"] = new_id
        return body

    return hook


def test_a_server_task_id_no_user_would_type_is_still_followed(run, sim):
    sim.overrides["submit"] = _rename_task(sim, "task with spaces and ünïcode")
    code, out, err = run("generate", "a lighthouse", "--model", "z-image-turbo", "--json")
    assert code == 0, err
    task = json.loads(out)
    assert task["id"] == "task with spaces and ünïcode" and len(task["downloads"]) == 1


def test_an_unusable_server_task_id_after_the_charge_is_not_bad_input(run, sim, isolated_env):
    sim.overrides["submit"] = _rename_task(sim, "t" * 5000)
    code, out, err = run("generate", "a lighthouse", "--model", "z-image-turbo", "--json")
    assert code == 1, err
    error = json.loads(out)["error"]
    assert error["kind"] != "validation" and "task id" in error["message"]
    conn = sqlite3.connect(isolated_env["data"] / "history.sqlite3")
    [(task_id, state)] = conn.execute("SELECT task_id, state FROM tasks").fetchall()
    conn.close()
    assert task_id == "t" * 5000 and state == "not_found"  # kept (charged, so never lost), and final
    code, out, err = run("resume", "--json")
    assert code == 0 and json.loads(out)["records"] == []  # not polled again and again


def test_an_unexpected_error_on_one_resend_is_recorded_and_the_others_go_on(run, sim, isolated_env):
    sim.faults = FaultPlan.parse("drop@submit")
    for prompt in ("first", "second"):
        assert run("generate", prompt, "--model", "z-image-turbo")[0] == 1  # uncertain
    sim.faults = FaultPlan.parse("")
    db = isolated_env["data"] / "history.sqlite3"
    conn = sqlite3.connect(db)
    conn.execute("""UPDATE tasks SET request = '{"prompt": "first", "image_urls": 5}' WHERE id = 1""")
    conn.commit()
    conn.close()
    code, out, err = run("resume", "--resend", "1", "--resend", "2", "--json")
    assert "Traceback" not in err and code == 1
    records = {r["record_id"]: r for r in json.loads(out)["records"]}
    assert records[2]["outcome"] == "completed" and len(records[2]["files"]) == 1
    assert records[1]["outcome"] == "uncertain" and "TypeError" in records[1]["error"]["message"]
