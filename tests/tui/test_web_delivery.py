"""Web mode: a result that cannot be sent to the browser is reported plainly."""

from __future__ import annotations

from pathlib import Path

from evolink_tui.tui.web_open import DELIVERY_PREFIX

from .helpers import demo_app, notes_text, wait_until


async def test_a_failed_delivery_tells_the_user_which_file_and_why(tmp_path: Path):
    """Textual's own delivery machinery fails (the target cannot be written) and posts
    DeliveryFailed: the user reads which file did not arrive, why, and what to do."""
    source = tmp_path / "fox [bold]1.png"
    source.write_bytes(b"\x89PNG\r\n\x1a\n")
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        app.deliver_binary(
            source.open("rb"),
            save_directory=tmp_path / "no such folder",
            save_filename="fox.png",
            name=DELIVERY_PREFIX + source.name,
        )
        await wait_until(pilot, lambda: "Not sent" in notes_text(app), what="the failure notice")
        note = next(n for n in app.notes if n.title == "Not sent")
    assert note.severity == "error"
    assert "fox [bold]1.png did not reach the browser" in note.message
    assert "No such file or directory" in note.message
    assert "press o to send it again" in note.message
