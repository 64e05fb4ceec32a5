"""Issue 11, point 5: whatever a server sends, memory stays bounded. Every answer is
counted after decompression as it streams and refused past its limit (API JSON a few
MB, results the download limit), with a clear error; the command's peak RSS, measured
in a real process against the loopback simulator's ``bomb`` fault, stays under 300 MB."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from evolink_tui.simulator import FaultPlan

from .conftest import TEST_KEY
from .test_faults import assert_no_broken_files

PEAK_LIMIT_MB = 300
# Runs the command line and reports the process's own peak resident size on stderr:
# VmHWM, the high-water mark of this program's memory (ru_maxrss would also count the
# parent's pages, which a forked child holds until it executes Python).
PROBE = """
import re, resource, sys
from evolink_tui.cli import main

def peak_kb():
    try:
        with open("/proc/self/status") as status:
            return int(re.search(r"VmHWM:\\s+(\\d+)", status.read()).group(1))
    except (OSError, AttributeError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

try:
    code = main(sys.argv[1:])
finally:
    sys.stderr.write(f"\\nPEAK_RSS_KB={peak_kb()}\\n")
raise SystemExit(code)
"""


@pytest.fixture
def live(live_server, isolated_env):
    sim = live_server.app.state.sim
    sim.reset()
    sim.speed = 20.0
    env = dict(
        os.environ,
        EVOLINK_BASE_URL=live_server.url,
        EVOLINK_FILES_BASE_URL=live_server.url,
        EVOLINK_API_KEY=TEST_KEY,
        PYTHONUNBUFFERED="1",
    )
    return sim, env, isolated_env


def measured(env, *args) -> tuple[subprocess.CompletedProcess, float]:
    """(the finished command, its peak RSS in MB)."""
    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, timeout=240)
    found = re.search(r"PEAK_RSS_KB=(\d+)", result.stderr)
    assert found, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert TEST_KEY not in result.stdout + result.stderr
    return result, int(found.group(1)) / 1024


def test_a_compression_bomb_as_a_poll_answer(live):
    sim, env, paths = live
    sim.faults = FaultPlan.parse("bomb:400@poll*5")  # 400 MB of JSON whitespace from a 400 KB body, every try
    result, peak = measured(env, "generate", "a lighthouse", "--model", "z-image-turbo", "--json")
    assert peak < PEAK_LIMIT_MB, f"peak {peak:.0f} MB"
    assert result.returncode == 1
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "too_large" and "after decompression" in error["message"]
    # The task is kept: once the server answers sanely, resume finishes it.
    result, peak = measured(env, "resume", "--json")
    assert result.returncode == 0, result.stderr
    [record] = json.loads(result.stdout)["records"]
    assert record["outcome"] == "completed" and len(record["files"]) == 1 and sim.charges == 1


def test_a_compression_bomb_as_the_submit_answer_leaves_it_uncertain(live):
    """Asked again with the same key (each try bounded); past the tries, uncertain."""
    sim, env, paths = live
    sim.faults = FaultPlan.parse("bomb:400@submit")  # every try of the submit
    result, peak = measured(env, "generate", "a lighthouse", "--model", "z-image-turbo", "--json")
    assert peak < PEAK_LIMIT_MB, f"peak {peak:.0f} MB"
    assert result.returncode == 1
    body = json.loads(result.stdout)
    assert body["uncertain"] is True and body["error"]["code"] == "too_large"
    sim.faults = FaultPlan.parse("")
    result, _ = measured(env, "resume", "--resend", "1", "--json")
    assert result.returncode == 0, result.stderr
    assert sim.charges == 1


@pytest.mark.parametrize(
    ("spec", "state"),
    [
        ("bomb:400@download*3", "refused"),  # one layer: counted, refused at the 100 MB limit
        ("bomb:1024x3@download*3", "refused"),  # three layers (a gigabyte from 241 bytes): not accepted at all
    ],
)
def test_a_compression_bomb_as_a_result(live, spec, state):
    sim, env, paths = live
    sim.faults = FaultPlan.parse(spec)
    result, peak = measured(env, "generate", "a lighthouse", "--model", "z-image-turbo", "--json")
    assert peak < PEAK_LIMIT_MB, f"peak {peak:.0f} MB"
    assert result.returncode == 1
    [failed] = json.loads(result.stdout)["download_errors"]
    assert "limit" in failed["error"]["message"] or "layer" in failed["error"]["message"]
    result, _ = measured(env, "history", "--json")
    [record] = json.loads(result.stdout)["records"]
    assert record["download_state"] == state and record["task_id"]
    assert_no_broken_files(paths["downloads"])


def test_one_oversized_answer_is_asked_for_again(live):
    sim, env, paths = live
    sim.faults = FaultPlan.parse("bomb:400@poll*1,bomb:400@submit*1")
    result, peak = measured(env, "generate", "a lighthouse", "--model", "z-image-turbo", "--json")
    assert peak < PEAK_LIMIT_MB, f"peak {peak:.0f} MB"
    assert result.returncode == 0, result.stderr
    assert "too_large" in result.stderr  # the retry note says why
    assert sim.charges == 1
