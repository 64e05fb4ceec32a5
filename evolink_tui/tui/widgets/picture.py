"""Picture: an image file shown as large as the widget allows, with real pixels where the
terminal can show them (kitty graphics, iTerm2 images, sixel) and half-block cells
elsewhere; zoom up to the file's native resolution and pan.

How the pixels reach the terminal (``evolink_tui.core.graphics`` makes the escapes):

- Everything goes through Textual's own output, inside the lines this widget renders, so
  it is written in order with the rest of the frame (never from another thread).
- **kitty**: the image is sent once per frame size (a zero-width segment at the start of
  a line Textual is about to write, on a row whose first cell no other widget covers),
  and the widget's cells are Unicode placeholders naming it. Redraws and scrolling
  repaint placeholders only; the image is not sent again until the view changes.
- **sixel / iTerm2**: the cells are blank and the picture is drawn after the box's last
  row, cursor saved and restored around it. It is drawn only when the whole box is being
  repainted and no other widget (a toast, a menu) lies over it; otherwise the box shows
  half-block cells until it is clear again. A repaint of part of the box asks for a full
  one.
- Under a dialog (the screen is not the active one) every method shows half-block cells,
  which Textual dims like any other text: nothing is drawn over the dialog.
- A picture replaced or removed asks the terminal to free its kitty image with the next
  one sent; sixel and iTerm2 pixels go with the cells Textual draws over them.

Decoding and resampling run in a thread worker; the original file is decoded once and
kept, so zoom and pan resample from its own pixels. A pan at one zoom keeps the pixels the
two views share (the views lie whole screen pixels apart) and resamples only the rows and
columns that come into view. Results come back as messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import isclose
from pathlib import Path
from typing import TYPE_CHECKING

from rich.color import Color, ColorType
from rich.color_triplet import ColorTriplet
from rich.segment import ControlType, Segment
from rich.style import Style
from textual.errors import NoWidget
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget
from textual.worker import get_current_worker

from evolink_tui.core.graphics import CellSize, TerminalGraphics, active, display, iterm, kitty, raster, sixel, tmux
from evolink_tui.core.graphics.view import FIT, ZOOM_STEP, Layout, View, layout, panned, zoomed

from .thumbnail import raster_strips

if TYPE_CHECKING:
    from PIL import Image as PILImage

HALF_CELL = CellSize(1, 2)
"""Half-block "pixels": two to a cell."""
UNREADABLE = "cannot show this image"
SAVE_CURSOR, RESTORE_CURSOR = "\x1b7", "\x1b8"
_ZERO_WIDTH = ((ControlType.CURSOR_FORWARD, 0),)


@dataclass
class Frame:
    """One rendering of the picture at one size and view."""

    method: str
    layout: Layout
    """In the method's cells (HALF_CELL pixels for half-block)."""
    image_size: tuple[int, int]
    """The file's size in pixels."""
    strips: list[Strip] = field(default_factory=list, repr=False)
    """The same view as half-block cells, one strip a row: the picture itself for
    half-block, the fallback under dialogs and overlays for the others (made when first
    needed; empty until then)."""
    escapes: str = field(default="", repr=False)
    """kitty: transmission and placement; sixel/iTerm2: the picture."""
    cells_asked: bool = False
    image_id: int = 0
    sent: bool = False
    """kitty: the transmission went out in a line Textual wrote."""
    from_copy: bool = False
    """Made from the file's display copy (``graphics.display``: as many pixels as the frame
    sends, fewer than the file has), not from the decoded file."""
    pixels: PILImage.Image | None = field(default=None, repr=False, compare=False)
    """The pixels sent (kitty, sixel, iTerm2): a pan's next frame takes what both show."""
    made_from: raster.Original | None = field(default=None, repr=False, compare=False)
    """The decode (or display copy) the pixels were resampled from."""


def _pending_deletes() -> list[int]:
    return Picture._deletes


class Picture(Widget):
    """Shows an image file scaled to the widget, aspect ratio kept; zoom and pan."""

    DEFAULT_CSS = """
    Picture {
        width: 1fr;
        height: 1fr;
    }
    """

    _deletes: list[int] = []
    """kitty images to free, sent with the next transmission (by any Picture)."""

    class Shown(Message):
        """A new frame is on screen (after a source, size, zoom or pan change)."""

        def __init__(self, picture: Picture, frame: Frame) -> None:
            super().__init__()
            self.picture = picture
            self.frame = frame

        @property
        def control(self) -> Picture:
            return self.picture

    class Failed(Message):
        """The source could not be shown; ``error`` is what Pillow or the loader raised."""

        def __init__(self, picture: Picture, source: Path, error: BaseException) -> None:
            super().__init__()
            self.picture = picture
            self.source = source
            self.error = error

        @property
        def control(self) -> Picture:
            return self.picture

    class _Ready(Message):
        def __init__(self, picture: Picture, ticket: int, frame: Frame, original: raster.Original) -> None:
            super().__init__()
            self.picture = picture
            self.ticket = ticket
            self.frame = frame
            self.original = original

    class _Copy(Message):
        def __init__(self, picture: Picture, ticket: int, copy: raster.Original) -> None:
            super().__init__()
            self.picture = picture
            self.ticket = ticket
            self.copy = copy

    class _Cells(Message):
        def __init__(self, picture: Picture, frame: Frame, strips: list[Strip]) -> None:
            super().__init__()
            self.picture = picture
            self.frame = frame
            self.strips = strips

    class _Error(Message):
        def __init__(self, picture: Picture, ticket: int, source: Path, error: BaseException) -> None:
            super().__init__()
            self.picture = picture
            self.ticket = ticket
            self.source = source
            self.error = error

    def __init__(
        self,
        source: str | Path | None = None,
        *,
        graphics: TerminalGraphics | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._graphics = graphics
        self._source: Path | None = Path(source) if source is not None else None
        self._original: raster.Original | None = None
        self._frame: Frame | None = None
        self._view = FIT
        self._ticket = 0
        self._wanted: tuple | None = None  # what the worker in flight is making
        self._error = False
        self._mode = ""
        self._lines: list[Strip] = []
        self._lines_key: tuple | None = None
        self._full_repaint_asked = False
        self._base = Style()
        self._decoding = False  # the file's decode was started after a display copy's frame

    # --- what it shows --------------------------------------------------------------

    @property
    def graphics(self) -> TerminalGraphics:
        return self._graphics if self._graphics is not None else active()

    @property
    def source(self) -> Path | None:
        return self._source

    @property
    def frame(self) -> Frame | None:
        """The frame on screen (None until the first one is ready)."""
        return self._frame

    @property
    def view(self) -> View:
        return self._view

    @property
    def zoom(self) -> float:
        return self._view.zoom

    @property
    def max_zoom(self) -> float:
        """The zoom at which one pixel of the file is one pixel on screen."""
        return self._frame.layout.max_zoom if self._frame is not None else 1.0

    @property
    def image_size(self) -> tuple[int, int] | None:
        """The file's size in pixels, once decoded."""
        return (self._original.width, self._original.height) if self._original is not None else None

    def set_source(self, path: str | Path | None) -> None:
        """Show the image file at ``path`` (None clears), fitted (zoom 1)."""
        self._source = Path(path) if path is not None else None
        self._view = FIT
        self._error = False
        self._drop_frame()
        self._original = None
        self._decoding = False
        self._ticket += 1
        self._wanted = None
        self.refresh()
        self._prefetch()
        self._request()

    def zoom_in(self) -> None:
        self.set_view(zoomed(self._view, ZOOM_STEP, self.max_zoom))

    def zoom_out(self) -> None:
        self.set_view(zoomed(self._view, 1 / ZOOM_STEP, self.max_zoom))

    def zoom_fit(self) -> None:
        self.set_view(FIT)

    def zoom_native(self) -> None:
        """One pixel of the file per pixel on screen (the largest zoom)."""
        self.set_view(View(self.max_zoom, self._view.cx, self._view.cy))

    def pan(self, dx: float, dy: float) -> None:
        """Move by ``dx``, ``dy`` view widths/heights (0.25 = a quarter of what shows)."""
        self.set_view(panned(self._view, dx, dy))

    def set_view(self, view: View) -> None:
        self._view = view
        self._request()

    # --- making frames (thread) --------------------------------------------------------

    def _method_cell(self) -> tuple[str, CellSize]:
        graphics = self.graphics
        if graphics.method == "halfblock":
            return "halfblock", HALF_CELL
        return graphics.method, graphics.cell

    def _request(self) -> None:
        source = self._source
        if source is None or not self.is_mounted:
            return
        cols, rows = self.content_size
        if cols < 1 or rows < 1:
            return
        method, cell = self._method_cell()
        if method == "sixel":
            rows = self._sixel_rows(rows)
        original = self._original
        if original is not None:
            planned = layout(original.width, original.height, cols, rows, cell, self._view)
            if planned is None:
                return
            self._view = planned.view  # a pan past the edge stops at the edge
            frame = self._frame
            if frame is not None and frame.method == method and frame.layout == planned:
                self._ticket += 1  # already on screen: nothing to send
                self._wanted = None
                return
        wanted = (source, cols, rows, method, cell, self._view)
        if wanted == self._wanted:
            return
        self._wanted = wanted
        self._ticket += 1
        ticket, view, graphics, shown = self._ticket, self._view, self.graphics, self._frame

        def work() -> None:  # a thread: no widget is touched here
            try:
                kept = _pixels_for(source, original, cols, rows, cell, view, method)
                planned = layout(kept.width, kept.height, cols, rows, cell, view)
                if planned is None:
                    return
                frame = _make_frame(kept, planned, method, graphics, shown)
                message: Message = Picture._Ready(self, ticket, frame, kept)
            except Exception as error:  # unreadable, too large, gone: shown as text
                message = Picture._Error(self, ticket, source, error)
            if not get_current_worker().is_cancelled:
                self.post_message(message)

        self.run_worker(work, name="picture", group="picture", thread=True, exclusive=True, exit_on_error=False)

    def _prefetch(self) -> None:
        """Start on the file now, before the widget has a size (a new screen is laid out
        first). With a display copy on disk, the copy is read (a few ms) for the fitted
        frame and the file's decode waits until that frame is shown (``_decode_file``), so
        the two do not compete for the CPU; without one, the file's decode starts now and
        the frame's worker waits for it rather than starting its own. Errors are left to
        that worker to report."""
        source = self._source
        if source is None or self._original is not None or not self.is_mounted:
            return
        ticket = self._ticket

        def work() -> None:  # a thread
            try:
                copy = display.find(source) if raster.kept(source) is None else None
            except Exception:  # a copy that cannot be read: the file is decoded
                copy = None
            if copy is not None:
                self.post_message(Picture._Copy(self, ticket, copy))
                return
            self._decode(source)

        self.run_worker(work, name="picture decode", group="decode", thread=True, exclusive=True, exit_on_error=False)

    def _decode_file(self) -> None:
        """Decode the file in the background (a zoom past the display copy needs it)."""
        source = self._source
        if source is not None:
            self.run_worker(
                lambda: self._decode(source), name="picture decode", group="decode", thread=True, exit_on_error=False
            )

    @staticmethod
    def _decode(source: Path) -> None:  # a thread
        try:
            decoded = raster.load_cached(source)
        except Exception:  # the frame's worker meets it again and says so
            return
        display.store_original(decoded)  # the next fitted view of this file needs no decode

    def on_picture__copy(self, message: _Copy) -> None:
        message.stop()
        if message.picture is self and message.ticket == self._ticket and self._original is None:
            self._original = message.copy  # the frame's worker starts from it

    def _sixel_rows(self, rows: int) -> int:
        """A sixel image on the terminal's last row would scroll the screen: keep off it."""
        try:
            bottom = self.content_region.bottom
            return rows - 1 if rows > 1 and bottom >= self.screen.size.height else rows
        except NoWidget:
            return rows

    def on_mount(self) -> None:
        self.app.screen_change_signal.subscribe(self, self._screen_changed)
        self._prefetch()
        self._request()

    def on_resize(self) -> None:
        self._request()

    def on_unmount(self) -> None:
        self._drop_frame()

    def _screen_changed(self, _screen: object) -> None:
        self.refresh()

    def _drop_frame(self) -> None:
        frame = self._frame
        if frame is not None and frame.method == "kitty" and frame.sent:
            _pending_deletes().append(frame.image_id)
        self._frame = None
        self._lines_key = None

    def on_picture__ready(self, message: _Ready) -> None:
        message.stop()
        if message.picture is not self or message.ticket != self._ticket:
            return
        self._wanted = None
        self._original = message.original
        self._view = message.frame.layout.view
        self._drop_frame()
        self._frame = message.frame
        self._error = False
        self._mode = self._choose_mode()  # so the repaint below is the only one
        self.refresh()
        self.post_message(Picture.Shown(self, message.frame))
        if message.frame.from_copy and not self._decoding:
            self._decoding = True
            self._decode_file()

    def _make_cells(self, frame: Frame) -> None:
        """The half-block fallback of a pixel frame, made the first time it is needed (it is
        pure Python work that would compete with the event loop for the GIL)."""
        original = self._original
        if original is None or frame.cells_asked:
            return
        frame.cells_asked = True

        def work() -> None:
            message = Picture._Cells(self, frame, _halfblock_strips(original, frame.layout))
            if not get_current_worker().is_cancelled:
                self.post_message(message)

        self.run_worker(work, name="picture cells", group="cells", thread=True, exclusive=True, exit_on_error=False)

    def on_picture__cells(self, message: _Cells) -> None:
        message.stop()
        frame = message.frame
        frame.strips = message.strips
        if frame is self._frame and self._mode == "cells":
            self._lines_key = None
            self.refresh()

    def on_picture__error(self, message: _Error) -> None:
        message.stop()
        if message.picture is not self or message.ticket != self._ticket:
            return
        self._wanted = None
        self._drop_frame()
        self._original = None
        self._error = True
        self._mode = self._choose_mode()
        self.refresh()
        self.post_message(Picture.Failed(self, message.source, message.error))

    # --- drawing -------------------------------------------------------------------------

    def _choose_mode(self) -> str:
        """What the cells hold: "cells" (half-block), "kitty" (placeholders), "blank"
        (sixel/iTerm2 draws over them), "text" (a line of text) or "" (nothing yet)."""
        frame = self._frame
        if self._error:
            return "text"
        if frame is None:
            return ""
        no_color = self.app.no_color
        if frame.method == "halfblock":
            return "text" if no_color else "cells"
        try:
            if not self.screen.is_active:
                return "text" if no_color else "cells"
        except NoWidget:
            return ""
        if frame.method == "kitty":
            # The placeholders carry the image id in their colour, which NO_COLOR removes.
            return "text" if no_color else "kitty"
        return "cells" if self._covered() else "blank"

    def _covered(self) -> bool:
        """Whether any part of this widget is hidden: another widget drawn above it, or
        scrolled out of its container's view."""
        screen = self.screen
        try:
            mine = screen.find_widget(self)
        except NoWidget:
            return True
        region = mine.region
        if region.intersection(mine.clip) != region:
            return True
        for widget in screen.walk_children(Widget):
            if widget is self or not widget.display:
                continue
            try:
                other = screen.find_widget(widget)
            except NoWidget:
                continue
            if other.order > mine.order and other.region.intersection(other.clip).overlaps(region):
                return True
        return False

    def render_lines(self, crop: Region) -> list[Strip]:
        # The widget's style, read once a render (each read costs about a millisecond).
        self._base = self.rich_style
        mode = self._choose_mode()
        if mode != self._mode:
            self._mode = mode
            self.refresh()  # the cached lines were drawn for the other mode
        frame = self._frame
        if mode == "cells" and frame is not None and not frame.strips:
            self._make_cells(frame)
        lines = super().render_lines(crop)
        if frame is None or mode not in ("kitty", "blank"):
            return lines
        if mode == "kitty":
            if not frame.sent:
                self._attach_transmission(frame, crop, lines)
        else:
            self._attach_picture(frame, crop, lines)
        return lines

    def _content_offset(self) -> tuple[int, int]:
        outer, inner = self.region, self.content_region
        return inner.x - outer.x, inner.y - outer.y

    def _attach_transmission(self, frame: Frame, crop: Region, lines: list[Strip]) -> None:
        """Put the kitty transmission on the first line whose first cell is ours (that
        part of the line is sure to be written)."""
        screen_x = self.region.x + crop.x
        for index, line in enumerate(lines):
            screen_y = self.region.y + crop.y + index
            try:
                top, _ = self.screen.get_widget_at(screen_x, screen_y)
            except NoWidget:
                continue
            if top is not self:
                continue
            deletes = _pending_deletes()
            escapes = "".join(kitty.for_terminal([kitty.delete(i)], self.graphics.tmux) for i in deletes)
            deletes.clear()
            # Two segments: the transmission (megabytes) is not copied to put the deletes first.
            sent = [Segment(escapes, None, _ZERO_WIDTH)] if escapes else []
            sent.append(Segment(frame.escapes, None, _ZERO_WIDTH))
            lines[index] = Strip([*sent, *line], line.cell_length)
            frame.sent = True
            return

    def _attach_picture(self, frame: Frame, crop: Region, lines: list[Strip]) -> None:
        """Draw the sixel/iTerm2 picture after the box's last row, if the whole box is
        being repainted; otherwise ask for a repaint of all of it."""
        off_x, off_y = self._content_offset()
        box = Region(off_x + frame.layout.left, off_y + frame.layout.top, frame.layout.cols, frame.layout.rows)
        if not crop.contains_region(box):
            if not self._full_repaint_asked:
                self._full_repaint_asked = True
                self.call_after_refresh(self._repaint_all)
            return
        index = box.bottom - 1 - crop.y
        x, y = self.region.x + box.x, self.region.y + box.y
        draw = f"{SAVE_CURSOR}\x1b[{y + 1};{x + 1}H{frame.escapes}{RESTORE_CURSOR}"
        line = lines[index]
        lines[index] = Strip([*line, Segment(draw, None, _ZERO_WIDTH)], line.cell_length)

    def _repaint_all(self) -> None:
        self._full_repaint_asked = False
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        lines = self._layout_lines(width, height)
        return lines[y] if y < len(lines) else Strip.blank(width, self._base)

    def _layout_lines(self, width: int, height: int) -> list[Strip]:
        frame, mode, base = self._frame, self._mode, self._base
        key = (id(frame), mode, width, height, base)
        if key == self._lines_key:
            return self._lines
        blank = Strip.blank(width, base)
        lines: list[Strip] = []
        if mode == "text":
            text = UNREADABLE if self._error or frame is None else _describe(frame)
            line = Strip([Segment(" " * max(0, (width - len(text)) // 2), base), Segment(text, base)])
            lines = [blank] * (max(0, height - 1) // 2) + [line.crop_extend(0, width, base)]
        elif frame is not None and mode in ("cells", "kitty", "blank"):
            fl = frame.layout
            left, top = fl.left, fl.top
            if mode == "cells":
                rows = frame.strips  # empty until a pixel frame's fallback is made
            else:
                rows = _placeholder_strips(frame) if mode == "kitty" else [Strip.blank(fl.cols, base)] * fl.rows
            # The picture's own segments carry their colours; only the padding takes the
            # widget's style (restyling thousands of cells would cost the event loop).
            pad = Segment(" " * left, base)
            tail = Segment(" " * max(0, width - left - fl.cols), base)
            lines = [blank] * top + [
                Strip([pad, *(row if mode == "cells" else row.apply_style(base)), tail], width) for row in rows
            ]
        self._lines, self._lines_key = lines, key
        return lines


def _describe(frame: Frame) -> str:
    width, height = frame.image_size
    return f"[image {width}x{height}]"


def _placeholder_strips(frame: Frame) -> list[Strip]:
    high, low = kitty.id_parts(frame.image_id)
    # A 256-colour index with its RGB filled in: Textual leaves such colours alone
    # (it only converts colours without RGB), and the terminal gets "38;5;<low>".
    colour = Color(f"color({low})", ColorType.EIGHT_BIT, low, ColorTriplet(low, low, low))
    style = Style(color=colour)
    cols = frame.layout.cols
    return [Strip([Segment(kitty.placeholder_row(row, cols, high), style)], cols) for row in range(frame.layout.rows)]


def _halfblock_strips(original: raster.Original, planned: Layout) -> list[Strip]:
    small = raster.halfblock_pixels(original, planned)
    return raster_strips(small.width, small.height, small.tobytes())


def _pixels_for(
    source: Path, original: raster.Original | None, cols: int, rows: int, cell: CellSize, view: View, method: str
) -> raster.Original:
    """What a frame of ``source`` is made from (in a thread): the decoded file if it is at
    hand; else its display copy (``display.find``) when that holds every pixel the frame
    sends, as a fitted view does; else the file, decoded (or its decode, underway, waited
    for). Zooming past the copy's pixels so resamples from the file itself."""
    if original is not None and original.full and original.same_file(source):
        return original
    found = raster.kept(source)
    if found is not None:
        return found
    copy = original if original is not None and original.same_file(source) else display.find(source)
    if copy is not None:
        planned = layout(copy.width, copy.height, cols, rows, cell, view)
        if planned is not None and raster.holds(copy, planned, *_frame_pixels(planned, method)):
            return copy
    return raster.load_cached(source)


def _frame_pixels(planned: Layout, method: str) -> tuple[int, int]:
    """The pixels a frame of ``planned`` sends: the layout's (the cells' pixels), but no more
    than the shown part of the image has for kitty and iTerm2 (the terminal scales those up
    to their cells); sixel in whole bands of six rows."""
    width, height = planned.pixel_width, planned.pixel_height
    if method == "sixel":
        return width, max(6, height // 6 * 6)  # whole bands only: never below the box
    if method in ("kitty", "iterm"):
        crop_w, crop_h = planned.crop[2] - planned.crop[0], planned.crop[3] - planned.crop[1]
        if crop_w < width and crop_h < height:  # a small image blown up: send its own pixels
            return max(1, round(crop_w)), max(1, round(crop_h))
    return width, height


def _make_frame(
    original: raster.Original, planned: Layout, method: str, graphics: TerminalGraphics, shown: Frame | None = None
) -> Frame:
    """Resample and encode one frame (in a thread); what ``shown`` (the frame on screen)
    already has of it is taken from there."""
    frame = Frame(method, planned, (original.width, original.height), from_copy=not original.full)
    if method == "halfblock":
        frame.strips = _halfblock_strips(original, planned)
        return frame
    size = _frame_pixels(planned, method)
    image = _panned_pixels(shown, original, planned, size)
    encoded: list[str] = []
    if image is None:  # kitty: the base64 is made with the pixels (see render_frame)
        image, encoded = raster.render_frame(original, planned, *size, kitty.encode if method == "kitty" else None)
    frame.pixels, frame.made_from = image, original
    if method == "kitty":
        payload = encoded or kitty.encode(image.tobytes())
        frame.image_id = kitty.new_image_id()
        escapes = kitty.transmit_encoded(frame.image_id, image.width, image.height, payload, planned.cols, planned.rows)
        frame.escapes = kitty.for_terminal(escapes, graphics.tmux)
        return frame
    rgb = image.tobytes()
    if method == "iterm":
        drawn = iterm.inline_image(iterm.png_bytes(image.width, image.height, rgb), planned.cols, planned.rows)
        frame.escapes = tmux.wrap(drawn) if graphics.tmux else drawn
    else:  # sixel: tmux 3.4+ draws sixel itself, unwrapped
        frame.escapes = sixel.encode(image.width, image.height, rgb)
    return frame


def _panned_pixels(
    shown: Frame | None, original: raster.Original, planned: Layout, size: tuple[int, int]
) -> PILImage.Image | None:
    """A pan's frame from the one on screen: what both show is moved (``layout`` keeps
    views of one zoom whole screen pixels apart, so those pixels are the ones a resample
    would give), only the rows and columns that come into view are resampled. None when
    ``shown`` is no such frame (another zoom, size or decode, or nothing in common)."""
    if shown is None or shown.pixels is None or shown.made_from is not original or shown.pixels.size != size:
        return None
    old, new = shown.layout.crop, planned.crop
    if not (isclose(old[2] - old[0], new[2] - new[0]) and isclose(old[3] - old[1], new[3] - new[1])):
        return None  # another zoom
    width, height = size
    dx, dy = (new[0] - old[0]) * width / (new[2] - new[0]), (new[1] - old[1]) * height / (new[3] - new[1])
    x, y = round(dx), round(dy)
    if abs(dx - x) > 1e-6 or abs(dy - y) > 1e-6 or abs(x) >= width or abs(y) >= height:
        return None  # off the grid (at an edge), or nothing in common
    from PIL import Image

    image = Image.new("RGB", size)
    image.paste(shown.pixels, (-x, -y))
    left, right, top, bottom = max(0, -x), min(width, width - x), max(0, -y), min(height, height - y)
    for part in ((0, 0, width, top), (0, bottom, width, height), (0, top, left, bottom), (right, top, width, bottom)):
        if part[2] > part[0] and part[3] > part[1]:
            image.paste(raster.render(original, planned, width, height, part=part), part[:2])
    return image
