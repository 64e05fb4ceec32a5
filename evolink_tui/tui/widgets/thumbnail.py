"""ThumbnailView: an image drawn as half-block cells.

The decode (``evolink_tui.core.thumbnails``, through the shared cache) and the strips run
in a thread worker and come back in a ``ThumbnailView.Loaded`` message; the handler only
stores them. The centred lines are laid out once per thumbnail and widget size, so a
redraw only indexes a list.

Colour depth: the strips always carry truecolor styles. Textual's console detects the
terminal's colour system (``COLORTERM``, ``TERM``, or ``TEXTUAL_COLOR_SYSTEM`` to force it)
and ``Strip.render`` downgrades each colour with Rich's ``Color.downgrade``: the nearest
6x6x6 cube level per channel, or the grey ramp for unsaturated colours. Scored in CIELAB
over random colours, that is as good as the nearest-colour search in
``core.thumbnails.to_256`` (mean error 12.4 vs 12.2 dE), so a 256-colour terminal gets a
clean picture with no work here (tests/test_thumbnails.py checks the palette codes).
``NO_COLOR`` is different: Textual turns every colour to monochrome, so a wall of "▀"
would say nothing; the view shows "[image WxH]" instead.
"""

from __future__ import annotations

from itertools import groupby
from pathlib import Path

from rich.color import Color, ColorType
from rich.color_triplet import ColorTriplet
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget
from textual.worker import get_current_worker

from evolink_tui.core.thumbnails import (
    Cell,
    Thumbnail,
    ThumbnailCache,
    cached_thumbnail,
    fit_size,
    make_thumbnail,
    shared_cache,
)

HALF_BLOCK = "▀"
UNREADABLE = "cannot show this image"


_TRUECOLOR = ColorType.TRUECOLOR
_new_tuple = tuple.__new__


def _colour(rgb: tuple[int, int, int]) -> Color:
    # Equal to Color.from_rgb(*rgb) (both are named tuples, made here without their
    # Python-level constructors), at half the cost: it runs for every pixel.
    return _new_tuple(Color, ("#{:02x}{:02x}{:02x}".format(*rgb), _TRUECOLOR, None, _new_tuple(ColorTriplet, rgb)))


def thumbnail_strips(thumbnail: Thumbnail) -> list[Strip]:
    """One strip per cell row: "▀" with the top pixel as foreground and the bottom pixel
    as background. Runs of equal cells share one segment (``groupby`` finds them in C);
    colours and styles are made once per distinct pixel and cell.

    Pure (rich objects only), so the view builds them in its thread worker: about 6 ms
    for 64x32 cells that all differ, kept off the event loop."""
    colours: dict[tuple[int, int, int], Color] = {}
    styles: dict[Cell, Style] = {}
    from_color = Style.from_color
    strips = []
    for row in thumbnail.cells:
        segments: list[Segment] = []
        add = segments.append
        for cell, run in groupby(row):
            style = styles.get(cell)
            if style is None:
                top, bottom = cell
                fg = colours.get(top)
                if fg is None:
                    fg = colours[top] = _colour(top)
                bg = None
                if bottom is not None:
                    bg = colours.get(bottom)
                    if bg is None:
                        bg = colours[bottom] = _colour(bottom)
                style = styles[cell] = from_color(fg, bg)
            add(Segment(HALF_BLOCK * sum(1 for _ in run), style))
        strips.append(Strip(segments, thumbnail.width))
    return strips


def raster_strips(width: int, height: int, rgb: bytes) -> list[Strip]:
    """``thumbnail_strips`` straight from an RGB raster (``width`` x ``height`` pixels, 3
    bytes each), the same strips without the cells in between.

    A cell is keyed by its 6 bytes (3 on a last, odd row), which the garbage collector does
    not track: a frame leaves only its styles and segments behind, where the cells of a
    ``Thumbnail`` were some 10,000 tuples, enough to set off full collections (tens of
    ms with the GIL held, so the event loop stops too)."""
    stride = width * 3
    colours: dict[bytes, Color] = {}
    styles: dict[bytes, Style] = {}
    from_color = Style.from_color

    def colour(rgb: bytes) -> Color:
        found = colours.get(rgb)
        if found is None:
            found = colours[rgb] = _colour((rgb[0], rgb[1], rgb[2]))
        return found

    strips = []
    for y in range(0, height, 2):
        top = rgb[y * stride : (y + 1) * stride]
        if y + 1 < height:
            bottom = rgb[(y + 1) * stride : (y + 2) * stride]
            keys = [top[x : x + 3] + bottom[x : x + 3] for x in range(0, stride, 3)]
        else:
            keys = [top[x : x + 3] for x in range(0, stride, 3)]
        segments: list[Segment] = []
        add = segments.append
        for key, run in groupby(keys):
            style = styles.get(key)
            if style is None:
                style = styles[key] = from_color(colour(key[:3]), colour(key[3:]) if len(key) == 6 else None)
            add(Segment(HALF_BLOCK * sum(1 for _ in run), style))
        strips.append(Strip(segments, width))
    return strips


def _as_source(source: str | Path | bytes | None) -> Path | bytes | None:
    if source is None or isinstance(source, bytes):
        return source
    return Path(source)


def outgrown(decoded: Thumbnail, cols: int, rows: int) -> bool:
    """True when ``cols`` x ``rows`` cells would show more pixels than ``decoded`` has."""
    wanted_w, wanted_h = fit_size(decoded.image_width, decoded.image_height, cols, 2 * rows)
    return wanted_w > decoded.width or wanted_h > decoded.pixel_height


class ThumbnailView(Widget):
    """Shows a ``Thumbnail``, centred; decodes files off the event loop."""

    DEFAULT_CSS = """
    ThumbnailView {
        width: 1fr;
        height: 1fr;
    }
    """

    thumbnail: reactive[Thumbnail | None] = reactive(None, always_update=True)
    """The thumbnail shown. Set it directly, or let ``set_source`` decode one. A repaint, and a
    new layout only when the view's size follows the picture (see ``watch_thumbnail``)."""

    class Loaded(Message):
        """A thumbnail is ready for this view (decoded, from the cache, or refitted)."""

        def __init__(
            self,
            view: ThumbnailView,
            thumbnail: Thumbnail,
            ticket: int,
            *,
            strips: list[Strip] | None = None,
            decoded: Thumbnail | None = None,
        ) -> None:
            super().__init__()
            self.view = view
            self.thumbnail = thumbnail
            """The thumbnail to show, fitted to the view."""
            self.ticket = ticket
            self.strips = strips
            """``thumbnail_strips(thumbnail)``, built in the worker."""
            self.decoded = decoded if decoded is not None else thumbnail
            """The largest decode, kept to refit from when the view shrinks."""

        @property
        def control(self) -> ThumbnailView:
            return self.view

    class Failed(Message):
        """The source could not be shown; ``error`` is what Pillow or the cache raised."""

        def __init__(self, view: ThumbnailView, source: Path | bytes, error: BaseException, ticket: int) -> None:
            super().__init__()
            self.view = view
            self.source = source
            self.error = error
            self.ticket = ticket

        @property
        def control(self) -> ThumbnailView:
            return self.view

    def __init__(
        self,
        source: str | Path | bytes | None = None,
        *,
        cache: ThumbnailCache | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        caption: str | None = None,
    ) -> None:
        """``caption``: a text shown, centred, while there is no source (a result on its way)."""
        super().__init__(name=name, id=id, classes=classes)
        self._caption = caption or None
        self._cache = shared_cache if cache is None else cache
        self._source: Path | bytes | None = _as_source(source)
        self._decoded: Thumbnail | None = None  # the largest decode for this source
        self._ticket = 0  # only the latest request's answer is shown
        self._pending: tuple[int, int] | None = None  # the budget being decoded
        self._error = False
        self._strips: list[Strip] = []
        self._strips_for: Thumbnail | None = None
        self._lines: list[Strip] = []
        self._lines_key: tuple | None = None
        self._drawing: tuple[Style, Size] | None = None  # the style and size, read once a frame

    @property
    def source(self) -> Path | bytes | None:
        return self._source

    @property
    def caption(self) -> str | None:
        """The text shown, centred, while there is no source."""
        return self._caption

    @caption.setter
    def caption(self, text: str | None) -> None:
        if (text or None) != self._caption:
            self._caption = text or None
            if self._source is None:
                self._lines_key = None
                self.refresh(layout=self._follows_content())

    # --- loading -----------------------------------------------------------------------

    def set_source(self, path: str | Path | bytes | None) -> None:
        """Show the image at ``path``, or an image file's bytes (None clears the view).
        Decodes in a thread; bytes are not cached."""
        self._source = _as_source(path)
        self._decoded = None
        self._error = False
        self._pending = None
        self._ticket += 1
        self.thumbnail = None
        if self._source is not None and self.is_mounted:
            self._request()

    def _budget(self) -> tuple[int, int]:
        """The cells the image may use: the content area, or with ``height: auto``
        (whose height follows the picture) a box as wide as the view and half as tall."""
        width, height = self.content_size
        if width and self.styles.height is not None and self.styles.height.is_auto:
            height = max(1, width // 2)
        return width, height

    def _request(self) -> None:
        """Bring the picture to the current size: decode (through the cache) if the
        view outgrew the last decode, else refit the small raster; either way in a
        thread, with the strips built there too."""
        source = self._source
        cols, rows = self._budget()
        if source is None or cols < 1 or rows < 1:
            return  # asked again on the first resize that gives us room
        if self._pending == (cols, rows):
            return  # already on its way
        decoded = self._decoded
        if decoded is not None and not outgrown(decoded, cols, rows):
            shown = self.thumbnail
            target = (
                (decoded.width, decoded.pixel_height)
                if decoded.fits(cols, rows)
                else fit_size(decoded.width, decoded.pixel_height, cols, 2 * rows)
            )
            if shown is not None and (shown.width, shown.pixel_height) == target:
                self._ticket += 1  # right as it is: drop whatever is in flight
                self._pending = None
                return
        self._pending = (cols, rows)
        self._ticket += 1
        ticket, cache = self._ticket, self._cache

        def work() -> None:  # in a thread: no widget is touched here
            try:
                full = decoded
                if full is None or outgrown(full, cols, rows):
                    if isinstance(source, bytes):
                        full = make_thumbnail(source, cols, rows)
                    else:
                        full = cached_thumbnail(source, cols, rows, cache)
                shown = full.fit(cols, rows)
                message: Message = ThumbnailView.Loaded(
                    self, shown, ticket, strips=thumbnail_strips(shown), decoded=full
                )
            except Exception as error:  # unreadable, too large, gone: shown as text
                message = ThumbnailView.Failed(self, source, error, ticket)
            if not get_current_worker().is_cancelled:
                self.post_message(message)

        self.run_worker(
            work,
            name=f"thumbnail {getattr(source, 'name', 'from bytes')}",
            group="thumbnail",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def on_mount(self) -> None:
        self._request()

    def on_resize(self) -> None:
        self._request()

    def on_thumbnail_view_loaded(self, message: Loaded) -> None:
        if message.view is not self:
            return
        if message.ticket != self._ticket:
            message.stop()  # an answer to a request that was superseded
            return
        self._decoded = message.decoded
        self._error = False
        self._pending = None
        if message.strips is not None:
            self._strips, self._strips_for = message.strips, message.thumbnail
            self._lines_key = None
        self.thumbnail = message.thumbnail

    def on_thumbnail_view_failed(self, message: Failed) -> None:
        if message.view is not self:
            return
        if message.ticket != self._ticket:
            message.stop()
            return
        self._decoded = None
        self._error = True
        self._pending = None
        self.thumbnail = None

    # --- drawing -----------------------------------------------------------------------

    def watch_thumbnail(self, thumbnail: Thumbnail | None) -> None:
        self._build_strips(thumbnail)
        # A layout of the whole screen per picture is the costliest part of showing it: only
        # when width or height is auto does the picture change the view's size.
        if self._follows_content():
            self.refresh(layout=True)

    def _follows_content(self) -> bool:
        """Whether the view's size follows what it shows (a width or height of auto)."""
        width, height = self.styles.width, self.styles.height
        return (width is not None and width.is_auto) or (height is not None and height.is_auto)

    def _build_strips(self, thumbnail: Thumbnail | None) -> list[Strip]:
        if thumbnail is not self._strips_for or thumbnail is None:
            self._strips = [] if thumbnail is None else thumbnail_strips(thumbnail)
            self._strips_for = thumbnail
            self._lines_key = None
        return self._strips

    def _placeholder(self) -> str | None:
        """The text shown instead of cells, or None to show cells."""
        if self._error:
            return UNREADABLE
        if self._source is None:
            return self._caption
        thumb = self.thumbnail
        if thumb is None or not self.app.no_color:
            return None
        if thumb.image_width and thumb.image_height:
            return f"[image {thumb.image_width}x{thumb.image_height}]"
        return "[image]"

    def _layout_lines(self, width: int, height: int, base: Style) -> list[Strip]:
        """Every line of the view, ``height`` of them, each ``width`` cells wide, in ``base``:
        made again only when the picture, the text, the size or the style changed."""
        thumb = self.thumbnail
        text = self._placeholder()
        # Every segment carries the widget's style: unstyled segments would show the
        # terminal's own background, and Textual's NO_COLOR filter rejects them.
        key = (id(thumb), thumb is self._strips_for, text, width, height, base)
        if key == self._lines_key:
            return self._lines
        blank = Strip.blank(width, base)
        lines: list[Strip]
        if text is not None:
            left = max(0, (width - len(text)) // 2)
            line = Strip([Segment(" " * left, base), Segment(text, base)]).crop_extend(0, width, base)
            lines = [blank] * (max(0, height - 1) // 2) + [line]
        elif thumb is None:
            lines = []
        else:
            strips = self._build_strips(thumb)
            left = max(0, (width - thumb.width) // 2)
            top = max(0, (height - thumb.height) // 2)
            pad = Segment(" " * left, base)
            lines = [blank] * top + [
                Strip([pad, *strip], left + thumb.width).apply_style(base).crop_extend(0, width, base)
                for strip in strips
            ]
        lines = lines[:height] + [blank] * (height - len(lines))
        self._lines, self._lines_key = lines, key
        return lines

    def render_lines(self, crop: Region) -> list[Strip]:
        # The widget's style and size are read once a frame, not once a line: the style walks
        # the styles of every ancestor and the size looks the widget's region up; read per
        # line they were half of a frame's work with eight cards on screen (render_line
        # below runs once per line).
        base, size = self._drawing = (self.rich_style, self.size)
        if not self._plain():
            return super().render_lines(crop)
        # No border, padding, outline, hatch, tint or opacity (as every view of the app's is):
        # Textual's styles cache would give each line back as it is, after reading every one of
        # those styles again for it (a tenth of a millisecond a line: a tenth of the frame that
        # lays out a comparison's eight cards). Its line filters still apply, as there.
        width, height = size
        lines = self._layout_lines(width, height, base)
        blank = Strip.blank(width, base)
        strips = [lines[y] if y < len(lines) else blank for y in crop.line_range]
        filters = self.get_line_filters()
        if filters:
            background = self.background_colors[1]
            for apply in filters:
                strips = [strip.apply_filter(apply, background) for strip in strips]
        if crop.column_span != (0, width):
            left, right = crop.column_span
            strips = [strip.crop(left, right) for strip in strips]
        return strips

    def _plain(self) -> bool:
        """Nothing for Textual's styles cache to add to a line of the view."""
        styles = self.styles
        return (
            not any(styles.gutter)
            and not any(edge for edge, _ in styles.outline)
            and self.opacity == 1.0
            and styles.text_opacity == 1.0
            and not styles.tint.a
            and not (styles.has_rule("hatch") and styles.hatch != "none")
        )

    def render_line(self, y: int) -> Strip:
        base, (width, height) = self._drawing if self._drawing is not None else (self.rich_style, self.size)
        lines = self._layout_lines(width, height, base)
        return lines[y] if y < len(lines) else Strip.blank(width, base)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        text = self._placeholder()
        if text is not None:
            return len(text)
        return self.thumbnail.width if self.thumbnail is not None else 0

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if self._placeholder() is not None:
            return 1
        return self.thumbnail.height if self.thumbnail is not None else 0
