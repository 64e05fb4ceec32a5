"""The Files API in the app: listing, uploads, deletes, previews, masks and fitted references.

:class:`FilesFeature` is mixed into the App, so every worker here runs on the App and
outlives the screens that asked for it (the files screen, the upload dialog, the mask
maker). Workers do the network (async, on the shared client) and the disk and Pillow
(threads); each result comes back as one message from ``messages.py``, handled here: the
handler updates what the app knows and then tells every open screen that has a
``files_news(message)`` method. Errors are caught in the workers and shown with the
reference's resolution; nothing the user chose (an upload's path and name, the composer,
a mask rectangle) is thrown away when something fails.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from textual.content import Content

from evolink_tui.core import events as kinds
from evolink_tui.core.errors import EvolinkError, ValidationError
from evolink_tui.core.validation import human_size

from .format import plain
from .messages import (
    FileBytesLoaded,
    FilesDeleted,
    FilesListed,
    FilesListFailed,
    FileUploaded,
    FileUploadFailed,
    FileUploadNeedsConfirm,
    FileUploadProgress,
    TaskChanged,
)
from .references import ReferencesFeature, explain

if TYPE_CHECKING:  # the Files helpers (and the wire parsers) load with the first use of files
    from evolink_tui.core.wire import FileInfo

    from .app import EvolinkApp
    from .files_state import FilesState, UploadSpec


class FilesFeature(ReferencesFeature):
    """Mixed into :class:`EvolinkApp` (``class EvolinkApp(App, FilesFeature)``)."""

    _tickets = itertools.count(1)

    @property
    def files_state(self: EvolinkApp) -> FilesState:
        state = self.__dict__.get("_files_state")
        if state is None:
            from .files_state import FilesState

            state = self.__dict__["_files_state"] = FilesState()
        return state

    def _files_client(self: EvolinkApp):
        self._ensure_runner()
        return self.client

    def _broadcast(self: EvolinkApp, message) -> None:
        for screen in list(self.screen_stack):
            news = getattr(screen, "files_news", None)
            if news is not None and screen.is_attached:
                news(message)

    def _files_screen(self: EvolinkApp):
        from .screens.files import FilesScreen

        return self.screen if isinstance(self.screen, FilesScreen) else None

    # -- listing -----------------------------------------------------------------------------------

    def files_refresh(self: EvolinkApp) -> None:
        """Read the quota and every page of the listing again (latest wins)."""
        if not self.settings.has_key:
            return
        self.run_worker(self._list_files(), name="list files", group="files-list", exclusive=True, exit_on_error=False)

    async def _list_files(self: EvolinkApp) -> None:
        from evolink_tui.core.files import list_all

        client = self._files_client()

        def page(files: list[FileInfo], total: int) -> None:
            if len(files) < total:
                self.post_message(FilesListed(files, total, None, partial=True))

        try:
            quota, (files, total) = await asyncio.gather(client.quota(), list_all(client, on_page=page))
        except (EvolinkError, ValidationError) as err:
            self.post_message(FilesListFailed(err))
            return
        self.post_message(FilesListed(files, total, quota))

    def on_files_listed(self: EvolinkApp, message: FilesListed) -> None:
        state = self.files_state
        state.files, state.total = message.files, message.total
        if message.quota is not None:
            state.quota = message.quota
        if not message.partial:
            state.loaded, state.stale, state.error = True, False, None
        self._broadcast(message)

    def on_files_list_failed(self: EvolinkApp, message: FilesListFailed) -> None:
        self.files_state.error = message.error
        self.notify(
            explain(message.error), title="Could not read the files", severity="error", markup=False, timeout=10
        )
        self._broadcast(message)

    # -- uploads -------------------------------------------------------------------------------------

    def files_upload(self: EvolinkApp, spec: UploadSpec) -> int:
        """Start an upload on the App (it survives the screen that asked); its ticket."""
        ticket = next(self._tickets)
        self.files_state.uploads[ticket] = spec
        self.run_worker(self._upload(ticket, spec), name=f"upload {ticket}", group="files-upload", exit_on_error=False)
        return ticket

    async def _upload(self: EvolinkApp, ticket: int, spec: UploadSpec) -> None:
        client = self._files_client()
        state = self.files_state
        last = [-1]

        def progress(done: int, total: int) -> None:
            percent = 100 * done // max(total, 1)
            if percent != last[0]:
                last[0] = percent
                self.post_message(FileUploadProgress(ticket, done, total))

        from evolink_tui.core.files import list_all, same_name, stored_name

        try:
            name = stored_name(spec.source, spec.name)
            if not spec.overwrite_ok and name:
                files = state.files if state.loaded and not state.stale else (await list_all(client))[0]
                existing = same_name(files, name, spec.upload_path)
                if existing is not None:
                    self.post_message(FileUploadNeedsConfirm(spec, existing))
                    return
            if spec.is_url:
                info = await client.upload_url(spec.source.strip(), name=spec.name, upload_path=spec.upload_path)
            else:
                info = await client.upload_file(
                    Path(spec.source).expanduser(),
                    name=spec.name,
                    upload_path=spec.upload_path,
                    progress=progress,
                    retry_safe=spec.retry_safe,
                )
        except (EvolinkError, ValidationError, OSError) as err:
            self.post_message(FileUploadFailed(ticket, spec, err))
            return
        self.post_message(FileUploaded(ticket, spec, info))

    def on_file_upload_progress(self: EvolinkApp, message: FileUploadProgress) -> None:
        if message.ticket in self.files_state.uploads:
            self.files_state.progress[message.ticket] = (message.done, message.total)
            self._broadcast(message)

    def on_file_upload_needs_confirm(self: EvolinkApp, message: FileUploadNeedsConfirm) -> None:
        from .screens.confirm import ConfirmScreen

        spec, existing = message.spec, message.existing
        self._upload_done(spec)
        body = Content.assemble(
            "A file named ",
            (plain(existing.name, 80), "bold"),
            " is already stored",
            f" ({human_size(existing.file_size)}, {plain(existing.file_id)}).\n\n",
            "Uploading a file with an existing name overwrites the old one, as the reference says "
            "(the old file may still be served from a cache for a while).",
        )

        def answer(yes: bool | None) -> None:
            if yes:
                self.files_upload(replace(spec, overwrite_ok=True))
            elif spec.purpose is None:
                self.open_upload_dialog(spec)  # back to the dialog, with everything as it was

        self.push_screen(ConfirmScreen("Overwrite the stored file?", body, yes="Overwrite", no="Go back"), answer)

    def _upload_done(self: EvolinkApp, spec: UploadSpec) -> None:
        state = self.files_state
        for ticket, pending in list(state.uploads.items()):
            if pending is spec:
                state.uploads.pop(ticket, None)
                state.progress.pop(ticket, None)

    def on_file_uploaded(self: EvolinkApp, message: FileUploaded) -> None:
        state = self.files_state
        state.uploads.pop(message.ticket, None)
        state.progress.pop(message.ticket, None)
        state.stale = True
        info, spec = message.info, message.spec
        if state.last_failed == replace(spec, overwrite_ok=False) or state.last_failed == spec:
            state.last_failed = None
        self.notify(
            f"Uploaded {plain(info.name, 80)} ({human_size(info.file_size)}) as {plain(info.file_id)}. "
            "It is deleted 72 hours after upload.",
            title="Files",
            markup=False,
        )
        if spec.purpose == "mask":
            self._mask_uploaded(spec, info)
        self._broadcast(message)
        self.files_refresh()

    def on_file_upload_failed(self: EvolinkApp, message: FileUploadFailed) -> None:
        state = self.files_state
        state.uploads.pop(message.ticket, None)
        state.progress.pop(message.ticket, None)
        error, spec = message.error, message.spec
        if spec.purpose is None:
            state.last_failed = spec
        self.notify(
            explain(error), title=f"Upload failed: {plain(spec.label, 60)}", severity="error", markup=False, timeout=12
        )
        self._broadcast(message)
        if isinstance(error, EvolinkError) and error.kind == "file" and str(error.code) == "40003":
            self.offer_files_for_quota()
        elif isinstance(error, EvolinkError):
            self.files_refresh()  # the quota may have moved

    def offer_files_for_quota(self: EvolinkApp) -> None:
        """The file quota is full (40003): offer the files screen to choose what to delete."""
        from .screens.confirm import ConfirmScreen

        if self._files_screen() is not None:
            self.notify(
                "The file quota is full: mark files with space and press d to delete them, then upload "
                "again (u brings back what you chose).",
                severity="warning",
                markup=False,
                timeout=12,
            )
            return
        body = Content.assemble(
            ("The file quota is full", "bold"),
            " (code 40003). Delete files to free quota, then try again: "
            "everything you chose is kept.\n\nOpen the files screen to choose files to delete?",
        )

        def answer(yes: bool | None) -> None:
            if yes:
                self.action_open_files()

        self.push_screen(ConfirmScreen("File quota full", body, yes="Open files", no="Not now"), answer)

    def open_upload_dialog(self: EvolinkApp, spec: UploadSpec | None = None) -> None:
        from .screens.upload import UploadScreen

        if self._needs_key():
            return
        start = spec or self.files_state.last_failed

        def chosen(result: UploadSpec | None) -> None:
            if result is not None:
                self.files_upload(result)

        self.push_screen(UploadScreen(start), chosen)

    # -- deletes --------------------------------------------------------------------------------------

    def files_delete(self: EvolinkApp, file_ids: list[str]) -> None:
        self.run_worker(self._delete(list(file_ids)), name="delete files", group="files-delete", exit_on_error=False)

    async def _delete(self: EvolinkApp, file_ids: list[str]) -> None:
        client = self._files_client()
        deleted: list[str] = []
        failed: list[tuple[str, BaseException]] = []
        for file_id in file_ids:
            try:
                await client.delete_file(file_id)
            except (EvolinkError, ValidationError) as err:
                failed.append((file_id, err))
            else:
                deleted.append(file_id)
        self.post_message(FilesDeleted(deleted, failed))

    def on_files_deleted(self: EvolinkApp, message: FilesDeleted) -> None:
        state = self.files_state
        state.stale = True
        names = {f.file_id: f for f in state.files}
        if message.deleted:
            count = len(message.deleted)
            self.notify(f"Deleted {count} file{'s' if count != 1 else ''}.", title="Files", markup=False)
            self._warn_if_composer_uses([names[i] for i in message.deleted if i in names])
        for file_id, error in message.failed:
            name = names[file_id].name if file_id in names else file_id
            self.notify(
                explain(error), title=f"Not deleted: {plain(name, 60)}", severity="error", markup=False, timeout=12
            )
        self._broadcast(message)
        self.files_refresh()

    def _warn_if_composer_uses(self: EvolinkApp, gone: list[FileInfo]) -> None:
        composer = self.main.composer if self.main.ready else None
        if composer is None:
            return
        urls = {f.file_url for f in gone if f.file_url}
        used = [u for u in composer.references if u in urls]
        mask = composer.query_one("#mask").value.strip()
        if mask in urls:
            used.append(mask)
        if used:
            self.notify(
                "The composer still uses a deleted file as a reference or mask: it is kept there, "
                "but the generation would fail. Remove it or pick another file.",
                severity="warning",
                markup=False,
                timeout=10,
            )

    # -- previews ---------------------------------------------------------------------------------------

    def files_bytes(self: EvolinkApp, url: str) -> bytes | None:
        """A stored file's bytes if they are here already; else fetched (FileBytesLoaded)."""
        cached = self.files_state.bytes.get(url)
        if cached is not None:
            self.files_state.bytes.move_to_end(url)
            return cached
        self.run_worker(self._fetch(url), name="file preview", group="file-bytes", exclusive=True, exit_on_error=False)
        return None

    async def _fetch(self: EvolinkApp, url: str) -> None:
        from evolink_tui.core.files import fetch_bytes

        try:
            data = await fetch_bytes(self._files_client(), url)
        except (EvolinkError, OSError) as err:
            self.post_message(FileBytesLoaded(url, None, err))
            return
        except Exception as err:  # httpx errors on a strange URL: no preview, no crash
            self.post_message(FileBytesLoaded(url, None, err))
            return
        self.post_message(FileBytesLoaded(url, data))

    def on_file_bytes_loaded(self: EvolinkApp, message: FileBytesLoaded) -> None:
        if message.data is not None:
            self.files_state.remember_bytes(message.key, message.data)
        self._broadcast(message)

    # -- task events --------------------------------------------------------------------------------------

    def files_task_changed(self: EvolinkApp, message: TaskChanged) -> None:
        """A generation uploaded a reference (the listing moved), or its upload hit a full quota."""
        if message.kind == kinds.UPLOADED:
            self.files_state.stale = True
            if self._files_screen() is not None:
                self.files_refresh()
        elif message.kind == kinds.FAILED:
            error = message.event.error
            if isinstance(error, EvolinkError) and error.kind == "file" and str(error.code) == "40003":
                self.offer_files_for_quota()

    # -- actions (keys and the command palette) --------------------------------------------------------------

    def action_open_files(self: EvolinkApp) -> None:
        from .screens.files import FilesScreen

        if self._needs_key() or isinstance(self.screen, FilesScreen):
            return
        self.push_screen(FilesScreen())

    def _on_files_screen(self: EvolinkApp, action: str, hint: str) -> None:
        screen = self._files_screen()
        if screen is not None:
            getattr(screen, f"action_{action}")()
            return
        self.action_open_files()
        self.notify(hint, markup=False)

    def action_upload_file(self: EvolinkApp) -> None:
        if self._files_screen() is None:
            self.action_open_files()
        self.open_upload_dialog()

    def action_delete_files(self: EvolinkApp) -> None:
        self._on_files_screen("delete_files", "Mark files with space, then press d to delete them.")

    def action_use_file_as_reference(self: EvolinkApp) -> None:
        self._on_files_screen("use_file_as_reference", "Choose a file, then press f to use it as a reference.")

    def action_use_file_as_mask(self: EvolinkApp) -> None:
        self._on_files_screen("use_file_as_mask", "Choose a PNG mask, then press m to use it as the mask.")

    def action_copy_file_url(self: EvolinkApp) -> None:
        self._on_files_screen("copy_file_url", "Choose a file, then press c to copy its URL.")

    def action_refresh_files(self: EvolinkApp) -> None:
        self._on_files_screen("refresh_files", "Reading the files again.")
