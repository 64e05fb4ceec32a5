"""Headless commands against a bare ``python -c pass``, in alternating pairs.

    python benchmarks/commands.py [--pairs N]

Each command runs as the user runs it (the installed ``evolink-tui`` script, a fresh
process, output to /dev/null) right after a ``python -c pass`` of the same interpreter,
pair after pair, so a busy neighbour weighs on both; the figure is the median of each
side. The floor is ``python -c "import argparse, json, pathlib"`` timed the same way: the
standard library such a command needs before any code of its own; a second floor is what
``history`` needs of it (argparse with one subcommand parsed, json, sqlite3; no pathlib). ``history`` reads a
history of 200 finished tasks seeded beforehand; ``locate`` prints every path in use.
Budget (issue 17): each within 3x the bare interpreter.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

from common import hermetic_env, median, temp_folder
from outside import app_argv

COMMANDS = {"models --json": ["models", "--json"], "history": ["history"], "locate": ["locate"]}
# What any such command needs from the standard library before it does anything of its own:
# its arguments parsed, JSON written, paths handled. Timed the same way, as the floor under
# the commands' figures.
FLOOR = "import argparse, json, pathlib"
# What `history` needs from the standard library, with none of its own code: argparse and json
# (not pathlib: its paths are strings), sqlite3 loaded, and a command line with one subcommand
# parsed (argparse's first parse compiles its patterns and looks up its messages' translations).
FLOOR_HISTORY = (
    "import argparse, json, sqlite3; parser = argparse.ArgumentParser(); "
    "parser.add_subparsers(dest='command').add_parser('history').add_argument('--limit'); "
    "parser.parse_args(['history'])"
)
FLOORS = {"floor": FLOOR, "floor-history": FLOOR_HISTORY}
SEEDED = 200


def _ms(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    took = (time.perf_counter() - started) * 1000
    if done.returncode:
        raise RuntimeError(f"{' '.join(argv[1:])} exited {done.returncode}: {done.stderr.decode()[-300:]}")
    return took


def measure_commands(pairs: int = 21) -> dict:
    from startup import sample_images, seed_history

    folder = temp_folder("commands")
    try:
        env = hermetic_env(folder)
        seed_history(folder / "data" / "history.sqlite3", SEEDED, sample_images(folder / "images"))
        app = app_argv()
        bare = [sys.executable, "-c", "pass"]
        for args in COMMANDS.values():  # warm-up: bytecode written, files cached
            _ms(bare, env), _ms([*app, *args], env)
        result = {}
        for name, args in COMMANDS.items():
            times: dict[str, list[float]] = {"bare": [], "command": []}
            for _ in range(pairs):
                times["bare"].append(_ms(bare, env))
                times["command"].append(_ms([*app, *args], env))
            result[name] = {side: median(values) for side, values in times.items()}
            result[name]["pairs"] = pairs
        for name, code in FLOORS.items():
            times = {"bare": [], "command": []}
            for _ in range(pairs):
                times["bare"].append(_ms(bare, env))
                times["command"].append(_ms([sys.executable, "-c", code], env))
            result[name] = {side: median(values) for side, values in times.items()}
            result[name]["pairs"] = pairs
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return result


if __name__ == "__main__":
    pairs = int(sys.argv[sys.argv.index("--pairs") + 1]) if "--pairs" in sys.argv else 21
    print(json.dumps(measure_commands(pairs), indent=1))
