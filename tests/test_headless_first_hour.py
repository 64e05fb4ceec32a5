"""The headless commands in a new user's first hour: piped into ``head``, given a filter
or a page that does not exist, asked to upload a name already stored, checking a task by
id, reading a sidecar."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from evolink_tui.core.history import History
from evolink_tui.core.validation import GenerationRequest

# -- output into a pipe that closes early (`| head`) -------------------------------------------


def _into_closed_pipe(args: list[str]) -> subprocess.CompletedProcess:
    """Run ``evolink-tui ARGS`` with its stdout a pipe whose reader has already gone, as
    ``| head -2`` leaves it once head has its lines."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [sys.executable, "-m", "evolink_tui", *args],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write)


def _seed_history(data_dir, count: int = 30) -> None:
    history = History(data_dir / "history.sqlite3")
    for i in range(count):
        history.record_submission(GenerationRequest(f"prompt {i}").to_body(), f"run_{i:032x}")
    history.close()


@pytest.mark.parametrize("args", [["history"], ["models", "--json"], ["models"]])
def test_a_closed_pipe_ends_the_command_quietly(args, isolated_env):
    _seed_history(isolated_env["data"])
    result = _into_closed_pipe(args)
    assert "Traceback" not in result.stderr and "BrokenPipeError" not in result.stderr, result.stderr
    assert "Exception ignored" not in result.stderr
    assert result.returncode == 141  # 128 + SIGPIPE, what `yes | head` leaves for `yes`


# -- filters and pages that do not exist ------------------------------------------------------


def test_an_unknown_status_filter_is_bad_input_naming_the_allowed_ones(run, isolated_env):
    _seed_history(isolated_env["data"], 3)
    code, out, err = run("history", "--status", "bogus")
    assert code == 2 and out == ""
    assert "Invalid status: 'bogus'" in err
    for allowed in ("completed", "failed", "pending", "not_found", "unfinished", "uncertain", "undownloaded"):
        assert allowed in err
    assert run("history", "--status", "submitting")[0] == 0  # every real state is accepted


def test_a_state_a_server_sent_is_a_valid_filter_once_it_is_on_record(run, history, isolated_env):
    from evolink_tui.core.wire import Task

    record_id = history.record_submission({"prompt": "odd", "model": "gpt-image-1.5"}, "run_x")
    history.update_task(record_id, Task(id="task-odd", status="queued_upstream"))
    code, out, err = run("history", "--status", "queued_upstream", "--json")
    assert code == 0, err
    assert [r["task_id"] for r in json.loads(out)["records"]] == ["task-odd"]


def test_a_files_page_past_the_last_is_bad_input(run, sim, png_file):
    assert run("upload", str(png_file))[0] == 0
    code, out, err = run("files", "--page", "99")
    assert code == 2
    assert "Invalid page: 99" in err and "there is 1 page (1 file, 20 a page)" in err
    assert run("files", "--page", "1")[0] == 0
    sim.reset()
    code, out, err = run("files", "--page", "1")  # no files at all: page 1 is still a page
    assert code == 0 and "0 files" in out
    assert run("files", "--page", "2")[0] == 2


# -- the sidecar: what was sent, and what the server says it applied ---------------------------


def _sidecar(out: str) -> dict:
    from pathlib import Path

    [first, *_] = json.loads(out)["downloads"]
    return json.loads(Path(first).with_suffix(".json").read_text())


def test_the_sidecar_records_the_values_sent_even_when_left_to_the_defaults(run, sim):
    code, out, err = run("generate", "defaults only", "--model", "z-image-turbo", "--json")
    assert code == 0, err
    sidecar = _sidecar(out)
    assert sidecar["size"] == "auto" and sidecar["n"] == 1  # nothing sent: the model's size, one image
    assert sidecar["defaults"] == ["size", "n"] and "server_applied" not in sidecar
    code, out, err = run("generate", "chosen", "--model", "z-image-turbo", "--size", "16:9", "-n", "2", "--json")
    sidecar = _sidecar(out)
    assert (sidecar["size"], sidecar["n"], sidecar["defaults"]) == ("16:9", 2, [])


def test_the_sidecar_keeps_what_the_server_says_it_applied_apart(run, sim):
    def applied(body):
        if isinstance(body, dict) and body.get("status") == "completed":
            body["result_data"] = [
                {"image_url": url, "size": "1536x1024", "quality": "high"} for url in body["results"]
            ]
        return body

    sim.overrides["poll"] = applied
    code, out, err = run("generate", "say what you did", "--model", "gpt-4o-image", "--json")
    assert code == 0, err
    sidecar = _sidecar(out)
    assert sidecar["size"] == "auto" and sidecar["server_applied"] == {"size": "1536x1024", "quality": "high"}


# -- upload of a name already stored -----------------------------------------------------------


class _Terminal:
    """stdin as a person at a terminal: isatty, and these answers typed."""

    def __init__(self, answers: str) -> None:
        import io

        self._lines = io.StringIO(answers)

    def isatty(self) -> bool:
        return True

    def readline(self) -> str:
        return self._lines.readline()


def test_uploading_a_stored_name_without_a_terminal_is_refused_unless_overwrite(run, sim, png_file):
    assert run("upload", str(png_file))[0] == 0
    code, out, err = run("upload", str(png_file))
    assert code == 2 and out == ""
    assert "Invalid name: 'ref.png'" in err and "already stored" in err and "--overwrite" in err
    assert sim.count("upload") == 1  # nothing was sent
    code, out, err = run("upload", str(png_file), "--overwrite", "--json")
    assert code == 0, err
    assert sim.count("upload") == 2 and len(sim.live_files()) == 1  # replaced, as the reference says
    assert run("upload", str(png_file), "--path", "elsewhere")[0] == 0  # another folder: another file


def test_at_a_terminal_upload_asks_the_apps_question(run, sim, png_file, monkeypatch):
    assert run("upload", str(png_file), "--name", "mine.png")[0] == 0
    monkeypatch.setattr("sys.stdin", _Terminal("n\n"))
    code, out, err = run("upload", str(png_file), "--name", "mine.png")
    assert "A file named mine.png is already stored" in err and "overwrites the old one" in err
    assert "Overwrite the stored file? [y/N]" in err
    assert code == 2 and sim.count("upload") == 1 and "Not uploaded" in err
    monkeypatch.setattr("sys.stdin", _Terminal("y\n"))
    code, out, err = run("upload", str(png_file), "--name", "mine.png")
    assert code == 0 and sim.count("upload") == 2 and len(sim.live_files()) == 1


# -- time taken, and how to check a task later -------------------------------------------------


def _submitted_elsewhere(url: str, prompt: str) -> str:
    """A task made by another client (another machine, the dashboard): known here only by its id."""
    import httpx

    from .conftest import TEST_KEY

    answer = httpx.post(
        f"{url}/v1/images/generations",
        json={"prompt": prompt, "model": "gpt-image-1.5"},
        headers={"Authorization": f"Bearer {TEST_KEY}"},
    )
    return answer.json()["id"]


def _took(out: str) -> float:
    import re

    match = re.search(r"took (\d+\.\d)s", out)
    assert match, out
    return float(match.group(1))


def test_a_task_checked_by_id_while_it_runs_shows_its_real_time(run, sim, fake_clock, server_env):
    task_id = _submitted_elsewhere(server_env, "made elsewhere")
    fake_clock.advance(2)
    code, out, err = run("check", task_id, "--wait")
    assert code == 0, err
    assert 8.0 <= _took(out) <= 14.0  # 8 s in the simulator, seen within one 3-5 s poll; not 0.0s


def test_a_task_of_ours_checked_later_while_it_runs_shows_its_real_time(run, sim, fake_clock):
    code, out, _ = run("generate", "sent without waiting", "--no-wait", "--json")
    task_id = json.loads(out)["id"]
    fake_clock.advance(4)
    code, out, err = run("check", task_id, "--wait")
    assert code == 0, err
    assert 8.0 <= _took(out) <= 14.0


def test_a_task_first_seen_finished_says_its_time_is_unknown_not_zero(run, sim, fake_clock, isolated_env):
    from evolink_tui.core.history import History
    from evolink_tui.core.timing import time_taken

    code, out, _ = run("generate", "long done", "--no-wait", "--json")
    task_id = json.loads(out)["id"]
    fake_clock.advance(3600)  # it finished long before anyone looked
    code, out, err = run("check", task_id)
    assert code == 0, err
    assert "took" not in out and "time taken unknown" in out
    history = History(isolated_env["data"] / "history.sqlite3")
    assert time_taken(history.by_task_id(task_id)) is None
    history.close()


def test_generate_no_wait_says_how_to_check_the_task_later(run, sim):
    code, out, err = run("generate", "later", "--no-wait")
    assert code == 0, err
    task_id = next(iter(sim.tasks))
    assert f"evolink-tui check {task_id}" in out
    code, out, err = run("generate", "later", "--no-wait", "--json")
    assert "evolink-tui check" not in out  # --json stays one JSON object


def test_a_recipe_with_defaults_reopens_as_the_request_that_was_sent(run, sim):
    """The sidecar's "auto" and 1 stand for fields left out: reopening sends them left out again."""
    from pathlib import Path

    from evolink_tui.core.recipe import reopen
    from evolink_tui.core.validation import GenerationRequest

    code, out, err = run("generate", "left to the model", "--model", "z-image-turbo", "--json")
    assert code == 0, err
    image = Path(json.loads(out)["downloads"][0])
    assert reopen(image).generation_request() == GenerationRequest("left to the model", "z-image-turbo")
    assert GenerationRequest("x", size="auto").size is None  # the app's word for the model's own size
    code, out, err = run("generate", "auto by name", "--model", "z-image-turbo", "--size", "auto", "--json")
    assert code == 0, err
