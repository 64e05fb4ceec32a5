"""GalleryFeed: results numbered as pages are read, a bounded number of pages held, a dropped
page read again by its offset, and a changed record shown where it is held."""

from __future__ import annotations

from evolink_tui.core.gallery import GalleryQuery, gallery_page, set_favourite
from evolink_tui.core.gallery_feed import GalleryFeed
from evolink_tui.core.history import History

from .tui.history_seed import OUTCOMES, seed_history

NEWEST = 1_800_000_000.0


def history(tmp_path, count: int) -> tuple[History, list[int]]:
    path = tmp_path / "history.sqlite3"
    seed_history(path, count, newest=NEWEST)
    completed = [i for i in range(count, 0, -1) if OUTCOMES[i % len(OUTCOMES)][0] == "completed"]
    return History(path).open(), completed


def read(feed: GalleryFeed, store: History, page: int) -> None:
    assert feed.add(page, gallery_page(store, feed.query, offset=feed.offset_of(page), limit=feed.page_size))


def test_pages_are_numbered_in_order_and_only_a_few_are_held(tmp_path):
    store, completed = history(tmp_path, 500)
    feed = GalleryFeed(GalleryQuery(), page_size=20, max_pages=3)
    assert feed.wanted(0, 11) == 0 and feed.item(0) is None
    while (page := feed.wanted(feed.known, feed.known)) is not None:
        read(feed, store, page)
    assert feed.done and feed.known == len(completed)
    assert feed.held <= 3 * 20  # three pages of at most 20 records, one result each
    assert feed.item(0) is None  # dropped long ago
    assert feed.wanted(0, 5) == 0  # ... and read again by its offset
    read(feed, store, 0)
    assert [feed.item(i).record.id for i in range(5)] == completed[:5]
    assert feed.item(len(completed) - 1).record.id == completed[-1]


def test_a_page_for_another_query_or_read_twice_is_refused(tmp_path):
    store, _ = history(tmp_path, 100)
    feed = GalleryFeed(GalleryQuery(), page_size=10)
    stale = gallery_page(store, GalleryQuery(model="z-image-turbo"), offset=0, limit=5)
    assert not feed.add(1, stale)  # page 1 before page 0: not the page asked for
    read(feed, store, 0)
    assert not feed.add(0, stale)  # page 0 again, but with a different number of results
    assert feed.known == 10


def test_a_starred_record_is_shown_starred_where_it_is_held(tmp_path):
    store, completed = history(tmp_path, 60)
    feed = GalleryFeed(GalleryQuery(), page_size=30)
    read(feed, store, 0)
    set_favourite(store, completed[3], 0)
    assert feed.replace(store.get(completed[3])) == [3]
    assert feed.item(3).favourite and not feed.item(2).favourite
