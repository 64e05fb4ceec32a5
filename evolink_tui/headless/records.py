"""history: the local record of every generation (no network)."""

from __future__ import annotations

import os

from ..cli import EXIT_OK
from ..core.dates import day_range, when
from ..core.dirs import data_folder
from ..core.errors import ValidationError, summary
from ..core.history import (
    KNOWN_STATES,
    NOT_FOUND,
    STATUS_FILTERS,
    History,
    TaskRecord,
    history_file,
)
from ..core.rules import results_asked
from ..core.text import excerpt, one_line
from ..core.timing import time_taken
from .output import Output, whole

MAX_LIMIT = 1_000_000_000


def record_lines(record: TaskRecord, *, verdict: str | None = None) -> list[str]:
    head = [
        f"#{record.id}",
        when(record.created_at),
        one_line(verdict or record.state),
        one_line(record.model or "?"),
        one_line(record.task_id or "(no task id)"),
    ]
    if record.credits is not None:
        head.append(f"{record.credits:g} credits")
    if (seconds := time_taken(record)) is not None:
        head.append(f"took {seconds:.1f}s")
    if record.state in ("pending", "processing"):
        head.append(f"{record.progress}%")
    lines = ["  ".join(head)]
    if record.damaged:
        lines.append(
            f"    damaged: the history row's {', '.join(record.damaged)} could not be read (shown as far as it goes)"
        )
    if record.prompt:
        lines.append(f"    prompt: {excerpt(record.prompt, 70)}")
    if record.parent:
        lines.append(f"    iterated on: #{record.parent[0]} result {record.parent[1] + 1}")
    if record.files:
        lines.append(f"    files: {' '.join(record.files)}")
    if len(record.results) > 1 and len(record.results) > results_asked(record.request):  # never fewer than 1 asked
        asked = results_asked(record.request)
        lines.append(
            f"    results: {len(record.results)} URLs for the {asked} asked for; "
            f"{len(record.results) - asked} kept as URLs, not downloaded"
        )
    starred = record.favourite_results()
    if starred:
        lines.append(f"    starred: result {', '.join(map(str, starred))}")
    if record.state == "completed" and record.download_state not in (None, "done"):
        lines.append(
            f"    downloads: {record.download_state}"
            + (" (result URLs have lapsed; the record is kept)" if record.is_expired else "")
        )
    if record.dismissed_at is not None:
        lines.append(f"    dismissed from the app's task list {when(record.dismissed_at)} (kept here)")
    if record.linked_to is not None:
        lines.append(f"    linked to #{record.linked_to}: the server answered with that record's task")
    elif record.error:
        lines.append(f"    error: {excerpt(summary(record.error), 160)}")
        if record.state == NOT_FOUND and record.error.get("resolution"):
            lines.append(f"    what to do: {record.error['resolution']}")
    if record.notice and not record.is_finished:
        lines.append(f"    note: {record.notice}")
    if record.can_resend:
        lines.append(
            f"    resend with its own idempotency key (never charged twice): evolink-tui resume --resend {record.id}"
        )
    return lines


def _history_file(args) -> str:
    """The history file the command reads (``--demo``: the demo's)."""
    return history_file(data_folder(), getattr(args, "demo", False))


def _check_status(status: str, path: str) -> None:
    """A status that is neither a state this app writes nor a filter must be one on record
    (a server's own); else bad input naming what is allowed."""
    seen: list[str] = []
    if os.path.exists(path):
        history = History(path)
        try:
            seen = history.states()
        finally:
            history.close()
    if status.strip().lower() in seen:
        return
    states = list(dict.fromkeys([*KNOWN_STATES, *seen]))
    raise ValidationError("status", status, f"a state ({', '.join(states)}) or a filter ({', '.join(STATUS_FILTERS)})")


def cmd_history(args, out: Output) -> int:
    since, until = day_range(args.since, args.until)  # both days whole
    limit = whole("limit", args.limit, f"a whole number from 1 to {MAX_LIMIT:,}", low=1, high=MAX_LIMIT)
    status = (args.status or "").strip().lower() or None
    path = _history_file(args)
    if status is not None and status not in KNOWN_STATES + STATUS_FILTERS:
        _check_status(args.status, path)
    if not os.path.exists(path):
        out.say(f"no history yet ({path})")
        out.emit({"history": path, "count": 0, "records": []})
        return EXIT_OK
    history = History(path)
    try:
        records = history.search(
            args.search or "",
            model=args.model or None,
            status=status,
            since=since,
            until=until,
            limit=limit,
            favourites=getattr(args, "favourites", False),
            sort=getattr(args, "sort", "newest"),
        )
        total = history.count()
    finally:
        history.close()
    for record in records:
        for line in record_lines(record):
            out.say(line)
    out.say(f"{len(records)} of {total} records shown ({path})")
    if out.as_json:  # text mode prints none of it, and making it took as long as the listing
        out.emit({"history": path, "count": len(records), "total": total, "records": [r.to_json() for r in records]})
    return EXIT_OK
