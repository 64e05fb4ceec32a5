"""The headless core never imports textual; configuration and key handling."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from evolink_tui.core.config import (
    DEFAULT_BASE_URL,
    check_base_url,
    load_settings,
    mask_key,
    save_api_key,
)
from evolink_tui.core.errors import ValidationError

from .conftest import TEST_KEY


def test_core_and_headless_commands_never_import_textual():
    code = (
        "import sys\n"
        "import evolink_tui.core.catalogue, evolink_tui.core.validation, evolink_tui.core.client\n"
        "import evolink_tui.core.polling, evolink_tui.core.downloads, evolink_tui.core.history\n"
        "import evolink_tui.core.runner, evolink_tui.core.config, evolink_tui.core.thumbnails\n"
        "import evolink_tui.core.studio, evolink_tui.core.events, evolink_tui.core.rules, evolink_tui.core.dates\n"
        "import evolink_tui.headless, evolink_tui.cli, evolink_tui.simulator\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_key_from_env_wins_over_the_config_file(monkeypatch, isolated_env):
    save_api_key("sk-from-file-00000000aaaa")
    assert load_settings().api_key == "sk-from-file-00000000aaaa"
    monkeypatch.setenv("EVOLINK_API_KEY", TEST_KEY)
    settings = load_settings()
    assert settings.api_key == TEST_KEY and settings.key_source == "env"


def test_the_config_file_is_written_0600(isolated_env):
    path = save_api_key("sk-secret-1234567890abcd")
    assert path == isolated_env["config"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert "sk-secret-1234567890abcd" in path.read_text()


def test_keys_are_shown_masked():
    assert mask_key("sk-secret-1234567890abcd") == "sk-…abcd"
    assert mask_key("short") == "…"
    assert mask_key(None) == "(none)"


@pytest.mark.parametrize("url", ["http://api.evolink.ai", "http://10.0.0.5:8080", "ftp://x", "not a url"])
def test_plain_http_refused_except_loopback(url):
    with pytest.raises(ValidationError) as info:
        check_base_url("EVOLINK_BASE_URL", url)
    assert info.value.field == "EVOLINK_BASE_URL"


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8765", "http://localhost:1", "http://[::1]:9", "https://api.evolink.ai/"]
)
def test_https_and_loopback_http_allowed(url):
    assert check_base_url("EVOLINK_BASE_URL", url) == url.rstrip("/")


def test_defaults_and_overrides(monkeypatch, isolated_env, tmp_path):
    settings = load_settings()
    assert settings.base_url == DEFAULT_BASE_URL and settings.files_base_url == "https://files-api.evolink.ai"
    assert settings.download_dir == isolated_env["downloads"]
    assert load_settings(download_dir=tmp_path / "flag").download_dir == tmp_path / "flag"
    monkeypatch.delenv("EVOLINK_DOWNLOAD_DIR")
    assert load_settings().download_dir.name == "evolink"


def test_an_invalid_config_file_names_the_file_and_line_and_defaults_apply(isolated_env):
    path = isolated_env["config"]
    path.parent.mkdir(parents=True)
    path.write_text('theme = "nord"\napi_key = = broken\n')
    settings = load_settings()
    assert len(settings.warnings) == 1
    assert str(path) in settings.warnings[0] and "line 2" in settings.warnings[0]
    assert settings.api_key is None and settings.base_url == DEFAULT_BASE_URL


def test_demo_settings_need_no_key_and_never_point_at_real_hosts():
    settings = load_settings(demo=True)
    assert settings.demo and settings.has_key
    assert settings.base_url.endswith(".invalid") and settings.files_base_url.endswith(".invalid")
