"""The "other hosts" (no auth): result downloads ``/results/...`` and file downloads ``/files/...``."""

from __future__ import annotations

import re
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from .images import model_mime, render_image
from .responses import _expired
from .state import SimState, SimTask

_RESULT_PATH = re.compile(r"^/results/(?P<task>[^/]+)/(?P<index>\d+)\.(?P<ext>[a-z]+)$")
_FILE_PATH = re.compile(r"^/files/(?P<file>[^/]+)/(?P<name>[^/]+)$")


async def _result_bytes(sim: SimState, task: SimTask, index: int) -> bytes:
    key = (task.id, index)
    data = sim.images.get(key)
    if data is None:
        data = await run_in_threadpool(
            render_image, task.prompt, task.model, task.size, index, sim.image_long_side, params=task.params
        )
        sim.images[key] = data
        while len(sim.images) > 128:
            sim.images.popitem(last=False)
    else:
        sim.images.move_to_end(key)
    return data


def _lookup_result(sim: SimState, path: str) -> tuple[SimTask, int] | None:
    match = _RESULT_PATH.match(path)
    if not match:
        return None
    task = sim.tasks.get(match["task"])
    index = int(match["index"])
    if task is None or index >= task.n or match["ext"] != task.extension:
        return None
    if task.phase(sim.now())[0] != "completed":
        return None
    return task, index


async def get_result(request: Request) -> Response:
    sim: SimState = request.app.state.sim
    found = _lookup_result(sim, request.url.path)
    if found is None:
        return PlainTextResponse("Not Found", status_code=404)
    task, index = found
    try:
        expires = int(request.query_params.get("expires", ""))
    except ValueError:
        return _expired()
    if sim.now() > expires:
        return _expired()
    data = await _result_bytes(sim, task, index)
    return Response(data, media_type=model_mime(task.model), headers={"Cache-Control": "public, max-age=86400"})


async def get_file(request: Request) -> Response:
    sim: SimState = request.app.state.sim
    sim.purge_files()
    item = sim.files.get(request.path_params["file_id"])
    if item is None:
        return PlainTextResponse("Not Found", status_code=404)
    headers = {}
    if request.query_params.get("download"):
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(item.file_name, safe='')}"
    return Response(item.data, media_type=item.mime_type, headers=headers)
