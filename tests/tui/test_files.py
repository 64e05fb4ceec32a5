"""The files screen against the simulator: upload (dialog, tree, checks, overwrite warning,
progress), the quota going up and down, delete one or several, pagination past 100
files, every Files error with its resolution, a full quota offering the files screen,
references fitted under 4 MB, the mask maker (size, colours, keys and mouse), and the
whole flow from upload to a generation with the uploaded reference and mask."""

from __future__ import annotations

import io
import itertools
import os

from PIL import Image
from textual.widgets import DataTable, Input

from evolink_tui.core import events as ev
from evolink_tui.core.errors import lookup
from evolink_tui.core.imaging import cells_to_rect
from evolink_tui.simulator import FaultPlan
from evolink_tui.simulator.state import SimFile
from evolink_tui.tui.messages import StudioEvent
from evolink_tui.tui.screens.confirm import ConfirmScreen
from evolink_tui.tui.screens.files import FilesScreen
from evolink_tui.tui.screens.help import HelpScreen
from evolink_tui.tui.screens.mask import MaskCanvas, MaskScreen
from evolink_tui.tui.screens.upload import UploadScreen
from evolink_tui.tui.widgets.thumbnail import ThumbnailView

from .helpers import StepClock, demo_app, deterministic_client, finished, screen_text, type_text, wait_until


def files_app(clock=None, *, faults: str | None = None, **kwargs):
    """The demo app with numbered file ids (file_00000000000000000001, ...)."""
    make = deterministic_client(faults)
    counter = itertools.count(1)

    def factory(settings, clock=None):
        client = make(settings, clock=clock)
        client.simulator.state.sim.new_file_id = lambda: f"file_{next(counter):020d}"
        return client

    return demo_app(clock, client_factory=factory, **kwargs)


def studio_events(kind: type, into: list):
    """A message hook keeping the Studio's events of one type."""
    return lambda m: into.append(m.event) if isinstance(m, StudioEvent) and isinstance(m.event, kind) else None


def sim_of(app):
    return app.studio.client.simulator.state.sim


def image_file(path, size=(300, 200), colour=(200, 30, 30)):
    Image.new("RGB", size, colour).save(path)
    return path


def store(sim, name: str, data: bytes, *, age: float = 0.0) -> SimFile:
    """A file put straight into the simulator (as if uploaded ``age`` seconds ago)."""
    file_id = sim.new_file_id()
    item = SimFile(
        file_id=file_id,
        file_name=name,
        original_name=name,
        data=data,
        mime_type="image/png",
        upload_path="",
        upload_time=sim.now() - age,
        seq=sim.next_seq(),
    )
    sim.files[file_id] = item
    return item


def png(size=(8, 8), colour=(10, 200, 10)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def notes(app) -> str:
    return "\n".join(f"{n.title}: {n.message}" for n in app.notes)


async def open_files(pilot) -> FilesScreen:
    app = pilot.app
    await wait_until(pilot, lambda: app.studio.client is not None and app.screen is app.main, what="main screen")
    await pilot.press("f5")
    await wait_until(pilot, lambda: isinstance(app.screen, FilesScreen), what="files screen")
    await wait_until(pilot, lambda: app.studio.files.state.loaded, what="listing")
    await pilot.pause()
    return app.screen


def table_names(screen: FilesScreen) -> list[str]:
    table = screen.query_one(DataTable)
    return [table.get_row_at(i)[0].plain.strip(" ●") for i in range(table.row_count)]


async def upload_through_dialog(pilot, path, *, name: str = "", folder: str = "") -> None:
    app = pilot.app
    await pilot.press("u")
    await wait_until(pilot, lambda: isinstance(app.screen, UploadScreen), what="upload dialog")
    dialog = app.screen
    dialog.query_one("#upload-source", Input).value = str(path)
    dialog.query_one("#upload-name", Input).value = name
    dialog.query_one("#upload-folder", Input).value = folder
    await pilot.press("enter")


async def test_new_user_flow_upload_reference_mask_generate_delete(tmp_path):
    """Keyboard only: upload a PNG (quota up), use it as the reference, make a mask on it for
    gpt-4o-image, generate with both, delete it (quota down)."""
    image_file(tmp_path / "red.png")
    app = files_app()
    events: list = []
    hook = studio_events(object, events)
    async with app.run_test(size=(100, 30), message_hook=hook) as pilot:
        screen = await open_files(pilot)
        assert "0 of 100 files used" in screen_text(app) and "No files stored" in screen_text(app)
        await upload_through_dialog(pilot, tmp_path / "red.png")
        await wait_until(pilot, lambda: table_names(screen) == ["red.png"], what="row")
        await wait_until(pilot, lambda: "1 of 100 files used · 99 left" in screen_text(app), what="quota up")
        text = screen_text(app)
        assert "file_00000000000000000001" in text and "72h 00m" in text and "PNG" in text
        await wait_until(
            pilot,
            lambda: screen.query_one("#file-thumb", ThumbnailView).thumbnail is not None,
            what="preview thumbnail",
        )
        [stored] = sim_of(app).files.values()

        await pilot.press("f")  # use as reference: back to the composer
        await wait_until(pilot, lambda: app.screen is app.main, what="main")
        assert app.main.composer.references == [stored.url("https://files-api.evolink-demo.invalid")]

        await pilot.press("f2")
        await type_text(pilot, "gpt-4o")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.main.composer.models == ("gpt-4o-image",), what="model")
        await pilot.press("f5")
        await wait_until(pilot, lambda: isinstance(app.screen, FilesScreen), what="files again")
        await pilot.press("k")
        await wait_until(pilot, lambda: isinstance(app.screen, MaskScreen), what="mask maker")
        canvas = app.screen.query_one(MaskCanvas)
        await wait_until(pilot, lambda: canvas.grid is not None, what="image on the canvas")
        await pilot.press("right", "right", "down", "tab", "left")
        rect = canvas.image_rect()
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, FilesScreen), what="back from the mask maker")
        await wait_until(pilot, lambda: "2 of 100 files used" in screen_text(app), what="mask stored")
        mask_file = next(f for f in sim_of(app).files.values() if f.file_id != stored.file_id)
        with Image.open(io.BytesIO(mask_file.data)) as mask:
            assert mask.size == (300, 200)
            assert mask.getpixel(((rect.left + rect.right) // 2, (rect.top + rect.bottom) // 2)) == 255
            assert mask.getpixel((0, 0)) == 0
        request = app.main.composer.requests()[0]
        assert request.mask == mask_file.url("https://files-api.evolink-demo.invalid")
        assert request.images == (stored.url("https://files-api.evolink-demo.invalid"),)

        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.main, what="main")
        app.main.focus_prompt()
        await type_text(pilot, "make it blue")
        await pilot.press("ctrl+j")
        await wait_until(pilot, finished(app), what="generation")
        [task] = sim_of(app).tasks.values()
        assert task.image_urls == [request.images[0]] and task.mask_url == request.mask
        assert [r.state for r in app.studio.records.values()] == ["completed"]

        await pilot.press("f5")
        await wait_until(pilot, lambda: isinstance(app.screen, FilesScreen), what="files, last time")
        await wait_until(pilot, lambda: len(table_names(app.screen)) == 2, what="two rows")
        app.screen.query_one(DataTable).move_cursor(row=table_names(app.screen).index("red.png"))
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        assert "Delete 1 file: red.png?" in screen_text(app)
        await pilot.press("enter")
        await wait_until(pilot, lambda: "1 of 100 files used · 99 left" in screen_text(app), what="quota down")
        assert stored.file_id not in sim_of(app).files
        assert "still uses a deleted file" in notes(app)  # the composer keeps it, and says so
    seen = [type(e) for e in events]
    for kind in (ev.FilesListed, ev.FileUploaded, ev.FilesDeleted):
        assert kind in seen
    assert seen.index(ev.FileUploaded) < seen.index(ev.FilesDeleted)


async def test_pagination_sort_and_filter_past_100_files():
    app = files_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.studio.client is not None, what="client")
        sim = sim_of(app)
        sim.max_files = 250
        for i in range(130):
            store(sim, f"f{i:03}.png", png(), age=130 - i)
        screen = await open_files(pilot)
        table = screen.query_one(DataTable)
        assert table.row_count == 100 and "page 1 of 2 · 130 files" in screen_text(app)
        assert "130 of 250 files used · 120 left" in screen_text(app)
        assert table_names(screen)[0] == "f129.png"  # newest first
        sizes = [r["query"].get("pageSize") for r in sim.requests if r["endpoint"] == "list"]
        assert sizes[-2:] == ["100", "100"]
        await pilot.press("right_square_bracket")
        assert table.row_count == 30 and "page 2 of 2" in screen_text(app)
        assert table_names(screen)[-1] == "f000.png"
        await pilot.press("s")  # by name, a to z
        assert "sorted by name ↑" in screen_text(app) and table_names(screen)[0] == "f000.png"
        assert screen.selected.file_name == "f029.png"  # the chosen file stays chosen
        await pilot.press("S")
        assert "sorted by name ↓" in screen_text(app) and "page 2 of 2" in screen_text(app)
        assert screen.selected.file_name == "f029.png" and table_names(screen)[0] == "f029.png"
        await pilot.press("slash")
        await type_text(pilot, "f12")
        await pilot.pause()
        assert set(table_names(screen)) == {f"f12{i}.png" for i in range(10)}
        assert "10 match 'f12'" in screen_text(app)
        await pilot.press("enter", "space", "space")  # back to the table; mark two
        assert "2 marked" in screen_text(app)
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        assert "Delete 2 files" in screen_text(app)
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: app.studio.files.state.total == 128 and not app.studio.files.state.stale, what="deleted"
        )
        assert "128 of 250 files used" in screen_text(app)


async def test_upload_checks_type_and_size_before_sending_and_warns_before_overwriting(tmp_path):
    (tmp_path / "notes.txt").write_text("not an image")
    image_file(tmp_path / "cat.png")
    app = files_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_files(pilot)
        await upload_through_dialog(pilot, tmp_path / "notes.txt")
        dialog = app.screen
        await wait_until(pilot, lambda: "Nothing was sent" in screen_text(app), what="type refused")
        assert isinstance(app.screen, UploadScreen) and "JPEG/PNG/GIF/WebP" in screen_text(app)
        dialog.query_one("#upload-source", Input).value = str(tmp_path / "missing.png")
        await pilot.press("enter")
        await wait_until(pilot, lambda: "existing" in screen_text(app), what="missing refused")
        assert sim_of(app).count("upload") == 0
        dialog.query_one("#upload-source", Input).value = str(tmp_path / "cat.png")
        dialog.query_one("#upload-folder", Input).value = "refs"
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(sim_of(app).files) == 1, what="first upload")
        await wait_until(pilot, lambda: not app.studio.files.state.stale, what="listed")
        await upload_through_dialog(pilot, tmp_path / "cat.png", folder="refs")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="overwrite warning")
        assert "already stored" in screen_text(app) and "overwrites" in screen_text(app)
        await pilot.press("escape")  # go back: the dialog again, as it was
        await wait_until(pilot, lambda: isinstance(app.screen, UploadScreen), what="dialog again")
        assert app.screen.query_one("#upload-source", Input).value == str(tmp_path / "cat.png")
        assert app.screen.query_one("#upload-folder", Input).value == "refs"
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="warned again")
        await pilot.press("enter")
        await wait_until(pilot, lambda: sim_of(app).count("upload") == 2, what="overwritten")
        assert len(sim_of(app).files) == 1  # replaced, not added


async def test_upload_from_the_tree(tmp_path, monkeypatch):
    image_file(tmp_path / "tree.png")
    (tmp_path / "skip.txt").write_text("x")
    monkeypatch.chdir(tmp_path)
    app = files_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_files(pilot)
        await pilot.press("u")
        await wait_until(pilot, lambda: isinstance(app.screen, UploadScreen), what="dialog")
        await wait_until(pilot, lambda: "tree.png" in screen_text(app), what="tree")
        assert "skip.txt" not in screen_text(app)
        await pilot.press("tab", "tab", "tab", "down", "down", "enter")  # the tree, its first file
        await wait_until(
            pilot, lambda: app.screen.query_one("#upload-source", Input).value.endswith("tree.png"), what="path filled"
        )
        await pilot.press("enter")  # the Upload button has the focus
        await wait_until(
            pilot, lambda: [f.file_name for f in sim_of(app).files.values()] == ["tree.png"], what="uploaded"
        )


async def test_a_url_upload_and_a_large_file_with_progress_then_a_png_as_mask(tmp_path):
    large = tmp_path / "large.png"
    large.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(3 * 1024 * 1024))  # checked by its first bytes
    app = files_app()
    seen: list[ev.UploadProgressed] = []
    hook = studio_events(ev.UploadProgressed, seen)
    async with app.run_test(size=(100, 30), message_hook=hook) as pilot:
        screen = await open_files(pilot)
        await upload_through_dialog(pilot, "https://example.com/pics/kite.png")
        await wait_until(pilot, lambda: table_names(screen) == ["kite.png"], what="uploaded from a URL")
        await upload_through_dialog(pilot, large)
        await wait_until(pilot, lambda: len(table_names(screen)) == 2, what="large upload")
        total = large.stat().st_size
        progress = [(e.done, e.total) for e in seen]
        assert len(progress) > 10 and progress[-1] == (total, total)
        assert [done for done, _ in progress] == sorted(done for done, _ in progress)
        assert "3.0 MB" in screen_text(app)
        screen.query_one(DataTable).move_cursor(row=table_names(screen).index("kite.png"))
        await pilot.press("m")  # gpt-image-1.5 takes no mask: the switch is offered
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="offer")
        await pilot.press("enter")
        await wait_until(pilot, lambda: bool(app.main.composer.requests()[0].mask), what="mask set")
        assert app.main.composer.models == ("gpt-4o-image",)
        assert app.main.composer.requests()[0].mask.endswith("/kite.png")


CODES = [400, 401, 403, 404, 500, 40001, 40002, 40003, 40004, 50001]


async def test_every_files_error_is_shown_with_its_resolution_and_nothing_is_lost(tmp_path):
    image_file(tmp_path / "keep.png")
    app = files_app()
    failures: list[ev.UploadFailed] = []
    hook = studio_events(ev.UploadFailed, failures)
    async with app.run_test(size=(100, 30), message_hook=hook) as pilot:
        screen = await open_files(pilot)
        sim = sim_of(app)
        for code in CODES:
            sim.faults = FaultPlan.parse(f"{code}@upload*1")
            app.clear_notifications()
            await upload_through_dialog(pilot, tmp_path / "keep.png", name=f"keep-{code}.png")
            await wait_until(pilot, lambda code=code: len(failures) == CODES.index(code) + 1, what=f"failure {code}")
            await pilot.pause()
            info = lookup("file", code)
            text = notes(app)
            assert str(code) in text and info.meaning in text and info.resolution in text, (code, text)
            assert app.screen is screen and "Upload failed" in screen_text(app)
            if code == 40003:  # on the files screen already: says what to do here
                assert "mark files with space" in text
            await pilot.press("u")  # the dialog comes back with what was chosen
            await wait_until(pilot, lambda: isinstance(app.screen, UploadScreen), what="dialog")
            assert app.screen.query_one("#upload-name", Input).value == f"keep-{code}.png"
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen is screen, what="closed")
        assert not sim.files
        # Reading and deleting fail with the reference's words too.
        sim.faults = FaultPlan.parse("403@list")
        app.clear_notifications()
        await pilot.press("r")
        await wait_until(pilot, lambda: "Check account permissions" in notes(app), what="list error")
        assert "Could not read the files" in screen_text(app)
        sim.faults = FaultPlan.parse("")
        store(sim, "gone.png", png())
        await pilot.press("r")
        await wait_until(pilot, lambda: table_names(screen) == ["gone.png"], what="listed")
        sim.files.clear()  # deleted elsewhere
        await pilot.press("d", "enter")
        await wait_until(pilot, lambda: "Verify file_id" in notes(app), what="404 on delete")
        assert app.is_running


async def test_a_full_quota_during_a_generation_offers_the_files_screen(tmp_path):
    image_file(tmp_path / "ref.png")
    app = files_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.studio.client is not None, what="client")
        sim_of(app).max_files = 0
        app.main.composer.add_reference(str(tmp_path / "ref.png"))
        await type_text(pilot, "a full quota")
        await pilot.press("ctrl+j")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="offer")
        assert "file quota is full" in screen_text(app)
        assert "40003" in notes(app)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, FilesScreen), what="files screen")
        assert app.main.composer.prompt == "a full quota"  # nothing the user chose is lost
        assert app.main.composer.references == [str(tmp_path / "ref.png")]


async def test_a_reference_over_4_mb_is_offered_a_smaller_copy(tmp_path):
    big = tmp_path / "big.png"
    Image.frombytes("RGB", (1600, 1200), os.urandom(1600 * 1200 * 3)).save(big)
    before = big.read_bytes()
    app = files_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.studio.client is not None, what="client")
        refs = app.main.query_one("#ref-input", Input)
        refs.focus()
        refs.value = str(big)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), timeout=20, what="offer")
        text = screen_text(app)
        assert "over the 4 MB limit" in text and "big.fitted.jpg" in text and "1600x1200" in text
        await pilot.press("enter")
        fitted = tmp_path / "big.fitted.jpg"
        await wait_until(pilot, lambda: app.main.composer.references == [str(fitted)], what="replaced")
        assert fitted.stat().st_size <= 4 * 1024 * 1024 and big.read_bytes() == before
        assert "Using the smaller copy" in notes(app)


async def test_mask_maker_keys_mouse_size_and_colours(tmp_path):
    ref = image_file(tmp_path / "photo.png", size=(320, 240))
    app = files_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.studio.client is not None, what="client")
        composer = app.main.composer
        composer.add_reference(str(ref))
        composer.query_one("#refs").focus()
        await pilot.press("m")  # make mask, from the reference list; gpt-image-1.5 takes none: explained
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="explained")
        assert "only by gpt-4o-image" in screen_text(app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.main, what="nothing changed")
        assert composer.models == ("gpt-image-1.5",)
        composer.set_models(["gpt-4o-image"])
        composer.query_one("#refs").focus()
        await pilot.press("m")
        await wait_until(pilot, lambda: isinstance(app.screen, MaskScreen), what="mask maker")
        canvas = app.screen.query_one(MaskCanvas)
        await wait_until(pilot, lambda: canvas.grid is not None, what="thumbnail")
        cols, rows = canvas.grid
        assert "320x240" in screen_text(app)
        # The mouse: press on one cell, drag to another.
        left, top = canvas._origin()
        gutter = canvas.styles.gutter
        at = lambda x, y: (gutter.left + left + x, gutter.top + top + y)  # noqa: E731
        await pilot.mouse_down(MaskCanvas, offset=at(2, 1))
        await pilot.hover(MaskCanvas, offset=at(9, 5))
        await pilot.mouse_up(MaskCanvas, offset=at(9, 5))
        assert canvas.cell_rect == (2, 1, 10, 6)
        # The keys: the second corner one cell right, then the whole rectangle down one.
        await pilot.press("right", "shift+down")
        assert canvas.cell_rect == (2, 2, 11, 7)
        expected = cells_to_rect((2, 2, 11, 7), cols, rows, 320, 240)
        assert "Edit x" in screen_text(app) and f"{expected.left}–{expected.right - 1}" in screen_text(app)
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        assert "In Mask" in screen_text(app) and "Other corner" in screen_text(app)
        await pilot.press("escape")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is app.main, what="mask set")
        [stored] = sim_of(app).files.values()
        with Image.open(io.BytesIO(stored.data)) as mask:
            assert mask.format == "PNG" and mask.size == (320, 240)
            histogram = mask.convert("L").histogram()
            inside = (expected.right - expected.left) * (expected.bottom - expected.top)
            assert histogram[255] == inside and histogram[0] == 320 * 240 - inside
            assert mask.getpixel((expected.left, expected.top)) == 255
            assert mask.getpixel((expected.left - 1, expected.top)) == 0
        assert composer.requests()[0].mask == stored.url("https://files-api.evolink-demo.invalid")
        assert composer.references == [str(ref)]  # the local reference stays: uploaded on generate


async def test_help_and_palette_on_the_files_screen():
    app = files_app()
    async with app.run_test(size=(100, 50)) as pilot:
        await open_files(pilot)
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        text = screen_text(app)
        for words in (
            "In Files",
            "Upload",
            "Delete",
            "Reference",
            "Make mask",
            "Copy URL",
            "Next page",
            "Filter by name",
            "Back",
        ):
            assert words in text, words
        await pilot.press("escape")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.main, what="back")
        await pilot.press("ctrl+p")
        await pilot.pause()
        await type_text(pilot, "upload file")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, UploadScreen), what="upload from the palette")


async def test_file_names_and_messages_from_the_server_are_shown_as_text(tmp_path):
    app = files_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, lambda: app.studio.client is not None, what="client")
        store(sim_of(app), "[bold red]x[/] [link=https://evil.example]y", png())
        await open_files(pilot)
        await wait_until(pilot, lambda: "[bold red]x[/]" in screen_text(app), what="name as text")
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        assert "[bold red]x[/]" in screen_text(app)
        await pilot.press("escape")
        nasty = "[/] \x1b]52;c;ZXZpbA==\x07 [b]no[/b]"
        sim_of(app).overrides["upload"] = lambda body: {"success": False, "code": 40002, "msg": nasty, "data": None}
        await upload_through_dialog(pilot, image_file(tmp_path / "x.png"))
        await wait_until(pilot, lambda: "\\x1b]52" in notes(app), what="the message, inert")
        assert "\x1b" not in notes(app) and "[b]no[/b]" in notes(app)
        assert "Check supported formats" in notes(app) and app.is_running


async def test_files_screen_at_80x24():
    app = files_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.studio.client is not None, what="client")
        store(sim_of(app), "a-rather-long-file-name.png", png((40, 30)))
        screen = await open_files(pilot)
        await wait_until(
            pilot, lambda: screen.query_one("#file-thumb", ThumbnailView).thumbnail is not None, what="thumbnail"
        )
        region = screen.region
        for selector in (
            "#files-quota",
            "#files-filter",
            "#files-table",
            "#file-thumb",
            "#file-details",
            "#files-status",
        ):
            widget = screen.query_one(selector)
            assert region.contains_region(widget.region) and widget.region.height >= 1, selector
        text = screen_text(app)
        for words in ("1 of 100 files used", "a-rather-long", "72h 00m", "file_00000000000000000001", "Upload"):
            assert words in text, words


def test_files_screen_snapshot(snap_compare):
    app = files_app(StepClock())  # time moves only when told: the ages and time left are fixed

    async def run_before(pilot):
        await wait_until(pilot, lambda: app.studio.client is not None, what="client")
        sim = sim_of(app)
        store(sim, "lighthouse.png", png((64, 48), (40, 90, 200)), age=7200)
        store(sim, "mask-area.png", png((64, 48), (255, 255, 255)), age=3600 * 70)
        store(sim, "fox.png", png((48, 64), (220, 120, 30)), age=300)
        await open_files(pilot)
        screen = app.screen
        await wait_until(
            pilot, lambda: screen.query_one("#file-thumb", ThumbnailView).thumbnail is not None, what="thumbnail"
        )
        await pilot.press("down", "space", "up")
        await wait_until(
            pilot, lambda: screen.query_one("#file-thumb", ThumbnailView).thumbnail is not None, what="thumbnail again"
        )
        app.clear_notifications()
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)
