"""Reference images and masks for the composer, from files and from the mask maker.

:class:`ReferencesFeature` is mixed into the App (through ``FilesFeature``): a stored file
used as a reference or as the mask, the mask maker opened on a file or on the composer's
reference (only for models that take a mask: otherwise it says why and offers one), the
uploaded mask set in the composer, and a local reference over 4 MB offered a smaller copy
made by Pillow in a thread, shown with its new size first and never used silently.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual.content import Content

from evolink_tui.core.catalogue import load_catalogue
from evolink_tui.core.errors import EvolinkError, ValidationError
from evolink_tui.core.imagetypes import is_url
from evolink_tui.core.text import inert
from evolink_tui.core.validation import MAX_REFERENCE_BYTES, human_size

from .format import plain
from .messages import ReferenceFitted, ReferenceReplaced

if TYPE_CHECKING:  # the Files helpers (and the wire parsers) load with the first use of files
    from evolink_tui.core.wire import FileInfo

    from .app import EvolinkApp
    from .files_state import UploadSpec

MASK_MODELS_NOTE = "White marks what to edit, black what to keep."


def explain(error: BaseException) -> str:
    """An error as the user reads it: code, meaning, retry advice and the resolution (the
    server's words made inert: control characters shown, never obeyed)."""
    if isinstance(error, EvolinkError):
        text = error.explain()
    elif isinstance(error, ValidationError):
        text = f"Nothing was sent. {error}"
    elif isinstance(error, OSError):
        text = f"{error.strerror or error}: {error.filename or ''}".strip(": ")
    else:
        text = f"{type(error).__name__}: {error}"
    return inert(text)


def mask_models() -> list[str]:
    return [m.id for m in load_catalogue() if m.mask]


class ReferencesFeature:
    """The composer's side of the Files API; see the module docstring."""

    # -- composer: references and masks --------------------------------------------------------------------

    async def use_file_as_reference(self: EvolinkApp, info: FileInfo) -> None:
        from evolink_tui.core.files import kind_label

        if not info.file_url:
            self.notify("The server gave this file no URL.", severity="warning", markup=False)
            return
        if kind_label(info) == "GIF":
            self.notify(
                "GIF files are not accepted as reference images (JPEG/PNG/WebP only).", severity="warning", markup=False
            )
            return
        if info.file_size and info.file_size > MAX_REFERENCE_BYTES:
            self.notify(
                f"{plain(info.name, 60)} is {human_size(info.file_size)}: reference images must be at most "
                "4 MB, so the generation will likely be refused.",
                severity="warning",
                markup=False,
                timeout=10,
            )
        await self.use_as_reference(info.file_url)

    def mask_allowed(self: EvolinkApp, then) -> bool:
        """True when the composer's models take a mask; else explain, offer gpt-4o-image, and
        call ``then()`` once the composer has switched."""
        composer = self.main.composer
        if composer.limits.mask:
            return True
        from .screens.confirm import ConfirmScreen

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
                self.notify(f"Model set to {models[0]}.", markup=False)
                then()

        self.push_screen(ConfirmScreen("Masks need another model", body, yes=f"Use {models[0]}", no="Cancel"), answer)
        return False

    def use_file_as_mask(self: EvolinkApp, info: FileInfo) -> None:
        from evolink_tui.core.files import kind_label

        if kind_label(info) != "PNG":
            self.notify(
                "A mask must be a PNG image (white = edit, black = keep). Press k to make one.",
                severity="warning",
                markup=False,
            )
            return
        if not self.mask_allowed(lambda: self.use_file_as_mask(info)):
            return
        self.main.composer.set_mask(info.file_url)
        self.notify(f"Mask set in the composer: {plain(info.name, 60)}. {MASK_MODELS_NOTE}", markup=False)

    def _mask_uploaded(self: EvolinkApp, spec: UploadSpec, info: FileInfo) -> None:
        composer = self.main.composer
        composer.set_mask(info.file_url)
        text = "Mask uploaded and set in the composer."
        if spec.reference and spec.reference not in composer.references:
            if composer.add_reference(spec.reference):
                text += " Its image was added as the reference."
        self.notify(f"{text} {MASK_MODELS_NOTE}", markup=False)

    def open_mask_maker(
        self: EvolinkApp,
        *,
        path: str | None = None,
        url: str | None = None,
        name: str = "",
        reference: str | None = None,
    ) -> None:
        from .screens.mask import MaskScreen

        if not self.mask_allowed(lambda: self.open_mask_maker(path=path, url=url, name=name, reference=reference)):
            return
        self.push_screen(MaskScreen(path=path, url=url, name=name, reference=reference))

    # -- references over 4 MB ------------------------------------------------------------------------------

    def on_composer_reference_added(self: EvolinkApp, message) -> None:
        ref = message.ref
        if is_url(ref) or "://" in ref:
            return
        self.run_worker(lambda: self._fit(ref), name="fit reference", group="fit", thread=True, exit_on_error=False)

    def _fit(self: EvolinkApp, ref: str) -> None:
        """In a thread: a local reference over 4 MB gets a smaller version to offer."""
        from evolink_tui.core.files import oversize_reference
        from evolink_tui.core.imaging import fit_reference

        big = oversize_reference(ref)
        if big is None:
            return
        self.call_from_thread(
            self.notify,
            f"{plain(big.path.name, 60)} is {human_size(big.size)}, over the 4 MB "
            "limit for reference images: working out a smaller copy…",
            markup=False,
        )
        try:
            fitted = fit_reference(big.path)
        except (OSError, ValueError) as err:
            self.post_message(ReferenceFitted(ref, None, err))
            return
        self.post_message(ReferenceFitted(ref, fitted))

    def on_reference_fitted(self: EvolinkApp, message: ReferenceFitted) -> None:
        from .screens.confirm import ConfirmScreen

        ref, fitted = message.ref, message.fitted
        name = plain(Path(ref).name, 60)
        if fitted is None:
            self.notify(
                f"{name} cannot be made smaller than 4 MB: {explain(message.error)}",
                severity="error",
                markup=False,
                timeout=10,
            )
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
                fallback = self.settings.data_dir / "fitted"
                self.run_worker(
                    lambda: self._save_fitted(ref, fitted, fallback),
                    name="save fitted",
                    thread=True,
                    group="fit",
                    exit_on_error=False,
                )
            else:
                self.notify(
                    f"Kept {name} as it is: over 4 MB, it would be refused. Remove it from the list, or add "
                    "it again to fit it.",
                    severity="warning",
                    markup=False,
                    timeout=10,
                )

        self.push_screen(ConfirmScreen("Reference over 4 MB", body, yes="Use the smaller copy", no="Keep it"), answer)

    def _save_fitted(self: EvolinkApp, ref: str, fitted, fallback: Path) -> None:
        from evolink_tui.core.files import save_fitted

        try:
            path = save_fitted(fitted, Path(ref).expanduser(), fallback)
        except OSError as err:
            self.call_from_thread(
                self.notify, f"Could not save the smaller copy: {explain(err)}", severity="error", markup=False
            )
            return
        self.post_message(ReferenceReplaced(ref, str(path)))

    def on_reference_replaced(self: EvolinkApp, message: ReferenceReplaced) -> None:
        if self.main.ready and self.main.composer.replace_reference(message.ref, message.path):
            self.notify(f"Using the smaller copy: {plain(message.path, 100)}", markup=False)

    # -- the mask maker from anywhere -------------------------------------------------------------------------

    def action_make_mask(self: EvolinkApp) -> None:
        """The mask maker, on the chosen file (files screen) or the composer's reference image."""
        screen = self._files_screen()
        if screen is not None:
            screen.action_make_mask()
            return
        from .widgets.reflist import RefList

        composer = self.main.composer
        refs = composer.references
        if not refs:
            self.notify(
                "Add a reference image first (a path or URL in the composer, or f on a file in the files "
                "screen, F5): the mask is drawn on it.",
                severity="warning",
                markup=False,
                timeout=8,
            )
            return
        index = composer.query_one(RefList).index
        ref = refs[index] if index is not None and 0 <= index < len(refs) else refs[0]
        if is_url(ref):
            self.open_mask_maker(url=ref, name=ref.rsplit("/", 1)[-1], reference=ref)
        else:
            self.open_mask_maker(path=ref, name=Path(ref).name, reference=ref)
