"""Steps of the generation flow that stand alone (used by runner.Runner)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from .client import EvolinkClient
from .errors import EvolinkError
from .validation import GenerationRequest
from .wire import FileInfo


async def upload_references(client: EvolinkClient, request: GenerationRequest,
                            on_upload: Callable[[str, FileInfo], None] | None = None) -> tuple[GenerationRequest, list[FileInfo]]:
    """Upload every local reference/mask file through the Files API; the request with URLs."""
    mapping: dict[str, str] = {}
    uploaded: list[FileInfo] = []
    for ref in dict.fromkeys(request.local_files()):
        info = await client.upload_file(Path(ref).expanduser())
        if not info.file_url:
            raise EvolinkError("file", "malformed", f"the upload of {ref} returned no file_url")
        mapping[ref] = info.file_url
        uploaded.append(info)
        if on_upload:
            on_upload(ref, info)
    return request.with_urls(mapping), uploaded
