"""Scenario 10 (``wave.py``) for two or more code trees in the same run, taking turns:

    git worktree add /tmp/before main      # or any checkout of the tree to compare
    python benchmarks/wave_ab.py 2 before=/tmp/before after=.

Each tree's app runs with ``PYTHONPATH`` set to its tree (the simulator is this tree's); per
round and tree: one run typing through 200 tasks completing, one with no tasks (as many
keys), then 200 tasks polling for 30 s beside the same app with no tasks. Prints a JSON line
per round and tree, then each tree's p95 over all its rounds, its ratio to its own no-task
reference, and its median polling CPU.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import wave  # benchmarks/wave.py (this folder comes first on sys.path), not the standard library's
from pathlib import Path

from common import hermetic_env, median, start_simulator, temp_folder


def _env_for(tree: str):
    plain = wave.app_env_for
    return lambda folder, sim, **extra: {**plain(folder, sim, **extra), "PYTHONPATH": tree}


def main(rounds: int, trees: dict[str, str]) -> None:
    out = {name: {"busy": [], "none": [], "poll": [], "results": []} for name in trees}
    for round_ in range(rounds):
        for name, tree in trees.items():
            wave.app_env_for = _env_for(tree)
            folder = temp_folder("ab-sim")
            sim = start_simulator(hermetic_env(folder), EVOLINK_SIM_SPEED="0.5", EVOLINK_SIM_IMAGE_SIZE="64")
            try:
                busy = wave.completing_run(sim, wave.TASKS, None, 0.5)
                none = wave.completing_run(sim, 0, busy["keys"], 0.5)
            finally:
                sim.stop()
                shutil.rmtree(folder, ignore_errors=True)
            polling = wave.measure_polling(30.0)
            kept = out[name]
            kept["busy"] += busy["echoes"]
            kept["none"] += none["echoes"]
            kept["results"].append(busy["results"])
            kept["poll"].append(polling["busy"]["cpu_pct"])
            line = {"round": round_, "tree": name, "busy_p95": wave.p95(busy["echoes"])}
            line |= {"none_p95": wave.p95(none["echoes"])}
            line |= {"results": busy["results"], "wave_s": busy["wave_s"], "poll_cpu": polling["busy"]["cpu_pct"]}
            print(json.dumps(line | {"running": polling["running"], "load1": os.getloadavg()[0]}), flush=True)
    for name, kept in out.items():
        busy_p95, none_p95 = wave.p95(kept["busy"]), wave.p95(kept["none"])
        line = {"tree": name, "busy_p95": busy_p95, "none_p95": none_p95, "ratio": busy_p95 / none_p95}
        line |= {"busy_median": median(kept["busy"]), "none_median": median(kept["none"])}
        print(json.dumps(line | {"results": kept["results"], "poll_cpu_median": median(kept["poll"])}), flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main(int(sys.argv[1]), {name: str(Path(tree).resolve()) for name, tree in (a.split("=", 1) for a in sys.argv[2:])})
