"""Issue 11, point 8: the download folder is checked (exists or can be made, writable,
room for the results) before anything that costs credits is sent."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from evolink_tui.simulator import FaultPlan


def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process cannot create files in: read-only for a normal user; for root
    (who writes anywhere) a sysfs folder, which refuses new files even to root."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    for candidate in (Path("/sys/kernel"), Path("/proc/self")):
        try:
            fd, name = tempfile.mkstemp(dir=candidate)
        except OSError:
            return candidate
        os.close(fd)
        os.unlink(name)
    pytest.skip("running as root with no folder that refuses root's writes (no /sys, /proc): cannot test")


def _bad_folders(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    a_file = tmp_path / "a-file.png"
    a_file.write_bytes(b"not a folder")
    return {
        "a file": (a_file, "not a folder"),
        "below a file": (a_file / "downloads", "cannot be made"),
        "unwritable": (_unwritable_folder(tmp_path), "cannot write"),
    }


@pytest.mark.parametrize("case", ["a file", "below a file", "unwritable"])
def test_generate_checks_the_download_folder_before_it_submits(run, sim, tmp_path, case):
    folder, words = _bad_folders(tmp_path)[case]
    code, out, err = run("generate", "a lighthouse", "--model", "z-image-turbo", "--download-dir", str(folder))
    assert code == 2, err
    assert str(folder) in err and words in err and "download" in err
    assert sim.count("submit") == 0 and sim.charges == 0


def test_resend_checks_the_download_folder_before_it_submits(run, sim, tmp_path):
    sim.faults = FaultPlan.parse("drop@submit")
    assert run("generate", "a lighthouse", "--model", "z-image-turbo")[0] == 1
    sim.faults = FaultPlan.parse("")
    submits = sim.count("submit")
    folder, _ = _bad_folders(tmp_path)["a file"]
    code, out, err = run("resume", "--resend", "1", "--download-dir", str(folder))
    assert code == 2 and "not a folder" in err
    assert sim.count("submit") == submits and sim.charges == 0


def test_a_folder_that_does_not_exist_yet_is_made_and_used(run, sim, tmp_path):
    folder = tmp_path / "new" / "deeper"
    code, out, err = run("generate", "a lighthouse", "--model", "z-image-turbo", "--download-dir", str(folder))
    assert code == 0, err
    assert [p.suffix for p in sorted(folder.iterdir())] == [".json", ".png"]  # no probe left behind


def test_not_enough_room_is_a_problem(tmp_path):
    from evolink_tui.core.preflight import download_folder_problem

    problem = download_folder_problem(tmp_path, need_bytes=1 << 62)
    assert problem is not None and "free" in problem and str(tmp_path) in problem
    assert download_folder_problem(tmp_path) is None
    assert list(tmp_path.iterdir()) == []
