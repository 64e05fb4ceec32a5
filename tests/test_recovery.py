"""Restart recovery: a headless ``generate`` killed with SIGKILL at any point leaves a
record that ``resume`` completes, never sending a submit twice; a full disk fails clearly
and is retried later; expired URLs are marked and kept; the history is searchable."""

from __future__ import annotations

import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from evolink_tui.core import runner as r
from evolink_tui.core.downloads import clean_partial_files
from evolink_tui.core.errors import ValidationError
from evolink_tui.core.history import SCHEMA_VERSION, History
from evolink_tui.core.recovery import EXPIRED, UNCERTAIN, check_resend, outcome, plan_recovery, recover
from evolink_tui.core.validation import GenerationRequest
from evolink_tui.simulator import FaultPlan

from .conftest import TEST_KEY, quiet
from .support import history_rows as _rows
from .support import wait_for as _wait_for
from .test_faults import assert_no_broken_files

# -- real processes against a real-clock simulator ----------------------------------------


@pytest.fixture
def live(live_server, isolated_env):
    sim = live_server.app.state.sim
    quiet(sim)  # no answer of an earlier test lands in this one
    sim.reset()
    sim.speed = 1.0
    url = live_server.url
    env = dict(
        os.environ, EVOLINK_BASE_URL=url, EVOLINK_FILES_BASE_URL=url, EVOLINK_API_KEY=TEST_KEY, PYTHONUNBUFFERED="1"
    )
    yield sim, env, isolated_env


def _cli(args, env, timeout=60, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "evolink_tui", *args], capture_output=True, text=True, env=env, timeout=timeout, **kwargs
    )
    assert TEST_KEY not in result.stdout + result.stderr
    return result


def _start(args, env, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "evolink_tui", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kwargs,
    )


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    proc.stdout.close()
    proc.stderr.close()


def test_generate_killed_while_polling_is_completed_by_resume(live):
    sim, env, paths = live
    db = paths["data"] / "history.sqlite3"
    proc = _start(["generate", "a lighthouse at dusk", "-n", "2", "--json"], env)
    try:
        row = _wait_for(lambda: next((r for r in _rows(db) if r["task_id"]), None), "the task id in the history")
    finally:
        _kill(proc)
    assert row["state"] == "pending" and row["task_id"] in sim.tasks
    sim.tasks[row["task_id"]].duration = 0.01  # it finishes while nobody is watching

    result = _cli(["resume", "--json"], env)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    [record] = body["records"]
    assert record["task_id"] == row["task_id"] and record["outcome"] == "completed" and len(record["files"]) == 2
    for path in map(Path, record["files"]):
        assert path.parent == paths["downloads"]
        with Image.open(path) as image:
            image.load()
    assert sim.charges == 1 and sim.count("submit") == 1
    assert_no_broken_files(paths["downloads"])
    again = _cli(["resume", "--json"], env)  # nothing left to do, nothing fetched twice
    assert again.returncode == 0 and json.loads(again.stdout)["records"] == []


def test_generate_killed_mid_submit_is_uncertain_and_resent_only_when_asked(live, png_file):
    sim, env, paths = live
    db = paths["data"] / "history.sqlite3"
    sim.speed = 8.0
    sim.faults = FaultPlan.parse("slow:2@submit*1")  # the submit hangs in flight
    proc = _start(
        [
            "generate",
            "did it go through?",
            "--model",
            "gemini-3.1-flash-image-preview",
            "--image",
            str(png_file),
            "--json",
        ],
        env,
    )
    try:
        # killed once the server holds the whole submit (it answers 2 s later, to nobody)
        _wait_for(lambda: any(q.get("buffered") for q in sim.requests if q["endpoint"] == "submit"), "the submit in")
        row = _rows(db)[0]
    finally:
        _kill(proc)
    assert row["state"] == "submitting" and row["task_id"] is None and row["attempted_at"] is not None
    assert sim.count("upload") == 1  # the reference went first; the record holds its URL
    assert json.loads(row["request"])["image_urls"][0].startswith("http://127.0.0.1")

    result = _cli(["resume", "--json"], env)
    assert result.returncode == 1  # something needs the user: an uncertain submit
    body = json.loads(result.stdout)
    assert body["uncertain"] == [row["id"]] and body["records"][0]["outcome"] == "uncertain"
    assert body["records"][0]["error"]["code"] == "interrupted"
    human = _cli(["resume"], env)
    assert f"evolink-tui resume --resend {row['id']}" in human.stdout
    assert sim.count("submit") == 1, "resume must never resend on its own"

    # The first request gets through after all (the server finishes it after the client died).
    _wait_for(lambda: sim.in_flight == 0 and sim.charges == 1, "the slowed submit to land")
    [first_task] = sim.tasks

    result = _cli(["resume", "--resend", str(row["id"]), "--json"], env)
    assert result.returncode == 0, result.stderr
    [record] = json.loads(result.stdout)["records"]
    assert record["task_id"] == first_task and record["outcome"] == "completed" and record["files"]
    assert sim.charges == 1 and len(sim.tasks) == 1  # the same key found the same task
    keys = {q["idempotency_key"] for q in sim.requests if q["endpoint"] == "submit"}
    assert keys == {row["idempotency_key"]} and sim.count("submit") == 2
    assert sim.count("upload") == 1  # the uploaded URL was kept, not uploaded again
    assert_no_broken_files(paths["downloads"])


def test_generate_killed_mid_download_leaves_no_broken_file_and_resume_finishes(live):
    sim, env, paths = live
    sim.speed = 8.0
    sim.faults = FaultPlan.parse("slow:3@download*1")  # the result is on its way when the kill comes
    folder = paths["downloads"]
    proc = _start(["generate", "half way there", "--model", "z-image-turbo"], env)
    try:
        part = _wait_for(
            lambda: next(iter(folder.glob(".download-*.part")), None) if folder.exists() else None,
            "the download to start",
        )
        time.sleep(1.2)  # older than a just-created file, so the lock alone decides
    finally:
        _kill(proc)
    assert part.exists()  # what a killed download leaves behind
    [row] = _rows(paths["data"] / "history.sqlite3")
    assert row["state"] == "completed" and row["download_state"] == "pending"

    result = _cli(["resume", "--json"], env)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["cleaned"] == [str(part)] and not part.exists()
    [record] = body["records"]
    assert record["outcome"] == "completed" and Path(record["files"][0]).is_file()
    assert sim.charges == 1
    assert_no_broken_files(folder)


def test_resend_refuses_records_that_are_not_uncertain(live):
    sim, env, paths = live
    result = _cli(["resume", "--resend", "42"], env)
    assert result.returncode == 2 and "Invalid resend" in result.stderr and sim.count() == 0


def _noise_png(side: int) -> bytes:
    buffer = BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def test_a_full_disk_fails_clearly_keeps_the_record_and_resume_retries(live):
    """The download dir's file system "fills up": the process may not write files over
    512 KB (RLIMIT_FSIZE, so writes fail with EFBIG as on a full disk)."""
    sim, env, paths = live
    big = _noise_png(700)  # about 1.5 MB: over the limit; the history stays far under it
    sim.overrides["download"] = lambda path, data: (big, "image/png") if path.startswith("/results/") else None
    sim.speed = 8.0
    limit = 512 * 1024

    def small_disk():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    result = _cli(["generate", "a very large picture", "--model", "z-image-turbo"], env, preexec_fn=small_disk)
    assert result.returncode == 1, result.stderr
    folder = paths["downloads"]
    assert f"could not write to {folder}" in result.stderr
    assert "disk is full or a file-size limit was reached" in result.stderr
    assert "evolink-tui resume" in result.stderr
    assert list(folder.iterdir()) == []  # no partial file left behind
    [row] = _rows(paths["data"] / "history.sqlite3")
    assert row["state"] == "completed" and row["download_state"] == "failed"
    assert json.loads(row["error"])["code"] == "disk"

    listing = _cli(["history", "--status", "undownloaded", "--json"], env)
    assert [rec["record_id"] for rec in json.loads(listing.stdout)["records"]] == [row["id"]]

    result = _cli(["resume", "--json"], env)  # space is back
    assert result.returncode == 0, result.stderr
    [record] = json.loads(result.stdout)["records"]
    assert record["outcome"] == "completed" and record["error"] is None
    with Image.open(record["files"][0]) as saved, Image.open(BytesIO(big)) as sent:  # the recipe added, pixels kept
        assert saved.tobytes() == sent.tobytes()
    assert sim.charges == 1
    assert_no_broken_files(folder)


# -- in-process, on the shared fake clock ---------------------------------------------------


@pytest.fixture
def runner(client, history, tmp_path):
    return r.Runner(client, history, tmp_path / "downloads")


async def _completed_not_downloaded(runner, history, fake_clock, prompt="left behind") -> int:
    """A record as a kill between "completed" and the download leaves it."""
    record_id = runner.prepare(GenerationRequest(prompt, model="z-image-turbo"))
    await runner.run(record_id, follow=False)
    fake_clock.advance(30)
    task = await runner.client.get_task(history.get(record_id).task_id)
    history.update_task(record_id, task)
    record = history.get(record_id)
    assert record.state == "completed" and record.download_state == "pending" and record.needs_download
    return record_id


async def test_recover_downloads_completed_results_not_yet_on_disk(runner, history, sim, fake_clock):
    record_id = await _completed_not_downloaded(runner, history, fake_clock)
    assert [r.id for r in plan_recovery(history).downloads] == [record_id]
    polls = sim.count("poll")
    summary = await recover(runner)
    record = history.get(record_id)
    assert record.download_state == "done" and record.files and Path(record.files[0]).is_file()
    assert [outcome(r) for r in summary.records] == ["completed"] and not summary.needs_attention
    assert sim.count("poll") == polls  # the recorded URLs were used: no extra read of the task


async def test_recover_sees_every_kind_of_left_over_through_at_once(runner, history, sim, fake_clock):
    running = [runner.prepare(GenerationRequest(f"running {i}", model="z-image-turbo")) for i in range(3)]
    for record_id in running:
        await runner.run(record_id, follow=False)
    downloads = await _completed_not_downloaded(runner, history, fake_clock, "waiting on disk")
    interrupted = runner.prepare(GenerationRequest("interrupted"))
    history.mark_sending(interrupted)
    refused = runner.prepare(GenerationRequest("refused"))
    history.mark_submit_failed(refused, {"code": 503, "message": "x"})
    plan = plan_recovery(history)
    assert [r.id for r in plan.unfinished] == running and [r.id for r in plan.downloads] == [downloads]
    assert [r.id for r in plan.uncertain] == [interrupted]
    submits = sim.count("submit")
    summary = await recover(runner, concurrency=2)
    outcomes = {rec.id: outcome(rec) for rec in summary.records}
    assert outcomes == {**{i: "completed" for i in running}, downloads: "completed", interrupted: "uncertain"}
    assert "may have reached Evolink" in history.get(interrupted).error["message"]
    assert sim.count("submit") == submits and summary.uncertain[0].id == interrupted
    summary = await recover(runner, resend=[interrupted, refused])
    assert {outcome(rec) for rec in summary.records} == {"completed"} and summary.resent == [interrupted, refused]
    assert sim.charges == len(sim.tasks) == 6


async def test_an_expired_url_marks_the_record_and_keeps_it(runner, history, sim, fake_clock):
    record_id = await _completed_not_downloaded(runner, history, fake_clock, "too late")
    fake_clock.advance(25 * 3600)
    summary = await recover(runner)
    record = history.get(record_id)
    assert record.state == "completed" and record.download_state == "expired" and record.task_id
    assert record.error["code"] == "expired" and record.error["retryable"] is False
    assert sim.count("download") == 0  # known to be past its expiry: not even asked
    assert outcome(summary.records[0]) == EXPIRED and summary.needs_attention
    assert (await recover(runner)).records == []  # kept, and left alone from then on
    assert history.search(status="expired")[0].id == record_id


async def test_a_url_the_server_says_expired_is_marked_too(runner, history, sim, fake_clock):
    record_id = await _completed_not_downloaded(runner, history, fake_clock, "expired early")
    sim.faults = FaultPlan.parse("expired@download")
    await recover(runner)
    record = history.get(record_id)
    assert record.download_state == "expired" and record.error["code"] == "expired" and sim.count("download") == 1


async def test_an_unfinished_task_the_server_forgot_keeps_its_record(runner, history, sim):
    record_id = runner.prepare(GenerationRequest("forgotten", model="z-image-turbo"))
    await runner.run(record_id, follow=False)
    sim.tasks.clear()
    summary = await recover(runner)
    record = history.get(record_id)  # kept, with its request, ended not_found (tests/test_task_not_found.py)
    assert record.state == "not_found" and record.task_id and record.error["code"] == "task_not_found"
    assert record.request["prompt"] == "forgotten" and outcome(summary.records[0]) == "not_found"


async def test_an_interrupted_submit_never_sent_says_so(runner, history, sim):
    record_id = runner.prepare(GenerationRequest("never sent"))  # killed before mark_sending
    summary = await recover(runner)
    record = history.get(record_id)
    assert record.state == "uncertain" and "before the submit was sent" in record.error["message"]
    assert outcome(summary.records[0]) == UNCERTAIN and sim.count("submit") == 0
    await recover(runner, resend=[record_id])
    assert history.get(record_id).state == "completed" and sim.charges == 1


async def test_resend_is_checked_before_anything_is_sent(runner, history, sim, fake_clock):
    record_id = await _completed_not_downloaded(runner, history, fake_clock)
    with pytest.raises(ValidationError):
        check_resend(history, [record_id])
    with pytest.raises(ValidationError):
        await recover(runner, resend=[record_id, 999])
    assert sim.count("submit") == 1 and sim.count("download") == 0


def test_partial_files_of_dead_downloads_are_removed_live_ones_kept(tmp_path):
    import fcntl

    folder = tmp_path / "dl"
    folder.mkdir()
    dead = folder / ".download-dead.part"
    live = folder / ".download-live.part"
    fresh = folder / ".download-fresh.part"
    keep = folder / "image.png"
    for path in (dead, live, fresh, keep):
        path.write_bytes(b"x")
    old = time.time() - 60
    for path in (dead, live, keep):
        os.utime(path, (old, old))
    handle = open(live, "rb")
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # a download still running holds its lock
    try:
        removed = clean_partial_files(folder)
    finally:
        handle.close()
    assert removed == [dead]
    assert not dead.exists() and live.exists() and fresh.exists() and keep.exists()


def test_a_schema_1_history_is_migrated_and_kept(tmp_path):
    from evolink_tui.core.history import MIGRATIONS

    path = tmp_path / "history.sqlite3"
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[1]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    rows = [
        ("task-a", "completed", '["u1"]', '["/f1.png"]'),
        ("task-b", "completed", '["u1", "u2"]', '["/f1.png"]'),
        ("task-c", "processing", "[]", "[]"),
    ]
    for task_id, state, results, files in rows:
        conn.execute(
            "INSERT INTO tasks (task_id, state, prompt, model, request, idempotency_key, results, files,"
            " created_at, finished_at, updated_at) VALUES (?, ?, 'p', 'm', '{}', 'run_x', ?, ?, 1, 2, 3)",
            (task_id, state, results, files),
        )
    conn.commit()
    conn.close()
    history = History(path)
    try:
        records = {rec.task_id: rec for rec in history.recent()}
        assert records["task-a"].download_state == "done" and records["task-b"].download_state == "pending"
        assert records["task-b"].needs_download and records["task-b"].url_expires_at == 2 + 24 * 3600
        assert records["task-c"].download_state is None and not records["task-c"].is_finished
    finally:
        history.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == max(MIGRATIONS)
    conn.close()


def test_a_newer_history_is_refused_not_damaged(tmp_path):
    path = tmp_path / "history.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(RuntimeError, match="newer"):
        History(path).count()


# -- the history command ----------------------------------------------------------------


def test_history_lists_and_searches_every_generation(run, sim, isolated_env):
    assert run("history")[1].startswith("no history yet")
    assert run("generate", "a red fox in snow", "--model", "z-image-turbo")[0] == 0
    sim.faults = FaultPlan.parse("fail:content_policy_violation*1")
    assert run("generate", "a blue whale", "--model", "gpt-image-1")[0] == 1
    sim.faults = FaultPlan.parse("")
    assert run("generate", "a red car", "--no-wait")[0] == 0

    code, out, _ = run("history", "--json")
    body = json.loads(out)
    assert (
        code == 0
        and body["count"] == 3
        and [r["prompt"] for r in body["records"]] == ["a red car", "a blue whale", "a red fox in snow"]
    )
    fox = body["records"][2]
    assert fox["state"] == "completed" and fox["files"] and fox["credits"] and fox["task_id"] and fox["idempotency_key"]
    assert body["records"][1]["error"]["code"] == "content_policy_violation"

    def prompts(*args):
        return [r["prompt"] for r in json.loads(run("history", "--json", *args)[1])["records"]]

    assert prompts("--search", "red") == ["a red car", "a red fox in snow"]
    assert prompts("--model", "gpt-image-1") == ["a blue whale"]
    assert prompts("--status", "failed") == ["a blue whale"]
    assert prompts("--status", "unfinished") == ["a red car"]
    assert prompts("--search", fox["task_id"]) == ["a red fox in snow"]
    assert prompts("--since", "2000-01-01", "--until", "2100-12-31") == [
        "a red car",
        "a blue whale",
        "a red fox in snow",
    ]
    assert prompts("--since", "2100-01-01") == []
    code, out, _ = run("history")
    assert "a red fox in snow" in out and "content_policy_violation" in out and "3 of 3 records shown" in out
    assert fox["files"][0] in out


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--since", "yesterday"], "since"),
        (["--until", "2025-13-45"], "until"),
        (["--limit", "0"], "limit"),
        (["--status", "no such; drop"], "status"),
    ],
)
def test_history_bad_filters_exit_2(run, args, field):
    code, _, err = run("history", *args)
    assert code == 2 and f"Invalid {field}" in err


def test_generate_prints_offline_retrying_during_an_outage(run, sim):
    sim.faults = FaultPlan.parse("drop@poll*12")
    code, out, err = run("generate", "stormy", "--model", "z-image-turbo")
    assert code == 0 and "saved " in out
    assert "offline, retrying" in err and "back online" in err


def test_generate_json_gives_the_record_id_and_an_uncertain_submit_says_how_to_resend(run, sim):
    sim.faults = FaultPlan.parse("drop-after@submit")
    code, out, err = run("generate", "lost in transit", "--json")
    body = json.loads(out)
    assert code == 1 and body["uncertain"] is True and body["record_id"] == 1
    assert "evolink-tui resume --resend 1" in err
    sim.faults = FaultPlan.parse("")
    code, out, _ = run("resume", "--resend", "1", "--json")
    assert code == 0 and json.loads(out)["records"][0]["outcome"] == "completed" and sim.charges == 1


def test_check_records_the_task_and_reuses_the_generate_download(run, sim, isolated_env):
    code, out, _ = run("generate", "check me", "--model", "z-image-turbo", "--json")
    task = json.loads(out)
    downloads = sim.count("download")
    code, out, _ = run("check", task["id"], "--json")
    assert code == 0 and json.loads(out)["downloads"] == task["downloads"] and sim.count("download") == downloads
    body = json.loads(run("history", "--json")[1])
    assert body["count"] == 1 and body["records"][0]["task_id"] == task["id"]


def test_an_unusable_history_stops_before_anything_is_sent(run, sim, isolated_env):
    data = isolated_env["data"]
    data.mkdir(parents=True)
    (data / "history.sqlite3").write_bytes(b"this is not a database" * 100)
    code, _, err = run("generate", "nowhere to write it down")
    assert code == 1 and str(data / "history.sqlite3") in err and "Nothing was sent" in err
    assert sim.count() == 0


def test_a_refused_base_url_in_the_config_file_names_the_file(run, sim, isolated_env, monkeypatch):
    monkeypatch.delenv("EVOLINK_BASE_URL")
    isolated_env["config"].parent.mkdir(parents=True, exist_ok=True)
    isolated_env["config"].write_text('base_url = "http://api.evolink.ai"\n')
    code, _, err = run("check", "task-1")
    assert code == 2 and f"base_url in the config file {isolated_env['config']}" in err and "loopback" in err
    assert sim.count() == 0


# -- properties: whatever a server sends, the history keeps it and gives it back -------------

import tempfile  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from evolink_tui.core.wire import Task  # noqa: E402

from .test_wire import task_like  # noqa: E402


@settings(max_examples=150, deadline=None)
@given(st.lists(task_like, min_size=1, max_size=4))
def test_any_sequence_of_task_answers_is_recorded_and_read_back(answers):
    with tempfile.TemporaryDirectory() as folder:
        history = History(Path(folder) / "h.sqlite3")
        try:
            record_id = history.record_submission({"prompt": "p", "model": "m"}, "run_p")
            for data in answers:
                history.update_task(record_id, Task.parse(data))
            record = history.get(record_id)
            last = Task.parse(answers[-1])
            # A record keeps the task id it was first given (one task, one record: issue 11).
            assert record.task_id == Task.parse(answers[0]).id and record.state == last.status
            assert record.as_task().id == last.id and record.as_task().results == last.results
            assert json.dumps(record.to_json())
            if last.status == "completed":
                assert record.download_state == "pending" and record.url_expires_at
            if last.status in ("failed", "cancelled"):
                assert record.error and record.error["code"]
        finally:
            history.close()


numbers = st.one_of(st.integers(), st.floats(), st.text(max_size=12), st.none(), st.booleans())
numeric_task = st.fixed_dictionaries(
    {
        "id": st.text(min_size=1, max_size=30),
        "status": st.sampled_from(["pending", "processing", "completed", "failed"]),
        "progress": numbers,
        "created": numbers,
        "task_info": st.fixed_dictionaries({"estimated_time": numbers, "can_cancel": numbers}),
        "usage": st.fixed_dictionaries({"credits_reserved": numbers}),
        "results": st.lists(st.text(max_size=60), max_size=3),
    }
)


@settings(max_examples=200, deadline=None)
@given(numeric_task)
def test_any_numbers_in_a_task_are_stored_and_read_back(data):
    """Infinity, NaN, 10^400, negative times, numbers as text: parsed sanely and stored."""
    task = Task.parse(data)
    assert 0 <= task.progress <= 100
    for value in (task.created, task.estimated_time):
        assert value is None or abs(value) <= 2**53
    assert task.credits_reserved is None or task.credits_reserved == task.credits_reserved  # never NaN
    with tempfile.TemporaryDirectory() as folder:
        history = History(Path(folder) / "h.sqlite3")
        try:
            record_id = history.record_submission({"prompt": "p", "model": "m"}, "run_p")
            history.update_task(record_id, task)
            record = history.get(record_id)
            assert record.task_id == task.id and record.estimated_time == task.estimated_time
        finally:
            history.close()
