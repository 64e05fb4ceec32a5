"""The composer's list of reference images, mounted with the first reference: each by its
file name, with a tiny thumbnail where the picture is on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.widgets import Label, ListItem, ListView

from .thumbnail import ThumbnailView

if TYPE_CHECKING:
    from evolink_tui.core.studio import Studio


class RefList(ListView):
    """The reference images; delete removes the highlighted one."""

    # Not scoped to RefList (the rules name the screen's size classes), and here rather than
    # in styles.tcss: parsed when the first reference is added, not at every start.
    SCOPED_CSS = False
    DEFAULT_CSS = """
    #refs {
        height: auto;
        max-height: 4;
        background: transparent;
    }
    #refs > ListItem {
        padding: 0 1;
    }
    RefList .ref-row {
        height: auto;
    }
    /* From 40 rows the thumbnails take two rows (4x4 pixels): room for four of them. */
    MainScreen.-big #refs {
        max-height: 8;
    }
    MainScreen.-big RefThumb {
        height: 2;
    }
    """

    BINDINGS = [
        Binding("delete,backspace", "remove", "Remove reference", id="refs.remove"),
        Binding("m", "screen.make_mask", "Make mask", id="refs.make_mask"),
        Binding("r", "screen.reopen_reference", "Reopen recipe", id="refs.reopen"),
    ]

    class Removed(Message):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def on_focus(self) -> None:
        """Tab onto the list highlights the first reference, so delete acts at once."""
        if self.index is None and self.children:
            self.index = 0

    def action_remove(self) -> None:
        if self.index is not None:
            self.post_message(self.Removed(self.index))


class RefThumb(ThumbnailView):
    """A reference's thumbnail, 4x1 cells (8 pixels: its colours at a glance), decoded in a
    thread like every thumbnail (bounded by the pixel limit, cached). Blank when there is
    nothing to show: a URL not on disk, a file that cannot be read (the label names it)."""

    DEFAULT_CSS = """
    RefThumb {
        width: 4;
        height: 1;
        margin-right: 1;
    }
    """

    unreadable = False
    """The file could not be shown (the base class's handler runs too, after this one)."""

    def on_thumbnail_view_failed(self, message: ThumbnailView.Failed) -> None:
        if message.view is self:
            self.unreadable = True

    def _placeholder(self) -> str | None:
        return "" if super()._placeholder() is not None else None  # no room for words


def thumbnail_source(ref: str, studio: Studio | None) -> str | None:
    """The file a reference's thumbnail is drawn from: a local path as typed (``~`` expanded),
    or for a URL the downloaded file of the result it is (a task's result being iterated on);
    None for any other URL: nothing is fetched to draw a thumbnail."""
    if "://" not in ref:
        return str(Path(ref).expanduser())
    return studio.result_file(ref) if studio is not None else None


def ref_item(ref: str, label: Content, studio: Studio | None) -> ListItem:
    """One row of the list: the thumbnail, then the label."""
    return ListItem(Horizontal(RefThumb(thumbnail_source(ref, studio)), Label(label), classes="ref-row"))
