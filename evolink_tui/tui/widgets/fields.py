"""The composer's one-line fields that are drawn, not edited: the prompt's header with its
character count, and the line of marked models. One widget each, not a row of several."""

from __future__ import annotations

from textual import events
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from evolink_tui.core.validation import MAX_PROMPT

LABEL_WIDTH = 6  # "Model ", "Size  ": the field labels line up


class PromptHeader(Widget):
    """``Prompt`` on the left, the character count on the right (class ``-over`` and in
    $error past the limit): one widget, not a row of two. Muted by the style sheet."""

    length: reactive[int] = reactive(0)

    def watch_length(self, length: int) -> None:
        self.set_class(length > MAX_PROMPT, "-over")

    def render(self) -> Content:
        count = f"{self.length}/{MAX_PROMPT}"
        pad = " " * max(1, self.content_size.width - len("Prompt") - len(count))
        return Content.assemble("Prompt", pad, (count, "bold $error") if self.length > MAX_PROMPT else count)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 1


def name_lines(text: str, room: int, max_lines: int) -> list[str]:
    """``text`` (model ids after an optional "N to compare:") in lines of ``room`` cells,
    broken only between words: a name never continues on the next line. A name longer than
    a line is cut with "…"; names past ``max_lines`` lines are counted ("+2 more")."""

    def fitted(word: str) -> str:
        comma = "," if word.endswith(",") else ""
        return word if len(word) <= room else word[: room - 1 - len(comma)] + "…" + comma

    def wrap(words: list[str]) -> list[list[str]]:
        lines: list[list[str]] = []
        for word in words:
            if lines and len(" ".join([*lines[-1], word])) <= room:
                lines[-1].append(word)
            else:
                lines.append([word])
        return lines

    shown = [fitted(word) for word in text.split()]
    lines = wrap(shown)
    hidden: list[str] = []
    while len(lines) > max_lines and shown:  # fewer names, and a count of the rest
        hidden.insert(0, shown.pop())
        more = sum(word.endswith(",") for word in hidden) + 1  # the last name has no comma
        # The count is one word: "+2 more", or "+2" where that keeps one more name in sight.
        lines = wrap([*shown, f"+{more} more" if room >= 8 else f"+{more}"])
        if len(lines) > max_lines:
            lines = wrap([*shown, f"+{more}"])
    return [" ".join(line) for line in lines] or [""]


class ModelsLine(Widget):
    """``Model`` and the marked models (wrapped, at most 3 lines), with the F2 hint on the
    right; a click opens the model picker. The label is muted by the style sheet."""

    text: reactive[str] = reactive("", layout=True)
    HINT = "F2"
    MAX_LINES = 3

    def _lines(self, width: int) -> list[str]:
        room = max(4, width - LABEL_WIDTH - len(self.HINT) - 1)
        return [line.ljust(room) for line in name_lines(self.text, room, self.MAX_LINES)]

    def render(self) -> Content:
        lines = self._lines(self.content_size.width)
        parts: list = ["Model".ljust(LABEL_WIDTH), (lines[0], "$foreground"), " ", (self.HINT, "bold $accent")]
        for line in lines[1:]:
            parts += ["\n", " " * LABEL_WIDTH, (line, "$foreground")]
        return Content.assemble(*parts)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines(width))

    class Clicked(Message):
        """The line was clicked (the composer opens the model picker)."""

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.post_message(self.Clicked())
