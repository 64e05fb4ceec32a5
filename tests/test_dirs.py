"""The user's folders (core/dirs.py) are platformdirs' answers, case by case: the common Linux
cases answered without loading platformdirs, the rest handed to it."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import platformdirs
import pytest

from evolink_tui.core import dirs

APP = "evolink-tui"
KINDS = ("config", "data", "cache", "state")
VARIABLES = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_PICTURES_DIR")

pytestmark = pytest.mark.skipif(
    sys.platform != "linux", reason="the own answers are Linux's; elsewhere platformdirs answers"
)


def reference(kind: str) -> str:
    if kind == "pictures":
        return platformdirs.user_pictures_dir()
    return getattr(platformdirs, f"user_{kind}_dir")(APP, appauthor=False)


def ours(kind: str) -> str:
    return dirs.user_pictures_dir() if kind == "pictures" else dirs.user_dir(kind, APP)


@pytest.fixture
def home(tmp_path, monkeypatch):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    return folder


CASES = {
    "nothing set: the defaults under HOME": {},
    "absolute variables": {name: f"/srv/{name.lower()}" for name in VARIABLES},
    "relative variables are ignored": {name: f"rel/{name.lower()}" for name in VARIABLES},
    "empty variables are ignored": {name: "" for name in VARIABLES},
    "a HOME with a slash at the end": {"HOME": "@/"},
    "a HOME of /": {"HOME": "/"},
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("kind", (*KINDS, "pictures"))
def test_each_folder_is_the_one_platformdirs_gives(case, kind, home, monkeypatch):
    for name, value in CASES[case].items():
        monkeypatch.setenv(name, value.replace("@", str(home)))
    assert ours(kind) == reference(kind)


def test_the_pictures_folder_named_in_user_dirs_is_read_as_platformdirs_reads_it(home):
    """A desktop's user-dirs.dirs (a localised Pictures, say) is platformdirs' to read, with
    its checks of who may have written the file: ours gives the same folder."""
    config = home / ".config"
    config.mkdir(mode=0o700)
    user_dirs = config / "user-dirs.dirs"
    user_dirs.write_text('XDG_PICTURES_DIR="$HOME/Bilder"\n')
    user_dirs.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert ours("pictures") == reference("pictures") == f"{home}/Bilder"


def test_a_relative_home_is_left_to_platformdirs(home, monkeypatch):
    monkeypatch.setenv("HOME", "not/absolute")
    for kind in (*KINDS, "pictures"):
        assert ours(kind) == reference(kind)


def test_the_common_case_does_not_load_platformdirs(home):
    """What the headless commands' start rests on: with HOME and no user-dirs.dirs, asking
    every folder leaves platformdirs unloaded."""
    probe = "import sys; from evolink_tui.core import dirs; " + (
        "[dirs.user_dir(k, 'x') for k in ('config', 'data', 'cache', 'state')]; dirs.user_pictures_dir(); "
        "print('platformdirs' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=dict(os.environ), timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
