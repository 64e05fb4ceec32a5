"""Where and how to export the marked results: a zip of the images with their sidecars, or a
contact sheet (one PNG, each image labelled with its model, time and credits)."""

from __future__ import annotations

import time
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

KINDS = {"zip": ".zip", "sheet": ".png"}


def default_path(folder: Path, kind: str, now: float | None = None) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    name = "contact-sheet" if kind == "sheet" else "export"
    return folder / f"{name}-{stamp}{KINDS[kind]}"


class ExportScreen(ModalScreen[tuple[str, Path] | None]):
    """Returns (``zip`` or ``sheet``, the file to write), or None."""

    CSS_PATH = "../screens.tcss"

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="gallery_export.cancel"),
        Binding("ctrl+s", "export('sheet')", "Contact sheet", id="gallery_export.sheet"),
    ]

    def __init__(self, count: int, folder: Path) -> None:
        super().__init__()
        self._count = count
        self._folder = folder
        self._kind = "zip"

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box", classes="modal-box") as box:
            box.border_title = f"Export {self._count} result{'s' if self._count != 1 else ''}"
            box.border_subtitle = "enter zip · ctrl+s contact sheet · esc cancel"
            yield Static(Content("Write to:"), id="export-label")
            yield Input(str(default_path(self._folder, "zip")), id="export-path")
            with Horizontal(classes="buttons"):
                yield Button("Zip with sidecars", id="export-zip", variant="primary", compact=True)
                yield Button("Contact sheet (PNG)", id="export-sheet", compact=True)
                yield Button("Cancel", id="export-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    def _path(self, kind: str) -> Path | None:
        text = self.query_one("#export-path", Input).value.strip()
        if not text:
            return None
        path = Path(text).expanduser()
        suffix = KINDS[kind]
        return path if path.suffix.lower() == suffix else path.with_suffix(suffix)

    def action_export(self, kind: str) -> None:
        path = self._path(kind)
        if path is None:
            self.notify("export path: empty; type the file to write.", severity="warning", markup=False)
            return
        self.dismiss((kind, path))

    @on(Input.Submitted, "#export-path")
    def _submitted(self) -> None:
        self.action_export("zip")

    @on(Button.Pressed, "#export-zip")
    def _zip(self) -> None:
        self.action_export("zip")

    @on(Button.Pressed, "#export-sheet")
    def _sheet(self) -> None:
        self.action_export("sheet")

    @on(Button.Pressed, "#export-cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
