"""A gallery to work in: favourites, filters and sort orders as history queries (served by
indexes), deleting a result's file while the record stays, export as a zip with the
sidecars, and a contact sheet whose cells and labels are checked on the PNG."""

from __future__ import annotations

import json
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from evolink_tui.core.downloads import result_stem
from evolink_tui.core.errors import ValidationError
from evolink_tui.core.export import (
    SheetLayout,
    cell_box,
    choose,
    contact_sheet,
    draw_label,
    export_zip,
    parse_choice,
    sheet_label,
)
from evolink_tui.core.gallery import (
    GalleryQuery,
    delete_result_file,
    deletion_of,
    gallery_count,
    gallery_page,
    items_of,
    set_favourite,
)
from evolink_tui.core.history import History
from evolink_tui.core.iterate import iterate
from evolink_tui.core.wire import Task
from evolink_tui.simulator import FakeClock

DAY = 86400.0


class Seeder:
    """Completed records with real result files of known colours, on a clock of our own."""

    def __init__(self, tmp_path: Path):
        self.clock = FakeClock(1_700_000_000.0)
        self.folder = tmp_path / "results"
        self.folder.mkdir()
        self.history = History(tmp_path / "history.sqlite3", clock=self.clock.now)

    def add(self, prompt, model, colours, *, took=10.0, credits=4.0, group=None, size=(64, 48)) -> int:
        history = self.history
        record_id = history.record_submission(
            {"prompt": prompt, "model": model, "n": len(colours)}, f"k{prompt}{model}"
        )
        task_id = f"task-unified-{record_id}-seed"
        history.update_task(record_id, Task(task_id, "pending", model, credits_reserved=credits))
        if group:
            history._write("UPDATE tasks SET group_id = ? WHERE id = ?", (group, record_id))
        self.clock.advance(took)
        results = [f"https://results.example.invalid/{record_id}/{i}.png" for i in range(len(colours))]
        history.update_task(
            record_id, Task(task_id, "completed", model, 100, results=results, credits_reserved=credits)
        )
        files = []
        for index, colour in enumerate(colours):
            path = self.folder / f"{result_stem(task_id, prompt, index)}.png"
            Image.new("RGB", size, colour).save(path)
            path.with_suffix(".json").write_text(json.dumps({"generator": "evolink-tui/test", "prompt": prompt}))
            files.append(str(path))
        history.set_downloads(record_id, files, "done", None)
        self.clock.advance(60)
        return record_id


@pytest.fixture
def seeded(tmp_path):
    seeder = Seeder(tmp_path)
    yield seeder
    seeder.history.close()


def refs(page) -> list[tuple[int, int]]:
    return [(item.record.id, item.index) for item in page.items]


def test_favourites_filters_and_sort_orders(seeded):
    fox = seeded.add("a red fox in snow", "gpt-image-1.5", [(200, 40, 40), (190, 50, 50)])
    seeded.clock.advance(2 * DAY)
    whale = seeded.add("a blue whale", "z-image-turbo", [(30, 40, 200)])
    car = seeded.add("a red car", "doubao-seedream-4.5", [(220, 20, 20), (10, 10, 10)])
    history = seeded.history

    assert refs(gallery_page(history, GalleryQuery())) == [(car, 0), (car, 1), (whale, 0), (fox, 0), (fox, 1)]
    assert [r for r, _ in refs(gallery_page(history, GalleryQuery(sort="oldest")))] == [fox, fox, whale, car, car]
    by_model = [i.record.model for i in gallery_page(history, GalleryQuery(sort="model")).items]
    assert by_model == sorted(by_model)
    assert {r for r, _ in refs(gallery_page(history, GalleryQuery(text="red")))} == {fox, car}
    assert refs(gallery_page(history, GalleryQuery(text="red", model="doubao-seedream-4.5"))) == [(car, 0), (car, 1)]
    since = history.get(whale).created_at - 1
    assert {r for r, _ in refs(gallery_page(history, GalleryQuery(since=since)))} == {whale, car}
    assert {r for r, _ in refs(gallery_page(history, GalleryQuery(until=since)))} == {fox}

    assert gallery_page(history, GalleryQuery(favourites=True)).items == []
    set_favourite(history, fox, 1)
    set_favourite(history, car, 0)
    assert refs(gallery_page(history, GalleryQuery(favourites=True))) == [(car, 0), (fox, 1)]
    assert refs(gallery_page(history, GalleryQuery(favourites=True, text="fox"))) == [(fox, 1)]
    assert gallery_count(history, GalleryQuery(favourites=True)) == 2
    set_favourite(history, car, 0, on=False)
    assert refs(gallery_page(history, GalleryQuery(favourites=True))) == [(fox, 1)]
    assert history.get(fox).to_json()["favourite_results"] == [2]
    # Paging: by records, and the last page says so.
    first = gallery_page(history, GalleryQuery(), limit=2)
    rest = gallery_page(history, GalleryQuery(), offset=first.next_offset, limit=2)
    assert not first.done and rest.done and refs(first) + refs(rest) == refs(gallery_page(history, GalleryQuery()))
    with pytest.raises(ValueError, match="sort"):
        GalleryQuery(sort="random")


def test_the_gallery_queries_use_the_indexes(seeded):
    seeded.add("x", "gpt-image-1.5", [(1, 1, 1)])
    db = seeded.history._db()

    def plan(sort: str, **filters) -> str:
        query = GalleryQuery(sort=sort, **filters)
        where, params = seeded.history._filter(query.text, **{**query.arguments()})
        order = {"newest": "id DESC", "oldest": "id ASC", "model": "model ASC, id DESC"}[sort]
        rows = db.execute(f"EXPLAIN QUERY PLAN SELECT * FROM tasks{where} ORDER BY {order} LIMIT 200", params)
        return " ".join(row[3] for row in rows)

    # Every gallery page is read in index order: no full scan, no sort of every record.
    assert "INDEX tasks_favourite " in plan("newest", favourites=True)
    assert "INDEX tasks_favourite_model " in plan("model", favourites=True)
    assert "INDEX tasks_model " in plan("model") and "INDEX tasks_model " in plan("newest", model="z-image-turbo")
    for sort in ("newest", "oldest", "model"):
        for filters in ({}, {"favourites": True}, {"model": "z-image-turbo"}, {"text": "red"}):
            found = plan(sort, **filters)
            assert "TEMP B-TREE" not in found and "SCAN tasks" not in found, (sort, filters, found)
    children = " ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN SELECT * FROM tasks WHERE parent_id = 1"))
    assert "tasks_parent" in children


def test_deleting_a_result_file_keeps_the_record_and_says_so(seeded, tmp_path):
    record_id = seeded.add("a castle", "gpt-image-1.5", [(10, 120, 10), (20, 130, 20)])
    history = seeded.history
    record = history.get(record_id)
    plan = deletion_of(record, 1)
    image = Path(record.files[1])
    assert plan.paths == (image, image.with_suffix(".json"))
    assert image.exists()  # asking removes nothing
    assert delete_result_file(history, plan) == list(plan.paths)
    assert not image.exists() and not image.with_suffix(".json").exists() and Path(record.files[0]).exists()
    record = history.get(record_id)
    assert record.is_deleted(1) and not record.is_deleted(0) and record.results and record.files
    assert [item.state for item in items_of(record)] == ["on disk", "deleted"]
    assert record.to_json()["deleted_results"] == [2]
    with pytest.raises(ValidationError, match="deleted"):
        iterate(record, 1, now=record.url_expires_at + 1)  # URL lapsed, file deleted: nothing to iterate on
    assert iterate(record, 1, now=record.finished_at).reference == record.results[1]  # while the URL lasts


def test_choosing_results_by_record_and_number(seeded):
    one = seeded.add("one", "gpt-image-1.5", [(1, 1, 1), (2, 2, 2)])
    two = seeded.add("two", "gpt-image-1.5", [(3, 3, 3)])
    assert parse_choice([f"{one}:2,{two}", f"#{one}"]) == [(one, 1), (two, None), (one, None)]
    items = choose(seeded.history, parse_choice([f"{one}:2,{two}", str(one)]))
    assert [(i.record.id, i.index) for i in items] == [(one, 1), (two, 0), (one, 0)]
    for bad, message in (("x", "record ids"), (f"{one}:0", "record ids"), (f"{one}:3", "from 1 to 2"), ("99", "99")):
        with pytest.raises(ValidationError, match=message):
            choose(seeded.history, parse_choice([bad]))


def test_export_zip_holds_the_images_and_their_sidecars(seeded, tmp_path):
    one = seeded.add("one", "gpt-image-1.5", [(1, 1, 1), (2, 2, 2)])
    two = seeded.add("two", "z-image-turbo", [(3, 3, 3)])
    history = seeded.history
    Path(history.get(two).files[0]).with_suffix(".json").unlink()  # its sidecar is rebuilt from the history
    delete_result_file(history, deletion_of(history.get(one), 1))
    items = choose(history, [(one, None), (two, None)])
    report = export_zip(items, tmp_path / "out" / "chosen.zip")
    assert [(i.record.id, i.index, why) for i, why in report.skipped] == [(one, 1, "its file is deleted")]
    with zipfile.ZipFile(tmp_path / "out" / "chosen.zip") as archive:
        names = sorted(archive.namelist())
        first, second = Path(history.get(one).files[0]), Path(history.get(two).files[0])
        assert names == sorted(
            [first.name, first.with_suffix(".json").name, second.name, second.with_suffix(".json").name]
        )
        assert archive.read(first.name) == first.read_bytes()
        assert json.loads(archive.read(first.with_suffix(".json").name)) == json.loads(
            first.with_suffix(".json").read_text()
        )
        rebuilt = json.loads(archive.read(second.with_suffix(".json").name))
        assert rebuilt["record_id"] == two and rebuilt["prompt"] == "two" and rebuilt["model"] == "z-image-turbo"
    assert not list((tmp_path / "out").glob(".export-*"))  # no temporary file left


def _mean(image) -> tuple[float, ...]:
    return tuple(ImageStat.Stat(image).mean)


def test_the_contact_sheet_shows_each_image_with_its_label(seeded, tmp_path):
    colours = [(220, 30, 30), (30, 200, 40), (40, 60, 220), (230, 200, 20)]
    ids = [
        seeded.add("red", "gpt-image-1.5", colours[:2], took=12.5, credits=8),
        seeded.add("blue", "z-image-turbo", colours[2:3], took=3.0, credits=1.5),
        seeded.add("yellow", "doubao-seedream-4.5", colours[3:], took=20.0, credits=4, size=(30, 90)),
    ]
    items = choose(seeded.history, [(i, None) for i in ids])
    layout = SheetLayout(cell=96, columns=2)
    report = contact_sheet(items, tmp_path / "sheet.png", layout)
    assert not report.skipped and len(report.written) == 4
    sheet = Image.open(tmp_path / "sheet.png").convert("RGB")
    assert sheet.size == (8 + 2 * (96 + 8), 8 + 2 * (96 + layout.label_height + 8))
    for position, (item, colour) in enumerate(zip(items, colours, strict=True)):
        left, top, right, bottom = cell_box(position // 2, position % 2, layout, 0)
        with Image.open(item.path) as picture:
            width, height = picture.size
        scale = min(96 / width, 96 / height, 1.0)
        w, h = round(width * scale), round(height * scale)
        x, y = left + (96 - w) // 2, top + (96 - h) // 2
        inner = sheet.crop((x + 2, y + 2, x + w - 2, y + h - 2))
        assert _mean(inner) == pytest.approx(colour, abs=2), item.record.prompt
        expected = draw_label(sheet_label(item), 96, layout)
        assert sheet.crop((left, bottom, right, bottom + layout.label_height)).tobytes() == expected.tobytes()
    assert sheet_label(items[0]) == ("gpt-image-1.5 (1/2)", "12.5 s · 8 credits")
    assert sheet_label(items[2]) == ("z-image-turbo", "3.0 s · 1.5 credits")
    # Drawn in several threads at once, each sheet comes out the same.
    with ThreadPoolExecutor(3) as pool:
        sheets = list(pool.map(lambda n: contact_sheet(items, tmp_path / f"t{n}.png", layout).path, range(3)))
    assert {Image.open(path).convert("RGB").tobytes() for path in sheets} == {sheet.tobytes()}
    # The label strip really shows text: lighter pixels on the dark background.
    label = sheet.crop((cell_box(0, 0, layout, 0)[0], cell_box(0, 0, layout, 0)[3], 104, 104 + layout.label_height))
    assert max(high for _, high in label.getextrema()) > 150


def test_a_comparison_run_is_one_row_per_prompt(seeded, tmp_path):
    colours = {"gpt-image-1.5": (200, 0, 0), "z-image-turbo": (0, 200, 0), "doubao-seedream-4.5": (0, 0, 200)}
    ids = []
    for prompt, group in (("a fox", "g1"), ("a castle", "g2")):
        for model, colour in colours.items():
            ids.append(seeded.add(prompt, model, [colour], group=group))
    items = choose(seeded.history, [(i, None) for i in ids])
    layout = SheetLayout(cell=64)
    contact_sheet(items, tmp_path / "compare.png", layout)
    sheet = Image.open(tmp_path / "compare.png").convert("RGB")
    rows = 2
    assert sheet.size == (8 + 3 * (64 + 8), 8 + rows * (64 + layout.label_height + 8) + rows * layout.header_height)
    for row in range(rows):
        header_top = cell_box(row, 0, layout, row + 1)[1] - layout.header_height
        header = sheet.crop((8, header_top, sheet.width - 8, header_top + layout.header_height))
        prompt = ("a fox", "a castle")[row]
        expected = draw_label((prompt,), sheet.width - 16, layout, (160, 200, 255))
        assert header.tobytes() == expected.tobytes()
        for column, colour in enumerate(colours.values()):
            left, top, right, bottom = cell_box(row, column, layout, row + 1)
            assert _mean(sheet.crop((left + 4, top + 8, right - 4, bottom - 8))) == pytest.approx(colour, abs=2)


def test_export_and_favourite_from_the_command_line(run, sim, isolated_env, tmp_path):
    code, out, _ = run("generate", "a harbour", "-n", "2", "--model", "z-image-turbo", "--json")
    first = json.loads(out)
    code, out, _ = run("generate", "a castle", "--model", "doubao-seedream-4.0", "--json")
    second = json.loads(out)
    code, out, err = run("favourite", f"{first['record_id']}:2", str(second["record_id"]))
    assert code == 0 and out.count("starred #") == 2
    code, out, _ = run("history", "--favourites")
    assert "starred: result 2" in out and "starred: result 1" in out
    code, out, _ = run("history", "--favourites", "--json")
    assert {r["record_id"]: r["favourite_results"] for r in json.loads(out)["records"]} == {
        first["record_id"]: [2],
        second["record_id"]: [1],
    }
    code, out, err = run(
        "export", "--favourites", "--zip", str(tmp_path / "fav.zip"), "--sheet", str(tmp_path / "s.png")
    )
    assert code == 0, err
    with zipfile.ZipFile(tmp_path / "fav.zip") as archive:
        names = set(archive.namelist())
    wanted = {Path(first["downloads"][1]).name, Path(second["downloads"][0]).name}
    assert wanted | {Path(n).with_suffix(".json").name for n in wanted} == names
    assert Image.open(tmp_path / "s.png").format == "PNG"
    Path(first["downloads"][0]).unlink()
    code, out, err = run("export", "--ids", str(first["record_id"]), "--zip", str(tmp_path / "some.zip"), "--json")
    assert code == 1 and f"skipped #{first['record_id']} result 1: its file is missing" in err
    assert json.loads(out)["zip"]["written"] == [Path(first["downloads"][1]).name]
    code, out, err = run("export", "--ids", "12x", "--zip", str(tmp_path / "x.zip"))
    assert code == 2 and "Invalid ids" in err and not (tmp_path / "x.zip").exists()
    code, out, err = run("export", "--ids", str(first["record_id"]))
    assert code == 2 and "--zip" in err
    code, out, err = run("favourite", f"{first['record_id']}:2", "--off")
    assert code == 0 and "unstarred" in out
