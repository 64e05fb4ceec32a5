"""What the HTTP client alone costs for scenario 10's polling: ``EvolinkClient.get_task`` for 200
tasks, each polled every 5 s (spread over the 5 s, as the app's tasks are), against a loopback
simulator in its own process (niced), no history and no screen; CPU over a window.

    python benchmarks/client_floor.py [SECONDS]

The app's own work for 200 polling tasks is its figure less this one.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import time

from common import KEY, hermetic_env, start_simulator, temp_folder

TASKS = 200
EVERY = 5.0  # seconds between two polls of a task (PollPolicy's longest, as in scenario 10)


async def measure(url: str, window: float) -> dict:
    from evolink_tui.core.config import Settings
    from evolink_tui.core.validation import GenerationRequest
    from evolink_tui.runtime import make_client

    client = make_client(Settings(api_key=KEY, base_url=url, files_base_url=url))
    request = GenerationRequest(model="gpt-image-1.5", prompt="a lighthouse at dusk")
    ids = [(await client.submit(request)).id for _ in range(TASKS)]
    polls = 0

    async def poll(task_id: str, place: int) -> None:
        nonlocal polls
        await asyncio.sleep(EVERY * place / TASKS)
        while True:
            await client.get_task(task_id, from_server=True)
            polls += 1
            await asyncio.sleep(EVERY)

    pollers = [asyncio.create_task(poll(task_id, place)) for place, task_id in enumerate(ids)]
    await asyncio.sleep(EVERY + 1)  # every task polled once
    cpu, done, began = time.process_time(), polls, time.monotonic()
    await asyncio.sleep(window)
    cpu, done, elapsed = time.process_time() - cpu, polls - done, time.monotonic() - began
    for poller in pollers:
        poller.cancel()
    await asyncio.gather(*pollers, return_exceptions=True)
    await client.aclose()
    return {"cpu_pct": 100 * cpu / elapsed, "polls_per_s": done / elapsed, "ms_per_poll": 1000 * cpu / max(1, done)}


def measure_floor(window: float = 30.0) -> dict:
    folder = temp_folder("client-floor")
    # Speed 0.02: the model's 8 s become 400 s, so every task polls for the whole window.
    sim = start_simulator(hermetic_env(folder), EVOLINK_SIM_SPEED="0.02", EVOLINK_SIM_IMAGE_SIZE="64")
    try:
        return asyncio.run(measure(sim.url, window))
    finally:
        sim.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    print(json.dumps(measure_floor(float(sys.argv[1]) if len(sys.argv) > 1 else 30.0)))
