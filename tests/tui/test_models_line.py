"""The composer's model field never breaks a model's name across lines (issue 12 point 16):
at 80x24 and 100x30, with the longest ids and comparisons of several models, each name is
whole on its line, or cut with "…" when longer than the line; names past the field's
three lines are counted ("+N more")."""

from __future__ import annotations

import re

import pytest

from evolink_tui.core.catalogue import load_catalogue

from .helpers import demo_app, screen_text, wait_until

IDS = [m.id for m in load_catalogue()]
LONGEST = sorted(IDS, key=len, reverse=True)


def field_lines(app) -> list[str]:
    """The model field as the terminal shows it, without its label and its F2 hint."""
    region = app.main.query_one("#models-line").region
    rows = screen_text(app).splitlines()[region.y : region.y + region.height]
    lines = [row[region.x : region.x + region.width] for row in rows]
    assert lines[0].startswith("Model ") and lines[0].rstrip().endswith("F2")
    return [line[6:].rstrip().removesuffix("F2").strip() for line in lines]


def read_names(lines: list[str], count: int) -> tuple[list[str], int]:
    """Every word of the field checked: the names shown (whole or cut with …) and how many
    more the field says it holds. A fragment of a name (a break inside it) fails here."""
    names: list[str] = []
    more = 0
    for line in lines:
        words = line.split()
        if count > 1 and line.startswith(f"{count} to compare:"):
            words = words[3:]
        for i, word in enumerate(words):
            if word.startswith("+") and words[i + 1 : i + 2] == ["more"]:
                more = int(word[1:])
                continue
            if word == "more" and i and words[i - 1].startswith("+"):
                continue
            if re.fullmatch(r"\+\d+", word) and line is lines[-1] and i == len(words) - 1:
                more = int(word[1:])  # the short count, where "+N more" would hide one more name
                continue
            name = word.rstrip(",")
            cut = name.endswith("…") and any(m.startswith(name[:-1]) and m != name[:-1] for m in IDS)
            assert name in IDS or cut, f"{word!r} is not a whole model name in {lines}"
            names.append(name)
    return names, more


@pytest.mark.parametrize("size", [(80, 24), (100, 30)], ids=["80x24", "100x30"])
async def test_the_model_field_never_breaks_a_name_mid_way(size):
    app = demo_app()
    async with app.run_test(size=size) as pilot:
        await wait_until(pilot, lambda: bool(app.main.query("#models-line")), what="the composer")
        for marked in (LONGEST[:1], LONGEST[:2], LONGEST[:3], LONGEST[:5], sorted(IDS, key=len)[:6], IDS):
            app.main.composer.set_models(marked)
            await pilot.pause()
            lines = field_lines(app)
            assert 1 <= len(lines) <= 3
            names, more = read_names(lines, len(marked))
            assert len(names) + more == len(marked), (lines, marked)
            for shown, model in zip(names, marked, strict=False):  # in order, whole where it fits
                assert shown == model or (shown.endswith("…") and model.startswith(shown[:-1])), lines
            for cut in (n for line in lines for n in re.findall(r"\S+…", line)):
                assert len(cut) >= 15, f"{cut}: a cut name keeps enough to be told apart ({lines})"


def test_the_short_count_keeps_one_more_name_in_sight():
    """Three models where "+1 more" does not fit beside the second name: "+1" does, so the
    second name stays in sight instead of being counted (the comparison screenshot at 100x30)."""
    from evolink_tui.tui.widgets.fields import name_lines

    text = "3 to compare: gpt-image-1.5, doubao-seedream-4.5, nano-banana-2-lite"
    assert name_lines(text, 26, 3) == ["3 to compare:", "gpt-image-1.5,", "doubao-seedream-4.5, +1"]
    assert name_lines(text, 40, 3) == ["3 to compare: gpt-image-1.5,", "doubao-seedream-4.5, nano-banana-2-lite"]
