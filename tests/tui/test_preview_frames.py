"""The preview repaints in place what keeps its lines, and lays the screen out again only when
its text takes more or fewer lines (issue 17: a layout draws every card again)."""

from __future__ import annotations

from evolink_tui.core.history import TaskRecord
from evolink_tui.core.validation import GenerationRequest
from evolink_tui.tui.widgets.thumbnail import ThumbnailView

from .helpers import demo_app, screen_text, wait_until

LONG = "a lighthouse on a cliff at dusk, waves below, gulls above, a ship far out ENDMARK"  # two lines


def preview_text(app) -> str:
    """What the preview panel shows on screen, a line per row."""
    region = app.main.preview.region
    rows = screen_text(app).splitlines()[region.y : region.bottom]
    return "\n".join(row[region.x : region.right] for row in rows)


async def test_the_preview_body_shows_each_task_whole_as_the_selection_moves():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.studio.client is not None, what="the client")
        mine = lambda: [r for r in app.studio.records.values() if r.id in app.studio.session_ids]  # noqa: E731
        for count, prompt in enumerate(("short one", "short two", LONG), start=1):
            app.main.composer.fill(GenerationRequest(prompt=prompt, model="z-image-turbo"))
            await pilot.press("ctrl+j")
            await wait_until(
                pilot, lambda n=count: len(mine()) == n and all(r.files for r in mine()), what=f"task {count} done"
            )
        first, second, long = sorted(mine(), key=lambda r: r.id)
        views = lambda: list(app.main.preview.query(ThumbnailView))  # noqa: E731
        await wait_until(pilot, lambda: len(views()) == 1 and views()[0].thumbnail is not None, what="a picture")
        tasks = app.main.tasks
        tasks.focus()

        def shows(record) -> bool:
            text = preview_text(app)
            return app.main.preview.record_id == record.id and str(record.task_id) in text

        # The long prompt's last word and the task id below it are on screen: the body took
        # the lines it needs.
        await wait_until(pilot, lambda: shows(long) and "ENDMARK" in preview_text(app), what="the long prompt whole")
        await pilot.press("down")  # the long body shrinks to two lines
        await wait_until(pilot, lambda: shows(second) and "short two" in preview_text(app), what="the second task")
        await pilot.press("down")  # the same lines, another prompt and task id: repainted in place
        await wait_until(pilot, lambda: shows(first) and "short one" in preview_text(app), what="the first task")
        assert "short two" not in preview_text(app) and str(second.task_id) not in preview_text(app)
        await pilot.press("up", "up")  # and back to the long one: it grows again, whole
        await wait_until(pilot, lambda: shows(long) and "ENDMARK" in preview_text(app), what="the long prompt again")


async def koi_pond(pilot) -> TaskRecord:
    """One task of this run, finished with its file on disk."""
    app = pilot.app
    await wait_until(pilot, lambda: app.studio.client is not None, what="the client")
    app.main.composer.fill(GenerationRequest(prompt="a koi pond", model="z-image-turbo"))
    await pilot.press("ctrl+j")
    mine = lambda: [r for r in app.studio.records.values() if r.id in app.studio.session_ids]  # noqa: E731
    await wait_until(pilot, lambda: len(mine()) == 1 and bool(mine()[0].files), what="the result")
    return mine()[0]


async def test_a_notice_on_the_task_shown_moves_its_card_down_and_is_shown_whole():
    """Only the body changes (the cards stay as they are): the body's extra lines are laid out,
    not drawn over the card or cut off."""
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        record = await koi_pond(pilot)
        view = app.main.preview.query_one(ThumbnailView)
        await wait_until(pilot, lambda: view.thumbnail is not None, what="its picture")
        top = view.region.y
        app.main.preview.show(record.replace(notice="slow host NOTICEMARK"), [record])
        await wait_until(pilot, lambda: "NOTICEMARK" in preview_text(app), what="the notice")
        assert view.region.y > top  # the card moved down to make room
        app.main.preview.show(record, [record])  # and back: the card takes the room again
        await wait_until(pilot, lambda: view.region.y == top, what="the card back up")
        assert "NOTICEMARK" not in preview_text(app)


async def test_the_preview_asks_for_a_download_again_only_when_one_failed():
    """While a result's file is on its way the preview does not tell the user to fetch it
    again (the line came and went as each result arrived); once a download failed, it does."""
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        record = await koi_pond(pilot)
        arriving = record.replace(download_state="pending", files=[])
        app.main.preview.show(arriving, [arriving])
        await wait_until(pilot, lambda: "a koi pond" in preview_text(app), what="the task")
        assert "download again" not in preview_text(app)
        failed = record.replace(download_state="failed", files=[])
        app.main.preview.show(failed, [failed])
        await wait_until(pilot, lambda: "download again" in preview_text(app), what="the advice")
