"""Idle cost: CPU over a 30 s window, from /proc, for three programs side by side.

Figure 2 of the performance issue. The app with 20 tasks polling (a loopback simulator in
its own process, slowed down so every task is still running when the window closes),
the app with nothing running, and a bare Textual app, all on pseudo-terminals, measured
over the same window. Then each is asked to quit and lists its running repeating timers:
with nothing running only a clock may tick (the 1 s clock that ages the task list; the
prompt's blinking cursor is Textual's and is listed apart).
"""

from __future__ import annotations

import json
import shutil
import time

from common import app_env_for, hermetic_env, spawn, start_simulator, temp_folder

ALLOWED_IDLE_TIMERS = {"MainScreen._tick"}  # the clock (the task list's ages and time left)
CURSOR_TIMERS = ("_toggle_cursor", "_on_blink", "blink")


def classify(timers: list[dict]) -> tuple[list[str], list[str], list[str]]:
    """(clock timers, cursor-blink timers, anything else) by callback name."""
    clock, cursor, other = [], [], []
    for timer in timers:
        name = timer["callback"]
        if any(name.endswith(allowed.split(".")[-1]) for allowed in ALLOWED_IDLE_TIMERS):
            clock.append(f"{name} every {timer['interval']:g} s")
        elif any(part in name for part in CURSOR_TIMERS) or timer["node"] in ("TextArea", "Input"):
            cursor.append(f"{timer['node']}.{name.split('.')[-1]} every {timer['interval']:g} s")
        else:
            other.append(f"{timer['node']}: {name} every {timer['interval']:g} s")
    return clock, cursor, other


def measure_idle(window: float = 30.0, tasks: int = 20, warmup: float = 12.0) -> dict:
    folders = {name: temp_folder(f"idle-{name}") for name in ("busy", "quiet", "bare")}
    # Speed 0.02: a normal model's 8 s become 400 s, so all 20 tasks poll for the whole window.
    sim = start_simulator(hermetic_env(folders["busy"]), EVOLINK_SIM_SPEED="0.02", EVOLINK_SIM_IMAGE_SIZE="64")
    children = {}
    try:
        children["busy"] = spawn(["app", "stay", "--tasks", str(tasks)], app_env_for(folders["busy"], sim))
        children["quiet"] = spawn(["app", "stay", "--demo"], hermetic_env(folders["quiet"]))
        children["bare"] = spawn(["bare", "stay"], hermetic_env(folders["bare"]))
        for child in children.values():
            child.next("frame", timeout=60)
        time.sleep(warmup)  # submits answered, first polls made, startup work done
        before = {name: child.cpu_seconds() for name, child in children.items()}
        started = time.monotonic()
        time.sleep(window)
        elapsed = time.monotonic() - started
        after = {name: child.cpu_seconds() for name, child in children.items()}
        reports = {}
        for name, child in children.items():
            child.quit()
            reports[name] = child.next("timers", timeout=30)
        for child in children.values():
            child.wait()
    finally:
        for child in children.values():
            if child.returncode is None:
                child.wait(timeout=1)
        sim.stop()
        for folder in folders.values():
            shutil.rmtree(folder, ignore_errors=True)
    result = {"window_s": elapsed}
    for name in children:
        result[name] = {
            "cpu_pct": 100 * (after[name] - before[name]) / elapsed,
            "timers": reports[name]["timers"],
            "running": reports[name].get("running"),
        }
    clock, cursor, other = classify(result["quiet"]["timers"])
    result["quiet"].update(clock=clock, cursor=cursor, other=other)
    return result


if __name__ == "__main__":
    print(json.dumps(measure_idle(), indent=1))
