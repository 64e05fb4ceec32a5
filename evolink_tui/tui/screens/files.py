"""The files screen: the quota, every stored file (paginated, sortable, filterable by name)
and a preview of the chosen one, with its actions: upload, delete, use as reference or
mask, make a mask, copy the URL.

The Studio's :class:`~evolink_tui.core.studio.files.Files` does the network (in workers on
the App, so an upload outlives this screen) and reports each result as an event, shown here
by ``show_event``. The listing is read again when the screen opens, on ``r``, after every
upload or delete, and when a generation uploaded a reference.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Input, ProgressBar, Static

from evolink_tui.core.errors import summary
from evolink_tui.core.files import SORTS, filter_files, format_left, kind_label, sort_files, time_left
from evolink_tui.core.validation import human_size
from evolink_tui.core.wire import FileInfo

from ..format import plain
from ..widgets.filetable import FileTable
from ..widgets.keybar import KeyBar
from ..widgets.quota import QuotaBar
from ..widgets.thumbnail import ThumbnailView

if TYPE_CHECKING:
    from ..app import EvolinkApp

PAGE_SIZE = 100
PREVIEW_DELAY = 0.15  # seconds the cursor rests on a file before its preview is fetched

# What the palette's files commands say when they open this screen (they need a file chosen)
HINTS = {
    "delete_files": "Mark files with space, then press d to delete them.",
    "use_file_as_reference": "Choose a file, then press f to use it as a reference.",
    "use_file_as_mask": "Choose a PNG mask, then press m to use it as the mask.",
    "copy_file_url": "Choose a file, then press c to copy its URL.",
    "make_mask": "Choose a file, then press k to make a mask on it.",
    "refresh_files": "Reading the files again.",
}


def refresh_files(app: EvolinkApp) -> None:
    """Read the quota and every file again, in a worker on the App (the latest wins)."""
    app.start(app.studio.files.refresh(), name="list files", group="files-list", exclusive=True)


def fetch_preview(app: EvolinkApp, url: str) -> None:
    """Fetch a stored file's bytes for its preview (``FileBytesLoaded``; the latest wins)."""
    app.start(app.studio.files.fetch_bytes(url), name="file preview", group="file-bytes", exclusive=True)


def offer_files_for_quota(app: EvolinkApp) -> None:
    """The file quota is full (40003): offer the files screen to choose what to delete."""
    from .confirm import ConfirmScreen

    if isinstance(app.screen, FilesScreen):
        app.notify(
            "The file quota is full: mark files with space and press d to delete them, then upload "
            "again (u brings back what you chose).",
            severity="warning",
            markup=False,
            timeout=12,
        )
        return
    body = Content.assemble(
        ("The file quota is full", "bold"),
        " (code 40003). Delete files to free quota, then try again: "
        "everything you chose is kept.\n\nOpen the files screen to choose files to delete?",
    )

    def answer(yes: bool | None) -> None:
        if yes:
            app.action_open_files()

    app.push_screen(ConfirmScreen("File quota full", body, yes="Open files", no="Not now"), answer)


class FilesScreen(Screen):
    """The quota, the table and the chosen file's preview; the actions act on that file
    (or, for a delete, on every marked one)."""

    CSS_PATH = "../screens.tcss"  # parsed with the first of these screens to open, not at startup

    if TYPE_CHECKING:
        app: EvolinkApp

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (130, "-wide")]  # the preview below the table, or beside it

    BINDINGS = [
        Binding("escape,f5", "back", "Back", id="files.back"),
        Binding("f1,question_mark", "app.show_help", "Help", id="files.help"),
    ]

    def __init__(self, *, page_size: int = PAGE_SIZE, then: str = "") -> None:
        """``then``: an action to run once open (upload), or to explain (those that need a
        file chosen first)."""
        super().__init__(id="files")
        self._then = then
        self.page_size = max(1, min(PAGE_SIZE, page_size))
        self._files: list[FileInfo] = []
        self._view: list[FileInfo] = []  # sorted and filtered
        self._total = 0
        self._page = 0
        self._sort = "uploaded"
        self._descending = SORTS["uploaded"][1]
        self._marked: set[str] = set()
        self._select_id: str | None = None  # highlight this file once it is listed
        self._shown_id: str | None = None
        self._partial = False
        self._list_error = ""
        self._upload_error = ""
        self._fetch_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield QuotaBar(id="files-quota")
        yield Input(placeholder="Filter by name (/)", id="files-filter", compact=True)
        with Horizontal(id="files-body"):
            yield FileTable(id="files-table")
            with Vertical(id="file-side") as side:
                side.border_title = "Preview"
                yield ThumbnailView(id="file-thumb")
                yield Static(id="file-details")
        with Horizontal(id="files-status-row"):
            yield Static(id="files-status")
            yield ProgressBar(id="files-progress", show_eta=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#files-filter", Input).cursor_blink = getattr(self.app, "cursor_blink", True)
        self.query_one("#files-progress").display = False
        self.table.focus()
        state = self.app.studio.files.state
        self.query_one(QuotaBar).quota = state.quota
        if state.loaded:
            self._set_files(state.files, state.total)
        self._status()
        self._show_progress()
        refresh_files(self.app)
        self.set_interval(60, self._render_page)  # ages and time left move on
        if self._then == "upload_file":
            self.action_upload_file()
        elif self._then in HINTS:
            self.notify(HINTS[self._then], markup=False)

    # -- the table --------------------------------------------------------------------------------------

    @property
    def table(self) -> FileTable:
        return self.query_one(FileTable)

    @on(FileTable.Resized)
    def _table_resized(self) -> None:
        self._render_page()

    @property
    def pages(self) -> int:
        return max(1, -(-len(self._view) // self.page_size))

    def page_files(self) -> list[FileInfo]:
        start = self._page * self.page_size
        return self._view[start : start + self.page_size]

    def _set_files(self, files: list[FileInfo], total: int) -> None:
        self._files, self._total = files, total
        ids = {f.file_id for f in files}
        self._marked &= ids
        self._apply_view()

    def _apply_view(self, *, keep: str | None = None) -> None:
        keep = keep or self._select_id or self.selected_id
        text = self.query_one("#files-filter", Input).value
        self._view = sort_files(filter_files(self._files, text), self._sort, self._descending)
        if keep is not None:
            for index, info in enumerate(self._view):
                if info.file_id == keep:
                    self._page = index // self.page_size
                    break
        self._page = max(0, min(self._page, self.pages - 1))
        self._render_page(keep)

    def _render_page(self, keep: str | None = None) -> None:
        keep = keep or self.selected_id
        files = self.page_files()
        if self.table.show(files, self.app.studio.now(), self._marked, (self._sort, self._descending), keep):
            if keep == self._select_id:
                self._select_id = None
        self._status()
        self._show_selected()

    # -- the Studio's events --------------------------------------------------------------------------------

    def show_event(self, event: object) -> None:
        from evolink_tui.core import events as ev

        match event:
            case ev.FilesListed(files=files, total=total, quota=quota, partial=partial):
                self._list_error = ""
                self._partial = partial
                if quota is not None:
                    self.query_one(QuotaBar).quota = quota
                self._set_files(list(files), total)
            case ev.FilesListFailed(error=error):
                self._list_error = f"Could not read the files: {summary(error)}"
                self._status()
            case ev.UploadProgressed():
                self._show_progress()
            case ev.FileUploaded(info=info):
                self._select_id = info.file_id
                self._upload_error = ""
                self._show_progress()
            case ev.UploadFailed(error=error):
                self._show_progress()
                self._upload_error = f"Upload failed: {summary(error)} (u tries again)"
                self._status()
            case ev.FilesDeleted(deleted=deleted):
                self._marked -= {f.file_id for f in deleted}
            case ev.FileBytesLoaded(url=url, data=data, error=error):
                chosen = self.selected
                if chosen is not None and chosen.file_url == url:
                    self._show_thumbnail(data, error)
            case ev.ReferenceUploaded() if self.is_current:
                refresh_files(self.app)  # a generation uploaded a reference: the listing moved

    def _status(self) -> None:
        parts: list = []
        count = len(self._view)
        parts.append(f"page {self._page + 1} of {self.pages} · {self._total} file{'s' if self._total != 1 else ''}")
        text = self.query_one("#files-filter", Input).value.strip()
        if text:
            parts.append(f" · {count} match '{plain(text, 30)}'")
        if self._partial:
            parts.append(" · reading more…")
        parts.append(f" · sorted by {SORTS[self._sort][0]} {'↓' if self._descending else '↑'}")
        if self._marked:
            parts.append((f" · {len(self._marked)} marked", "bold $accent"))
        progress = self.app.studio.files.state.progress
        if progress:
            done, total = sum(d for d, _ in progress.values()), sum(t for _, t in progress.values())
            parts.append((f" · uploading {human_size(done)} of {human_size(total)}", "$accent"))
        line = Content.assemble(*parts)
        error = self._list_error or self._upload_error
        if error:
            line = Content.assemble((plain(error, 300), "bold $error"), "\n", line)
        elif not self._files and self.app.studio.files.state.loaded:
            line = Content.assemble(("No files stored. Press u to upload one.", "$text-muted"), "\n", line)
        status = self.query_one("#files-status", Static)
        status.update(line)

    def _show_progress(self) -> None:
        progress = self.app.studio.files.state.progress
        bar = self.query_one("#files-progress", ProgressBar)
        self._status()
        if not progress:
            bar.display = False
            return
        done = sum(d for d, _ in progress.values())
        total = sum(t for _, t in progress.values())
        bar.display = True
        bar.update(total=max(total, 1), progress=done)

    # -- the selected file ----------------------------------------------------------------------------------

    @property
    def selected_id(self) -> str | None:
        return self.table.selected_id

    @property
    def selected(self) -> FileInfo | None:
        file_id = self.selected_id
        return next((f for f in self._files if f.file_id == file_id), None)

    @on(DataTable.RowHighlighted, "#files-table")
    def _highlighted(self) -> None:
        self._show_selected()

    def _show_selected(self) -> None:
        info = self.selected
        details = self.query_one("#file-details", Static)
        if info is None:
            details.update(Content.styled("No file chosen.", "dim"))
            self._shown_id = None
            self.query_one("#file-thumb", ThumbnailView).set_source(None)
            return
        now = self.app.studio.now()
        left = time_left(info, now)
        lines = [
            Content.styled(plain(info.name, 120), "bold"),
            Content(f"{kind_label(info)} · {human_size(info.file_size)} · {format_left(left)} left"),
            Content.styled(plain(info.file_id), "dim"),
            Content.styled(plain(info.file_url or "(no URL)", 300), "dim"),
        ]
        if info.upload_path:
            lines.insert(2, Content(f"folder {plain(info.upload_path, 60)}"))
        details.update(Content("\n").join(lines))
        if info.file_id == self._shown_id:
            return
        self._shown_id = info.file_id
        thumb = self.query_one("#file-thumb", ThumbnailView)
        thumb.set_source(None)
        if self._fetch_timer is not None:
            self._fetch_timer.stop()
            self._fetch_timer = None
        if not info.file_url:
            return
        data = self.app.studio.files.cached_bytes(info.file_url)
        if data is not None:
            thumb.set_source(data)
        else:  # fetched once the cursor rests: holding an arrow key sends nothing
            self._fetch_timer = self.set_timer(PREVIEW_DELAY, lambda: self._fetch_preview(info.file_url))

    def _fetch_preview(self, url: str) -> None:
        self._fetch_timer = None
        info = self.selected
        if info is not None and info.file_url == url:
            fetch_preview(self.app, url)

    def _show_thumbnail(self, data: bytes | None, error: BaseException | None) -> None:
        thumb = self.query_one("#file-thumb", ThumbnailView)
        if data is not None:
            thumb.set_source(data)
        elif error is not None:
            details = self.query_one("#file-details", Static)
            shown = details.content
            details.update(
                Content.assemble(
                    shown if isinstance(shown, Content) else Content(str(shown)),
                    "\n",
                    Content.styled("No preview: " + plain(summary(error), 120), "$warning"),
                )
            )

    # -- actions --------------------------------------------------------------------------------------------

    def _chosen(self) -> FileInfo | None:
        info = self.selected
        if info is None:
            self.notify("No file chosen: upload one with u.", severity="warning", markup=False)
        return info

    def action_back(self) -> None:
        if self.focused is self.query_one("#files-filter", Input):
            self.table.focus()
            return
        self.app.pop_screen()

    def action_upload_file(self) -> None:
        from .upload import open_upload_dialog

        open_upload_dialog(self.app)

    def action_refresh_files(self) -> None:
        refresh_files(self.app)
        self.notify("Reading the files again.", markup=False, timeout=2)

    def action_toggle_mark(self) -> None:
        info = self.selected
        if info is None:
            return
        self._marked ^= {info.file_id}
        row = self.table.cursor_row
        self.table.set_mark(info, info.file_id in self._marked)
        if row < self.table.row_count - 1:
            self.table.move_cursor(row=row + 1)
        self._status()

    def action_mark_all(self) -> None:
        ids = {f.file_id for f in self.page_files()}
        self._marked = self._marked - ids if ids <= self._marked else self._marked | ids
        self._render_page()

    def action_delete_files(self) -> None:
        from .confirm import ConfirmScreen

        chosen = [f for f in self._files if f.file_id in self._marked]
        if not chosen:
            info = self._chosen()
            if info is None:
                return
            chosen = [info]
        names = ", ".join(plain(f.name, 40) for f in chosen[:5]) + (
            f" and {len(chosen) - 5} more" if len(chosen) > 5 else ""
        )
        count = len(chosen)
        body = Content.assemble(
            "Delete ",
            (f"{count} file{'s' if count != 1 else ''}", "bold"),
            f": {names}?\n\n",
            f"This cannot be undone. {'Their URLs stop' if count != 1 else 'Its URL stops'} working, and the "
            f"quota goes down by {count}.",
        )

        def answer(yes: bool | None) -> None:
            if yes:
                self.app.start(self.app.studio.files.delete(chosen), name="delete files", group="files-delete")

        self.app.push_screen(ConfirmScreen("Delete files", body, yes="Delete", no="Cancel", danger=True), answer)

    def action_use_file_as_reference(self) -> None:
        if info := self._chosen():
            self.app.call_later(self.app.main.refs.use_file, info)

    def action_use_file_as_mask(self) -> None:
        if info := self._chosen():
            self.app.main.refs.use_mask(info)

    def action_make_mask(self) -> None:
        if info := self._chosen():
            if not info.file_url:
                self.notify("The server gave this file no URL.", severity="warning", markup=False)
                return
            self.app.main.refs.open_mask_maker(url=info.file_url, name=info.name, reference=info.file_url)

    def action_copy_file_url(self) -> None:
        if info := self._chosen():
            if not info.file_url:
                self.notify("The server gave this file no URL.", severity="warning", markup=False)
                return
            self.app.copy_to_clipboard(info.file_url)
            self.notify(f"Copied the URL (it works until the file expires): {plain(info.file_url, 120)}", markup=False)

    def action_sort_next(self) -> None:
        keys = list(SORTS)
        self._sort = keys[(keys.index(self._sort) + 1) % len(keys)]
        self._descending = SORTS[self._sort][1]
        self._apply_view()

    def action_sort_reverse(self) -> None:
        self._descending = not self._descending
        self._apply_view()

    @on(DataTable.HeaderSelected, "#files-table")
    def _header_clicked(self, event: DataTable.HeaderSelected) -> None:
        key = event.column_key.value
        if key not in SORTS:
            return
        if key == self._sort:
            self._descending = not self._descending
        else:
            self._sort, self._descending = key, SORTS[key][1]
        self._apply_view()

    def action_page(self, step: int) -> None:
        page = max(0, min(self.pages - 1, self._page + step))
        if page != self._page:
            self._page = page
            self._render_page()
            self.table.move_cursor(row=0)

    def action_focus_filter(self) -> None:
        self.query_one("#files-filter", Input).focus()

    @on(Input.Changed, "#files-filter")
    def _filter_changed(self) -> None:
        self._page = 0
        self._apply_view()

    @on(Input.Submitted, "#files-filter")
    def _filter_done(self) -> None:
        self.table.focus()
