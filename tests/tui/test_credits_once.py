"""Credits are a task's, not an image's (issue 12 point 18): the preview, the gallery and the
viewer show an n=2 task's credits once, on its first result with the number of images, and a
task that was not charged or was refunded says so instead of showing credits as spent."""

from __future__ import annotations

from evolink_tui.core.gallery import GalleryItem
from evolink_tui.core.history import TaskRecord
from evolink_tui.core.validation import GenerationRequest
from evolink_tui.tui.screens.gallery import GalleryScreen
from evolink_tui.tui.widgets.gallery_card import GalleryCard, gallery_label
from evolink_tui.tui.widgets.preview import card_label

from .helpers import demo_app, generate, screen_text, wait_until


def labels(screen: GalleryScreen) -> list[str]:
    found = [str(card.query_one(".gallery-card-label").render()) for card in screen.query(GalleryCard)]
    return [text for text in found if "#" in text]


async def test_an_n2_task_shows_its_credits_once_in_the_preview_the_gallery_and_the_viewer():
    from textual.widgets import Static

    from evolink_tui.tui.screens.viewer import ViewerScreen

    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await generate(pilot, GenerationRequest("two moons over a desert", model="z-image-turbo", n=2))
        [record] = app.studio.records.values()
        assert len(record.files) == 2 and record.credits
        total = f"{record.credits:g} cr"
        await wait_until(pilot, lambda: "/ 2 images" in screen_text(app), what="the preview's labels")
        preview = screen_text(app)
        assert preview.count(f"{total} / 2 images") == 1 and preview.count("cr on #1") == 1

        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(app.screen, GalleryScreen), what="the gallery")
        gallery = app.screen
        await wait_until(pilot, lambda: len(labels(gallery)) == 2, what="both cards")
        first, second = labels(gallery)
        assert f"{total} / 2 images" in first and f"#{record.id}:1" in first
        assert "cr on #1" in second and total not in second
        await pilot.pause()
        assert f"{total} / 2 images" in screen_text(app)  # seen whole on a small card at 100x30, not cut off

        await pilot.press("right", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ViewerScreen), what="the viewer")
        viewer = app.screen
        await wait_until(pilot, lambda: "#2" in str(viewer.query_one("#viewer-caption", Static).render()))
        caption = str(viewer.query_one("#viewer-caption", Static).render())
        assert "cr on #1" in caption and total not in caption


def _record(state: str, usage: dict | None = None, files: int = 1) -> TaskRecord:
    return TaskRecord(
        id=5,
        task_id="task-5",
        state=state,
        prompt="p",
        model="z-image-turbo",
        request={"n": files},
        idempotency_key="k",
        credits=12.0,
        results=[f"https://files.example/{i}.png" for i in range(files)],
        files=[f"/pictures/{i}.png" for i in range(files)],
        task_raw={"id": "task-5", "status": state, "usage": usage} if usage else None,
    )


def test_a_refunded_or_failed_task_is_shown_apart_not_as_spent():
    refunded = _record("completed", {"credits_reserved": 12, "credits_refunded": 12}, files=2)
    partly = _record("completed", {"credits_reserved": 12, "credits_refunded": 4}, files=2)
    failed = _record("failed", files=1)
    for record, said in ((refunded, "not charged"), (partly, "8 cr, rest refunded"), (failed, "not charged")):
        for index in range(len(record.files)):
            text = gallery_label(GalleryItem(record, index, None), False, "on disk").plain
            assert "12 cr" not in text, text
        assert said in gallery_label(GalleryItem(record, 0, None), False, "on disk").plain
        if record.state == "completed":  # the preview shows a failed task's state instead
            assert said in card_label(record, 0, True).plain
