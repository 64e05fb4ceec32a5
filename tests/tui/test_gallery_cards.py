"""Gallery cards as a user reads them (issue 13 point 3): each card shows the start of its
prompt as text (never markup, never a terminal escape), and z switches between small and
large cards, kept across restarts, the same result selected, scrolling in order at both sizes."""

from __future__ import annotations

from evolink_tui.core.config import load_settings, update_config_file
from evolink_tui.core.preferences import load_preferences
from evolink_tui.core.validation import GenerationRequest
from evolink_tui.tui.screens.help import HelpScreen
from evolink_tui.tui.widgets.gallery_card import GalleryCard
from evolink_tui.tui.widgets.thumbnail import ThumbnailView

from .helpers import demo_app, generate, screen_text, wait_until
from .test_gallery import SIZE, cards, open_gallery, seed, selected_ids, shown_ids

HOSTILE = "[b]x[/] \x1b[2J$y [link=https://evil.example]go[/link] \x1b]52;c;ZXZpbA==\x07 and then a long tail of words"
LONG = "a lighthouse at dusk on a rocky shore, oil painting, warm light, seagulls, mist, long exposure"


def prompt_shown(card: GalleryCard):
    """What the card's prompt line(s) draw, as Content."""
    return card.query_one(".gallery-card-prompt").render()


async def test_each_card_shows_its_prompt_as_inert_text_cut_with_an_ellipsis():
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.studio.client is not None, what="the client")
        await generate(pilot, GenerationRequest(LONG, model="z-image-turbo"), count=1, what="the first task")
        await generate(pilot, GenerationRequest(HOSTILE, model="z-image-turbo"), count=2, what="the second task")
        screen = await open_gallery(pilot)
        await wait_until(pilot, lambda: len(shown_ids(screen)) == 2, what="both results")
        hostile, long = (prompt_shown(card) for card in cards(screen)[:2])  # newest first

        # Markup and escapes are shown as the text they are: nothing styled, nothing obeyed.
        assert hostile.plain.startswith("[b]x[/] \\x1b[2J$y")
        assert not hostile.spans
        assert "\x1b" not in hostile.plain and "\x07" not in hostile.plain
        text = screen_text(app)
        assert "[b]x[/] \\x1b[2J$y" in text
        assert "\x1b" not in text and "\x07" not in text

        # One line on a small card, as wide as the card, cut with "…".
        width = cards(screen)[1].query_one(".gallery-card-prompt").content_size.width
        assert len(long.plain.splitlines()) == 1 and long.cell_length <= width
        assert long.plain.endswith("…") and LONG.startswith(long.plain[:-1].rstrip())
        assert long.plain in text


async def test_z_makes_cards_larger_keeps_the_selection_and_is_kept_after_a_restart():
    completed = seed(400)
    config = load_settings(demo=True).config_path
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_gallery(pilot)
        small_columns, small_cards = screen.columns, len(cards(screen))
        small_picture = cards(screen)[0].query_one(ThumbnailView).content_size
        assert small_columns >= 4
        for _ in range(2 * small_columns + 1):  # a few rows down: the screen has scrolled
            await pilot.press("right")
        await wait_until(pilot, lambda: selected_ids(screen) == [completed[2 * small_columns + 1]], what="selected")

        await pilot.press("z")
        await wait_until(pilot, lambda: len(cards(screen)) < small_cards, what="fewer cards")
        assert screen.columns < small_columns
        # The same result stays selected, on screen.
        await wait_until(pilot, lambda: selected_ids(screen) == [completed[2 * small_columns + 1]], what="kept")
        large_picture = cards(screen)[0].query_one(ThumbnailView).content_size
        assert large_picture.width >= 1.8 * small_picture.width
        assert large_picture.height >= 1.8 * small_picture.height
        # Two lines of prompt on a large card.
        assert cards(screen)[0].query_one(".gallery-card-prompt").content_size.height == 2
        await wait_until(pilot, lambda: load_preferences(config).gallery_cards == "large", what="saved")

        await pilot.press("f1")  # the help lists the key
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        assert "Card size" in screen_text(app)

    app = demo_app()  # a new run: large cards again
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_gallery(pilot)
        await wait_until(pilot, lambda: len(cards(screen)) == screen.columns * screen.rows, what="cards")
        assert screen.card_size == "large" and screen.columns < small_columns
        await pilot.press("z")  # and back
        await wait_until(pilot, lambda: screen.columns == small_columns, what="small again")
        assert len(cards(screen)) == small_cards
        await wait_until(pilot, lambda: load_preferences(config).gallery_cards == "small", what="saved small")


async def test_large_cards_scroll_in_order_with_a_fixed_set_of_cards():
    completed = seed(400)
    update_config_file({"gallery_cards": "large"}, load_settings(demo=True).config_path)
    app = demo_app()
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await open_gallery(pilot)
        per_screen, columns = len(cards(screen)), screen.columns
        assert screen.card_size == "large" and 1 < columns < 6  # small cards: 6 a row here
        assert shown_ids(screen) == completed[:per_screen]
        for step in range(1, screen.rows + 3):  # row by row past the bottom: the screen follows
            await pilot.press("down")
            expected = completed[max(0, step - screen.rows + 1) * columns :][:per_screen]
            await wait_until(pilot, lambda e=expected: shown_ids(screen) == e, what=f"row {step}")
            assert selected_ids(screen) == [completed[step * columns]]
        for _ in range(30):  # 30 screens down: past several pages of history
            await pilot.press("pagedown")
        at = (screen.rows + 2 + 30 * screen.rows) * columns
        first = (at // columns - screen.rows + 1) * columns
        await wait_until(pilot, lambda: shown_ids(screen) == completed[first : first + per_screen], what="deep down")
        assert selected_ids(screen) == [completed[at]]
        assert len(cards(screen)) == per_screen
        await pilot.press("home")
        await wait_until(pilot, lambda: shown_ids(screen) == completed[:per_screen], what="back at the top")
        assert len(cards(screen)) == per_screen
