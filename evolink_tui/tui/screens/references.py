"""The composer's reference images and mask, as the main screen runs them.

:class:`References` belongs to the main screen (``main.refs``): a stored file used as a
reference or as the mask, the mask maker opened on a file or on the composer's reference
(only for models that take a mask: otherwise it says why and offers one), the uploaded mask
set in the composer, a warning when a deleted file is still in the composer, and a local
reference over 4 MB offered a smaller copy made by Pillow in a thread, shown with its new
size first and never used silently.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from textual.content import Content

from evolink_tui.core.catalogue import load_catalogue
from evolink_tui.core.errors import describe
from evolink_tui.core.imagetypes import is_url
from evolink_tui.core.text import inert
from evolink_tui.core.validation import MAX_REFERENCE_BYTES, human_size

from ..format import plain

if TYPE_CHECKING:
    from evolink_tui.core.imaging import Fitted
    from evolink_tui.core.studio.files import UploadSpec
    from evolink_tui.core.wire import FileInfo

    from ..app import EvolinkApp
    from .main import MainScreen

MASK_MODELS_NOTE = "White marks what to edit, black what to keep."


def mask_models() -> list[str]:
    return [m.id for m in load_catalogue() if m.mask]


class References:
    """The main screen's reference and mask flows (see the module docstring)."""

    def __init__(self, screen: MainScreen) -> None:
        self.screen = screen

    @property
    def app(self) -> EvolinkApp:
        return self.screen.app

    def notify(self, text: str, **kwargs) -> None:
        self.screen.notify(text, markup=False, **kwargs)

    # -- stored files as references and masks -------------------------------------------------------

    async def use_file(self, info: FileInfo) -> None:
        from evolink_tui.core.files import kind_label

        if not info.file_url:
            self.notify("The server gave this file no URL.", severity="warning")
            return
        if kind_label(info) == "GIF":
            self.notify("GIF files are not accepted as reference images (JPEG/PNG/WebP only).", severity="warning")
            return
        if info.file_size and info.file_size > MAX_REFERENCE_BYTES:
            self.notify(
                f"{plain(info.name, 60)} is {human_size(info.file_size)}: reference images must be at most "
                "4 MB, so the generation will likely be refused.",
                severity="warning",
                timeout=10,
            )
        await self.screen.generation.use_as_reference(info.file_url)

    def mask_allowed(self, then: Callable[[], object]) -> bool:
        """True when the composer's models take a mask; else explain, offer gpt-4o-image, and
        call ``then()`` once the composer has switched."""
        composer = self.screen.composer
        if composer.limits.mask:
            return True
        from .confirm import ConfirmScreen

        models = mask_models()
        current = ", ".join(composer.models)
        body = Content.assemble(
            "Masks (partial inpainting) are taken only by ",
            (", ".join(models), "bold"),
            f"; the composer is set to {plain(current, 80)}, which takes none.\n\n",
            f"Switch the composer to {models[0]}?",
        )

        def answer(yes: bool | None) -> None:
            if yes:
                composer.set_models([models[0]])
                self.notify(f"Model set to {models[0]}.")
                then()

        self.app.push_screen(
            ConfirmScreen("Masks need another model", body, yes=f"Use {models[0]}", no="Cancel"), answer
        )
        return False

    def use_mask(self, info: FileInfo) -> None:
        from evolink_tui.core.files import kind_label

        if kind_label(info) != "PNG":
            self.notify(
                "A mask must be a PNG image (white = edit, black = keep). Press k to make one.", severity="warning"
            )
            return
        if not self.mask_allowed(lambda: self.use_mask(info)):
            return
        self.screen.composer.set_mask(info.file_url or "")
        self.notify(f"Mask set in the composer: {plain(info.name, 60)}. {MASK_MODELS_NOTE}")

    def mask_uploaded(self, spec: UploadSpec, info: FileInfo) -> None:
        composer = self.screen.composer
        composer.set_mask(info.file_url or "")
        text = "Mask uploaded and set in the composer."
        if spec.reference and spec.reference not in composer.references:
            if composer.add_reference(spec.reference):
                text += " Its image was added as the reference."
        self.notify(f"{text} {MASK_MODELS_NOTE}")

    def warn_if_used(self, gone: list[FileInfo]) -> None:
        """Deleted files that the composer still uses (kept there: the user decides)."""
        composer = self.screen.composer
        urls = {f.file_url for f in gone if f.file_url}
        used = [u for u in composer.references if u in urls] + ([composer.mask] if composer.mask in urls else [])
        if used:
            self.notify(
                "The composer still uses a deleted file as a reference or mask: it is kept there, "
                "but the generation would fail. Remove it or pick another file.",
                severity="warning",
                timeout=10,
            )

    # -- the mask maker -----------------------------------------------------------------------------------

    def open_mask_maker(
        self, *, path: str | None = None, url: str | None = None, name: str = "", reference: str | None = None
    ) -> None:
        from .mask import MaskScreen

        if not self.mask_allowed(lambda: self.open_mask_maker(path=path, url=url, name=name, reference=reference)):
            return
        self.app.push_screen(MaskScreen(path=path, url=url, name=name, reference=reference))

    def make_mask(self) -> None:
        """The mask maker on the composer's reference image (the highlighted one)."""
        composer = self.screen.composer
        refs = composer.references
        if not refs:
            self.notify(
                "Add a reference image first (a path or URL in the composer, or f on a file in the files "
                "screen, F5): the mask is drawn on it.",
                severity="warning",
                timeout=8,
            )
            return
        index = composer.reference_index
        ref = refs[index] if index is not None and 0 <= index < len(refs) else refs[0]
        if is_url(ref):
            self.open_mask_maker(url=ref, name=ref.rsplit("/", 1)[-1], reference=ref)
        else:
            self.open_mask_maker(path=ref, name=Path(ref).name, reference=ref)

    # -- references over 4 MB -------------------------------------------------------------------------------

    def fit_if_big(self, ref: str) -> None:
        """A local reference was added: if over 4 MB, work out a smaller copy (in a thread)."""
        if is_url(ref) or "://" in ref:
            return
        self.app.start(asyncio.to_thread(self._fit, ref), name="fit reference", group="fit")

    def _fit(self, ref: str) -> None:
        from evolink_tui.core.files import oversize_reference
        from evolink_tui.core.imaging import fit_reference

        big = oversize_reference(ref)
        if big is None:
            return
        self.app.notify(
            f"{plain(big.path.name, 60)} is {human_size(big.size)}, over the 4 MB "
            "limit for reference images: working out a smaller copy…",
            markup=False,
        )
        try:
            fitted = fit_reference(big.path)
        except (OSError, ValueError) as err:
            self.screen.post_message(self.screen.ReferenceFitted(ref, None, err))
            return
        self.screen.post_message(self.screen.ReferenceFitted(ref, fitted))

    def offer_fitted(self, ref: str, fitted: Fitted | None, error: BaseException | None) -> None:
        from .confirm import ConfirmScreen

        name = plain(Path(ref).name, 60)
        if fitted is None:
            reason = inert(describe(error)) if error else "unknown"
            self.notify(f"{name} cannot be made smaller than 4 MB: {reason}", severity="error", timeout=10)
            return
        target = f"{Path(ref).stem}.fitted.{fitted.extension}"
        body = Content.assemble(
            (name, "bold"),
            f" is {human_size(fitted.original_bytes)} ({fitted.original_width}x"
            f"{fitted.original_height}), over the 4 MB limit for reference images.\n\n",
            "A smaller copy fits: ",
            (f"{fitted.how}: {fitted.width}x{fitted.height}, {human_size(fitted.size)}", "bold"),
            f".\n\nIt is saved as {plain(target, 60)} beside the original (the original is not changed) and "
            "used in its place, to be uploaded on generate.",
        )

        def answer(yes: bool | None) -> None:
            if yes:
                self.app.start(self._save_fitted(ref, fitted), name="save fitted", group="fit")
            else:
                self.notify(
                    f"Kept {name} as it is: over 4 MB, it would be refused. Remove it from the list, or add "
                    "it again to fit it.",
                    severity="warning",
                    timeout=10,
                )

        self.app.push_screen(
            ConfirmScreen("Reference over 4 MB", body, yes="Use the smaller copy", no="Keep it"), answer
        )

    async def _save_fitted(self, ref: str, fitted: Fitted) -> None:
        from evolink_tui.core.files import save_fitted

        fallback = self.app.settings.data_dir / "fitted"
        try:
            path = await asyncio.to_thread(save_fitted, fitted, Path(ref).expanduser(), fallback)
        except OSError as err:
            self.notify(f"Could not save the smaller copy: {inert(describe(err))}", severity="error")
            return
        if self.screen.ready and self.screen.composer.replace_reference(ref, str(path)):
            self.notify(f"Using the smaller copy: {plain(path, 100)}")
