"""Issue 11, point 9: an IPv6 loopback base URL works; plain http is allowed only for
literal loopback addresses (127.0.0.0/8, ::1) and ``localhost`` itself, never for a name
that a resolver could send anywhere (``anything.localhost``)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from evolink_tui.cli import main
from evolink_tui.core.config import check_base_url
from evolink_tui.core.errors import ValidationError
from evolink_tui.simulator import create_app, serve_in_thread

from .conftest import TEST_KEY


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.fixture
def ipv6_server(fake_clock):
    if not _has_ipv6_loopback():
        pytest.skip("this machine has no IPv6 loopback (::1) to serve on")
    server = serve_in_thread(create_app(clock=fake_clock, environ={}, image_long_side=64), host="::1")
    yield server
    server.stop()


def test_an_ipv6_loopback_base_url_works(ipv6_server, monkeypatch, capsys, fake_clock, isolated_env):
    assert ipv6_server.url.startswith("http://[::1]:")
    monkeypatch.setattr("evolink_tui.core.client.RealClock", lambda: fake_clock)
    monkeypatch.setenv("EVOLINK_API_KEY", TEST_KEY)
    monkeypatch.setenv("EVOLINK_BASE_URL", ipv6_server.url)
    monkeypatch.setenv("EVOLINK_FILES_BASE_URL", ipv6_server.url + "/")
    code = main(["generate", "a lighthouse", "--model", "z-image-turbo", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    [path] = json.loads(out)["downloads"]
    assert Path(path).is_file()
    assert main(["files", "--json"]) == 0
    sim = ipv6_server.app.state.sim
    assert sim.count("submit") == 1 and sim.count("download") == 1 and sim.count("list") == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://anything.localhost:8765",
        "http://evil.localhost",
        "http://localhost.evil.example",
        "http://127.0.0.1.nip.io",
        "http://[::ffff:7f00:1]:8765",
        "http://0x7f000001",
    ],
)
def test_plain_http_to_a_name_that_only_looks_local_is_refused(url):
    with pytest.raises(ValidationError):
        check_base_url("EVOLINK_BASE_URL", url)


@pytest.mark.parametrize(
    "url", ["http://localhost:8765", "http://LOCALHOST", "http://127.0.0.1:1", "http://127.8.9.10", "http://[::1]"]
)
def test_plain_http_to_literal_loopback_is_allowed(url):
    assert check_base_url("EVOLINK_BASE_URL", url) == url
