"""Responsiveness: the event loop while eight 2048x2048 results arrive, and keys typed meanwhile.

Figure 4 of the performance issue. The real app on a pseudo-terminal, pointed at a loopback
simulator in its own process that draws 2048x2048 results (PNG for gpt/z-image, JPEG for
doubao). Inside the app a 5 ms sleeper measures how late it wakes (the loop's stalls):
first for a few seconds of idle (the reference), then while one comparison run of four
models with n=2 is submitted, polled, and its eight results downloaded, verified with
Pillow and drawn as thumbnails in the preview. Meanwhile this process types a sentence
into the terminal, one key every 40 ms; the prompt must end up holding exactly that text.
"""

from __future__ import annotations

import json
import shutil
import time

from common import app_env_for, hermetic_env, spawn, start_simulator, temp_folder

MODELS = ("gpt-image-1.5", "doubao-seedream-4.5", "z-image-turbo", "doubao-seedream-4.0")
TEXT = "keys typed while eight large results arrive stay in order 0123456789"


def measure_responsiveness(idle: float = 3.0, key_gap: float = 0.04) -> dict:
    folder = temp_folder("burst")
    sim = start_simulator(hermetic_env(folder), EVOLINK_SIM_IMAGE_SIZE="2048", EVOLINK_SIM_SPEED="4")
    try:
        child = spawn(
            [
                "app",
                "burst",
                "--models",
                ",".join(MODELS),
                "--n",
                "2",
                "--idle",
                str(idle),
                "--expect",
                TEXT,
                "--timeout",
                "120",
            ],
            app_env_for(folder, sim),
        )
        try:
            child.next("frame", timeout=60)
            child.next("burst-start", timeout=idle + 30)
            for char in TEXT:
                child.type(char)
                time.sleep(key_gap)
            report = child.next("burst", timeout=150)
        finally:
            child.wait()
    finally:
        sim.stop()
        shutil.rmtree(folder, ignore_errors=True)
    formats = sorted({path.rsplit(".", 1)[-1] for path in report["files"]})
    return {
        "idle": report["idle"],
        "busy": report["busy"],
        "seconds": report["seconds"],
        "completed": report["completed"],
        "results": len(report["files"]),
        "formats": formats,
        "thumbnails": report["thumbnails"],
        "failed_thumbnails": report["failed_thumbnails"],
        "typed_in_order": report["typed"] == TEXT,
        "typed": report["typed"],
        "states": report.get("states"),
    }


if __name__ == "__main__":
    print(json.dumps(measure_responsiveness(), indent=1))
