"""Demo results go to a folder of their own (Pictures/evolink-demo), never mixed with paid
results in Pictures/evolink; ``locate`` shows it; --download-dir and EVOLINK_DOWNLOAD_DIR
still win."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evolink_tui.cli import main
from evolink_tui.core.config import load_settings


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A home of this test's own, with no download folder chosen anywhere."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("EVOLINK_DOWNLOAD_DIR", raising=False)
    return home


def test_demo_results_have_their_own_folder(home, isolated_env):
    assert load_settings().download_dir == home / "Pictures" / "evolink"
    assert load_settings(demo=True).download_dir == home / "Pictures" / "evolink-demo"


def test_the_config_files_folder_is_for_real_results_only(home, isolated_env):
    isolated_env["config"].parent.mkdir(parents=True, exist_ok=True)
    isolated_env["config"].write_text(f'download_dir = "{home / "paid"}"\n')
    assert load_settings().download_dir == home / "paid"
    assert load_settings(demo=True).download_dir == home / "Pictures" / "evolink-demo"


def test_the_flag_and_the_environment_still_win(home, monkeypatch, tmp_path):
    assert load_settings(demo=True, download_dir=tmp_path / "flag").download_dir == tmp_path / "flag"
    monkeypatch.setenv("EVOLINK_DOWNLOAD_DIR", str(tmp_path / "env"))
    assert load_settings(demo=True).download_dir == tmp_path / "env"


def test_a_demo_generate_saves_there_and_locate_shows_it(home, capsys, monkeypatch):
    from evolink_tui.simulator import FakeClock

    clock = FakeClock()
    monkeypatch.setattr("evolink_tui.core.client.RealClock", lambda: clock)
    assert main(["generate", "a demo lighthouse", "--model", "z-image-turbo", "--demo", "--json"]) == 0
    saved = Path(json.loads(capsys.readouterr().out)["downloads"][0])
    assert saved.parent == home / "Pictures" / "evolink-demo" and saved.is_file()
    assert not (home / "Pictures" / "evolink").exists()
    assert main(["locate", "--demo"]) == 0
    out = capsys.readouterr().out
    assert f"downloads: {home / 'Pictures' / 'evolink-demo'}" in out
    assert main(["locate"]) == 0
    out = capsys.readouterr().out
    assert f"downloads: {home / 'Pictures' / 'evolink'}\n" in out
    assert str(home / "Pictures" / "evolink-demo") in out  # where --demo results go, said as well
