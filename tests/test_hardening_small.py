"""Issue 11, point 10: huge numbers on the command line are bad input (exit 2); one
hand-damaged history row does not break ``history``; a config file holding the key that
other users can read is warned about (and can be fixed); invisible and bidi control
characters from the server are shown as escapes; a task id with a newline cannot split a
line of output; results beyond n are kept as URLs, not downloaded."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from evolink_tui.core.config import save_api_key
from evolink_tui.simulator import FaultPlan

from .conftest import png_bytes

HUGE = "9" * 30


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["history", "--limit", HUGE], "limit"),
        (["history", "--limit", "-" + HUGE], "limit"),
        (["resume", "--resend", HUGE], "resend"),
        (["resume", "--resend", "0"], "resend"),
        (["simulator", "--port", HUGE], "port"),
        (["simulator", "--port", "70000"], "port"),
        (["simulator", "--port", "-1"], "port"),
        (["files", "--page", HUGE], "page"),
        (["files", "--page-size", HUGE], "page_size"),
    ],
)
def test_huge_numbers_are_bad_input(run, sim, args, field):
    code, out, err = run(*args)
    assert code == 2, (out, err)
    assert f"Invalid {field}" in err and "Traceback" not in err
    assert sim.count() == 0


# -- a hand-damaged history row ----------------------------------------------------------


def test_a_hand_damaged_history_row_is_shown_as_damaged_and_the_others_still_listed(run, sim, isolated_env):
    for prompt in ("first", "second", "third"):
        assert run("generate", prompt, "--model", "z-image-turbo")[0] == 0
    conn = sqlite3.connect(isolated_env["data"] / "history.sqlite3")
    conn.execute(
        "UPDATE tasks SET request = 'not json {', results = '[\"u1\", 5', files = 'null',"
        " created_at = 'yesterday', progress = 'half', error = '{broken', task = '[[[' WHERE id = 2"
    )
    conn.execute("UPDATE tasks SET credits = 'lots', finished_at = x'00ff' WHERE id = 3")
    conn.commit()
    conn.close()
    code, out, err = run("history")
    assert code == 0, err
    assert "#1" in out and "#2" in out and "#3" in out and "Traceback" not in err
    assert "damaged" in out
    code, out, err = run("history", "--json")
    assert code == 0, err
    records = {r["record_id"]: r for r in json.loads(out)["records"]}
    assert set(records) == {1, 2, 3}
    assert records[1]["damaged"] == []
    assert {"request", "results", "created_at"} <= set(records[2]["damaged"])
    assert "credits" in records[3]["damaged"]
    code, out, err = run("resume", "--json")
    assert "Traceback" not in err and code in (0, 1)


# -- the config file's mode --------------------------------------------------------------


def test_a_config_file_others_can_read_is_warned_about_and_can_be_fixed(run, monkeypatch, isolated_env):
    monkeypatch.delenv("EVOLINK_API_KEY")
    path = save_api_key("sk-mode-check-0123456789abcdef")
    path.chmod(0o644)
    code, out, err = run("files")
    assert code == 0
    assert f"chmod 600 {path}" in err and "other users" in err
    code, out, err = run("locate", "--fix-permissions")
    assert code == 0 and "0600" in out
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    code, out, err = run("files")
    assert "chmod" not in err


def test_a_private_config_file_is_not_warned_about(run, monkeypatch):
    monkeypatch.delenv("EVOLINK_API_KEY")
    save_api_key("sk-mode-check-0123456789abcdef")
    code, out, err = run("files")
    assert code == 0 and "chmod" not in err


# -- invisible and bidi characters, newlines in ids ---------------------------------------

INVISIBLE = ["\u202e", "\u202a", "\u2066", "\u2069", "\u200b", "\u200f", "\u061c", "\ufeff", "\u2028", "\u2029"]


def test_bidi_overrides_and_invisible_characters_from_the_server_are_shown_as_escapes(run, sim):
    def failed(body):
        body.update(
            status="failed",
            error={"code": "odd\u202ecode", "message": "evil " + "x".join(INVISIBLE) + " end", "type": "t\u2066"},
        )
        return body

    sim.overrides["poll"] = failed
    code, out, err = run("generate", "a lighthouse", "--model", "z-image-turbo")
    assert code == 1
    for ch in INVISIBLE:
        assert ch not in out + err, f"U+{ord(ch):04X} reached the terminal"
    assert "\\u202e" in err and "evil" in err


def test_a_task_id_with_a_newline_cannot_split_a_line_of_output(run, sim, server_env):
    def completed(body):
        body.update(
            id="task-1\nsaved /etc/passwd  (1x1 PNG, 1 B)",
            status="completed",
            progress=100,
            results=[f"{server_env}/results/any/0.png"],
        )
        body.pop("result_data", None)
        return body

    sim.overrides["submit"] = completed
    sim.overrides["download"] = lambda path, data: (png_bytes(), "image/png")
    code, out, err = run("generate", "a lighthouse", "--model", "z-image-turbo")
    assert code == 0, err
    for text in (out, err, run("history")[1]):
        assert not any(line.startswith("saved /etc/passwd") for line in text.splitlines()), text
    assert "task-1\\x0asaved" in out  # shown, as an escape


# -- results beyond n ---------------------------------------------------------------------


def test_results_beyond_n_are_kept_as_urls_not_downloaded(run, sim, isolated_env):
    def many(body):
        real = list(body.get("results") or [])
        if body.get("status") == "completed":
            base = real[0].rsplit("/", 1)[0]
            body["results"] = real + [f"{base}/{i}.png" for i in range(2, 2000)]
            body.pop("result_data", None)
        return body

    sim.overrides["poll"] = many
    code, out, err = run("generate", "a lighthouse", "--model", "z-image-turbo", "-n", "2", "--json")
    assert code == 0, err
    task = json.loads(out)
    assert len(task["downloads"]) == 2 and sim.count("download") == 2
    assert all(Path(p).is_file() for p in task["downloads"])
    code, out, _ = run("history", "--json")
    [record] = json.loads(out)["records"]
    assert len(record["results"]) == 2000 and len(record["files"]) == 2
    assert record["download_state"] == "done" and not record["needs_download"]
    code, out, _ = run("history")
    assert "1998" in out  # says how many were not fetched
    assert run("resume")[0] == 0 and sim.count("download") == 2
    sim.faults = FaultPlan.parse("")
