"""Shared fixtures: every test gets its own config, data and download dirs; the simulator
is served on a real loopback port; nothing reaches beyond loopback."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from evolink_tui.core.client import EvolinkClient, RetryPolicy
from evolink_tui.core.config import load_settings
from evolink_tui.simulator import FakeClock, create_app, serve_in_thread

TEST_KEY = "sk-test-0123456789abcdefWXYZ"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """No test sees the user's config, key, history or pictures."""
    for name in list(os.environ):
        if name.startswith("EVOLINK_"):
            monkeypatch.delenv(name, raising=False)
    paths = {
        "config": tmp_path / "config" / "config.toml",
        "data": tmp_path / "data",
        "downloads": tmp_path / "downloads",
        "state": tmp_path / "state",
    }
    monkeypatch.setenv("EVOLINK_TUI_CONFIG", str(paths["config"]))
    monkeypatch.setenv("EVOLINK_TUI_DATA_DIR", str(paths["data"]))
    monkeypatch.setenv("EVOLINK_DOWNLOAD_DIR", str(paths["downloads"]))
    monkeypatch.setenv("EVOLINK_TUI_STATE_DIR", str(paths["state"]))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("EVOLINK_TUI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.setenv("NO_PROXY", "*")
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    return paths


@pytest.fixture(scope="session")
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def sim_server(fake_clock: FakeClock):
    """The simulator on a real loopback port, driven by the shared fake clock."""
    app = create_app(clock=fake_clock, environ={})
    server = serve_in_thread(app)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def live_server():
    """A simulator on loopback with the real clock, for real processes a test starts (and kills)."""
    app = create_app(environ={}, image_long_side=128)
    server = serve_in_thread(app)
    yield server
    server.stop()


def quiet(state, timeout: float = 120.0) -> None:
    """Wait until the simulator answers no request: an answer a slow fault held open for an
    earlier test (whose client gave up on it) would otherwise land after the reset, as a task
    of this test. The timeout is only a safety net (an answer takes seconds at most)."""
    deadline = time.monotonic() + timeout
    while state.in_flight:
        if time.monotonic() > deadline:
            raise AssertionError(f"the simulator still answers {state.in_flight} request(s) of an earlier test")
        time.sleep(0.02)


@pytest.fixture
def sim(sim_server):
    """The simulator's state, reset for this test (once no earlier request is in flight)."""
    state = sim_server.app.state.sim
    quiet(state)
    state.reset()
    state.speed = 1.0
    return state


@pytest.fixture
def server_env(sim_server, sim, monkeypatch: pytest.MonkeyPatch):
    """Environment pointing the app at the loopback simulator, as a user would set it."""
    monkeypatch.setenv("EVOLINK_API_KEY", TEST_KEY)
    monkeypatch.setenv("EVOLINK_BASE_URL", sim_server.url)
    monkeypatch.setenv("EVOLINK_FILES_BASE_URL", sim_server.url)
    return sim_server.url


@pytest.fixture
def settings(server_env):
    return load_settings()


@pytest.fixture
def run(server_env, fake_clock, monkeypatch, capsys):
    """Run ``evolink-tui ARGS`` in-process against the loopback simulator with the shared fake
    clock: (exit code, stdout, stderr). The key never appears in either stream."""
    from evolink_tui.cli import main

    monkeypatch.setattr("evolink_tui.core.client.RealClock", lambda: fake_clock)

    def call(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        captured = capsys.readouterr()
        assert TEST_KEY not in captured.out and TEST_KEY not in captured.err
        return code, captured.out, captured.err

    return call


@pytest.fixture
def history(tmp_path, fake_clock):
    """A history database of this test's own, timed by the shared fake clock."""
    from evolink_tui.core.history import History

    h = History(tmp_path / "data" / "history.sqlite3", clock=fake_clock.now)
    yield h
    h.close()


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock of the test's own (tests that seed a history move it)."""
    return FakeClock(1_800_000_000.0)


@pytest.fixture
def past(tmp_path, clock):
    """A history of the test's own, stamped by ``clock`` (seed it with tests/history_seed.py)."""
    from evolink_tui.core.history import History

    h = History(tmp_path / "past" / "history.sqlite3", clock=clock.now)
    yield h
    h.close()


@pytest.fixture
async def client(settings, fake_clock):
    c = EvolinkClient(
        settings, clock=fake_clock, retry=RetryPolicy(attempts=4, base_delay=0.5, jitter=0.0), timeout=5.0
    )
    yield c
    await c.aclose()


def png_bytes(width: int = 64, height: int = 48, color=(200, 30, 30), fmt: str = "PNG") -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture
def png_file(tmp_path: Path) -> Path:
    path = tmp_path / "ref.png"
    path.write_bytes(png_bytes())
    return path
