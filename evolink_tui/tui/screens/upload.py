"""The upload dialog: a local file from a tree of JPEG/PNG/GIF/WebP images, a path typed or
pasted, or a URL; an optional stored name and upload path. The file's type (by content)
and size (at most 100 MB) are checked in a thread before the dialog closes, so nothing
that would be refused is sent. The upload itself runs as a worker on the App (see
:func:`start_upload`), so it outlives this dialog."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, DirectoryTree, Input, Static

from evolink_tui.core.client import check_upload_file
from evolink_tui.core.errors import ValidationError
from evolink_tui.core.files import IMAGE_SUFFIXES, clean_source, overwrite_question
from evolink_tui.core.studio.files import UploadSpec

from ..format import plain
from ..widgets.burst_input import BurstInput

if TYPE_CHECKING:
    from evolink_tui.core.wire import FileInfo

    from ..app import EvolinkApp


def start_upload(app: EvolinkApp, spec: UploadSpec) -> int:
    """Upload ``spec`` in a worker on the App; its ticket (the Studio's events name it)."""
    files = app.studio.files
    ticket = files.new_upload(spec)
    app.start(files.upload(ticket, spec), name=f"upload {ticket}", group="files-upload")
    return ticket


def open_upload_dialog(app: EvolinkApp, spec: UploadSpec | None = None) -> None:
    """The dialog, filled with ``spec`` (else the last upload that failed); enter uploads."""
    if app.needs_key():
        return

    def chosen(result: UploadSpec | None) -> None:
        if result is not None:
            start_upload(app, result)

    app.push_screen(UploadScreen(spec or app.studio.files.state.last_failed), chosen)


def confirm_overwrite(app: EvolinkApp, spec: UploadSpec, existing: FileInfo) -> None:
    """A file of the same name is stored: upload over it only if the user says so; else
    back to the dialog with everything as it was."""
    from .confirm import ConfirmScreen

    body = Content(plain(overwrite_question(existing), 600))  # what the headless upload asks too

    def answer(yes: bool | None) -> None:
        if yes:
            start_upload(app, replace(spec, overwrite_ok=True))
        elif spec.purpose is None:
            open_upload_dialog(app, spec)

    app.push_screen(ConfirmScreen("Overwrite the stored file?", body, yes="Overwrite", no="Go back"), answer)


class ImageTree(DirectoryTree):
    """Folders and JPEG/PNG/GIF/WebP files (by name; the content is checked on upload)."""

    BINDINGS = [Binding("backspace", "screen.parent_folder", "Parent folder", id="upload.parent")]

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        for path in paths:
            if path.name.startswith("."):
                continue
            if path.suffix.lower() in IMAGE_SUFFIXES or _is_dir(path):
                yield path


def _is_dir(path: Path) -> bool:
    """A folder (a broken link or one we may not read is not: it is left out, never an error)."""
    try:
        return path.is_dir()
    except OSError:
        return False


class UploadScreen(ModalScreen[UploadSpec | None]):
    """Returns what to upload, checked; or None."""

    CSS_PATH = "../screens.tcss"  # parsed with the first of these screens to open, not at startup

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="upload.cancel")]

    class Checked(Message):
        def __init__(self, spec: UploadSpec, problem: str | None) -> None:
            super().__init__()
            self.spec = spec
            self.problem = problem

    def __init__(self, start: UploadSpec | None = None, *, folder: Path | None = None) -> None:
        super().__init__()
        self._start = start
        folder = folder or Path.cwd()
        if start and not start.is_url and start.source:
            parent = Path(start.source).expanduser().parent
            if parent.is_dir():
                folder = parent
        self._folder = folder

    def compose(self) -> ComposeResult:
        start = self._start
        with Vertical(id="upload-box", classes="modal-box") as box:
            box.border_title = "Upload a file"
            box.border_subtitle = "enter uploads · tab moves · esc cancels"
            yield BurstInput(
                value=start.source if start else "",
                id="upload-source",
                compact=True,
                placeholder="Path or URL: type, paste, or choose below",
            )
            with Horizontal(id="upload-options"):
                yield BurstInput(
                    value=(start.name or "") if start else "",
                    id="upload-name",
                    compact=True,
                    placeholder="Stored name (optional)",
                )
                yield BurstInput(
                    value=(start.upload_path or "") if start else "",
                    id="upload-folder",
                    compact=True,
                    placeholder="Upload path (optional)",
                )
            yield ImageTree(self._folder, id="upload-tree")
            yield Static(id="upload-problem")
            yield Static(
                Content.styled(
                    "JPEG, PNG, GIF or WebP, at most 100 MB. Files are deleted 72 hours after upload; a file with "
                    "the same name is overwritten (you are asked first). backspace in the tree: parent folder.",
                    "dim",
                ),
                id="upload-hint",
            )
            with Horizontal(classes="buttons"):
                yield Button("Upload", id="upload-go", variant="primary", compact=True)
                yield Button("Cancel", id="upload-cancel", compact=True)

    def on_mount(self) -> None:
        blink = getattr(self.app, "cursor_blink", True)
        for field in self.query(Input):
            field.cursor_blink = blink
        self.query_one("#upload-source", Input).focus()
        self.query_one("#upload-problem").display = False

    def _spec(self) -> UploadSpec:
        value = lambda selector: self.query_one(selector, Input).value.strip() or None  # noqa: E731
        return UploadSpec(
            clean_source(self.query_one("#upload-source", Input).value),
            name=value("#upload-name"),
            upload_path=value("#upload-folder"),
        )

    def show_problem(self, text: str) -> None:
        box = self.query_one("#upload-problem", Static)
        box.update(Content.styled(plain(text, 400), "$error"))
        box.display = True

    @on(Input.Submitted)
    @on(Button.Pressed, "#upload-go")
    def _submit(self) -> None:
        spec = self._spec()
        if not spec.source:
            self.show_problem("Type or paste a path or URL, or choose a file in the tree.")
            self.query_one("#upload-source", Input).focus()
            return
        if "/" in (spec.name or "") or "\\" in (spec.name or ""):
            self.show_problem("The stored name is a file name only: put folders in the upload path.")
            return
        if spec.is_url:
            self.dismiss(spec)
        elif "://" in spec.source:
            self.show_problem("Only http:// and https:// URLs can be uploaded from a URL.")
        else:
            self._check(spec)

    @work(thread=True, exclusive=True, group="upload-check", exit_on_error=False)
    def _check(self, spec: UploadSpec) -> None:
        try:
            check_upload_file(Path(spec.source).expanduser())
        except ValidationError as err:
            self.post_message(self.Checked(spec, str(err)))
            return
        self.post_message(self.Checked(spec, None))

    @on(Checked)
    def _checked(self, message: Checked) -> None:
        if message.problem:
            self.show_problem(f"Nothing was sent. {message.problem}")
        else:
            self.dismiss(message.spec)

    @on(Button.Pressed, "#upload-cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(DirectoryTree.FileSelected)
    def _file_chosen(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        source = self.query_one("#upload-source", Input)
        source.value = str(event.path)
        self.query_one("#upload-problem").display = False
        self.query_one("#upload-go", Button).focus()

    def action_parent_folder(self) -> None:
        tree = self.query_one(ImageTree)
        parent = Path(tree.path).resolve().parent
        if parent != Path(tree.path).resolve():
            tree.path = parent
