"""Network economy: what 50 concurrent generations cost on the wire, counted by the simulator.

Figure 3 of the performance issue. 50 generations run at once through the core ``Runner``
on one ``EvolinkClient`` (its own pooled transport, as in the app) against the simulator
served by uvicorn on loopback, on the real clock. The simulator's request log gives, per
task, the submits, the polls with their times and the downloads, and for every request
the TCP connection it came on (client address and port).

Reference: the least the policy allows. One submit; the polls a zero-latency client
following ``PollPolicy`` would make for the task's actual duration (replayed against the
simulator's own timing); one download per result; and a single keep-alive connection.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections import defaultdict
from pathlib import Path

from common import KEY, temp_folder

# Mixed speeds (ultra-fast 2 s, fast 4 s, normal 8 s at speed 1) and numbers of results.
MODELS = ("z-image-turbo", "gemini-2.5-flash-image", "gpt-image-1.5", "doubao-seedream-4.5", "nano-banana-2-lite")
GAP_TOLERANCE = 0.05  # seconds: a poll may come this much early against min_interval (timer jitter)


def replay_polls(sim_task, policy) -> int:
    """How many reads a client that follows ``policy`` with no latency makes for this task."""
    from evolink_tui.core.wire import Task

    moment = sim_task.started + policy.initial_delay
    polls = 1
    while True:
        status, progress, eta = sim_task.phase(moment)
        if status in ("completed", "failed"):
            return polls
        task = Task(id=sim_task.id, status=status, progress=progress, estimated_time=eta)
        moment += policy.next_delay(polls, task)
        polls += 1


async def _generate(url: str, folder: Path, count: int) -> list:
    from evolink_tui.core.client import EvolinkClient
    from evolink_tui.core.config import Settings
    from evolink_tui.core.history import History
    from evolink_tui.core.runner import Runner
    from evolink_tui.core.validation import GenerationRequest

    settings = Settings(
        api_key=KEY,
        base_url=url,
        files_base_url=url,
        download_dir=folder / "downloads",
        config_path=folder / "config.toml",
        data_dir=folder / "data",
    )
    history = History(folder / "data" / "history.sqlite3")
    async with EvolinkClient(settings) as client:
        runner = Runner(client, history, settings.download_dir)
        ids = [
            runner.prepare(
                GenerationRequest(prompt=f"network economy {i}", model=MODELS[i % len(MODELS)], n=1 + (i % 3 == 0))
            )
            for i in range(count)
        ]
        records = await asyncio.gather(*(runner.run(record_id) for record_id in ids))
    history.close()
    return records


def measure_network(count: int = 50) -> dict:
    from evolink_tui.core.polling import PollPolicy
    from evolink_tui.simulator import create_app, serve_in_thread

    policy = PollPolicy()
    folder = temp_folder("network")
    app = create_app(image_long_side=64, speed=1.0, environ={})
    sim = app.state.sim
    try:
        with serve_in_thread(app) as server:
            records = asyncio.run(_generate(server.url, folder, count))
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    log = sim.requests
    submits = defaultdict(int)
    polls = defaultdict(list)
    downloads = defaultdict(int)
    for request in log:
        if request["endpoint"] == "submit":
            submits[request["idempotency_key"]] += 1
        elif request["endpoint"] == "poll":
            polls[request["path"].rsplit("/", 1)[1]].append(request["time"])
        elif request["endpoint"] == "download":
            downloads[request["path"]] += 1
    problems: list[str] = []
    total = {"submits": 0, "polls": 0, "downloads": 0, "results": 0, "min_polls": 0}
    for record in records:
        if record.state != "completed" or len(record.files) != len(record.results):
            problems.append(f"record {record.id} ended {record.state} with {len(record.files)} files")
        task = sim.tasks.get(record.task_id or "")
        if task is None:
            problems.append(f"record {record.id}: no task on the simulator")
            continue
        sent = submits[record.idempotency_key]
        times = sorted(polls[task.id])
        fetched = [downloads[f"/results/{task.id}/{i}.{task.extension}"] for i in range(task.n)]
        total["submits"] += sent
        total["polls"] += len(times)
        total["downloads"] += sum(fetched)
        total["results"] += task.n
        total["min_polls"] += replay_polls(task, policy)
        if sent != 1:
            problems.append(f"{task.id}: {sent} submits")
        if any(f != 1 for f in fetched):
            problems.append(f"{task.id}: downloads per result {fetched}")
        if not 1 <= len(times) <= policy.max_polls():
            problems.append(f"{task.id}: {len(times)} polls")
        gaps = [b - a for a, b in zip([task.started, *times], times, strict=False)]
        if gaps and gaps[0] < policy.initial_delay - GAP_TOLERANCE:
            problems.append(f"{task.id}: first poll after {gaps[0]:.2f} s")
        if any(gap < policy.min_interval - GAP_TOLERANCE for gap in gaps[1:]):
            problems.append(f"{task.id}: polls {min(gaps[1:]):.2f} s apart")
        if times and (times[-1] < task.finished_at or (len(times) > 1 and times[-2] >= task.finished_at)):
            problems.append(f"{task.id}: polls do not end with the one that saw it finished")
    connections: dict[str, set] = defaultdict(set)
    for request in log:
        connections[request["host"]].add(request["client"])
    per_host = {host: len(clients) for host, clients in connections.items()}
    return {
        "tasks": len(records),
        "requests": len(log),
        **total,
        "connections_per_host": per_host,
        "max_connections": max(per_host.values(), default=0),
        "problems": problems,
    }


if __name__ == "__main__":
    print(json.dumps(measure_network(), indent=1))
