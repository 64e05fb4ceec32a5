"""The headless commands, as a user runs them, against the simulator on loopback."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from evolink_tui.simulator import FaultPlan

from .conftest import TEST_KEY, png_bytes


def test_generate_json_completes_and_saves_real_images(run, sim, isolated_env):
    code, out, err = run("generate", "a lighthouse at dusk", "-n", "2", "--size", "3:2", "--json")
    assert code == 0, err
    task = json.loads(out)
    assert task["status"] == "completed" and task["object"] == "image.generation.task"
    assert len(task["downloads"]) == 2
    for path in map(Path, task["downloads"]):
        assert path.parent == isolated_env["downloads"]
        with Image.open(path) as image:
            image.load()
            assert image.size[0] / image.size[1] == pytest.approx(1.5, rel=0.02)
        assert json.loads(path.with_suffix(".json").read_text())["task_id"] == task["id"]
    assert sim.charges == 1


def test_generate_human_output(run, sim):
    code, out, err = run("generate", "a quiet harbour", "--model", "z-image-turbo")
    assert code == 0
    assert "submitted task-unified-" in out and "z-image-turbo" in out and "saved " in out


def test_generate_uploads_local_references_first(run, sim, png_file):
    mask = png_file.with_name("mask.png")
    mask.write_bytes(png_bytes(color=(255, 255, 255)))
    code, out, err = run(
        "generate",
        "edit this",
        "--model",
        "gpt-4o-image",
        "--image",
        str(png_file),
        "--image",
        "https://cdn.example.invalid/b.png",
        "--mask",
        str(mask),
        "--json",
    )
    assert code == 0, err
    assert sim.count("upload") == 2
    task = next(iter(sim.tasks.values()))
    uploaded = {f.file_url if hasattr(f, "file_url") else None for f in sim.files.values()}
    assert task.image_urls[1] == "https://cdn.example.invalid/b.png"
    assert task.image_urls[0].startswith("http://127.0.0.1") and "/files/" in task.image_urls[0]
    assert task.mask_url and "/files/" in task.mask_url
    assert uploaded


def test_generate_no_wait_returns_the_pending_task(run, sim):
    code, out, _ = run("generate", "later", "--no-wait", "--json")
    assert code == 0 and json.loads(out)["status"] == "pending"
    assert sim.count("poll") == 0


BAD_INPUTS = [
    (["generate", ""], "prompt"),
    (["generate", "x" * 2001], "2001 characters"),
    (["generate", "x", "-n", "0"], "Invalid n: 0"),
    (["generate", "x", "-n", "5"], "Invalid n: 5"),
    (["generate", "x", "-n", "two"], "Invalid n: 'two'"),
    (["generate", "x", "--size", "7:5"], "Invalid size: '7:5'"),
    (["generate", "x", "--size", "1024x1024"], "only for gpt-4o-image"),
    (["generate", "x", "--model", "dall-e-9"], "Invalid model: 'dall-e-9'"),
    (["generate", "x", *sum((["--image", f"https://e.invalid/{i}.png"] for i in range(15)), [])], "15 images"),
    (["generate", "x", "--image", "/nonexistent/ref.png"], "not found"),
    (["generate", "x", "--image", "@TEXT"], "not an image"),
    (["generate", "x", "--image", "@BIG"], "at most 4 MB"),
    (["generate", "x", "--mask", "@PNG"], "only for gpt-4o-image"),
    (["generate", "x", "--model", "gpt-4o-image", "--mask", "@JPEG"], "PNG"),
    (["check", "has spaces in it"], "task_id"),
    (["upload", "@TEXT"], "JPEG/PNG/GIF/WebP"),
    (["upload", "--base64", "bm90IGFuIGltYWdl"], "base64_data"),
    (["upload", "--url", "ftp://x/y.png"], "file_url"),
    (["files", "--page-size", "500"], "page_size"),
    (["files", "--page", "0"], "page"),
    (["delete", "../etc"], "file_id"),
]


@pytest.mark.parametrize(("args", "expected"), BAD_INPUTS, ids=[" ".join(a)[:40] for a, _ in BAD_INPUTS])
def test_bad_input_exits_2_with_a_clear_message_and_sends_nothing(run, sim, tmp_path, args, expected):
    files = {
        "@TEXT": tmp_path / "notes.png",
        "@BIG": tmp_path / "big.png",
        "@PNG": tmp_path / "m.png",
        "@JPEG": tmp_path / "m.jpg",
    }
    files["@TEXT"].write_text("just text")
    files["@BIG"].write_bytes(png_bytes() + b"\0" * (4 * 1024 * 1024 + 1))
    files["@PNG"].write_bytes(png_bytes())
    files["@JPEG"].write_bytes(png_bytes(fmt="JPEG"))
    args = [str(files.get(a, a)) for a in args]
    code, out, err = run(*args)
    assert code == 2
    assert expected in err
    assert "Allowed:" in err
    assert sim.count() == 0


def test_http_base_url_refused_exits_2(run, sim, monkeypatch):
    monkeypatch.setenv("EVOLINK_BASE_URL", "http://api.evolink.ai")
    code, _, err = run("models")
    code, _, err = run("check", "task-1")
    assert code == 2 and "EVOLINK_BASE_URL" in err and "loopback" in err
    assert sim.count() == 0


def test_no_key_exits_2(run, sim, monkeypatch):
    monkeypatch.delenv("EVOLINK_API_KEY")
    code, _, err = run("generate", "x")
    assert code == 2 and "EVOLINK_API_KEY" in err and "--demo" in err
    assert sim.count() == 0


@pytest.mark.parametrize("code_name", ["content_policy_violation", "generation_timeout", "upstream_error"])
def test_failed_task_exits_1_with_code_meaning_retry_and_resolution(run, sim, code_name):
    from evolink_tui.core.errors import lookup

    sim.faults = FaultPlan.parse(f"fail:{code_name}*1")
    code, out, err = run("generate", "doomed")
    info = lookup("task", code_name)
    assert code == 1
    assert code_name in err and info.meaning in err and info.resolution in err
    assert ("a retry may help" if info.retryable else "retrying will not help") in err


def test_failed_task_json_has_the_task_and_the_error(run, sim):
    sim.faults = FaultPlan.parse("fail:model_unavailable*1")
    code, out, _ = run("generate", "doomed", "--json")
    body = json.loads(out)
    assert code == 1 and body["status"] == "failed"
    assert body["error"]["code"] == "model_unavailable" and body["error"]["retryable"] is False


def test_api_error_exits_1(run, sim):
    sim.faults = FaultPlan.parse("402@submit*1")
    code, _, err = run("generate", "no money")
    assert code == 1 and "402" in err and "Insufficient credits" in err and "evolink.ai/dashboard/billing" in err


def test_still_running_after_5_minutes_exits_3_with_the_notice(run, sim):
    sim.speed = 0.001  # 8000-second tasks
    code, out, err = run("generate", "a very slow one")
    assert code == 3
    task_id = next(iter(sim.tasks))
    assert f"This is taking longer than expected. The task ID is `{task_id}` — you can check it again later." in out


def test_check_downloads_a_completed_task_and_waits_for_a_running_one(run, sim, fake_clock, isolated_env):
    code, out, _ = run("generate", "check me", "--no-wait", "--json")
    task_id = json.loads(out)["id"]
    code, out, _ = run("check", task_id, "--json")
    assert code == 0 and json.loads(out)["status"] in ("pending", "processing")
    code, out, _ = run("check", task_id, "--wait", "--json")
    body = json.loads(out)
    assert code == 0 and body["status"] == "completed" and Path(body["downloads"][0]).is_file()


def test_check_unknown_task_exits_1(run, sim):
    code, _, err = run("check", "task-unified-1-nope")
    assert code == 1 and "404" in err and "Verify task_id" in err


def test_upload_files_delete_round_trip(run, sim, png_file):
    code, out, _ = run("upload", str(png_file), "--name", "ref.png", "--path", "refs", "--json")
    assert code == 0
    uploaded = json.loads(out)
    assert uploaded["file_name"] == "ref.png" and uploaded["file_url"]
    data = base64.b64encode(png_bytes(color=(9, 9, 9))).decode()
    assert run("upload", "--base64", data, "--json")[0] == 0
    assert run("upload", "--url", uploaded["file_url"], "--name", "copy.png", "--json")[0] == 0
    code, out, _ = run("files", "--json")
    listing = json.loads(out)
    assert code == 0 and listing["total"] == 3 and listing["quota"]["used_files"] == 3
    code, out, _ = run("files")
    assert "quota: 3 of 100 files used, 97 left" in out and "ref.png" in out
    assert run("delete", uploaded["file_id"], "--json")[0] == 0
    assert json.loads(run("files", "--json")[1])["quota"]["used_files"] == 2
    code, _, err = run("delete", uploaded["file_id"])
    assert code == 1 and "File not found" in err


def test_models_lists_the_20_with_tags(run, sim):
    code, out, _ = run("models", "--json")
    body = json.loads(out)
    assert code == 0 and len(body["models"]) == 20 and body["default"] == "gpt-image-1.5"
    code, out, _ = run("models")
    assert out.count("BETA") == 4 and out.count("STABLE") == 16
    assert sim.count() == 0


def test_locate_prints_the_paths_and_only_a_masked_key(run, isolated_env):
    code, out, _ = run("locate")
    assert code == 0
    assert (
        str(isolated_env["config"]) in out
        and str(isolated_env["data"]) in out
        and str(isolated_env["downloads"]) in out
        and str(isolated_env["state"] / "evolink-tui.log") in out
    )
    assert "sk-…WXYZ" in out


def test_server_strings_are_printed_inert(run, sim):
    sim.faults = FaultPlan.parse("fail:unknown_error*1")
    code, out, err = run("generate", "evil \x1b]52;c;aGFjaw==\x07 prompt [bold]x[/]")
    assert "\x1b]52" not in out + err and "\x07" not in out + err


# -- real processes ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(args, env, timeout=60):
    return subprocess.run(
        [sys.executable, "-m", "evolink_tui", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def test_demo_generate_as_a_user_runs_it(isolated_env):
    result = _cli(["generate", "a lighthouse at dusk", "--demo", "--json"], dict(os.environ), timeout=120)
    assert result.returncode == 0, result.stderr
    assert "DEMO MODE" in result.stderr
    body = json.loads(result.stdout)
    assert body["status"] == "completed" and body["demo"] is True
    with Image.open(body["downloads"][0]) as image:
        image.load()


def test_the_same_commands_against_evolink_tui_simulator(isolated_env, tmp_path):
    port = _free_port()
    env = dict(os.environ, EVOLINK_SIM_SPEED="4")
    server = subprocess.Popen(
        [sys.executable, "-m", "evolink_tui", "simulator", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}"
        env = dict(os.environ, EVOLINK_BASE_URL=url, EVOLINK_FILES_BASE_URL=url, EVOLINK_API_KEY=TEST_KEY)
        result = _cli(["generate", "a lighthouse at dusk", "--model", "z-image-turbo", "--json"], env)
        assert result.returncode == 0, result.stderr
        body = json.loads(result.stdout)
        assert body["status"] == "completed" and Path(body["downloads"][0]).is_file()
        assert "demo" in body and body["demo"] is False
        bad = _cli(["generate", "x", "-n", "9"], env)
        assert bad.returncode == 2 and "Invalid n: 9" in bad.stderr
        ref = tmp_path / "r.png"
        ref.write_bytes(png_bytes())
        assert _cli(["upload", str(ref), "--json"], env).returncode == 0
        files = json.loads(_cli(["files", "--json"], env).stdout)
        assert files["quota"]["used_files"] == 1
        for out in (result.stdout, result.stderr):
            assert TEST_KEY not in out
    finally:
        server.terminate()
        server.wait(10)


@pytest.mark.parametrize(
    "args, expected",
    [
        (["generat", "a fox"], "invalid choice: 'generat' (choose from 'generate'"),  # the commands are named
        (["--demo", "--bogus"], "unrecognized arguments: --bogus"),
        (["--download-dir"], "--download-dir: expected one argument"),
        (["--demo", "--download-dir=/tmp/x", "models", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_the_command_line_refuses_what_it_does_not_know_before_opening_anything(args, expected, capsys):
    """Opening the app builds only the app's own options; anything else gets the whole
    command line, so a typo still hears which commands there are."""
    from evolink_tui.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2
    assert expected in capsys.readouterr().err
