"""The gallery as a user meets it: 10,000 results scrolled with a fixed set of cards, the
selection kept across pages, filters, stars, marks, deleting a file (after asking) and
exporting the marked results."""

from __future__ import annotations

import re
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image

from evolink_tui.core import thumbnails
from evolink_tui.core.config import load_settings
from evolink_tui.core.export import SheetLayout
from evolink_tui.core.history import history_path
from evolink_tui.core.validation import GenerationRequest
from evolink_tui.tui.screens.confirm import ConfirmScreen
from evolink_tui.tui.screens.gallery import GalleryScreen
from evolink_tui.tui.screens.gallery_export import ExportScreen
from evolink_tui.tui.widgets.gallery_card import GalleryCard
from evolink_tui.tui.widgets.thumbnail import ThumbnailView

from .helpers import START, demo_app, generate, type_text, wait_until
from .history_seed import OUTCOMES, seed_history

RECORDS = 16_670  # three in five completed: 10,002 results
SIZE = (100, 30)


def seed(count: int = RECORDS) -> list[int]:
    """The seeded history; the ids of its completed records, newest first (the gallery's order)."""
    seed_history(history_path(load_settings(demo=True)), count, newest=START)
    return [i for i in range(count, 0, -1) if OUTCOMES[i % len(OUTCOMES)][0] == "completed"]


def cards(screen: GalleryScreen) -> list[GalleryCard]:
    return list(screen.query(GalleryCard))


def shown_ids(screen: GalleryScreen) -> list[int]:
    """The record ids the cards on screen show, as their labels say (#id), in order."""
    ids = []
    for card in cards(screen):
        label = str(card.query_one(".gallery-card-label").render())
        found = re.search(r"#(\d+)", label)
        if found:
            ids.append(int(found[1]))
    return ids


def selected_ids(screen: GalleryScreen) -> list[int]:
    found = []
    for card in screen.query(".gallery-card.-selected"):
        label = str(card.query_one(".gallery-card-label").render())
        found.append(int(re.search(r"#(\d+)", label)[1]))
    return found


async def open_gallery(pilot) -> GalleryScreen:
    await pilot.press("f4")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, GalleryScreen), what="gallery")
    screen = pilot.app.screen
    await wait_until(pilot, lambda: bool(shown_ids(screen)) or screen.feed.done, timeout=30, what="first cards")
    return screen


async def test_ten_thousand_results_scroll_with_a_fixed_set_of_cards():
    completed = seed()
    assert len(completed) >= 10_000
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_gallery(pilot)
        per_screen = len(cards(screen))
        assert per_screen == screen.columns * screen.rows <= 12
        assert shown_ids(screen) == completed[:per_screen]
        assert selected_ids(screen) == [completed[0]]

        for _ in range(40):  # 40 screens down: past several pages of history
            await pilot.press("pagedown")
        await pilot.press("down", "right")
        at = 40 * per_screen + screen.columns + 1
        await wait_until(pilot, lambda: selected_ids(screen) == [completed[at]], what="selection deep down")
        assert len(cards(screen)) == per_screen
        assert f"result {at + 1:,}" in str(screen.query_one("#gallery-grid").border_title)
        assert screen.feed.held <= screen.feed.max_pages * screen.feed.page_size

        await pilot.press("end")  # through every page to the last result
        await wait_until(pilot, lambda: selected_ids(screen) == [completed[-1]], timeout=120, what="the last result")
        assert screen.feed.known == len(completed)
        assert len(cards(screen)) == per_screen
        assert screen.feed.held <= screen.feed.max_pages * screen.feed.page_size

        await pilot.press("home")  # back to the first page, read again
        await wait_until(pilot, lambda: shown_ids(screen) == completed[:per_screen], what="back at the top")
        assert selected_ids(screen) == [completed[0]]


async def test_moving_within_the_screen_restyles_two_cards_and_rows_scroll_in_order():
    completed = seed(400)
    app = demo_app()
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await open_gallery(pilot)
        restyled: list[GalleryCard] = []
        for card in cards(screen):
            original = card.set_class

            def spy(add, *names, update=True, card=card, original=original):
                if ("-selected" in names) and card.has_class("-selected") != add:
                    restyled.append(card)
                return original(add, *names, update=update)

            card.set_class = spy  # type: ignore[method-assign]
        await pilot.press("right")
        await pilot.pause()
        assert len(restyled) == 2
        assert selected_ids(screen) == [completed[1]]

        per_screen, columns = len(cards(screen)), screen.columns
        for step in range(1, screen.rows + 3):  # row by row past the bottom: the screen follows
            await pilot.press("down")
            expected = completed[max(0, step - screen.rows + 1) * columns :][:per_screen]
            await wait_until(pilot, lambda e=expected: shown_ids(screen) == e, what=f"row {step}")
            assert selected_ids(screen) == [completed[1 + step * columns]]
        for _ in range(screen.rows + 2):
            await pilot.press("up")
        await wait_until(pilot, lambda: shown_ids(screen) == completed[:per_screen], what="back up")
        assert selected_ids(screen) == [completed[1]] and len(cards(screen)) == per_screen


async def test_filters_by_text_model_status_and_stars():
    completed = seed(600)
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_gallery(pilot)
        history = app.studio.history

        await pilot.press("slash")
        await type_text(pilot, "fox")
        await wait_until(pilot, lambda: "fox" in str(screen.query_one("#gallery-grid").border_subtitle), what="chip")
        await wait_until(pilot, lambda: screen.feed.done or len(shown_ids(screen)) == len(cards(screen)))
        foxes = [i for i in completed if "fox" in history.get(i).prompt]
        await wait_until(pilot, lambda: shown_ids(screen) == foxes[: len(cards(screen))], what="only foxes")
        await pilot.press("escape")  # back to the grid, the filter kept
        assert screen.query_one("#gallery-grid").has_focus
        await pilot.press("m")  # the first model of those in the history
        model = sorted({history.get(i).model for i in completed})[0]
        expected = [i for i in foxes if history.get(i).model == model]
        await wait_until(pilot, lambda: shown_ids(screen) == expected[: len(cards(screen))], what="foxes of one model")
        assert f"model {model}" in str(screen.query_one("#gallery-grid").border_subtitle)
        await pilot.press("slash", "end", "backspace", "enter")  # "fo": the same foxes
        await wait_until(pilot, lambda: "“fo”" in str(screen.query_one("#gallery-grid").border_subtitle))
        await wait_until(pilot, lambda: shown_ids(screen) == expected[: len(cards(screen))], what="still foxes")

        await pilot.press("x")  # no text, any model
        await wait_until(pilot, lambda: shown_ids(screen) == completed[: len(cards(screen))], what="all again")
        await pilot.press("asterisk", "right", "right", "asterisk")  # star the 1st and 3rd
        await wait_until(pilot, lambda: "★" in str(cards(screen)[2].query_one(".gallery-card-label").render()))
        assert "★" in str(cards(screen)[0].query_one(".gallery-card-label").render())
        assert history.get(completed[0]).is_favourite(0) and history.get(completed[2]).is_favourite(0)
        await pilot.press("F")
        await wait_until(pilot, lambda: shown_ids(screen) == [completed[0], completed[2]], what="starred only")
        assert screen.feed.done
        await pilot.press("F", "T", "T", "T")  # status: on disk, not downloaded, expired
        expired = [i for i in completed if history.get(i).download_state == "expired"]
        await wait_until(pilot, lambda: shown_ids(screen) == expired[: len(cards(screen))], what="expired only")
        assert "status expired" in str(screen.query_one("#gallery-grid").border_subtitle)
        await pilot.press("O")  # oldest first
        await wait_until(pilot, lambda: shown_ids(screen) == sorted(expired)[: len(cards(screen))], what="oldest")


async def generated(pilot, n: int = 2) -> list[Path]:
    app = pilot.app
    await generate(pilot, GenerationRequest("three moons over a desert", model="z-image-turbo", n=n), what="task")
    [record] = app.studio.records.values()
    return [Path(p) for p in record.files]


async def test_deleting_a_file_asks_first_and_the_record_stays():
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        files = await generated(pilot)
        screen = await open_gallery(pilot)
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="asked")
        await pilot.press("n")  # no: nothing is removed
        await wait_until(pilot, lambda: app.screen is screen)
        assert files[0].is_file()
        await pilot.press("delete")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="asked again")
        await pilot.press("y")
        card = cards(screen)[0]
        await wait_until(
            pilot,
            lambda: "file deleted" in str(card.query_one(".gallery-card-label").render()),
            what="the card says so",
        )
        assert not files[0].exists() and not files[0].with_suffix(".json").exists()
        assert files[1].is_file()
        [record] = app.studio.history.search(status="completed")
        assert record.is_deleted(0) and not record.is_deleted(1)
        assert card.query_one(ThumbnailView).source is None  # no picture of a file that is gone


async def export(pilot, path: Path, key: str) -> Path:
    """e, the path typed over the one offered, then ``key`` (enter: a zip; ctrl+s: a sheet)."""
    await pilot.press("e")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ExportScreen), what="export dialog")
    await type_text(pilot, str(path))
    await pilot.press(key)
    written = path.with_suffix(".png" if key == "ctrl+s" else ".zip")
    await wait_until(pilot, written.is_file, what=f"{written.name} written")
    return written


async def test_marked_results_export_as_a_zip_and_a_contact_sheet(tmp_path):
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        files = await generated(pilot)
        screen = await open_gallery(pilot)
        await pilot.press("space", "right", "space")
        assert "2 marked" in str(screen.query_one("#gallery-grid").border_subtitle)
        assert all("✓" in str(c.query_one(".gallery-card-label").render()) for c in cards(screen)[:2])

        zipped = await export(pilot, tmp_path / "picked", "enter")
        assert zipped == tmp_path / "picked.zip"
        with zipfile.ZipFile(zipped) as archive:
            assert sorted(archive.namelist()) == sorted(
                [f.name for f in files] + [f.with_suffix(".json").name for f in files]
            )
            assert archive.read(files[0].name) == files[0].read_bytes()
        await wait_until(pilot, lambda: any("Exported 2 results" in n.message for n in app.notes))

        sheet = await export(pilot, tmp_path / "sheet", "ctrl+s")
        assert sheet == tmp_path / "sheet.png"
        layout = SheetLayout()
        with Image.open(sheet) as image:
            assert image.width == layout.gap + 2 * (layout.cell + layout.gap)  # the two marked, side by side


async def test_thumbnails_are_cached_on_disk_by_the_app(tmp_path):
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await generated(pilot, n=1)
        await wait_until(pilot, lambda: thumbnails.shared_disk is not None, what="disk cache on")
        disk = thumbnails.shared_disk
        screen = await open_gallery(pilot)

        def drawn() -> bool:  # the cards are asked again each time (they are reused as the grid is laid out)
            return any(card.query_one(ThumbnailView).thumbnail is not None for card in cards(screen))

        await wait_until(pilot, drawn, what="thumbnail")
        assert disk is not None and list(Path(disk.directory).glob("*/*.thumb"))
    assert thumbnails.shared_disk is None  # the app took its closed cache away as it ended


async def test_enter_opens_the_viewer_on_the_selected_result_and_esc_comes_back():
    viewer = pytest.importorskip(
        "evolink_tui.tui.screens.viewer", reason="the viewer screen (issue 13) is not in this build yet"
    )
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        files = await generated(pilot)
        screen = await open_gallery(pilot)
        await wait_until(pilot, lambda: len(shown_ids(screen)) == 2, what="both results")
        await pilot.press("right", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, viewer.ViewerScreen), what="the viewer")
        record, index = app.screen.current_result()
        assert record.files[index] == str(files[1])
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, what="back in the gallery")
        assert screen.selected == 1


async def test_filters_by_date_typed_in_the_filter_box():
    """since:/until:/on: days in the filter box narrow the results to those days; a date that
    cannot be read is named with what is allowed, and the words still filter."""
    seed_history(history_path(load_settings(demo=True)), 600, newest=START, step=3600.0)  # 25 days
    completed = [i for i in range(600, 0, -1) if OUTCOMES[i % len(OUTCOMES)][0] == "completed"]
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_gallery(pilot)
        history = app.studio.history
        day = datetime.fromtimestamp(history.get(completed[len(completed) // 2]).created_at).date()
        await pilot.press("slash")
        await type_text(pilot, f"on:{day.isoformat()}")
        on_day = [i for i in completed if datetime.fromtimestamp(history.get(i).created_at).date() == day]
        assert 0 < len(on_day) < len(completed)
        await wait_until(pilot, lambda: shown_ids(screen) == on_day[: len(cards(screen))], what="that day only")
        assert f"{day.isoformat()} to {day.isoformat()}" in str(screen.query_one("#gallery-grid").border_subtitle)

        await pilot.press("ctrl+u")
        await type_text(pilot, "fox since:2026-13-45")
        subtitle = lambda: str(screen.query_one("#gallery-grid").border_subtitle)  # noqa: E731
        await wait_until(pilot, lambda: "Invalid since: '2026-13-45'" in subtitle(), what="the date named")
        assert "YYYY-MM-DD" in subtitle()
        foxes = [i for i in completed if "fox" in history.get(i).prompt]
        await wait_until(pilot, lambda: shown_ids(screen) == foxes[: len(cards(screen))], what="the words still apply")


async def test_keys_typed_past_the_results_read_so_far_all_count(monkeypatch):
    """A held key outruns the page reads: the selection goes where every key asked once the
    next page is read (before, the keys typed while it was read were lost at its edge)."""
    import threading

    from evolink_tui.tui.screens import gallery as gallery_module

    completed = seed(2_000)
    gate = threading.Event()
    real_page = gallery_module.gallery_page

    def slow_page(history, query, *, offset, limit):
        if offset:  # the first page at once; the next ones wait for the gate
            gate.wait(timeout=60)
        return real_page(history, query, offset=offset, limit=limit)

    monkeypatch.setattr(gallery_module, "gallery_page", slow_page)
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_gallery(pilot)
        first_page = screen.feed.known
        rows = first_page // screen.columns + 5  # five rows past the last result read
        await pilot.press(*["down"] * rows)
        assert screen.selected == first_page - 1  # held at the edge while the next page is read
        gate.set()
        at = rows * screen.columns
        await wait_until(pilot, lambda: selected_ids(screen) == [completed[at]], what="where the keys asked")
        assert f"result {at + 1:,}" in str(screen.query_one("#gallery-grid").border_title)
