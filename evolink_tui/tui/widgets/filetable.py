"""The table of stored files: name (with a mark), size, type, age, time left before the
72-hour expiry and file id; one page at a time, the sorted column marked in its header.
Column widths follow the table's width: the name gets what the others leave, and the id
is shown whole whenever it fits."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from evolink_tui.core.files import format_left, kind_label, time_left, uploaded_at
from evolink_tui.core.validation import human_size
from evolink_tui.core.wire import FileInfo

from ..format import age, plain

MARK = "●"
ID_WIDTH = 25  # file_ and 20 more characters
# (label, key, width: 0 = computed)
COLUMNS = (
    ("Name", "name", 0),
    ("Size", "size", 8),
    ("Type", "type", 4),
    ("Uploaded", "uploaded", 8),
    ("Left", "left", 7),
    ("File ID", "id", 0),
)


def name_cell(info: FileInfo, marked: bool) -> Text:
    """The name, after a mark when the file is marked for a delete of several."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{MARK} " if marked else "  ", style="bold")
    text.append(plain(info.name, 200))
    return text


def row_cells(info: FileInfo, now: float, marked: bool) -> tuple[Text, ...]:
    left = time_left(info, now)
    uploaded = uploaded_at(info)
    return (
        name_cell(info, marked),
        Text(human_size(info.file_size), justify="right"),
        Text(kind_label(info)),
        Text(age(now - uploaded) + " ago" if uploaded is not None else "?", justify="right", no_wrap=True),
        Text(format_left(left), style="bold red" if left is not None and left < 3600 else "", justify="right"),
        Text(plain(info.file_id, 60), style="dim", no_wrap=True, overflow="ellipsis"),
    )


class FileTable(DataTable):
    """One page of stored files; the screen's actions act on the highlighted row."""

    BORDER_TITLE = "Files"

    BINDINGS = [
        Binding("u", "screen.upload_file", "Upload", id="files.upload"),
        Binding("d,delete", "screen.delete_files", "Delete", id="files.delete"),
        Binding("f", "screen.use_file_as_reference", "Reference", id="files.use_ref"),
        Binding("m", "screen.use_file_as_mask", "Mask", id="files.use_mask"),
        Binding("k", "screen.make_mask", "Make mask", id="files.make_mask"),
        Binding("c", "screen.copy_file_url", "Copy URL", show=False, id="files.copy_url"),
        Binding("space", "screen.toggle_mark", "Mark", show=False, id="files.mark"),
        Binding("a", "screen.mark_all", "Mark all on the page", show=False, id="files.mark_all"),
        Binding("r", "screen.refresh_files", "Refresh", show=False, id="files.refresh"),
        Binding("s", "screen.sort_next", "Sort by the next column", show=False, id="files.sort"),
        Binding("S", "screen.sort_reverse", "Reverse the sort", show=False, id="files.sort_reverse"),
        Binding("right_square_bracket", "screen.page(1)", "Next page", show=False, id="files.next_page"),
        Binding("left_square_bracket", "screen.page(-1)", "Previous page", show=False, id="files.prev_page"),
        Binding("slash", "screen.focus_filter", "Filter by name", show=False, id="files.filter"),
    ]

    class Resized(Message):
        """The columns were rebuilt for a new width: show the rows again."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self._widths = (0, 0)
        self._sort = ("", False)

    def on_mount(self) -> None:
        self._build_columns()

    def _wanted_widths(self) -> tuple[int, int]:
        """(name, file id) widths: the whole id when there is room, else a cut one."""
        width = self.scrollable_content_region.width or self.size.width or 60
        room = width - sum(w + 2 for _, key, w in COLUMNS if key not in ("name", "id")) - 4 - 1
        name = max(12, min(40, room - ID_WIDTH))
        return name, max(8, min(ID_WIDTH, room - name))

    def _build_columns(self) -> None:
        self._widths = self._wanted_widths()
        for label, key, width in COLUMNS:
            width = {"name": self._widths[0], "id": self._widths[1]}.get(key, width)
            self.add_column(self._header(label, key), width=width, key=key)

    def _header(self, label: str, key: str) -> Text:
        sort, descending = self._sort
        if key == sort:
            return Text(f"{label} {'↓' if descending else '↑'}", style="bold")
        return Text(label)

    def on_resize(self, event: events.Resize) -> None:
        if self.columns and self._wanted_widths() != self._widths:
            self.clear(columns=True)
            self._build_columns()
            self.post_message(self.Resized())

    # -- rows ----------------------------------------------------------------------------------------

    def show(
        self, files: list[FileInfo], now: float, marked: set[str], sort: tuple[str, bool], keep: str | None = None
    ) -> bool:
        """Show ``files``; the cursor stays on ``keep`` (a file id) when it is among them."""
        self._sort = sort
        self.clear()
        for label, key, _ in COLUMNS:
            self.columns[ColumnKey(key)].label = self._header(label, key)
        for info in files:
            self.add_row(*row_cells(info, now, info.file_id in marked), key=info.file_id)
        if keep is not None and keep in self.rows:
            self.move_cursor(row=self.get_row_index(keep), animate=False)
            return True
        return False

    def set_mark(self, info: FileInfo, marked: bool) -> None:
        self.update_cell(info.file_id, "name", name_cell(info, marked))

    @property
    def selected_id(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # no row under the cursor
            return None
