"""Web mode: `evolink-tui serve` in a real browser, and what serve refuses.

The browser test starts `evolink-tui serve --demo` on a free loopback port, drives the
system's headless Chromium with Playwright (never a browser of Playwright's own), types a
prompt, presses ctrl+j, reads the result off the page's terminal (the xterm.js buffer) and
checks that "Open" delivers the original PNG to the browser.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.async_api import async_playwright

from evolink_tui import cli
from evolink_tui.headless import web

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# textual-serve keeps its xterm.js Terminal in a closure. Its page assigns it with
# `this.terminal = new Terminal(...)`; a setter on Object.prototype, installed before the
# page's scripts run, catches that assignment (and then gets out of the way), so the test can
# read what the terminal shows through xterm's public buffer API.
CATCH_TERMINAL = """
Object.defineProperty(Object.prototype, 'terminal', {
  configurable: true,
  set(value) {
    Object.defineProperty(this, 'terminal', {value, writable: true, configurable: true, enumerable: true});
    if (value && value.buffer && value.buffer.active && !window.__xterm) window.__xterm = value;
  },
});
"""
SCREEN_TEXT = """() => {
  const term = window.__xterm;
  if (!term) return '';
  const buffer = term.buffer.active, rows = [];
  for (let y = 0; y < term.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    rows.push(line ? line.translateToString(true) : '');
  }
  return rows.join('\\n');
}"""


def find_chromium() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_server(proc: subprocess.Popen, url: str, log: Path, deadline: float = 30.0) -> None:
    """Until the server answers its page (or the process ends, or the deadline passes)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"serve did not answer {url} within {deadline:.0f}s:\n{log.read_text()}")


@pytest.fixture
def served(tmp_path: Path):
    """`evolink-tui serve --demo` on a free loopback port, with private config, data and downloads
    (a download folder with a space: the command textual-serve runs must quote it)."""
    port = free_port()
    downloads = tmp_path / "my downloads"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("EVOLINK_")},
        "EVOLINK_TUI_CONFIG": str(tmp_path / "config" / "config.toml"),
        "EVOLINK_TUI_DATA_DIR": str(tmp_path / "data"),
        "EVOLINK_SIM_SPEED": "4",
        "EVOLINK_SIM_IMAGE_SIZE": "256",
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "evolink_tui", "serve", "--demo", "--port", str(port), "--download-dir", downloads],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: the apps it starts stop with it
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(proc, url + "/", log)
        yield url, downloads, log
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


async def test_the_demo_in_a_real_browser_generates_and_opens_the_full_result(served, tmp_path: Path):
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no Chromium on this machine (install Debian's: apt-get install -y chromium; .ci/run does)")
    url, downloads, log = served
    outside: list[str] = []
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 800},
        )
        try:

            async def loopback_only(route):
                if route.request.url.startswith(url):
                    await route.continue_()
                else:  # textual-serve's page asks for a web font: nothing leaves this machine
                    outside.append(route.request.url)
                    await route.abort()

            await context.route("**/*", loopback_only)
            await context.add_init_script(CATCH_TERMINAL)
            page = context.pages[0] if context.pages else await context.new_page()
            await page.goto(url)

            async def screen_shows(text: str, timeout: float = 30_000) -> str:
                await page.wait_for_function(f"text => ({SCREEN_TEXT})().includes(text)", arg=text, timeout=timeout)
                return await page.evaluate(SCREEN_TEXT)

            await screen_shows("Generate (ctrl+j)")
            await page.locator(".xterm-helper-textarea").focus()
            await page.keyboard.type("a lighthouse in the browser")
            await page.keyboard.press("F8")  # the editor needs a terminal: the app says so, does nothing
            await screen_shows("cannot open in a browser session")
            await page.keyboard.press("Control+j")
            screen = await screen_shows("Saved 1 image")
            assert "gpt-image-1.5 · done" in screen
            assert "a lighthouse in the browser" in screen
            (result,) = downloads.glob("*.png")

            await page.keyboard.press("Escape")  # to the task list, whose keys include o Open
            await screen_shows("o Open")
            async with context.expect_event(
                "response", predicate=lambda response: "/download/" in response.url
            ) as delivery:
                await page.keyboard.press("o")
            response = await delivery.value
            body = await response.body()
            assert response.status == 200
            assert response.headers["content-type"].startswith("image/png")
            assert "Sent " in await screen_shows("to the browser")
        finally:
            await context.close()
    assert body == result.read_bytes()  # the original file, not a thumbnail or a re-encoding
    delivered, original = Image.open(io.BytesIO(body)), Image.open(result)
    assert delivered.format == "PNG"
    assert delivered.size == original.size
    assert delivered.convert("RGBA").tobytes() == original.convert("RGBA").tobytes()


def run_serve(capsys, *argv: str) -> tuple[int, str]:
    code = cli.main(["serve", *argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_serve_refuses_a_non_loopback_host_without_public(capsys):
    code, text = run_serve(capsys, "--host", "0.0.0.0")
    assert code == cli.EXIT_BAD_INPUT
    assert "Invalid --host: '0.0.0.0'" in text
    assert "--public" in text and "ssh -L 8000:127.0.0.1:8000" in text


@pytest.mark.parametrize("port", ["0", "65536", "http"])
def test_serve_refuses_a_bad_port(capsys, port):
    code, text = run_serve(capsys, "--port", port)
    assert code == cli.EXIT_BAD_INPUT
    assert f"Invalid --port: {port!r}" in text or f"Invalid --port: {port}" in text
    assert "1 to 65535" in text


def test_serve_without_textual_serve_says_how_to_install_it(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "textual_serve.server", None)  # as if the web extra were absent
    code, text = run_serve(capsys)
    assert code == cli.EXIT_BAD_INPUT
    assert "pip install 'evolink-tui[web]'" in text


class RecordingServer:
    """Stands in for textual-serve's Server where a test must not listen on a real address."""

    made: list[dict] = []

    def __init__(self, command: str, **options):
        RecordingServer.made.append({"command": command, **options})

    def serve(self) -> None:
        pass


def test_public_serve_warns_and_passes_the_app_options_through(capsys, monkeypatch, tmp_path):
    import textual_serve.server

    monkeypatch.setattr(textual_serve.server, "Server", RecordingServer)
    RecordingServer.made.clear()
    code, text = run_serve(
        capsys, "--host", "0.0.0.0", "--public", "--port", "9000", "--demo", "--download-dir", str(tmp_path / "a b")
    )
    assert code == cli.EXIT_OK
    assert "warning: serving on 0.0.0.0, not loopback" in text
    (made,) = RecordingServer.made
    assert made["host"] == "0.0.0.0" and made["port"] == 9000
    assert made["command"].endswith(f"-m evolink_tui --demo --download-dir '{tmp_path / 'a b'}'")
    assert made["public_url"] == "http://0.0.0.0:9000"


def test_the_browser_address_of_an_ipv6_host_is_bracketed():
    assert web.listen_url("::1", 8000) == "http://[::1]:8000"
