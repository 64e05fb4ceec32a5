"""Where a picture goes and which part of it shows: fitting, zoom and pan, in cells and
pixels. Pure arithmetic, no Pillow, so the widget can ask it on the event loop.

A *view* is a zoom factor and a centre. Zoom 1 fits the whole image in the box (aspect
ratio kept); zoom z shows 1/z of it each way, up to the image's native resolution (one
image pixel per screen pixel). The centre is where the view is, as a fraction of the
image's width and height; it is kept so that the view never leaves the image.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import CellSize

ZOOM_STEP = 1.5


@dataclass(frozen=True)
class View:
    zoom: float = 1.0
    cx: float = 0.5
    cy: float = 0.5


FIT = View()


@dataclass(frozen=True)
class Layout:
    """A picture laid out in a box of cells."""

    left: int
    top: int
    """Offset of the picture in the box, in cells."""
    cols: int
    rows: int
    """Cells the picture covers."""
    crop: tuple[float, float, float, float]
    """The part of the image shown: left, top, right, bottom in image pixels."""
    pixel_width: int
    pixel_height: int
    """The raster to send: ``cols x rows`` cells of the cell size."""
    view: View
    """The view, with its centre moved back inside the image if it had to be."""
    max_zoom: float


def max_zoom(image_w: int, image_h: int, box_cols: int, box_rows: int, cell: CellSize) -> float:
    """The zoom at which one image pixel is one screen pixel (at least 1)."""
    fit = min(box_cols * cell.width / image_w, box_rows * cell.height / image_h)
    return max(1.0, 1.0 / fit) if fit > 0 else 1.0


def layout(
    image_w: int, image_h: int, box_cols: int, box_rows: int, cell: CellSize, view: View = FIT, *, fill: bool = True
) -> Layout | None:
    """Lay an ``image_w`` x ``image_h`` image out in ``box_cols`` x ``box_rows`` cells of
    ``cell`` pixels, as ``view`` says; None when there is no room. ``fill=False`` never
    scales the image up past its own size."""
    if image_w < 1 or image_h < 1 or box_cols < 1 or box_rows < 1:
        return None
    box_w, box_h = box_cols * cell.width, box_rows * cell.height
    fit = min(box_w / image_w, box_h / image_h)
    if not fill:
        fit = min(fit, 1.0)
    top_zoom = max(1.0, 1.0 / fit)
    zoom = min(max(view.zoom, 1.0), top_zoom)
    scale = fit * zoom  # screen pixels per image pixel
    crop_w = min(image_w, box_w / scale)
    crop_h = min(image_h, box_h / scale)
    # The corner of the part shown lies on the grid of screen pixels (whole screen pixels
    # from the image's corner), so two views at one zoom are whole screen pixels apart and
    # a pan keeps what both show as it is (``raster.render``'s ``part``); at an edge it
    # stops at the edge, on the grid or not.
    left = _on_grid(view.cx * image_w - crop_w / 2, scale, image_w - crop_w)
    top = _on_grid(view.cy * image_h - crop_h / 2, scale, image_h - crop_h)
    cx, cy = left + crop_w / 2, top + crop_h / 2
    crop = (left, top, left + crop_w, top + crop_h)
    cols = max(1, min(box_cols, round(crop_w * scale / cell.width)))
    rows = max(1, min(box_rows, round(crop_h * scale / cell.height)))
    return Layout(
        left=(box_cols - cols) // 2,
        top=(box_rows - rows) // 2,
        cols=cols,
        rows=rows,
        crop=crop,
        pixel_width=cols * cell.width,
        pixel_height=rows * cell.height,
        view=View(zoom, cx / image_w, cy / image_h),
        max_zoom=top_zoom,
    )


def zoomed(view: View, factor: float, top: float) -> View:
    """``view`` zoomed by ``factor`` (1.5 in, 1/1.5 out), between 1 and ``top``."""
    return View(_clamp(view.zoom * factor, 1.0, max(1.0, top)), view.cx, view.cy)


def panned(view: View, dx: float, dy: float) -> View:
    """``view`` moved by ``dx``, ``dy`` *view widths/heights* (0.25 is a quarter of what
    shows). ``layout`` keeps the result inside the image."""
    return View(view.zoom, view.cx + dx / view.zoom, view.cy + dy / view.zoom)


def _on_grid(start: float, scale: float, last: float) -> float:
    """``start`` (image pixels) moved to the nearest whole screen pixel at ``scale`` screen
    pixels per image pixel, between 0 and ``last``."""
    return _clamp(round(start * scale) / scale, 0.0, max(0.0, last))


def _clamp(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value
