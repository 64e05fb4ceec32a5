"""export and favourite: chosen results out as a zip or a contact sheet, and starred.

Results are chosen as ``RECORD`` (every result of that record) or ``RECORD:N`` (its
result N, from 1), several separated by spaces or commas; ``--favourites`` adds every
starred result.
"""

from __future__ import annotations

import os

from ..cli import EXIT_FAILURE, EXIT_OK
from ..core.errors import ValidationError
from ..core.export import choose, contact_sheet, export_zip, parse_choice
from ..core.gallery import GalleryItem, GalleryQuery, gallery_page, set_favourite
from ..core.history import History
from .output import Output
from .records import _history_file

_FAVOURITES_LIMIT = 10_000


def _history(args) -> History:
    path = _history_file(args)
    if not os.path.exists(path):
        raise ValidationError(
            "ids", " ".join(args.ids or []), "record ids listed by `evolink-tui history` (no history)"
        )
    return History(path)


def _favourites(history: History) -> list[GalleryItem]:
    page = gallery_page(history, GalleryQuery(favourites=True), limit=_FAVOURITES_LIMIT)
    return page.items


def cmd_export(args, out: Output) -> int:
    if not args.zip and not args.sheet:
        raise ValidationError("export", "(nothing)", "--zip FILE, --sheet FILE, or both")
    if not args.ids and not args.favourites:
        raise ValidationError("ids", "(none)", "--ids RECORD[:N] ..., or --favourites")
    chosen = parse_choice(args.ids) if args.ids else []
    history = _history(args)
    try:
        items = choose(history, chosen) if chosen else []
        if args.favourites:
            known = {item.ref for item in items}
            items += [item for item in _favourites(history) if item.ref not in known]
    finally:
        history.close()
    if not items:
        raise ValidationError("ids", "--favourites", "at least one starred result (`evolink-tui favourite RECORD:N`)")
    reports = {}
    if args.zip:
        reports["zip"] = export_zip(items, args.zip)
        out.say(f"wrote {reports['zip'].path}: {len(reports['zip'].written)} results with their sidecars")
    if args.sheet:
        reports["sheet"] = contact_sheet(items, args.sheet)
        out.say(f"wrote {reports['sheet'].path}: a contact sheet of {len(reports['sheet'].written)} results")
    skipped = {(i.record.id, i.index, why) for report in reports.values() for i, why in report.skipped}
    for record_id, index, why in sorted(skipped):
        out.note(f"skipped #{record_id} result {index + 1}: {why}")
    out.emit({kind: report.to_json() for kind, report in reports.items()})
    return EXIT_FAILURE if skipped else EXIT_OK


def cmd_favourite(args, out: Output) -> int:
    chosen = parse_choice(args.ids)
    history = _history(args)
    try:
        items = choose(history, chosen)
        for item in items:
            set_favourite(history, item.record.id, item.index, not args.off)
    finally:
        history.close()
    word = "unstarred" if args.off else "starred"
    for item in items:
        out.say(f"{word} #{item.record.id} result {item.index + 1}  {item.path or ''}")
    out.emit({"favourite": not args.off, "results": [{"record_id": i.record.id, "result": i.index + 1} for i in items]})
    return EXIT_OK
