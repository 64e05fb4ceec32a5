"""Generation-host routes: ``POST /v1/images/generations``, ``GET /v1/tasks/{id}``, and the
extras ``GET /v1/tasks``, ``GET /v1/credits``, ``GET /v1/models``."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from evolink_tui.core.catalogue import Model
from evolink_tui.core.params import CORE_FIELDS

from .auth import _auth_api
from .responses import _base, _short, api_error, invalid
from .state import CREDITS_PER_IMAGE, DEFAULT_CREDITS_PER_IMAGE, MAX_PROMPT, SimState, SimTask


def _validate(sim: SimState, body: dict) -> tuple[dict | None, Response | None]:
    catalogue = sim.catalogue
    model_id = body.get("model", catalogue.default.id)
    if model_id is None:
        model_id = catalogue.default.id
    if not isinstance(model_id, str) or model_id not in catalogue:
        return None, invalid(
            "model",
            f"model {_short(model_id)!s} is not supported; use one of: {', '.join(catalogue.ids())}",
            "model_not_found" if isinstance(model_id, str) else "invalid_parameters",
        )
    model = catalogue.get(model_id)
    assert model is not None  # in the catalogue: checked above
    prompt = body.get("prompt")
    if prompt is None or (isinstance(prompt, str) and not prompt.strip()):
        return None, invalid("prompt", "prompt is required (a description of the image, at most 2000 characters)")
    if not isinstance(prompt, str):
        return None, invalid("prompt", f"prompt must be a string, got {_short(prompt)}")
    if len(prompt) > MAX_PROMPT:
        return None, invalid("prompt", f"prompt is {len(prompt)} characters; the maximum is {MAX_PROMPT}")
    n = body.get("n", 1)
    if n is None:
        n = 1
    if isinstance(n, bool) or not isinstance(n, int):
        if isinstance(n, float) and n.is_integer():
            n = int(n)
        else:
            return None, invalid(
                "n", f"n = {_short(n)} is not an integer; model {model.id} allows {model.n_min}-{model.n_max}"
            )
    if not model.n_min <= n <= model.n_max:
        return None, invalid("n", f"n = {n} is out of range; model {model.id} allows {model.n_min}-{model.n_max}")
    size = body.get("size")
    if size is not None:
        if not isinstance(size, str) or size not in model.all_sizes:
            hint = "" if model.pixel_sizes else " (pixel sizes such as 1024x1024 are only for gpt-4o-image)"
            return None, invalid(
                "size",
                f"size {_short(size)} is not allowed for model {model.id}; "
                f"use one of: {', '.join(model.all_sizes)}{hint}",
            )
    image_urls = body.get("image_urls")
    if image_urls is not None:
        if not isinstance(image_urls, list) or not all(isinstance(u, str) for u in image_urls):
            return None, invalid("image_urls", "image_urls must be a list of URL strings")
        if len(image_urls) > model.max_images:
            return None, invalid(
                "image_urls",
                f"image_urls has {len(image_urls)} images; model {model.id} accepts at most {model.max_images}",
            )
        for url in image_urls:
            if urlsplit(url).scheme not in ("http", "https"):
                return None, invalid("image_urls", f"image_urls entry {_short(url)} is not an http(s) URL")
    if not image_urls and "text-to-image" not in model.capabilities and "image-editing" in model.capabilities:
        return None, invalid(
            "image_urls", f"model {model.id} edits an image: image_urls needs at least one image URL to edit"
        )
    mask_url = body.get("mask_url")
    if mask_url is not None:
        if not model.mask:
            masked = [m.id for m in catalogue if m.mask]
            return None, invalid(
                "mask_url", f"mask_url is not supported by model {model.id}; only by {', '.join(masked)}"
            )
        if not isinstance(mask_url, str) or urlsplit(mask_url).scheme not in ("http", "https"):
            return None, invalid("mask_url", f"mask_url {_short(mask_url)} is not an http(s) URL")
    # Extra parameters: checked for the models that declare them. The reference does not say
    # what the API does with a field a model does not take; like most JSON APIs the simulator
    # ignores it (so the client's own validation is what keeps such fields from being sent).
    params = {}
    for name, value in body.items():
        spec = model.param(name) if name not in CORE_FIELDS else None
        if spec is None:
            continue
        if err := spec.check(value):
            return None, invalid(name, f"{name} = {_short(value)} is not allowed for model {model.id}; {err.allowed}")
        params[name] = value
    return {
        "model": model,
        "prompt": prompt,
        "n": n,
        "size": size,
        "image_urls": image_urls or [],
        "mask_url": mask_url,
        "params": params,
    }, None


async def submit(request: Request) -> Response:
    sim: SimState = request.app.state.sim
    token, denied = _auth_api(request)
    if denied:
        return denied
    raw = await request.body()
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return invalid(None, "the request body is not valid JSON", "invalid_request")
    if not isinstance(body, dict):
        return invalid(None, "the request body must be a JSON object", "invalid_request")
    now = sim.now()
    idem = (request.headers.get("idempotency-key") or "").strip() or None
    with sim.writing():  # with a store: decided on the latest state, written in one transaction
        if idem:
            known = sim.task_for_key(token, idem)
            if known is not None:
                return JSONResponse(known.to_json(now, _base(request)))
        params, error = _validate(sim, body)
        if error:
            return error
        assert params is not None  # valid: no error
        model: Model = params["model"]
        cost = round(CREDITS_PER_IMAGE.get(model.id, DEFAULT_CREDITS_PER_IMAGE) * params["n"], 4)
        if cost > sim.remaining_credits:
            return api_error(
                402,
                402,
                f"Insufficient credits: this request needs {cost}, {sim.remaining_credits} remain",
                "insufficient_quota",
            )
        fail_rule = sim.faults.take("fail", "submit")
        created = int(now)
        task = SimTask(
            id=sim.new_task_id(created),
            created=created,
            started=now,
            model=model.id,
            prompt=params["prompt"],
            size=params["size"],
            n=params["n"],
            duration=sim.duration(model),
            credits=cost,
            fail_code=fail_rule.code if fail_rule else None,
            image_urls=params["image_urls"],
            mask_url=params["mask_url"],
            params=params["params"],
            api_key=token or "",
            idempotency_key=idem,
        )
        sim.add_task(task, token)
    return JSONResponse(task.to_json(now, _base(request)))


async def get_task(request: Request) -> Response:
    sim: SimState = request.app.state.sim
    _, denied = _auth_api(request)
    if denied:
        return denied
    task_id = request.path_params["task_id"]
    task = sim.tasks.get(task_id)
    if task is None:
        return api_error(404, 404, f"Task not found: {_short(task_id)}", "not_found_error", "task_id")
    return JSONResponse(task.to_json(sim.now(), _base(request)))


async def list_tasks(request: Request) -> Response:
    sim: SimState = request.app.state.sim
    _, denied = _auth_api(request)
    if denied:
        return denied
    try:
        page = max(1, int(request.query_params.get("page", "1")))
        size = max(1, min(100, int(request.query_params.get("page_size", "20"))))
    except ValueError:
        return invalid("page", "page and page_size must be integers")
    now = sim.now()
    items = [
        t.to_json(now, "", summary=True) for t in sorted(sim.tasks.values(), key=lambda t: t.started, reverse=True)
    ]
    for key in ("status", "model", "type"):
        wanted = request.query_params.get(key)
        if wanted:
            items = [i for i in items if str(i.get(key)) == wanted]
    start = (page - 1) * size
    return JSONResponse({"data": items[start : start + size], "total": len(items), "page": page, "page_size": size})


async def credits(request: Request) -> Response:
    sim: SimState = request.app.state.sim
    _, denied = _auth_api(request)
    if denied:
        return denied
    left = sim.remaining_credits
    return JSONResponse(
        {"success": True, "data": {"user": {"remaining_credits": left}, "token": {"remaining_credits": left}}}
    )


async def models(request: Request) -> Response:
    sim: SimState = request.app.state.sim
    _, denied = _auth_api(request)
    if denied:
        return denied
    return JSONResponse(
        {"object": "list", "data": [{"id": m.id, "object": "model", "owned_by": "evolink"} for m in sim.catalogue]}
    )
