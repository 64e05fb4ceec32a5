"""Exporting chosen results: a zip of the images with their sidecars, or a contact sheet
(one PNG grid, each image labelled with its model, the time the task took and its
credits; for comparison runs one row per prompt).

Choosing results: :func:`parse_choice` reads ``RECORD`` (every result of it) or
``RECORD:N`` (its result N, from 1), several separated by commas or spaces, and
:func:`choose` turns them into gallery items. Both writers are plain functions with no
shared state, safe to run in several threads at once; they write to a temporary file
and rename it into place.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ValidationError
from .gallery import GalleryItem, items_of
from .history import History, TaskRecord
from .text import excerpt
from .validation import GenerationRequest

MAX_SHEET_ITEMS = 400
SHEET_BACKGROUND = (24, 24, 24)
LABEL_COLOUR = (235, 235, 235)
HEADER_COLOUR = (160, 200, 255)
_CHOICE = re.compile(r"^#?(\d+)(?::(\d+))?$")


def parse_choice(texts: Iterable[str]) -> list[tuple[int, int | None]]:
    """``["12", "13:2,14"]`` -> ``[(12, None), (13, 1), (14, None)]`` (result indexes from 0)."""
    chosen = []
    for text in texts:
        for part in re.split(r"[,\s]+", text.strip()):
            if not part:
                continue
            found = _CHOICE.match(part)
            if not found or (found[2] is not None and int(found[2]) < 1):
                raise ValidationError(
                    "ids", part, "record ids as listed by `evolink-tui history`, each optionally :N for its result N"
                )
            chosen.append((int(found[1]), int(found[2]) - 1 if found[2] else None))
    if not chosen:
        raise ValidationError("ids", "", "at least one record id (RECORD or RECORD:N)")
    return chosen


def choose(history: History, chosen: list[tuple[int, int | None]]) -> list[GalleryItem]:
    """The gallery items chosen, in the order given (each once); ValidationError naming the
    first record or result that does not exist."""
    items, seen = [], set()
    for record_id, index in chosen:
        record = history.get(record_id)
        if record is None:
            raise ValidationError("ids", record_id, "a record id listed by `evolink-tui history`")
        found = items_of(record)
        if index is not None:
            if index >= len(found):
                raise ValidationError(
                    "ids",
                    f"{record_id}:{index + 1}",
                    f"a result number from 1 to {len(found)} for #{record_id}"
                    if found
                    else f"a record with results (#{record_id} has none)",
                )
            found = [found[index]]
        for item in found:
            if item.ref not in seen:
                seen.add(item.ref)
                items.append(item)
    return items


@dataclass
class ExportReport:
    path: Path
    written: list[str] = field(default_factory=list)  # names inside the zip, or labels on the sheet
    skipped: list[tuple[GalleryItem, str]] = field(default_factory=list)  # and why

    def to_json(self) -> dict:
        return {
            "path": str(self.path),
            "written": self.written,
            "skipped": [{"record_id": i.record.id, "result": i.index + 1, "reason": why} for i, why in self.skipped],
        }


def _usable(item: GalleryItem) -> str | None:
    """Why a result cannot be exported, or None."""
    state = item.state
    return None if state == "on disk" else f"its file is {state}"


def _atomic(dest: Path, suffix: str):
    dest = Path(dest).expanduser()
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".export-", suffix=suffix, dir=dest.parent)
    os.close(fd)
    return dest, Path(tmp)


def export_zip(items: list[GalleryItem], dest: Path) -> ExportReport:
    """A zip of the chosen images, each with its sidecar (rebuilt from the history if it is
    gone). Results whose file is not on disk are skipped and listed."""
    dest, tmp = _atomic(dest, ".zip")
    report = ExportReport(dest)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            names: set[str] = set()
            for item in items:
                why = _usable(item)
                if why:
                    report.skipped.append((item, why))
                    continue
                assert item.path is not None
                name = _unique(item.path.name, names)
                archive.write(item.path, name, compress_type=zipfile.ZIP_STORED)  # images are compressed already
                sidecar = item.path.with_suffix(".json")
                if sidecar.is_file():
                    archive.write(sidecar, Path(name).with_suffix(".json").name)
                else:
                    fallback = {**_record_sidecar(item.record, item.index), **_fields_without_history(item.record)}
                    archive.writestr(Path(name).with_suffix(".json").name, json.dumps(fallback, indent=2))
                report.written.append(name)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return report


def _unique(name: str, taken: set[str]) -> str:
    stem, suffix, n = Path(name).stem, Path(name).suffix, 1
    while name in taken:
        n += 1
        name = f"{stem}-{n}{suffix}"
    taken.add(name)
    return name


def _record_sidecar(record: TaskRecord, index: int) -> dict:
    """A sidecar rebuilt from the history, for a result whose sidecar file is gone."""
    body = record.request
    return {
        "generator": "evolink-tui (rebuilt from the history)",
        "task_id": record.task_id,
        "index": index + 1,
        "prompt": body.get("prompt", record.prompt),
        "model": record.model or body.get("model"),
        "size": body.get("size"),
        "n": body.get("n"),
        "image_urls": list(body.get("image_urls") or []),
        "mask_url": body.get("mask_url"),
        "params": dict(GenerationRequest.from_body(body).params),
        "source_url": record.results[index] if index < len(record.results) else None,
        "credits_reserved": record.credits,
    }


def _fields_without_history(record: TaskRecord) -> dict:
    parent = {"record_id": record.parent[0], "result": record.parent[1] + 1} if record.parent else None
    return {"record_id": record.id, "parent": parent}


# -- contact sheet -------------------------------------------------------------------------


def took(record: TaskRecord) -> float | None:
    """Seconds from submit (or creation) to the end of the task."""
    start = record.submitted_at or record.created_at
    if record.finished_at is None or not start:
        return None
    return max(0.0, record.finished_at - start)


def sheet_label(item: GalleryItem) -> tuple[str, str]:
    """The two lines under an image: the model (and result number), then time and credits."""
    record = item.record
    count = max(len(record.results), len(record.files))
    first = record.model + (f" ({item.index + 1}/{count})" if count > 1 else "")
    seconds = took(record)
    credits = f"{record.credits:g} credits" if record.credits is not None else "credits ?"
    second = (f"{seconds:.1f} s" if seconds is not None else "? s") + f" · {credits}"
    return first, second


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


@dataclass(frozen=True)
class SheetLayout:
    cell: int = 256  # image box, pixels square
    gap: int = 8
    label_size: int = 14  # font size of the labels
    columns: int | None = None  # None: about square, or one row per prompt for comparison runs

    @property
    def label_height(self) -> int:
        return 2 * (self.label_size + 4) + 4

    @property
    def header_height(self) -> int:
        return self.label_size + 10


def draw_label(lines: tuple[str, ...], width: int, layout: SheetLayout, colour=LABEL_COLOUR):
    """A label strip as the sheet draws it (tests render the expected one the same way)."""
    from PIL import Image, ImageDraw

    height = layout.label_height if len(lines) > 1 else layout.header_height
    strip = Image.new("RGB", (width, height), SHEET_BACKGROUND)
    draw = ImageDraw.Draw(strip)
    font = _font(layout.label_size)
    for row, line in enumerate(lines):
        draw.text(
            (2, 2 + row * (layout.label_size + 4)), _fit_text(draw, line, font, width - 4), font=font, fill=colour
        )
    return strip


def _fit_text(draw, text: str, font, width: int) -> str:
    text = excerpt(text, 200)
    while text and draw.textlength(text, font=font) > width:
        text = text[:-2] + "…" if len(text) > 1 else ""
    return text


def sheet_rows(items: list[GalleryItem], layout: SheetLayout) -> list[tuple[str | None, list[GalleryItem]]]:
    """(header, items) per row: one row per prompt when the results come from comparison
    runs (the header is the prompt), else rows of ``columns`` (about square) without one."""
    if any(item.record.group_id for item in items) and layout.columns is None:
        rows: dict[str, list[GalleryItem]] = {}
        for item in items:
            rows.setdefault(item.record.prompt, []).append(item)
        return [(prompt, row) for prompt, row in rows.items()]
    columns = layout.columns or max(1, round(len(items) ** 0.5 + 0.49))
    return [(None, items[i : i + columns]) for i in range(0, len(items), columns)]


def cell_box(row: int, column: int, layout: SheetLayout, headers_above: int) -> tuple[int, int, int, int]:
    """The image box of a cell on the sheet (left, top, right, bottom)."""
    x = layout.gap + column * (layout.cell + layout.gap)
    y = layout.gap + row * (layout.cell + layout.label_height + layout.gap) + headers_above * layout.header_height
    return x, y, x + layout.cell, y + layout.cell


def contact_sheet(items: list[GalleryItem], dest: Path, layout: SheetLayout | None = None) -> ExportReport:
    """Draw the chosen results on one PNG: each image fitted in a square cell, centred, with
    :func:`sheet_label` under it. Results not on disk (or not readable) are skipped."""
    from PIL import Image

    layout = layout or SheetLayout()
    usable, report = [], ExportReport(Path(dest))
    for item in items[:MAX_SHEET_ITEMS]:
        why = _usable(item)
        (report.skipped.append((item, why)) if why else usable.append(item))
    for item in items[MAX_SHEET_ITEMS:]:
        report.skipped.append((item, f"over the {MAX_SHEET_ITEMS} results a sheet holds"))
    if not usable:
        raise ValidationError("ids", len(items), "at least one result whose file is on disk")
    rows = sheet_rows(usable, layout)
    headers = sum(1 for header, _ in rows if header is not None)
    columns = max(len(row) for _, row in rows)
    width = layout.gap + columns * (layout.cell + layout.gap)
    height = layout.gap + len(rows) * (layout.cell + layout.label_height + layout.gap) + headers * layout.header_height
    sheet = Image.new("RGB", (width, height), SHEET_BACKGROUND)
    headers_above = 0
    for r, (header, row) in enumerate(rows):
        if header is not None:
            headers_above += 1
            top = cell_box(r, 0, layout, headers_above)[1] - layout.header_height
            sheet.paste(draw_label((header,), width - 2 * layout.gap, layout, HEADER_COLOUR), (layout.gap, top))
        for c, item in enumerate(row):
            left, top, right, bottom = cell_box(r, c, layout, headers_above)
            try:
                picture = fitted(item.path, layout.cell)  # type: ignore[arg-type]
            except (OSError, ValueError) as exc:
                report.skipped.append((item, f"unreadable: {exc}"))
                continue
            sheet.paste(picture, (left + (layout.cell - picture.width) // 2, top + (layout.cell - picture.height) // 2))
            sheet.paste(draw_label(sheet_label(item), layout.cell, layout), (left, bottom))
            report.written.append(" ".join(sheet_label(item)))
    dest, tmp = _atomic(dest, ".png")
    report.path = dest
    try:
        sheet.save(tmp, "PNG")
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return report


def fitted(path: Path, box: int):
    """The image at ``path`` in RGB, scaled down (never up) to fit a ``box`` square."""
    from PIL import Image, ImageOps

    from .imagetypes import DECODE_GATE
    from .thumbnails import MAX_PIXELS

    with DECODE_GATE, Image.open(path) as image:
        if image.width * image.height > MAX_PIXELS:
            raise ValueError(f"{image.width}x{image.height} pixels is over the {MAX_PIXELS:,}-pixel limit")
        alpha = "A" in image.getbands() or "transparency" in image.info
        if image.format == "JPEG":
            image.draft("RGB", (box, box))  # decode at a fraction of the size
        picture = ImageOps.exif_transpose(image).convert("RGBA" if alpha else "RGB")
    if alpha:
        backdrop = Image.new("RGBA", picture.size, (*SHEET_BACKGROUND, 255))
        picture = Image.alpha_composite(backdrop, picture).convert("RGB")
    picture.thumbnail((box, box), Image.Resampling.LANCZOS)
    return picture
