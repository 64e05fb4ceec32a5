"""Regenerate the SVG screenshots in screenshots/ from the demo (the built-in simulator).

    python scripts/make_screenshots.py [--out screenshots]

Runs the app headless at 100x30 against the in-process simulator with a clock that moves
only when told (so "mid-run" really is mid-run, and the same every time), in a throwaway
config/data/download directory: your own history and settings are never touched.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZE = (100, 30)


def _isolate(tmp: Path) -> None:
    for name in list(os.environ):
        if name.startswith("EVOLINK_"):
            del os.environ[name]
    os.environ["EVOLINK_TUI_CONFIG"] = str(tmp / "config.toml")
    os.environ["EVOLINK_TUI_DATA_DIR"] = str(tmp / "data")
    os.environ["EVOLINK_DOWNLOAD_DIR"] = str(tmp / "downloads")
    os.environ["EVOLINK_SIM_IMAGE_SIZE"] = "256"
    os.environ.pop("NO_COLOR", None)


async def _shoot(app, path: Path, title: str) -> None:
    app.clear_notifications()
    await asyncio.sleep(0.05)
    path.write_text(app.export_screenshot(title=title), "utf-8")
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


async def main_and_picker(out: Path) -> None:
    from tests.tui.helpers import StepClock, comparison_mid_run, demo_app, picker_marking_fast_models

    clock = StepClock()
    app = demo_app(clock)
    async with app.run_test(size=SIZE) as pilot:  # the same scenes as tests/tui/test_snapshots.py
        await comparison_mid_run(pilot, clock)
        await _shoot(app, out / "main-mid-run.svg", "evolink-tui: a comparison run in progress")
        await picker_marking_fast_models(pilot)
        await _shoot(app, out / "model-picker.svg", "evolink-tui: pick models (type to filter, space marks)")


async def comparison_and_gallery(out: Path) -> None:
    from evolink_tui.core.validation import GenerationRequest
    from evolink_tui.tui.screens.gallery import GalleryScreen
    from evolink_tui.tui.widgets.action_button import ActionButton
    from evolink_tui.tui.widgets.thumbnail import ThumbnailView
    from tests.tui.helpers import demo_app, finished, wait_until

    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.studio.client is not None)
        app.main.composer.fill(GenerationRequest("three moons over a desert", model="z-image-turbo", n=2))
        await pilot.press("ctrl+j")
        app.main.composer.fill(GenerationRequest("a koi pond seen from above"))
        app.main.composer.set_models(["gpt-image-1.5", "doubao-seedream-4.5", "nano-banana-2-lite"])
        await pilot.press("ctrl+j")
        await wait_until(pilot, finished(app, 4), timeout=30)
        drawn = lambda root: all(v.thumbnail is not None for v in root.query(ThumbnailView))  # noqa: E731
        await wait_until(pilot, lambda: len(app.main.preview.query(ThumbnailView)) == 3 and drawn(app.main.preview))
        # The expected price is read again at the clock's next tick after a task ends.
        await wait_until(pilot, lambda: "≈" in str(app.main.query_one("#generate", ActionButton).label))
        await _shoot(app, out / "comparison.svg", "evolink-tui: one prompt, three models, side by side")
        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(app.screen, GalleryScreen))
        await wait_until(pilot, lambda: sum(v.thumbnail is not None for v in app.screen.query(ThumbnailView)) == 5)
        await _shoot(app, out / "gallery.svg", "evolink-tui: the gallery")


async def viewer(out: Path) -> None:
    from tests.tui.helpers import demo_app, viewer_side_by_side

    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:  # the scene of tests/tui/test_snapshots.py
        await viewer_side_by_side(pilot)
        await _shoot(app, out / "viewer.svg", "evolink-tui: the viewer, three models side by side")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="evolink-shots-") as tmp:
        _isolate(Path(tmp))
        asyncio.run(main_and_picker(out))
    with tempfile.TemporaryDirectory(prefix="evolink-shots-") as tmp:
        _isolate(Path(tmp))
        asyncio.run(comparison_and_gallery(out))
    with tempfile.TemporaryDirectory(prefix="evolink-shots-") as tmp:
        _isolate(Path(tmp))
        asyncio.run(viewer(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
