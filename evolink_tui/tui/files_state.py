"""What the app keeps about the files host, and one upload as the user chose it. Apart from
:mod:`.files_flow` so that they are defined with the first use of files, not at startup."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from evolink_tui.core.imagetypes import is_url

if TYPE_CHECKING:
    from evolink_tui.core.wire import FileInfo, Quota

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
        from evolink_tui.core.files import stored_name

        return stored_name(self.source, self.name) or self.source


@dataclass
class FilesState:
    """What the app knows about the files host."""

    files: list[FileInfo] = field(default_factory=list)
    total: int = 0
    quota: Quota | None = None
    loaded: bool = False  # a full listing arrived at least once
    stale: bool = True  # something changed since the last listing
    error: BaseException | None = None  # the last listing failure (cleared by a good one)
    last_failed: UploadSpec | None = None  # offered again by the upload dialog
    uploads: dict[int, UploadSpec] = field(default_factory=dict)  # in flight
    progress: dict[int, tuple[int, int]] = field(default_factory=dict)
    bytes: OrderedDict[str, bytes] = field(default_factory=OrderedDict)

    def remember_bytes(self, key: str, data: bytes) -> None:
        self.bytes[key] = data
        self.bytes.move_to_end(key)
        while sum(len(v) for v in self.bytes.values()) > BYTES_CACHE_LIMIT and len(self.bytes) > 1:
            self.bytes.popitem(last=False)
