"""The Files API as the Studio runs it: what is known about the files host, and the
operations (list, upload, delete, preview bytes), each reporting through the Studio's
events (``FilesListed``, ``UploadProgressed``, ``FileUploaded``, ``UploadFailed``,
``UploadNeedsConfirm``, ``FilesDeleted``, ``FileBytesLoaded``).

The operations are coroutines: the app runs each as a worker on the App (so an upload
outlives the dialog that asked for it); errors are caught and reported as events, never
raised. Nothing a user chose (an upload's path, name and folder) is lost: a failed upload's
:class:`UploadSpec` is kept to be offered again.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..imagetypes import is_url

if TYPE_CHECKING:
    from ..client import EvolinkClient
    from ..wire import FileInfo, Quota
    from .studio import Studio

BYTES_CACHE_LIMIT = 64 * 1024 * 1024


@dataclass(frozen=True)
class UploadSpec:
    """One upload as the user chose it: a local path or a URL, an optional stored name and
    folder. ``purpose`` "mask" sets the result as the composer's mask (and ``reference``,
    the image it masks, as a reference)."""

    source: str
    name: str | None = None
    upload_path: str | None = None
    purpose: str | None = None
    reference: str | None = None
    overwrite_ok: bool = False
    retry_safe: bool = False

    @property
    def is_url(self) -> bool:
        return is_url(self.source)

    @property
    def label(self) -> str:
        from ..files import stored_name

        return stored_name(self.source, self.name) or self.source


@dataclass
class FilesState:
    """What is known about the files host."""

    files: list[FileInfo] = field(default_factory=list)
    total: int = 0
    quota: Quota | None = None
    loaded: bool = False  # a full listing arrived at least once
    stale: bool = True  # something changed since the last listing
    error: BaseException | None = None  # the last listing failure (cleared by a good one)
    last_failed: UploadSpec | None = None  # offered again by the upload dialog
    uploads: dict[int, UploadSpec] = field(default_factory=dict)  # in flight
    progress: dict[int, tuple[int, int]] = field(default_factory=dict)
    previews: OrderedDict[str, bytes] = field(default_factory=OrderedDict)  # file URL -> its bytes, newest last

    def remember_bytes(self, key: str, data: bytes) -> None:
        self.previews[key] = data
        self.previews.move_to_end(key)
        while sum(len(v) for v in self.previews.values()) > BYTES_CACHE_LIMIT and len(self.previews) > 1:
            self.previews.popitem(last=False)

    def forget_upload(self, ticket: int) -> None:
        self.uploads.pop(ticket, None)
        self.progress.pop(ticket, None)


class Files:
    """The Files API operations of one :class:`~evolink_tui.core.studio.Studio`."""

    def __init__(self, studio: Studio) -> None:
        self._studio = studio
        self.state = FilesState()
        self._tickets = itertools.count(1)
        self._listing = 0  # the latest listing started: an older one's answer is dropped

    def _client(self) -> EvolinkClient:
        self._studio.ensure_runner()
        assert self._studio.client is not None
        return self._studio.client

    def _emit(self, event: object) -> None:
        self._studio.events.emit(event)

    # -- listing -----------------------------------------------------------------------------

    async def refresh(self) -> None:
        """Read the quota and every page of the listing again; the latest call wins."""
        if not self._studio.settings.has_key:
            return
        from ..errors import EvolinkError, ValidationError
        from ..events import FilesListFailed
        from ..files import list_all

        self._listing += 1
        serial = self._listing
        client = self._client()

        def page(files: list[FileInfo], total: int) -> None:
            if len(files) < total and serial == self._listing:
                self._listed(files, total, None, partial=True)

        try:
            quota, (files, total) = await asyncio.gather(client.quota(), list_all(client, on_page=page))
        except (EvolinkError, ValidationError) as err:
            if serial == self._listing:
                self.state.error = err
                self._emit(FilesListFailed(err))
            return
        if serial == self._listing:
            self._listed(files, total, quota, partial=False)

    def _listed(self, files: list[FileInfo], total: int, quota: Quota | None, *, partial: bool) -> None:
        from ..events import FilesListed

        state = self.state
        state.files, state.total = list(files), total
        if quota is not None:
            state.quota = quota
        if not partial:
            state.loaded, state.stale, state.error = True, False, None
        self._emit(FilesListed(tuple(files), total, quota, partial))

    # -- uploads -------------------------------------------------------------------------------

    def new_upload(self, spec: UploadSpec) -> int:
        """Register an upload about to start; its ticket (pass it to :meth:`upload`)."""
        ticket = next(self._tickets)
        self.state.uploads[ticket] = spec
        return ticket

    async def upload(self, ticket: int, spec: UploadSpec) -> None:
        """Upload ``spec`` (checked first for a same-name file unless ``overwrite_ok``)."""
        from ..errors import EvolinkError, ValidationError
        from ..events import FileUploaded, UploadFailed, UploadNeedsConfirm, UploadProgressed
        from ..files import list_all, same_name, stored_name
        from ..rules import is_quota_full

        client = self._client()
        state = self.state
        last = [-1]

        def progress(done: int, total: int) -> None:
            percent = 100 * done // max(total, 1)
            if percent != last[0] and ticket in state.uploads:
                last[0] = percent
                state.progress[ticket] = (done, total)
                self._emit(UploadProgressed(ticket, done, total))

        try:
            name = stored_name(spec.source, spec.name)
            if not spec.overwrite_ok and name:
                files = state.files if state.loaded and not state.stale else (await list_all(client))[0]
                existing = same_name(files, name, spec.upload_path)
                if existing is not None:
                    state.forget_upload(ticket)
                    self._emit(UploadNeedsConfirm(ticket, spec, existing))
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
            state.forget_upload(ticket)
            if spec.purpose is None:
                state.last_failed = spec
            self._emit(UploadFailed(ticket, spec, err))
            if isinstance(err, EvolinkError) and not is_quota_full(err):
                await self.refresh()  # the quota may have moved
            return
        state.forget_upload(ticket)
        state.stale = True
        if state.last_failed in (spec, _without_overwrite(spec)):
            state.last_failed = None
        self._emit(FileUploaded(ticket, spec, info))
        await self.refresh()

    # -- deletes ---------------------------------------------------------------------------------

    async def delete(self, files: list[FileInfo]) -> None:
        """Delete each file (one failure does not stop the others); then list again."""
        from ..errors import EvolinkError, ValidationError
        from ..events import FilesDeleted

        client = self._client()
        deleted: list[FileInfo] = []
        failed: list[tuple[FileInfo, BaseException]] = []
        for info in files:
            try:
                await client.delete_file(info.file_id)
            except (EvolinkError, ValidationError) as err:
                failed.append((info, err))
            else:
                deleted.append(info)
        self.state.stale = True
        self._emit(FilesDeleted(tuple(deleted), tuple(failed)))
        await self.refresh()

    # -- preview bytes ---------------------------------------------------------------------------------

    def cached_bytes(self, url: str) -> bytes | None:
        data = self.state.previews.get(url)
        if data is not None:
            self.state.previews.move_to_end(url)
        return data

    async def fetch_bytes(self, url: str) -> None:
        """A stored file's bytes for its preview (``FileBytesLoaded``, kept in a small cache)."""
        from ..events import FileBytesLoaded
        from ..files import fetch_bytes

        try:
            data = await fetch_bytes(self._client(), url)
        except Exception as err:  # an EvolinkError, an OSError, or httpx on a strange URL: no preview, no crash
            self._emit(FileBytesLoaded(url, None, err))
            return
        self.state.remember_bytes(url, data)
        self._emit(FileBytesLoaded(url, data))


def _without_overwrite(spec: UploadSpec) -> UploadSpec:
    from dataclasses import replace

    return replace(spec, overwrite_ok=False)
