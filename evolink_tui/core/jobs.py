"""Steps of the generation flow that stand alone (used by runner.Runner)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import EvolinkError
from .validation import GenerationRequest
from .wire import FileInfo

if TYPE_CHECKING:
    from .client import EvolinkClient


def reference_name(path: Path, tag: str = "") -> str:
    """A stored name unique to this file's content and this generation (``tag``).

    Same-name uploads overwrite, so a retried upload replaces its own first try (no quota
    used twice) and never another reference that happens to share the base name.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if tag:
        digest.update(tag.encode())
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", path.stem).strip("-")[:40] or "ref"
    suffix = re.sub(r"[^A-Za-z0-9.]+", "", path.suffix.lower())[:6]
    return f"{stem}-{digest.hexdigest()[:12]}{suffix}"


async def upload_references(
    client: EvolinkClient,
    request: GenerationRequest,
    on_upload: Callable[[str, FileInfo], None] | None = None,
    *,
    tag: str = "",
) -> tuple[GenerationRequest, list[FileInfo]]:
    """Upload every local reference/mask file through the Files API; the request with URLs.

    ``tag`` (the generation's idempotency key) makes each stored name unique to this
    generation, so uploads are retried safely after any network error.
    """
    mapping: dict[str, str] = {}
    uploaded: list[FileInfo] = []
    for ref in dict.fromkeys(request.local_files()):
        path = Path(ref).expanduser()
        info = await client.upload_file(path, name=reference_name(path, tag), retry_safe=True)
        if not info.file_url:
            raise EvolinkError("file", "malformed", f"the upload of {ref} returned no file_url")
        mapping[ref] = info.file_url
        uploaded.append(info)
        if on_upload:
            on_upload(ref, info)
    return request.with_urls(mapping), uploaded
