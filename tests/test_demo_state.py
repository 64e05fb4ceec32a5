"""Demo mode keeps its simulated server's state between runs, like the real service does:
a task submitted in one run can be checked, resumed or finished in the next; an uploaded
file is still listed; the credits spent stay spent. Two runs at once share it safely, and
what the real service forgets (tasks a day after their results lapse, files after 72 h) is
forgotten here too."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from PIL import Image

from evolink_tui.cli import main
from evolink_tui.core.config import DEMO_API_KEY
from evolink_tui.runtime import DEMO_SERVER_FILE
from evolink_tui.simulator import FakeClock, create_app, demo_transport

from .conftest import png_bytes
from .support import history_rows, wait_for

DEMO_BASE = "https://api.evolink-demo.invalid"


@pytest.fixture
def demo(monkeypatch, capsys):
    """``evolink-tui --demo ARGS`` in-process, each call a fresh run (a new simulator, as a
    new process would build), on one fake clock: (exit code, stdout, stderr)."""
    clock = FakeClock()
    monkeypatch.setattr("evolink_tui.core.client.RealClock", lambda: clock)

    def call(*args: str) -> tuple[int, str, str]:
        code = main([*args, "--demo"])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    call.clock = clock
    return call


def test_a_task_submitted_in_one_run_is_checked_in_the_next(demo, isolated_env):
    code, out, err = demo("generate", "a lighthouse at dusk", "--no-wait", "--json")
    assert code == 0, err
    task_id = json.loads(out)["id"]
    code, out, err = demo("check", task_id, "--json")
    assert code == 0, err
    assert json.loads(out)["status"] in ("pending", "processing")
    demo.clock.advance(60)
    code, out, err = demo("check", task_id, "--json")
    body = json.loads(out)
    assert code == 0, err
    assert body["status"] == "completed" and body["id"] == task_id
    with Image.open(body["downloads"][0]) as image:
        image.load()
    assert (isolated_env["data"] / DEMO_SERVER_FILE).is_file()


def test_an_uploaded_file_is_listed_by_the_next_run_and_can_be_deleted(demo, png_file):
    code, out, err = demo("upload", str(png_file), "--name", "ref.png", "--json")
    assert code == 0, err
    file_id = json.loads(out)["file_id"]
    code, out, err = demo("files", "--json")
    listing = json.loads(out)
    assert code == 0 and listing["total"] == 1 and listing["quota"]["used_files"] == 1
    assert listing["files"][0]["file_id"] == file_id and listing["files"][0]["file_size"] == png_file.stat().st_size
    assert demo("delete", file_id)[0] == 0
    assert json.loads(demo("files", "--json")[1])["total"] == 0


def test_credits_spent_stay_spent_and_a_repeated_key_finds_its_task_after_a_restart(isolated_env):
    """The same idempotency key sent to a new run of the demo server answers the task the
    old run made (no second charge), as the real service does."""
    state = isolated_env["data"] / DEMO_SERVER_FILE
    clock = FakeClock()

    async def submit(app) -> dict:
        async with httpx.AsyncClient(transport=demo_transport(app), base_url=DEMO_BASE) as client:
            answer = await client.post(
                "/v1/images/generations",
                json={"prompt": "once only", "model": "z-image-turbo", "n": 2},
                headers={"Authorization": f"Bearer {DEMO_API_KEY}", "Idempotency-Key": "run_same"},
            )
            assert answer.status_code == 200, answer.text
            return answer.json()

    import asyncio

    first_app = create_app(clock=clock, environ={}, state_file=state)
    first = asyncio.run(submit(first_app))
    left = first_app.state.sim.remaining_credits
    second_app = create_app(clock=clock, environ={}, state_file=state)
    assert second_app.state.sim.remaining_credits == left < second_app.state.sim.balance
    again = asyncio.run(submit(second_app))
    assert again["id"] == first["id"]
    assert second_app.state.sim.remaining_credits == left and len(second_app.state.sim.tasks) == 1


def test_two_runs_at_once_share_the_state_without_losing_anything(isolated_env):
    """Two demo runs (the app and a command, say) submit and upload at the same time."""
    import asyncio

    state = isolated_env["data"] / DEMO_SERVER_FILE
    clock = FakeClock()
    apps = [create_app(clock=clock, environ={}, state_file=state) for _ in range(2)]
    errors: list[BaseException] = []

    async def work(app, tag: str) -> None:
        headers = {"Authorization": f"Bearer {DEMO_API_KEY}"}
        async with httpx.AsyncClient(transport=demo_transport(app), base_url=DEMO_BASE) as client:
            for i in range(15):
                answer = await client.post(
                    "/v1/images/generations",
                    json={"prompt": f"{tag} {i}", "model": "z-image-turbo"},
                    headers={**headers, "Idempotency-Key": f"run_{tag}_{i}"},
                )
                assert answer.status_code == 200, answer.text
                upload = await client.post(
                    "https://files-api.evolink-demo.invalid/api/v1/files/upload/base64",
                    json={"base64_data": _b64(png_bytes(8, 8, (i, 0, 0))), "file_name": f"{tag}-{i}.png"},
                    headers=headers,
                )
                assert upload.json()["success"], upload.text

    def thread(app, tag: str) -> None:
        try:
            asyncio.run(work(app, tag))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=thread, args=(app, tag)) for app, tag in zip(apps, "ab", strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    fresh = create_app(clock=clock, environ={}, state_file=state).state.sim
    assert len(fresh.tasks) == 30 and len(fresh.live_files()) == 30
    assert fresh.charges == 30 and fresh.remaining_credits == fresh.balance - 30 * 1.0  # z-image-turbo: 1 a task


def test_what_the_real_service_forgets_is_forgotten_and_the_file_stays_small(isolated_env):
    import asyncio

    state = isolated_env["data"] / DEMO_SERVER_FILE
    clock = FakeClock()
    app = create_app(clock=clock, environ={}, state_file=state)

    async def fill() -> str:
        headers = {"Authorization": f"Bearer {DEMO_API_KEY}"}
        async with httpx.AsyncClient(transport=demo_transport(app), base_url=DEMO_BASE) as client:
            task = await client.post(
                "/v1/images/generations", json={"prompt": "soon gone", "model": "z-image-turbo"}, headers=headers
            )
            await client.post(
                "https://files-api.evolink-demo.invalid/api/v1/files/upload/base64",
                json={"base64_data": _b64(_noise_png()), "file_name": "big.png"},
                headers=headers,
            )
            return task.json()["id"]

    task_id = asyncio.run(fill())
    clock.advance(25 * 3600)  # the task's result URLs lapsed a while ago: the task is forgotten
    later = create_app(clock=clock, environ={}, state_file=state).state.sim
    assert task_id not in later.tasks and len(later.live_files()) == 1
    clock.advance(48 * 3600)  # past the file's 72 hours
    latest = create_app(clock=clock, environ={}, state_file=state).state.sim
    assert latest.live_files() == [] and not latest.tasks
    for sim in (app.state.sim, later, latest):
        sim.close()
    on_disk = sum(p.stat().st_size for p in state.parent.glob(state.name + "*"))
    assert on_disk < 100_000  # the file's 700 KB went with it


def test_resume_finishes_what_a_killed_demo_run_left(isolated_env):
    """A real ``--demo generate`` killed mid-poll; ``--demo resume`` in a new process finishes it."""
    env = dict(os.environ, EVOLINK_SIM_SPEED="2", PYTHONUNBUFFERED="1")
    db = isolated_env["data"] / "history-demo.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-m", "evolink_tui", "generate", "a harbour at night", "--demo", "--json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        row = wait_for(lambda: next((r for r in history_rows(db) if r["task_id"]), None), "the task id in the history")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert row["state"] == "pending"
    result = subprocess.run(
        [sys.executable, "-m", "evolink_tui", "resume", "--demo", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [record] = json.loads(result.stdout)["records"]
    assert record["task_id"] == row["task_id"] and record["outcome"] == "completed"
    assert all(Path(p).is_file() for p in record["files"]) and record["files"]


def _noise_png() -> bytes:
    from io import BytesIO

    buffer = BytesIO()
    Image.frombytes("RGB", (480, 480), os.urandom(480 * 480 * 3)).save(buffer, "PNG")
    assert len(buffer.getvalue()) > 600_000
    return buffer.getvalue()


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


def test_a_damaged_state_file_is_moved_aside_and_the_demo_still_works(demo, isolated_env):
    state = isolated_env["data"] / DEMO_SERVER_FILE
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_bytes(b"this is not a database" * 100)
    code, out, err = demo("files", "--json")
    assert code == 0, err
    assert json.loads(out)["total"] == 0
    assert (isolated_env["data"] / (DEMO_SERVER_FILE + ".unusable")).read_bytes().startswith(b"this is not")


def test_the_standalone_simulator_refuses_a_state_file_it_cannot_use(tmp_path):
    """``evolink-tui simulator --state FILE`` with a file that is not its own: exit 2, the file untouched."""
    from evolink_tui.simulator.server import main as serve

    bad = tmp_path / "not-a-db"
    bad.write_bytes(b"x" * 4096)
    assert serve(["--port", "0", "--state", str(bad)]) == 2  # refused clearly, the file untouched
    assert bad.read_bytes() == b"x" * 4096
