"""Iterate on a result, and reopen an image: the composer refilled, never sent.

:class:`Iterating` belongs to the main screen (``main.iterating``). Iterating on a result
fills the composer with the task's prompt and settings and that image as its reference
(``core/iterate.py`` decides: its URL while it is valid, else the local file, uploaded on
generate), on the task's model if it takes references, else on an editing model the user
picks here. The next generate records the result as the new task's parent, as long as the
reference is still in the composer. Reopening reads the recipe an image (or its sidecar)
carries (``core/recipe.py``) and refills the composer from it; an image without one says so.
Nothing here sends anything: generate (ctrl+j) does.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from evolink_tui.core.errors import ValidationError
from evolink_tui.core.history import TaskRecord
from evolink_tui.core.validation import GenerationRequest

from ..format import plain

if TYPE_CHECKING:
    from evolink_tui.core.iterate import Iteration
    from evolink_tui.core.recipe import Reopened

    from ..app import EvolinkApp
    from .main import MainScreen

SOURCES = {  # where a recipe was found, as a person says it
    "png:evolink:recipe": "its PNG text",
    "xmp:evolink:recipe": "its XMP metadata",
    "png:parameters": "its PNG parameters text",
    "exif:UserComment": "its Exif comment",
    "sidecar": "the .json sidecar beside it",
}


def clean_path(text: str) -> str:
    """A path as typed or pasted: ``reopen:`` and surrounding quotes (a dropped file) off."""
    text = text.strip()
    if text.lower().startswith("reopen:"):
        text = text[len("reopen:") :].strip()
    if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    return text.removeprefix("file://")


class Iterating:
    """The main screen's iterate and reopen flows (see the module docstring)."""

    def __init__(self, screen: MainScreen) -> None:
        self.screen = screen
        self.current: Iteration | None = None  # what the composer iterates on, if anything

    @property
    def app(self) -> EvolinkApp:
        return self.screen.app

    def notify(self, text: str, **kwargs) -> None:
        self.screen.notify(text, markup=False, **kwargs)

    # -- the parent the next generate records ------------------------------------------------------

    def parent_for(self, requests: list[GenerationRequest]) -> tuple[int, int] | None:
        """The result these requests iterate on: the iteration's, while its reference is
        still among their images (removed: a new line, no parent)."""
        current = self.current
        if current is not None and requests and all(current.applies_to(r) for r in requests):
            return current.parent
        return None

    def forget(self) -> None:
        """The composer was refilled with something else."""
        self.current = None
        self.mark()

    def mark(self) -> None:
        """The composer's lower border says what it iterates on, while it does."""
        if not self.screen.ready:
            return
        composer = self.screen.composer
        parent = self.parent_for(composer.requests())
        composer.border_subtitle = f"iterating on #{parent[0]} result {parent[1] + 1}" if parent else ""

    # -- iterate on a result ------------------------------------------------------------------------

    async def start(self, record: TaskRecord, index: int) -> None:
        """The composer filled to iterate on result ``index`` (from 0) of ``record``."""
        studio = self.app.studio
        try:  # a file on disk is looked at when the URL has lapsed: in a thread
            iteration = await asyncio.to_thread(studio.iterate, record, index)
        except ValidationError as err:
            self.notify(f"Cannot iterate on #{record.id} result {index + 1}: {err}", severity="error", timeout=10)
            return
        await self.app.back_to_main()
        if iteration.model_kept:
            self._fill(iteration)
            return

        def chosen(model: str | None) -> None:
            if model:
                self._fill(iteration.with_model(model))
            else:
                self.notify("Not iterating: the composer is as it was.")

        from .iterate_dialogs import EditingModelScreen  # its dialogs load when first asked for

        self.app.push_screen(EditingModelScreen(record.model, iteration.editing_models), chosen)

    def _fill(self, iteration: Iteration) -> None:
        screen = self.screen
        screen.composer.fill(iteration.request)
        self.current = iteration
        self.mark()
        screen.focus_prompt()
        record_id, index = iteration.parent
        how = "its URL" if iteration.reference_is_url else "its file, uploaded on generate (the URL has lapsed)"
        self.notify(
            f"Iterating on #{record_id} result {index + 1} ({how}) with {iteration.request.model}: "
            "edit the prompt or settings, then ctrl+j. Nothing is sent until then.",
            timeout=8,
        )

    # -- reopen an image ---------------------------------------------------------------------------

    def ask_path(self) -> None:
        """The palette's "Reopen image": ask for a path, then reopen it."""

        def chosen(path: str | None) -> None:
            if path:
                self.app.call_later(self.reopen, path)
            else:
                self.screen.focus_prompt()

        from .iterate_dialogs import ReopenScreen

        self.app.push_screen(ReopenScreen(), chosen)

    async def reopen(self, text: str) -> None:
        """The composer refilled from the recipe in an image file or its sidecar."""
        from evolink_tui.core.recipe import reopen

        path = clean_path(text)
        if not path:
            self.notify("Reopen needs a path: an image made by evolink-tui, or its .json sidecar.", severity="warning")
            return
        try:
            found = await asyncio.to_thread(reopen, path)
        except ValidationError as err:
            self.notify(f"Cannot reopen: {err}", severity="error", timeout=10)
            return
        name = plain(found.path.name, 80)
        if not found.found:
            self._no_recipe(found, name)
            return
        request = found.generation_request()
        record = await asyncio.to_thread(found.record_in, self.app.studio.history)
        screen = await self.app.back_to_main()
        screen.composer.fill(request)
        self.forget()
        screen.focus_prompt()
        known = request.model in screen.composer.models
        warnings = [] if known else [f"Its model {plain(request.model, 40)} is not in the catalogue: pick one (F2)."]
        if found.references_may_have_lapsed(self.app.studio.now()):
            warnings.append(
                "Its reference image URLs date from when it was made and have probably lapsed (result URLs last "
                "24 hours, uploads 72): replace them before generating."
            )
        where = f"task #{record.id} in this history" if record else "no record of it in this history"
        self.notify(
            f"Composer refilled from {name} (the recipe in {SOURCES.get(found.source, found.source)}; {where}). "
            + "".join(f"{w} " for w in warnings)
            + "Change anything, then ctrl+j: nothing is sent until then.",
            severity="warning" if warnings else "information",
            timeout=12 if warnings else 8,
        )

    def _no_recipe(self, found: Reopened, name: str) -> None:
        text = (
            f"{name} carries no evolink-tui recipe (none in the file, no sidecar beside it): it was not made "
            "here, or its metadata was stripped. The composer is unchanged."
        )
        if found.foreign:
            text += f" It has another tool's generation text: {plain(found.foreign, 200)}"
        self.notify(text, severity="warning", timeout=12)

    def reopen_reference(self) -> None:
        """r on the composer's reference list: reopen the highlighted reference's file."""
        composer = self.screen.composer
        refs = composer.references
        index = composer.reference_index
        if not refs:
            return
        ref = refs[index] if index is not None and 0 <= index < len(refs) else refs[0]
        if "://" in ref:
            self.notify(
                "Reopen reads a file on this machine; this reference is a URL. Type reopen:PATH in the reference "
                "field, or use the palette's Reopen image.",
                severity="warning",
                timeout=8,
            )
            return
        self.app.call_later(self.reopen, ref)
