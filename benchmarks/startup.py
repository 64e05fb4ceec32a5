"""Startup and history scale: the real app on a pseudo-terminal against a bare Textual app.

Figures 1 and 6 of the performance issue. Every run is a fresh process timed from just
before ``Popen`` to the moment the child reports its first full frame (see harness.py),
so interpreter start, imports, compose, history and drawing all count. The two programs
alternate so that a noisy neighbour hurts both alike; medians of ``runs`` each.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from common import Child, hermetic_env, median, spawn, temp_folder

MODELS = ("gpt-image-1.5", "doubao-seedream-4.5", "gemini-2.5-flash-image", "z-image-turbo", "gpt-4o-image")


def first_frame(args: list[str], env: dict[str, str]) -> tuple[float, float, dict]:
    """(ms to the first full frame, peak RSS in MB, the frame report) of one run."""
    child: Child = spawn(args, env)
    try:
        report = child.next("frame", timeout=60)
    finally:
        child.wait()
    return (report["at"] - child.started) * 1000, child.peak_rss_mb, report


def compare(runs: int, variants: dict[str, tuple[list[str], dict[str, str]]]) -> dict[str, dict]:
    """Run each variant ``runs`` times, interleaved, after one unmeasured warm-up each."""
    for args, env in variants.values():
        first_frame(args, env)  # warm the file cache, create the history file
    samples: dict[str, list[tuple[float, float, dict]]] = {name: [] for name in variants}
    for _ in range(runs):
        for name, (args, env) in variants.items():
            samples[name].append(first_frame(args, env))
    return {
        name: {
            "ms": median(s[0] for s in runs_),
            "all_ms": [round(s[0], 1) for s in runs_],
            "rss_mb": max(s[1] for s in runs_),
            "modules": sorted({m for s in runs_ for m in s[2].get("modules", [])}),
            "rows": runs_[-1][2].get("rows"),
            "keys": min(s[2].get("keys", 0) for s in runs_),  # the fewest keys on the bar at that frame
        }
        for name, runs_ in samples.items()
    }


def measure_startup(runs: int = 5) -> dict:
    folder = temp_folder("startup")
    try:
        env = hermetic_env(folder)
        result = compare(runs, {"bare": (["bare", "startup"], env), "app": (["app", "startup", "--demo"], env)})
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return result


# -- history at scale ----------------------------------------------------------------------------


def sample_images(folder: Path, count: int = 6) -> list[str]:
    """A few small result files for the seeded records to point at (JPEG and PNG)."""
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        image = Image.new("RGB", (512, 512), ((i * 70) % 256, (i * 130) % 256, (i * 40) % 256))
        ImageDraw.Draw(image).ellipse((64 + i * 20, 64, 400, 420), fill=(250 - i * 30, 200, 40 + i * 30))
        path = folder / f"seed-{i}.{'jpg' if i % 2 else 'png'}"
        image.save(path)
        paths.append(str(path))
    return paths


def seed_history(path: Path, count: int, images: list[str], *, now: float | None = None) -> None:
    """``count`` finished records (completed with files on disk, a few failed)."""
    from evolink_tui.core.history import History
    from evolink_tui.core.wire import Task

    now = now or time.time()
    history = History(path)
    db = history.open()._db()
    # Each write is its own transaction (update_task opens one); unsynced, seeding is quick.
    db.execute("PRAGMA synchronous=OFF")
    try:
        for i in range(count):
            model = MODELS[i % len(MODELS)]
            created = now - (count - i) * 240.0
            history._clock = lambda created=created: created
            body = {"prompt": f"seeded prompt {i}: a lighthouse at dusk, oil painting, number {i}", "model": model}
            if i % 3 == 0:
                body["size"] = "16:9"
            record_id = history.record_submission(body, f"run_seed{i:08d}")
            task_id = f"task-unified-{int(created)}-seed{i:05d}"
            failed = i % 17 == 0
            raw = {
                "id": task_id,
                "created": int(created),
                "model": model,
                "object": "image.generation.task",
                "status": "failed" if failed else "completed",
                "progress": 60 if failed else 100,
                "results": [] if failed else [f"https://files.example.invalid/results/{task_id}/0.png"],
                "task_info": {"can_cancel": False, "estimated_time": 0},
                "usage": {"billing_rule": "per_call", "credits_reserved": 4.0, "user_group": "default"},
            }
            if failed:
                raw["error"] = {"code": "content_policy_violation", "message": "The prompt was refused"}
            history._clock = lambda created=created: created + 9
            history.update_task(record_id, Task.parse(raw))
            if not failed:
                history.set_downloads(record_id, [images[i % len(images)]], "done", None)
    finally:
        history.close()


def history_folder(count: int, images: list[str]) -> Path:
    folder = temp_folder(f"history{count}")
    if count:
        seed_history(folder / "data" / "history-demo.sqlite3", count, images)
    return folder


def measure_history_startup(runs: int = 5, count: int = 10_000) -> dict:
    images_dir = temp_folder("images")
    images = sample_images(images_dir)
    empty, full = history_folder(0, images), history_folder(count, images)
    try:
        args = ["app", "startup", "--demo"]
        result = compare(runs, {"empty": (args, hermetic_env(empty)), "full": (args, hermetic_env(full))})
    finally:
        for folder in (empty, full, images_dir):
            shutil.rmtree(folder, ignore_errors=True)
    return result


def scroll_report(folder: Path, steps: int, key: str) -> dict:
    """One run's frame and step times while paging through the task list."""
    child = spawn(["app", "scroll", "--demo", "--steps", str(steps), "--key", key], hermetic_env(folder))
    try:
        child.next("frame", timeout=60)
        return child.next("scroll", timeout=60 + steps)
    finally:
        child.wait()


def scroll_summary(reports: list[dict]) -> dict:
    frames = sorted(f for report in reports for f in report["frames"])
    steps = sorted(step["cpu_ms"] for report in reports for step in report["steps"])
    return {
        "frame_median_ms": median(frames),
        "frame_p95_ms": frames[int(0.95 * (len(frames) - 1))],
        "frame_max_ms": frames[-1],
        "frames": len(frames),
        "step_median_ms": median(steps),
        "steps": len(steps),
        "rows": reports[-1]["rows"],
        "cursor": reports[-1]["cursor"],
    }


def measure_scroll(
    steps: int = 120, count: int = 10_000, small: int = 30, key: str = "pagedown", rounds: int = 2
) -> dict:
    """Frame times while paging down the task list: ``count`` records against ``small``, the two
    taking turns ``rounds`` times; every frame of a size's runs pooled."""
    images_dir = temp_folder("images")
    images = sample_images(images_dir)
    folders = {"full": history_folder(count, images), "small": history_folder(small, images)}
    reports: dict[str, list[dict]] = {name: [] for name in folders}
    try:
        for _ in range(rounds):
            for name, folder in folders.items():
                reports[name].append(scroll_report(folder, steps, key))
        return {name: scroll_summary(runs) for name, runs in reports.items()}
    finally:
        for folder in (*folders.values(), images_dir):
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    print(
        json.dumps(
            {"startup": measure_startup(3), "history": measure_history_startup(3), "scroll": measure_scroll(60)},
            indent=1,
        )
    )
