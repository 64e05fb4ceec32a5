"""The gallery's results as a long list that is never all in memory.

A :class:`GalleryFeed` numbers the results of a :class:`.gallery.GalleryQuery` 0, 1, 2...
and holds only a few pages of them (``max_pages`` of ``page_size`` records): the view asks
for the results it shows by number, and :meth:`GalleryFeed.wanted` says which page to read
(in a thread, with :func:`.gallery.gallery_page`) to have them. For each page read it keeps
only where it starts (one integer), so a page dropped to keep memory bounded is read again
by its record offset when the view comes back to it. Results are numbered as they are
first read, in order, so the list grows as the view moves towards its end; ``done`` says
it has no more.

Pure and single-threaded (the view's event loop owns it); nothing here touches SQLite.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import OrderedDict

from .gallery import GalleryItem, GalleryPage, GalleryQuery, items_of
from .history import TaskRecord

PAGE_RECORDS = 60  # records a page: one read covers a few screens of cards
MAX_PAGES = 6  # pages held at once: the screen, a margin either side, and where it came from


class GalleryFeed:
    def __init__(self, query: GalleryQuery, *, page_size: int = PAGE_RECORDS, max_pages: int = MAX_PAGES) -> None:
        if page_size < 1 or max_pages < 2:
            raise ValueError("a feed needs pages of at least one record and room for two pages")
        self.query = query
        self.page_size = page_size
        self.max_pages = max_pages
        self._starts: list[int] = []  # the number of the first result of each page read so far
        self._known = 0  # results numbered so far
        self.done = False  # the last page has been read
        self._pages: OrderedDict[int, list[GalleryItem]] = OrderedDict()  # held pages, least recent first

    # -- what is known ----------------------------------------------------------------------------

    @property
    def known(self) -> int:
        """How many results are numbered so far (all of them once ``done``)."""
        return self._known

    @property
    def held(self) -> int:
        """How many results are in memory now."""
        return sum(len(items) for items in self._pages.values())

    @property
    def pages_read(self) -> int:
        """Pages numbered so far: the next unread page has this number."""
        return len(self._starts)

    def page_of(self, position: int) -> int | None:
        """Which page holds result ``position``, or None if it is not numbered yet."""
        if not 0 <= position < self._known:
            return None
        return bisect_right(self._starts, position) - 1

    def item(self, position: int) -> GalleryItem | None:
        """Result ``position`` if its page is held, else None (ask :meth:`wanted`)."""
        page = self.page_of(position)
        if page is None or page not in self._pages:
            return None
        self._pages.move_to_end(page)
        return self._pages[page][position - self._starts[page]]

    def wanted(self, first: int, last: int) -> int | None:
        """The page to read next so that results ``first`` to ``last`` (inclusive) are held:
        a dropped page among them, else the next unread page if they reach past what is
        known; None when nothing is missing."""
        top = min(last, self._known - 1)
        for position in range(max(0, first), top + 1):
            page = self.page_of(position)
            if page is not None and page not in self._pages:
                return page
        if last >= self._known and not self.done:
            return len(self._starts)
        return None

    def offset_of(self, page: int) -> int:
        """The record offset ``gallery_page`` reads ``page`` from."""
        return page * self.page_size

    # -- pages read ---------------------------------------------------------------------------------

    def add(self, page: int, read: GalleryPage) -> bool:
        """Take page ``page`` as read; False if it is not the page asked for (a page read
        for an older query, or twice). The pages held are bounded: the least recently
        used one goes."""
        if page < len(self._starts):
            expected = (self._starts[page + 1] if page + 1 < len(self._starts) else self._known) - self._starts[page]
            if len(read.items) != expected:  # the history changed under us: keep what is numbered
                return False
        elif page == len(self._starts) and not self.done:
            self._starts.append(self._known)
            self._known += len(read.items)
            self.done = read.done
        else:
            return False
        self._pages[page] = read.items
        self._pages.move_to_end(page)
        while len(self._pages) > self.max_pages:
            self._pages.popitem(last=False)
        return True

    def replace(self, record: TaskRecord) -> list[int]:
        """Show ``record`` as it is now (a star, a deleted file) wherever it is held; the
        positions that changed."""
        changed = []
        for page, items in self._pages.items():
            for slot, item in enumerate(items):
                if item.record.id == record.id:
                    fresh = items_of(record)
                    if item.index < len(fresh):
                        items[slot] = fresh[item.index]
                        changed.append(self._starts[page] + slot)
        return changed

    def around(self, position: int, reach: int) -> list[GalleryItem]:
        """The held results from ``position - reach`` to ``position + reach``, in order,
        with where ``position`` is among them (for a viewer that steps through them)."""
        found = []
        for at in range(max(0, position - reach), min(self._known, position + reach + 1)):
            item = self.item(at)
            if item is not None:
                found.append(item)
        return found
