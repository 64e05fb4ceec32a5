"""Actions on one result, shared by the main screen and the gallery.

A screen built on :class:`ResultScreen` says which result is selected (``current_result``);
the actions copy its path or URL (OSC 52: works over SSH), open it with the system viewer
when that can work, show its sidecar, use it as a reference, regenerate or retry its task
(those three are the main screen's flows).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.screen import Screen

from evolink_tui.core.history import TaskRecord

from .format import plain
from .web_open import open_in_browser

if TYPE_CHECKING:
    from .app import EvolinkApp


def task_result_bindings(prefix: str) -> list[Binding]:
    """The keys on a task and its results, as the task list and the preview both offer them.

    ``t`` is two bindings: "Resend same key" shows only for an uncertain submit (the
    screen's ``check_action`` picks one), "Retry" for everything else.
    """
    return [
        Binding("r", "screen.regenerate", "Regenerate", id=f"{prefix}.regenerate"),
        Binding("i", "screen.iterate", "Iterate", id=f"{prefix}.iterate"),
        Binding("t", "screen.resend", "Resend same key", id=f"{prefix}.resend"),
        Binding("t", "screen.retry", "Retry", id=f"{prefix}.retry"),
        Binding("c", "screen.copy_path", "Copy path", id=f"{prefix}.copy_path"),
        Binding("u", "screen.copy_url", "Copy URL", id=f"{prefix}.copy_url"),
        Binding("o", "screen.open_result", "Open", id=f"{prefix}.open"),
        Binding("s", "screen.show_sidecar", "Sidecar", id=f"{prefix}.sidecar"),
        Binding("f", "screen.use_as_reference", "Use as ref", id=f"{prefix}.use_ref"),
        Binding("v", "screen.view_result", "View", id=f"{prefix}.view"),
        Binding("l", "screen.show_lineage", "Lineage", show=False, id=f"{prefix}.lineage"),
    ]


def file_index(path: str) -> int | None:
    """Which result a downloaded file is: its name ends in ``_<n>.<ext>`` (see result_stem)."""
    tail = Path(path).stem.rsplit("_", 1)
    if len(tail) == 2 and tail[1].isdigit():
        return int(tail[1]) - 1
    return None


def result_url(record: TaskRecord, index: int | None) -> str | None:
    """The result URL for file ``index`` of ``record`` (or its first URL)."""
    if not record.results:
        return None
    if index is not None and index < len(record.files):
        which = file_index(record.files[index])
        if which is not None and which < len(record.results):
            return record.results[which]
    return record.results[index] if index is not None and index < len(record.results) else record.results[0]


def result_index(record: TaskRecord, file: int | None) -> int:
    """Which result (from 0) file ``file`` of ``record`` is (its name says; see file_index)."""
    if file is None or not 0 <= file < len(record.files):
        return file or 0
    which = file_index(record.files[file])
    return which if which is not None else file


def result_path(record: TaskRecord, index: int | None) -> str | None:
    if not record.files:
        return None
    return record.files[index if index is not None and index < len(record.files) else 0]


def viewer_command() -> str | None:
    """The system viewer, when one can show a window here (not over plain SSH)."""
    if sys.platform == "darwin":
        return shutil.which("open")
    if sys.platform.startswith("win"):
        return None
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return None
    return shutil.which("xdg-open")


async def open_in_viewer(command: str, path: str) -> None:
    """Open ``path`` with the system viewer ``command`` (a worker: an error is shown)."""
    process = await asyncio.create_subprocess_exec(
        command,
        path,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    if await process.wait():
        raise RuntimeError(f"{Path(command).name} could not open {path}")


class ResultScreen(Screen):
    """A screen whose keys act on one selected result (``current_result``)."""

    if TYPE_CHECKING:
        app: EvolinkApp

    def current_result(self) -> tuple[TaskRecord, int | None] | None:
        """The selected record and which of its files (None: no file yet)."""
        return None

    def view_items(self) -> tuple[list[tuple[int, int]], int, bool]:
        """What the viewer steps through from here: (record id, file index) pairs, the
        position of the selected one, and whether to open them side by side."""
        found = self.current_result()
        if found is None or found[1] is None:
            return [], 0, False
        return [(found[0].id, found[1])], 0, False

    def action_view_result(self) -> None:
        from .screens.viewer import open_viewer

        if self._result() is not None:
            items, index, compare = self.view_items()
            open_viewer(self.app, items, index, compare=compare)

    def _result(self) -> tuple[TaskRecord, int | None] | None:
        found = self.current_result()
        if found is None:
            self.notify("No task selected.", severity="warning", markup=False)
        return found

    def action_copy_path(self) -> None:
        if found := self._result():
            path = result_path(*found)
            if path is None:
                self.notify("This task has no downloaded file yet.", severity="warning", markup=False)
                return
            self.app.copy_to_clipboard(path)
            self.notify(f"Copied the path: {plain(path)}", markup=False)

    def action_copy_url(self) -> None:
        if found := self._result():
            url = result_url(*found)
            if url is None:
                self.notify("This task has no result URL.", severity="warning", markup=False)
                return
            self.app.copy_to_clipboard(url)
            self.notify(f"Copied the URL (valid 24 hours from completion): {plain(url, 120)}", markup=False)

    def action_open_result(self) -> None:
        if found := self._result():
            path = result_path(*found)
            if path is None:
                self.notify("No local file to open yet.", severity="warning", markup=False)
                return
            if open_in_browser(self.app, path):  # web mode (evolink-tui serve): the file goes to the browser
                return
            command = viewer_command()
            if command is None:
                self.notify(
                    f"No display to open a viewer on (over SSH?). The file is {plain(path)}; c copies its path.",
                    severity="warning",
                    markup=False,
                    timeout=8,
                )
                return
            self.app.start(open_in_viewer(command, path), name="open viewer", group="viewer")

    def action_show_sidecar(self) -> None:
        if found := self._result():
            path = result_path(*found)
            if path is None:
                self.notify(
                    "No sidecar yet: it is written next to each downloaded file.", severity="warning", markup=False
                )
                return
            from .screens.sidecar import SidecarScreen

            self.app.push_screen(SidecarScreen(Path(path).with_suffix(".json")))

    def action_use_as_reference(self) -> None:
        if found := self._result():
            ref = result_path(*found) or result_url(*found)
            if ref is None:
                self.notify("This task has no result to use yet.", severity="warning", markup=False)
                return
            self.app.call_later(self.app.main.generation.use_as_reference, ref)

    def action_regenerate(self) -> None:
        if found := self._result():
            self.app.call_later(self.app.main.generation.regenerate, found[0])

    def action_retry(self) -> None:
        if found := self._result():
            self.app.main.generation.retry(found[0])

    def result_index(self) -> tuple[TaskRecord, int] | None:
        """The selected record and which of its results (from 0): a screen whose
        ``current_result`` counts results rather than files says so here."""
        if found := self._result():
            record, file = found
            return record, result_index(record, file)
        return None

    def action_iterate(self) -> None:
        """The composer opens with this result as its reference (nothing is sent)."""
        if found := self.result_index():
            self.app.call_later(self.app.main.iterating.start, *found)

    def action_show_lineage(self) -> None:
        """The tree of what was made from this result's line (the lineage screen)."""
        if found := self.result_index():
            from .screens.lineage import LineageScreen

            self.app.push_screen(LineageScreen(found[0].id, found[1]))
