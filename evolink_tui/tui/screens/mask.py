"""The mask maker: the reference image as a thumbnail, a rectangle marked on it with the
keys or the mouse, and a PNG mask at the image's own size (white = edit, black = keep)
written by Pillow in a thread, uploaded through the Files API and set as the composer's
mask. Masks are for gpt-4o-image only; the App checks that before this screen opens.

Keys: arrows move the active corner, tab switches between the two corners, shift+arrows
move the whole rectangle, enter makes the mask. With the mouse: press on one corner and
drag to the other.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.color import Color, ColorTriplet, blend_rgb
from rich.segment import Segment
from rich.style import Style
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.strip import Strip
from textual.widgets import Static

from evolink_tui.core.errors import describe, summary
from evolink_tui.core.files import write_mask
from evolink_tui.core.imaging import Rect, cells_to_rect, make_mask
from evolink_tui.core.studio.files import UploadSpec
from evolink_tui.core.text import inert
from evolink_tui.core.thumbnails import Thumbnail

from ..format import plain
from ..widgets.keybar import KeyBar
from ..widgets.thumbnail import ThumbnailView

if TYPE_CHECKING:
    from ..app import EvolinkApp

Cell = tuple[int, int]
CORNER = Style(color="black", bgcolor="#ffd700", bold=True)


def _dim(style: Style | None, cache: dict) -> Style | None:
    """The style of a cell outside the rectangle: its colours blended well towards black."""
    if style is None:
        return None
    found = cache.get(style)
    if found is None:

        def darker(color: Color | None) -> Color | None:
            if color is None or color.triplet is None:
                return color
            return Color.from_triplet(blend_rgb(color.triplet, ColorTriplet(0, 0, 0), 0.65))

        found = cache[style] = style + Style.from_color(darker(style.color), darker(style.bgcolor))
    return found


class MaskCanvas(ThumbnailView, can_focus=True):
    """The image with the rectangle to edit: bright inside, dimmed outside."""

    BORDER_TITLE = "Mask"

    BINDINGS = [
        Binding("up", "corner(0, -1)", "Corner up", show=False, id="mask.up"),
        Binding("down", "corner(0, 1)", "Corner down", show=False, id="mask.down"),
        Binding("left", "corner(-1, 0)", "Corner left", show=False, id="mask.left"),
        Binding("right", "corner(1, 0)", "Corner right", show=False, id="mask.right"),
        Binding("shift+up", "shift(0, -1)", "Move up", show=False, id="mask.move_up"),
        Binding("shift+down", "shift(0, 1)", "Move down", show=False, id="mask.move_down"),
        Binding("shift+left", "shift(-1, 0)", "Move left", show=False, id="mask.move_left"),
        Binding("shift+right", "shift(1, 0)", "Move right", show=False, id="mask.move_right"),
        Binding("tab", "switch_corner", "Other corner", id="mask.corner"),
        Binding("a", "whole", "Whole image", show=False, id="mask.whole"),
        Binding("enter", "screen.make", "Make mask", id="mask.make"),
    ]

    class Changed(Message):
        """The rectangle moved."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._grid: tuple[int, int] | None = None
        self._corners: list[Cell] = [(0, 0), (0, 0)]
        self.active = 1  # 0: top-left corner as first marked, 1: the other one
        self._dragging = False
        self._dim_cache: dict = {}

    # -- the rectangle, in thumbnail cells ----------------------------------------------------------------

    @property
    def grid(self) -> tuple[int, int] | None:
        return self._grid

    @property
    def cell_rect(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) in cells, right and bottom exclusive."""
        (x0, y0), (x1, y1) = self._corners
        return min(x0, x1), min(y0, y1), max(x0, x1) + 1, max(y0, y1) + 1

    def image_rect(self) -> Rect | None:
        """The rectangle in the image's own pixels."""
        thumb = self.thumbnail
        if thumb is None or self._grid is None:
            return None
        cols, rows = self._grid
        return cells_to_rect(self.cell_rect, cols, rows, thumb.image_width, thumb.image_height)

    def set_corners(self, first: Cell, second: Cell) -> None:
        self._corners = [self._clamp(first), self._clamp(second)]
        self.refresh()
        self.post_message(self.Changed())

    def _clamp(self, cell: Cell) -> Cell:
        cols, rows = self._grid or (1, 1)
        return max(0, min(cols - 1, cell[0])), max(0, min(rows - 1, cell[1]))

    def watch_thumbnail(self, thumbnail: Thumbnail | None) -> None:
        super().watch_thumbnail(thumbnail)
        if thumbnail is None:
            return
        grid = (thumbnail.width, thumbnail.height)
        if self._grid is None:
            self._grid = grid
            cols, rows = grid
            self.set_corners(
                (cols // 4, rows // 4), (max(cols // 4, cols * 3 // 4 - 1), max(rows // 4, rows * 3 // 4 - 1))
            )
        elif grid != self._grid:  # the view was resized: keep the same part of the image
            (old_cols, old_rows), self._grid = self._grid, grid
            scale = lambda cell: (round(cell[0] * grid[0] / old_cols), round(cell[1] * grid[1] / old_rows))  # noqa: E731
            self.set_corners(scale(self._corners[0]), scale(self._corners[1]))

    # -- keys ----------------------------------------------------------------------------------------------

    def action_corner(self, dx: int, dy: int) -> None:
        x, y = self._corners[self.active]
        corners = list(self._corners)
        corners[self.active] = (x + dx, y + dy)
        self.set_corners(*corners)

    def action_shift(self, dx: int, dy: int) -> None:
        if self._grid is None:
            return
        cols, rows = self._grid
        left, top, right, bottom = self.cell_rect
        dx = max(-left, min(cols - right, dx))
        dy = max(-top, min(rows - bottom, dy))
        self.set_corners(*((x + dx, y + dy) for x, y in self._corners))

    def action_switch_corner(self) -> None:
        self.active = 1 - self.active
        self.refresh()
        self.post_message(self.Changed())

    def action_whole(self) -> None:
        if self._grid is not None:
            cols, rows = self._grid
            self.set_corners((0, 0), (cols - 1, rows - 1))

    # -- the mouse -----------------------------------------------------------------------------------------

    def _origin(self) -> tuple[int, int]:
        thumb = self.thumbnail
        width, height = self.size
        if thumb is None:
            return 0, 0
        return max(0, (width - thumb.width) // 2), max(0, (height - thumb.height) // 2)

    def _cell_at(self, x: int, y: int) -> Cell:
        """The cell under a mouse position (relative to the widget, border included)."""
        left, top = self._origin()
        gutter = self.styles.gutter
        return x - gutter.left - left, y - gutter.top - top

    def on_mouse_down(self, event: events.MouseDown) -> None:
        if self._grid is None:
            return
        cell = self._cell_at(event.x, event.y)
        self._dragging = True
        self.capture_mouse()
        self.active = 1
        self.set_corners(cell, cell)
        self.focus()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._dragging:
            self.set_corners(self._corners[0], self._cell_at(event.x, event.y))

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self._dragging:
            self._dragging = False
            self.release_mouse()
            self.set_corners(self._corners[0], self._cell_at(event.x, event.y))

    # -- drawing -------------------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        thumb = self.thumbnail
        if thumb is None or self._grid is None or self._placeholder() is not None:
            return strip
        left, top = self._origin()
        row = y - top
        if not 0 <= row < thumb.height:
            return strip
        x0, y0, x1, y1 = self.cell_rect
        end = left + thumb.width
        inside = y0 <= row < y1
        cuts = [(0, left, False), (left, left + x0 if inside else end, True)]
        if inside:
            cuts += [(left + x0, left + x1, False), (left + x1, end, True)]
        cuts.append((end, strip.cell_length, False))
        parts: list[Segment] = []
        for start, stop, dim in cuts:
            if stop <= start:
                continue
            piece = strip.crop(start, stop)
            if dim:
                parts.extend(Segment(s.text, _dim(s.style, self._dim_cache)) for s in piece)
            else:
                parts.extend(piece)
        out = Strip(parts, strip.cell_length)
        cx, cy = self._corners[self.active]
        if cy == row:
            px = left + cx
            out = Strip([*out.crop(0, px), Segment("╋", CORNER), *out.crop(px + 1, out.cell_length)], out.cell_length)
        return out


class MaskScreen(Screen):
    """Mark what to edit on the reference image; enter writes, uploads and sets the mask."""

    CSS_PATH = "../screens.tcss"  # parsed with the first of these screens to open, not at startup

    if TYPE_CHECKING:
        app: EvolinkApp

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="mask.cancel"),
        Binding("f1,question_mark", "app.show_help", "Help", id="mask.help"),
    ]

    class Written(Message):
        def __init__(self, path: Path | None, error: BaseException | None = None) -> None:
            super().__init__()
            self.path = path
            self.error = error

    def __init__(
        self, *, path: str | None = None, url: str | None = None, name: str = "", reference: str | None = None
    ) -> None:
        super().__init__(id="mask-screen")
        self._path = path
        self._url = url
        self._image_name = name or (Path(path).name if path else "image")
        self.reference = reference
        self.ticket: int | None = None
        self._done = False
        self._error = ""

    def compose(self) -> ComposeResult:
        yield Static(id="mask-head")
        yield MaskCanvas(id="mask-canvas")
        yield Static(id="mask-status")
        yield KeyBar()

    @property
    def canvas(self) -> MaskCanvas:
        return self.query_one(MaskCanvas)

    def on_mount(self) -> None:
        self.canvas.focus()
        self._head()
        self._status()
        if self._path:
            self.canvas.set_source(Path(self._path).expanduser())
        elif self._url:
            data = self.app.studio.files.cached_bytes(self._url)
            if data is not None:
                self.canvas.set_source(data)
            else:
                from .files import fetch_preview

                fetch_preview(self.app, self._url)

    def on_screen_resume(self) -> None:
        if self._done:
            self.dismiss()

    def _head(self) -> None:
        thumb = self.canvas.thumbnail
        size = f" · {thumb.image_width}x{thumb.image_height}" if thumb else ""
        self.query_one("#mask-head", Static).update(
            Content.assemble(
                ("Mask for ", "bold"),
                (plain(self._image_name, 60), "bold"),
                size,
                (" · bright: edited (white) · dim: kept (black)", "dim"),
            )
        )

    def _status(self) -> None:
        canvas = self.canvas
        rect = canvas.image_rect()
        if self._error:
            text = Content.styled(plain(self._error, 400), "bold $error")
        elif self.ticket is not None:
            text = Content.styled("Writing and uploading the mask…", "$accent")
        elif rect is None:
            text = Content.styled("Loading the image…", "dim")
        else:
            corner = "first" if canvas.active == 0 else "second"
            text = Content.assemble(
                (f"Edit x {rect.left}–{rect.right - 1}, y {rect.top}–{rect.bottom - 1}", "bold"),
                f" ({rect.right - rect.left}x{rect.bottom - rect.top} px) · arrows: {corner} corner · tab: the "
                "other · shift+arrows: move · or drag with the mouse",
            )
        self.query_one("#mask-status", Static).update(text)

    @on(MaskCanvas.Changed)
    def _changed(self) -> None:
        self._head()
        self._status()

    @on(ThumbnailView.Failed)
    def _failed(self, message: ThumbnailView.Failed) -> None:
        self._error = f"Cannot show this image: {message.error}"
        self._status()

    def show_event(self, event: object) -> None:
        from evolink_tui.core import events as ev

        match event:
            case ev.FileBytesLoaded(url=url, data=data, error=error) if url == self._url:
                if data is not None:
                    self.canvas.set_source(data)
                else:
                    self._error = f"Cannot fetch the image: {summary(error)}"
                    self._status()
            case ev.FileUploaded(ticket=ticket) if ticket == self.ticket:
                self._done = True
                if self.is_current:
                    self.dismiss()
            case ev.UploadFailed(ticket=ticket, error=error) if ticket == self.ticket:
                self.ticket = None
                self._error = f"Upload failed, the rectangle is kept: {summary(error)}. Press enter to try again."
                self._status()

    def action_make(self) -> None:
        canvas = self.canvas
        thumb = canvas.thumbnail
        rect = canvas.image_rect()
        if self.ticket is not None or thumb is None or rect is None:
            return
        self._error = ""
        self.ticket = -1  # busy until the upload starts
        self._status()
        folder = self.app.settings.data_dir / "masks"
        width, height, name = thumb.image_width, thumb.image_height, self._image_name

        def work() -> None:  # a thread: Pillow and the disk
            try:
                path = write_mask(folder, name, make_mask(width, height, rect))
            except (OSError, ValueError) as err:
                self.post_message(self.Written(None, err))
                return
            self.post_message(self.Written(path))

        self.run_worker(work, name="write mask", thread=True, group="mask", exit_on_error=False)

    @on(Written)
    def _written(self, message: Written) -> None:
        if message.path is None:
            self.ticket = None
            self._error = f"The mask could not be written: {inert(describe(message.error)) if message.error else ''}"
            self._status()
            return
        from .upload import start_upload

        self.ticket = start_upload(
            self.app,
            UploadSpec(
                str(message.path),
                name=message.path.name,
                purpose="mask",
                reference=self.reference,
                overwrite_ok=True,
                retry_safe=True,
            ),
        )

    def action_cancel(self) -> None:
        self.dismiss()
