"""Reopen an image in the app: the palette's "Reopen image", ``reopen:PATH`` typed in the
reference field, r on the reference list. The composer is refilled from the recipe in the
file (moved and renamed, a JPEG) or its sidecar; a file without one says so and changes
nothing; nothing is ever sent."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from PIL import Image
from textual.widgets import Input

from evolink_tui.core.recipe import embed_recipe
from evolink_tui.core.validation import GenerationRequest
from evolink_tui.tui.screens.iterate_dialogs import ReopenScreen
from evolink_tui.tui.widgets.choice import Choice

from .helpers import demo_app, generate, notes_text, type_text, wait_until


def sent(app) -> int:
    return len(app.studio.client.simulator.state.sim.tasks)


async def reopen_typed(pilot, path: Path) -> None:
    """reopen:PATH in the composer's reference field, enter."""
    field = pilot.app.main.query_one("#ref-input", Input)
    field.focus()
    field.value = f"reopen:{path}"
    await pilot.press("enter")


async def test_reopen_a_moved_renamed_file_from_the_palette(tmp_path):
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await generate(pilot, GenerationRequest("a glass whale", model="gpt-4o-image", size="1024x1536", n=2))
        [record] = app.studio.records.values()
        moved = tmp_path / "elsewhere" / "renamed whale.png"
        moved.parent.mkdir()
        shutil.move(record.files[1], moved)  # no sidecar beside it now: the recipe is in the file
        app.main.composer.fill(GenerationRequest("something else", model="z-image-turbo"))
        await pilot.press("ctrl+p")
        await type_text(pilot, "Reopen image")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ReopenScreen), what="the path question")
        app.screen.query_one(Input).value = f"'{moved}'"  # pasted from a file manager, quoted
        await pilot.press("enter")
        composer = app.main.composer
        await wait_until(pilot, lambda: composer.prompt == "a glass whale", what="refilled")
        assert composer.models == ("gpt-4o-image",)
        assert composer.query_one("#size", Choice).value == "1024x1536"
        assert composer.query_one("#n", Choice).value == 2
        notes = notes_text(app)
        assert "Composer refilled from renamed whale.png (the recipe in its PNG text; task #1 in this history)" in notes
        assert sent(app) == 1  # nothing sent


async def test_reopen_typed_in_the_reference_field_reads_a_jpeg_with_no_history(tmp_path):
    image = tmp_path / "from another machine.jpg"
    Image.new("RGB", (32, 24), (200, 90, 40)).save(image, "JPEG")
    sidecar = {
        "generator": "evolink-tui 1.0",
        "prompt": "a copper teapot, studio light",
        "model": "qwen-image-edit",
        "size": None,
        "n": 1,
        "image_urls": ["https://files.example/teapot.png"],
        "task_id": "task-unified-1-elsewhere",
        "index": 1,
        "record_id": 99,
        "created_at": "2026-03-01T09:00:00+00:00",
    }
    assert embed_recipe(image, "jpeg", sidecar)
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await reopen_typed(pilot, image)
        composer = app.main.composer
        await wait_until(pilot, lambda: composer.prompt == "a copper teapot, studio light", what="refilled")
        assert composer.models == ("qwen-image-edit",)
        assert composer.references == ["https://files.example/teapot.png"]
        assert app.main.query_one("#ref-input", Input).value == ""  # not added as a reference
        notes = notes_text(app)
        assert "the recipe in its XMP metadata; no record of it in this history" in notes
        assert "reference image URLs date from when it was made and have probably lapsed" in notes  # made in March
        assert len(app.studio.records) == 0


async def test_an_image_without_a_recipe_says_so_and_changes_nothing(tmp_path):
    image = tmp_path / "holiday.png"
    Image.new("RGB", (16, 16), (0, 120, 200)).save(image, "PNG")
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        app.main.composer.set_prompt("my own words")
        await reopen_typed(pilot, image)
        await wait_until(pilot, lambda: "carries no evolink-tui recipe" in notes_text(app), what="the answer")
        assert "holiday.png carries no evolink-tui recipe" in notes_text(app)
        assert "The composer is unchanged." in notes_text(app)
        assert app.main.composer.prompt == "my own words"
        await reopen_typed(pilot, tmp_path / "not there.png")
        await wait_until(pilot, lambda: "Cannot reopen" in notes_text(app), what="the missing file")
        assert "not there.png" in notes_text(app) and "not found" in notes_text(app)


async def test_r_on_a_local_reference_reopens_its_recipe_from_the_sidecar(tmp_path):
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await generate(pilot, GenerationRequest("a moth on bark", model="gpt-image-1.5"))
        [record] = app.studio.records.values()
        # A copy with its metadata stripped (as a chat app would), beside a copy of its sidecar.
        plain = tmp_path / "moth.png"
        with Image.open(record.files[0]) as original:
            original.save(plain, "PNG")
        sidecar = json.loads(Path(record.files[0]).with_suffix(".json").read_text())
        plain.with_suffix(".json").write_text(json.dumps(sidecar))
        composer = app.main.composer
        composer.fill(GenerationRequest("", model="gpt-image-1.5", images=(str(plain),)))
        await pilot.pause()
        composer.query_one("#refs").focus()
        await pilot.press("r")
        await wait_until(pilot, lambda: composer.prompt == "a moth on bark", what="refilled")
        assert "the recipe in the .json sidecar beside it" in notes_text(app)
        assert sent(app) == 1
