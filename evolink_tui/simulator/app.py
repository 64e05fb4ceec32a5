"""The simulator: one Starlette app that stands in for both Evolink hosts.

Generation host: ``POST /v1/images/generations``, ``GET /v1/tasks/{id}`` (plus the
extras ``GET /v1/tasks``, ``GET /v1/credits``, ``GET /v1/models``). Files host:
``/api/v1/files/...``. "Other hosts" (no auth): result downloads ``/results/...`` and
file downloads ``/files/...``. The paths never overlap, so on loopback both base URLs
point at the same port.

State lives in ``app.state.sim`` (a :class:`SimState`); faults can be swapped at run
time with ``app.state.sim.faults = FaultPlan.parse("...")``.

This module only wires the app together. The pieces: :mod:`.state` (tasks, files and
the tables they use), :mod:`.routes_api`, :mod:`.routes_files`, :mod:`.downloads`,
:mod:`.middleware` (request log and faults), and :mod:`.responses` / :mod:`.auth`
shared between them. Names that used to be defined here are still importable from here.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from evolink_tui.core.catalogue import Catalogue

from .clock import SimClock

# Several of these are imported only so the names stay importable from this module.
from .downloads import get_file, get_result
from .faults import FaultPlan
from .middleware import FaultMiddleware, classify
from .responses import api_error, files_error
from .routes_api import credits, get_task, list_tasks, models, submit
from .routes_files import delete_file, list_files, parse_multipart, quota, upload_base64, upload_stream, upload_url
from .state import (
    MAX_FILE_SIZE,
    SimFile,
    SimState,
    SimTask,
)


def _env_float(name: str, default: float, environ) -> float:
    raw = (environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if not value > 0 or math.isinf(value):
        raise ValueError(f"{name}={raw!r} must be a positive number")
    return value


async def _not_found(request: Request, exc) -> Response:
    path = request.url.path
    if path.startswith("/api/"):
        return files_error(404, f"Not found: {path}")
    if path.startswith("/v1/"):
        return api_error(404, 404, f"Not found: {request.method} {path}", "not_found_error")
    return PlainTextResponse("Not Found", status_code=404)


async def _not_allowed(request: Request, exc) -> Response:
    path = request.url.path
    if path.startswith("/api/"):
        return files_error(405, f"Method {request.method} not allowed on {path}")
    if path.startswith("/v1/"):
        return api_error(405, 405, f"Method {request.method} not allowed on {path}", "invalid_request_error")
    return PlainTextResponse("Method Not Allowed", status_code=405)


def create_app(
    *,
    clock: SimClock | None = None,
    faults: FaultPlan | str | None = None,
    api_keys: Iterable[str] | str | None = None,
    image_long_side: int | None = None,
    speed: float | None = None,
    max_files: int = 100,
    max_file_size: int = MAX_FILE_SIZE,
    environ: dict | None = None,
    catalogue: Catalogue | None = None,
    state_file: str | os.PathLike | None = None,
) -> Starlette:
    """The simulator app. Unset options come from ``EVOLINK_SIM_*`` environment variables.

    ``api_keys``: the accepted keys; None = ``EVOLINK_SIM_API_KEY`` if set, else any
    bearer key starting ``sk-``. ``faults``: a FaultPlan or spec; None = ``EVOLINK_SIM_FAULTS``.
    ``catalogue``: the models it knows (None = the built-in catalogue).
    ``state_file``: keep tasks, files and credits in this SQLite file, across runs and
    shared with other processes (see :mod:`.store`); None = in memory only.
    """
    env = os.environ if environ is None else environ
    if faults is None:
        faults = FaultPlan.from_env(dict(env))
    elif isinstance(faults, str):
        faults = FaultPlan.parse(faults)
    if isinstance(api_keys, str):
        api_keys = [api_keys]
    if api_keys is None:
        single = (env.get("EVOLINK_SIM_API_KEY") or "").strip()
        keys = frozenset({single}) if single else None
    else:
        keys = frozenset(k for k in api_keys if k)
    if speed is None:
        speed = _env_float("EVOLINK_SIM_SPEED", 1.0, env)
    elif not speed > 0:
        raise ValueError(f"speed must be a positive number, got {speed!r}")
    if image_long_side is None:
        image_long_side = int(_env_float("EVOLINK_SIM_IMAGE_SIZE", 1024, env))
    image_long_side = max(16, min(4096, int(image_long_side)))

    routes = [
        Route("/v1/images/generations", submit, methods=["POST"]),
        Route("/v1/tasks/{task_id}", get_task, methods=["GET"]),
        Route("/v1/tasks", list_tasks, methods=["GET"]),
        Route("/v1/credits", credits, methods=["GET"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/api/v1/files/upload/stream", upload_stream, methods=["POST"]),
        Route("/api/v1/files/upload/base64", upload_base64, methods=["POST"]),
        Route("/api/v1/files/upload/url", upload_url, methods=["POST"]),
        Route("/api/v1/files/list", list_files, methods=["GET"]),
        Route("/api/v1/files/quota", quota, methods=["GET"]),
        Route("/api/v1/files/{file_id}", delete_file, methods=["DELETE"]),
        Route("/results/{task_id}/{name}", get_result, methods=["GET"]),
        Route("/files/{file_id}/{name}", get_file, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(FaultMiddleware)],
        exception_handlers={404: _not_found, 405: _not_allowed},
    )
    store = None
    if state_file is not None:
        from .store import SimStore

        store = SimStore(Path(state_file))
    app.state.sim = SimState(
        store=store,
        clock=clock or SimClock(),
        faults=faults,
        api_keys=keys,
        image_long_side=image_long_side,
        speed=float(speed),
        max_files=int(max_files),
        max_file_size=int(max_file_size),
        catalogue=catalogue,
    )
    return app


__all__ = ["create_app", "SimState", "SimTask", "SimFile", "classify", "parse_multipart"]
