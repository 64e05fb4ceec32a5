"""The built-in simulator, exercised over a real loopback socket with plain httpx."""

from __future__ import annotations

import base64
import io
import re
import time
from datetime import UTC, datetime

import httpx
import pytest
from PIL import Image

from evolink_tui.core.catalogue import load_catalogue
from evolink_tui.simulator import (
    FakeClock,
    FaultPlan,
    create_app,
    demo_transport,
    render_image,
    serve_in_thread,
)
from evolink_tui.simulator.faults import TASK_ERRORS

KEY = "sk-sim-test-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
TASK_ID = re.compile(r"^task-unified-\d+-[a-z0-9]{8}$")
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def sim_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def loopback(sim_clock):
    app = create_app(clock=sim_clock, image_long_side=256, speed=1.0, environ={})
    server = serve_in_thread(app)
    yield server
    server.stop()


@pytest.fixture
def state(loopback):
    sim = loopback.app.state.sim
    sim.reset()
    return sim


@pytest.fixture
async def api(loopback, state):
    async with httpx.AsyncClient(base_url=loopback.url, headers=AUTH, timeout=5.0) as client:
        yield client


@pytest.fixture
async def anon(loopback, state):
    """A client that sends no Authorization header (as for result/file downloads)."""
    async with httpx.AsyncClient(base_url=loopback.url, timeout=5.0) as client:
        yield client


def small_png(color=(10, 200, 30), size=(4, 3)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


async def submit(api, **body):
    body.setdefault("prompt", "a lighthouse at dusk")
    return await api.post("/v1/images/generations", json=body)


async def run_to_end(api, clock: FakeClock, task_id: str) -> dict:
    """A minimal poller on the shared fake clock: instant, however long the task takes."""
    await clock.sleep(3)
    for _ in range(100):
        task = (await api.get(f"/v1/tasks/{task_id}")).json()
        if task["status"] in ("completed", "failed"):
            return task
        await clock.sleep(3)
    raise AssertionError("task never finished")


def decode(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    image.load()
    return image


# --------------------------------------------------------------------------- auth


async def test_generation_host_requires_a_bearer_key(anon, api):
    for headers in ({}, {"Authorization": "Bearer not-a-key"}, {"Authorization": "Basic abc"}):
        reply = await anon.post("/v1/images/generations", json={"prompt": "x"}, headers=headers)
        assert reply.status_code == 401
        error = reply.json()["error"]
        assert error["code"] == 401 and error["type"] == "authentication_error" and error["message"]
        assert (await anon.get("/v1/tasks/task-unified-1-abcdefgh", headers=headers)).status_code == 401
    assert (await api.get("/v1/credits")).status_code == 200


async def test_files_host_requires_a_bearer_key(anon, state):
    for path in ("/api/v1/files/list", "/api/v1/files/quota"):
        reply = await anon.get(path)
        assert reply.status_code == 401
        assert reply.json() == {"success": False, "code": 401, "msg": reply.json()["msg"], "data": None}
    reply = await anon.post("/api/v1/files/upload/base64", json={"base64_data": base64.b64encode(small_png()).decode()})
    assert reply.status_code == 401 and reply.json()["success"] is False
    assert reply.json()["code"] == 401
    assert not state.files


async def test_only_the_configured_key_is_accepted_in_process():
    app = create_app(api_keys=["sk-only-this-one"], image_long_side=64, environ={})
    transport = demo_transport(app)
    async with httpx.AsyncClient(transport=transport, base_url="https://api.evolink-demo.invalid") as client:
        wrong = await client.get("/v1/credits", headers={"Authorization": "Bearer sk-another"})
        right = await client.get("/v1/credits", headers={"Authorization": "Bearer sk-only-this-one"})
    assert wrong.status_code == 401 and right.status_code == 200
    assert right.json()["data"]["user"]["remaining_credits"] > 0


def test_env_configures_the_simulator():
    env = {
        "EVOLINK_SIM_API_KEY": "sk-env",
        "EVOLINK_SIM_SPEED": "2",
        "EVOLINK_SIM_IMAGE_SIZE": "300",
        "EVOLINK_SIM_FAULTS": "429:3@submit*2",
    }
    sim = create_app(environ=env).state.sim
    assert sim.api_keys == frozenset({"sk-env"})
    assert sim.speed == 2.0 and sim.image_long_side == 300
    assert sim.faults.spec() == "429:3@submit*2"
    with pytest.raises(ValueError, match="EVOLINK_SIM_SPEED"):
        create_app(environ={"EVOLINK_SIM_SPEED": "fast"})


# --------------------------------------------------------------------------- tasks


async def test_submit_poll_complete_and_download(api, anon, state, sim_clock):
    reply = await submit(api, n=2, size="16:9", model="gpt-image-1.5")
    assert reply.status_code == 200
    task = reply.json()
    assert TASK_ID.match(task["id"]) and task["id"].split("-")[2] == str(task["created"])
    assert task["created"] == int(sim_clock.now())
    assert task["object"] == "image.generation.task" and task["type"] == "image"
    assert (task["status"], task["progress"], task["results"]) == ("pending", 0, [])
    assert task["task_info"] == {"can_cancel": True, "estimated_time": 8}
    assert task["usage"] == {"billing_rule": "per_call", "credits_reserved": 12.0, "user_group": "default"}
    assert state.charges == 1 and state.credits_charged == 12.0

    seen = []
    for step in (0.5, 1.5, 2.0, 2.0, 1.0, 1.0):
        sim_clock.advance(step)
        now = (await api.get(f"/v1/tasks/{task['id']}")).json()
        seen.append((now["status"], now["progress"], now["task_info"]["estimated_time"]))
    statuses = [s for s, _, _ in seen]
    assert statuses[0] == "pending" and "processing" in statuses and statuses[-1] == "completed"
    processing = [(p, eta) for s, p, eta in seen if s == "processing"]
    assert [p for p, _ in processing] == sorted(p for p, _ in processing) and all(0 < p < 100 for p, _ in processing)
    assert [eta for _, eta in processing] == sorted((eta for _, eta in processing), reverse=True)
    assert seen[-1][1] == 100

    done = now
    assert len(done["results"]) == 2 and done["result_data"] == [{"image_url": u} for u in done["results"]]
    assert done["task_info"]["can_cancel"] is False
    for index, url in enumerate(done["results"]):
        assert url.startswith(f"{api.base_url}".rstrip("/") + f"/results/{task['id']}/{index}.png?expires=")
        expires = int(url.rsplit("=", 1)[1])
        assert expires == task["created"] + 8 + 86400
        image_reply = await anon.get(url)  # no Authorization: results live on "another host"
        assert image_reply.status_code == 200
        assert image_reply.headers["content-type"] == "image/png"
        assert int(image_reply.headers["content-length"]) == len(image_reply.content)
        image = decode(image_reply.content)
        assert image.format == "PNG" and image.size == (256, 144)
    downloads = [r for r in state.requests if r["endpoint"] == "download"]
    assert len(downloads) == 2 and not any(r["authorization"] for r in downloads)
    assert state.count("submit") == 1 and state.count("poll") == 6 and state.count("api") == 7


async def test_shared_fake_clock_makes_polling_instant(api, sim_clock):
    task = (await submit(api, model="z-image-turbo", size="9:16")).json()
    assert task["task_info"]["estimated_time"] == 2
    started = sim_clock.now()
    done = await run_to_end(api, sim_clock, task["id"])
    # the task's 2 s passed on the shared clock (the poller slept on it, not in real time)
    assert sim_clock.now() - started >= 2
    assert done["status"] == "completed" and len(done["results"]) == 1


@pytest.mark.parametrize(
    ("model", "size", "fmt", "dims"),
    [
        ("doubao-seedream-4.5", "4:3", "JPEG", (256, 192)),
        ("wan2.5-text-to-image", "1:1", "WEBP", (256, 256)),
        ("qwen-image-edit", "3:4", "WEBP", (192, 256)),
        ("gpt-4o-image", "1024x1536", "PNG", (171, 256)),
        ("gemini-2.5-flash-image", None, "PNG", (256, 256)),
    ],
)
async def test_formats_and_aspect_ratios_by_model(api, anon, sim_clock, model, size, fmt, dims):
    body = {"model": model, **({"size": size} if size else {})}
    if "text-to-image" not in load_catalogue().get(model).capabilities:  # an editing model needs an image
        body["image_urls"] = ["https://cdn.example.invalid/ref.png"]
    task = (await submit(api, **body)).json()
    done = await run_to_end(api, sim_clock, task["id"])
    reply = await anon.get(done["results"][0])
    image = decode(reply.content)
    assert image.format == fmt and image.size == dims
    assert reply.headers["content-type"] == Image.MIME[fmt]


async def test_n_images_all_distinct(api, anon, sim_clock):
    done = await run_to_end(api, sim_clock, (await submit(api, model="gpt-image-1", n=4, size="3:2")).json()["id"])
    bodies = [(await anon.get(url)).content for url in done["results"]]
    assert len(bodies) == 4 and len(set(bodies)) == 4
    assert all(decode(b).size == (256, 171) for b in bodies)


def test_images_are_deterministic_and_differ_by_prompt_and_model():
    a = render_image("a red fox", "gpt-image-1.5", "1:1", 0, long_side=128)
    assert a == render_image("a red fox", "gpt-image-1.5", "1:1", 0, long_side=128)
    assert a != render_image("a blue whale", "gpt-image-1.5", "1:1", 0, long_side=128)
    assert a != render_image("a red fox", "gpt-image-1", "1:1", 0, long_side=128)
    assert decode(render_image("x", "gpt-image-1.5", "21:9", 0, long_side=210)).size == (210, 90)


async def test_different_prompts_give_different_images(api, anon, sim_clock):
    urls = []
    for prompt in ("a red fox in snow", "a cathedral made of glass"):
        done = await run_to_end(api, sim_clock, (await submit(api, prompt=prompt)).json()["id"])
        urls.append(done["results"][0])
    first, second = [(await anon.get(u)).content for u in urls]
    assert first != second


async def test_idempotency_key_returns_the_same_task_and_charges_once(api, state):
    headers = {"Idempotency-Key": "run_" + "a" * 32}
    first = await api.post("/v1/images/generations", json={"prompt": "once"}, headers=headers)
    again = await api.post("/v1/images/generations", json={"prompt": "once"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert state.charges == 1 and len(state.tasks) == 1 and state.credits_charged == 6.0
    other = await api.post("/v1/images/generations", json={"prompt": "once"}, headers={"Idempotency-Key": "run_other"})
    assert other.json()["id"] != first.json()["id"] and state.charges == 2
    assert [r["idempotency_key"] for r in state.requests] == ["run_" + "a" * 32] * 2 + ["run_other"]


async def test_unknown_task_is_404(api):
    reply = await api.get("/v1/tasks/task-unified-1-nothere0")
    assert reply.status_code == 404
    assert reply.json()["error"]["code"] == 404 and "task-unified-1-nothere0" in reply.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "param", "needle"),
    [
        ({"prompt": "x", "model": "dall-e-9"}, "model", "dall-e-9"),
        ({"model": "gpt-image-1.5"}, "prompt", "required"),
        ({"prompt": "   "}, "prompt", "required"),
        ({"prompt": "y" * 2001}, "prompt", "2001"),
        ({"prompt": 42}, "prompt", "42"),
        ({"prompt": "x", "n": 5}, "n", "5"),
        ({"prompt": "x", "n": 0}, "n", "0"),
        ({"prompt": "x", "n": "two"}, "n", "two"),
        ({"prompt": "x", "size": "7:3"}, "size", "7:3"),
        ({"prompt": "x", "size": "1024x1024"}, "size", "gpt-4o-image"),
        ({"prompt": "x", "model": "gpt-4o-image", "size": "512x512"}, "size", "512x512"),
        ({"prompt": "x", "image_urls": ["https://e.example/a.png"] * 15}, "image_urls", "15"),
        ({"prompt": "x", "image_urls": "https://e.example/a.png"}, "image_urls", "list"),
        ({"prompt": "x", "mask_url": "https://e.example/m.png"}, "mask_url", "gpt-4o-image"),
    ],
)
async def test_validation_errors_name_the_field(api, state, body, param, needle):
    reply = await api.post("/v1/images/generations", json=body)
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
    assert isinstance(error["code"], str) and needle in error["message"]
    assert state.charges == 0 and not state.tasks


async def test_valid_edge_requests_are_accepted(api, state):
    ok = [
        {"prompt": "y" * 2000, "n": 4, "size": "21:9"},
        {
            "prompt": "x",
            "model": "gpt-4o-image",
            "size": "1536x1024",
            "mask_url": "https://e.example/m.png",
            "image_urls": ["https://e.example/a.png"] * 14,
        },
    ]
    for body in ok:
        assert (await api.post("/v1/images/generations", json=body)).status_code == 200
    assert state.charges == 2 and state.credits_charged == 6.0 * 4 + 8.0


async def test_non_json_body_is_400(api, state):
    reply = await api.post(
        "/v1/images/generations", content=b"prompt=hello", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert reply.status_code == 400 and reply.json()["error"]["type"] == "invalid_request_error"
    assert (await api.post("/v1/images/generations", json=["a list"])).status_code == 400
    assert state.charges == 0


async def test_credits_and_models_extras(api, state):
    await submit(api, n=2)
    credits = (await api.get("/v1/credits")).json()["data"]
    assert credits["user"]["remaining_credits"] == credits["token"]["remaining_credits"] == state.balance - 12.0
    ids = [m["id"] for m in (await api.get("/v1/models")).json()["data"]]
    assert len(ids) == 20 and "gpt-image-1.5" in ids and "nano-banana-2-lite" in ids
    listing = (await api.get("/v1/tasks")).json()
    assert listing["total"] == 1 and "results" not in listing["data"][0]


# --------------------------------------------------------------------------- fault plan


def test_fault_spec_grammar():
    plan = FaultPlan.parse(
        " 429:2@submit*1 , slow:0.25@poll, fail:content_policy_violation*3,truncate@download,503,drop-after"
    )
    assert [r.kind for r in plan.rules] == ["429", "slow", "fail", "truncate", "503", "drop-after"]
    assert plan.rules[0].seconds == 2 and plan.rules[0].endpoint == "submit" and plan.rules[0].count == 1
    assert plan.rules[1].seconds == 0.25 and plan.rules[1].count is None
    assert plan.rules[2].code == "content_policy_violation" and plan.rules[2].count == 3
    assert plan.rules[4].seconds is None
    assert (
        plan.spec() == "429:2@submit*1,slow:0.25@poll,fail:content_policy_violation*3,truncate@download,503,drop-after"
    )
    assert FaultPlan.parse("429").rules[0].seconds == 1
    assert not FaultPlan.parse("") and not FaultPlan.from_env({})
    assert FaultPlan.from_env({"EVOLINK_SIM_FAULTS": "drop@poll*2"}).spec() == "drop@poll*2"
    # where rules apply
    assert plan.match("truncate", "download") and not plan.match("truncate", "submit")
    assert plan.match("drop-after", "submit") and not plan.match("drop-after", "upload")
    assert FaultPlan.parse("drop-after@upload").match("drop-after", "upload")
    assert FaultPlan.parse("500@api").match("500", "poll") and not FaultPlan.parse("500@api").match("500", "list")
    assert FaultPlan.parse("500@files").match("500", "delete") and not FaultPlan.parse("500@files").match(
        "500", "download"
    )
    assert not FaultPlan.parse("malformed").match("malformed", "download")
    assert FaultPlan.parse("418").match("418", "download")  # any HTTP status 400-599 is a kind
    assert FaultPlan.parse("50001").match("50001", "quota") and not FaultPlan.parse("50001").match("50001", "submit")
    for bad in (
        "399",
        "600",
        "teapot",
        "50001@submit",
        "slow:soon",
        "429@nowhere",
        "truncate@submit",
        "drop:3",
        "500*0",
        "500*x",
        "fail@poll",
        "429:",
    ):
        with pytest.raises(ValueError):
            FaultPlan.parse(bad)


@pytest.mark.parametrize(
    ("spec", "status", "retry_after"),
    [
        ("429:7@submit*1", 429, "7"),
        ("429*1", 429, "1"),
        ("500*1", 500, None),
        ("502@api*1", 502, None),
        ("503:30*1", 503, "30"),
    ],
)
async def test_status_faults(api, state, spec, status, retry_after):
    state.faults = FaultPlan.parse(spec)
    reply = await submit(api)
    assert reply.status_code == status
    assert reply.headers.get("retry-after") == retry_after
    assert reply.json()["error"]["code"] == status and reply.json()["error"]["message"]
    assert state.charges == 0
    assert (await submit(api)).status_code == 200  # *1: only the first request
    assert state.charges == 1


@pytest.mark.parametrize("status", [400, 401, 402, 403, 413])
async def test_any_http_status_can_be_injected(api, state, status):
    state.faults = FaultPlan.parse(f"{status}@submit*1")
    reply = await submit(api)
    assert reply.status_code == status and reply.json()["error"]["code"] == status
    assert reply.json()["error"]["type"] and reply.json()["error"]["message"]
    assert state.charges == 0


async def test_file_code_fault_is_an_error_inside_http_200(api, state):
    state.faults = FaultPlan.parse("50001@quota*1,40003@upload*1")
    reply = await api.get("/api/v1/files/quota")
    assert reply.status_code == 200
    assert reply.json() == {"success": False, "code": 50001, "msg": "Storage service error", "data": None}
    upload = await api.post("/api/v1/files/upload/base64", json={"base64_data": base64.b64encode(small_png()).decode()})
    assert upload.status_code == 200 and upload.json()["code"] == 40003 and upload.json()["success"] is False
    assert not state.files
    assert (await api.get("/api/v1/files/quota")).json()["success"] is True


async def test_status_fault_on_files_host_uses_the_envelope(api, state):
    state.faults = FaultPlan.parse("503:5@files*2")
    assert (await api.get("/v1/credits")).status_code == 200  # generation host untouched
    for path in ("/api/v1/files/list", "/api/v1/files/quota"):
        reply = await api.get(path)
        assert reply.status_code == 503 and reply.headers["retry-after"] == "5"
        assert reply.json()["success"] is False and reply.json()["code"] == 503
    assert (await api.get("/api/v1/files/list")).json()["success"] is True


async def test_slow_fault_delays_the_answer(api, state):
    state.faults = FaultPlan.parse("slow:0.3@poll*1")
    task = (await submit(api)).json()
    started = time.monotonic()
    assert (await api.get(f"/v1/tasks/{task['id']}")).status_code == 200
    assert time.monotonic() - started >= 0.3
    assert state.faults.match("slow", "poll") is None  # *1: the next poll is answered at once


async def test_drop_is_a_transport_error(api, state):
    state.faults = FaultPlan.parse("drop@submit*1")
    with pytest.raises(httpx.TransportError):
        await submit(api)
    assert state.charges == 0 and not state.tasks
    assert (await submit(api)).status_code == 200


async def test_drop_on_poll_and_download(api, anon, state, sim_clock):
    done = await run_to_end(api, sim_clock, (await submit(api)).json()["id"])
    state.faults = FaultPlan.parse("drop@poll*1,drop@download*1")
    with pytest.raises(httpx.RemoteProtocolError):
        await api.get(f"/v1/tasks/{done['id']}")
    with pytest.raises(httpx.RemoteProtocolError):
        await anon.get(done["results"][0])
    assert (await anon.get(done["results"][0])).status_code == 200


async def test_drop_after_creates_the_task_and_an_idempotent_retry_does_not_charge_again(api, state):
    state.faults = FaultPlan.parse("drop-after*1")
    headers = {"Idempotency-Key": "run_" + "b" * 32}
    with pytest.raises(httpx.TransportError):
        await api.post("/v1/images/generations", json={"prompt": "p"}, headers=headers)
    assert state.charges == 1 and len(state.tasks) == 1
    retry = await api.post("/v1/images/generations", json={"prompt": "p"}, headers=headers)
    assert retry.status_code == 200 and retry.json()["id"] in state.tasks
    assert state.charges == 1 and len(state.tasks) == 1


async def test_malformed_answer(api, state):
    state.faults = FaultPlan.parse("malformed@poll*1,malformed@list*1")
    task = (await submit(api)).json()
    reply = await api.get(f"/v1/tasks/{task['id']}")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("application/json")
    with pytest.raises(ValueError):
        reply.json()
    listing = await api.get("/api/v1/files/list")
    assert listing.status_code == 200
    with pytest.raises(ValueError):
        listing.json()
    assert (await api.get(f"/v1/tasks/{task['id']}")).json()["id"] == task["id"]


async def test_truncated_download(api, anon, state, sim_clock):
    done = await run_to_end(api, sim_clock, (await submit(api)).json()["id"])
    state.faults = FaultPlan.parse("truncate*1")
    async with anon.stream("GET", done["results"][0]) as reply:
        declared = int(reply.headers["content-length"])
        received = bytearray()
        with pytest.raises(httpx.RemoteProtocolError):
            async for chunk in reply.aiter_raw():
                received += chunk
    assert 0 < len(received) < declared
    whole = await anon.get(done["results"][0])
    assert len(whole.content) == declared and decode(whole.content).format == "PNG"


@pytest.mark.parametrize("code", sorted(TASK_ERRORS))
async def test_fail_fault_ends_the_task_failed(api, state, sim_clock, code):
    state.faults = FaultPlan.parse(f"fail:{code}*1")
    task = (await submit(api)).json()
    assert task["status"] == "pending"
    sim_clock.advance(8 * 0.5)
    assert (await api.get(f"/v1/tasks/{task['id']}")).json()["status"] == "processing"
    sim_clock.advance(8 * 0.11)
    failed = (await api.get(f"/v1/tasks/{task['id']}")).json()
    assert failed["status"] == "failed" and failed["results"] == [] and "result_data" not in failed
    assert failed["error"] == {"code": code, "message": TASK_ERRORS[code][0], "type": TASK_ERRORS[code][1]}
    assert state.charges == 1
    second = await run_to_end(api, sim_clock, (await submit(api)).json()["id"])
    assert second["status"] == "completed"  # *1: only the first task fails


async def test_fail_fault_counts_tasks_not_requests(api, state, sim_clock):
    state.faults = FaultPlan.parse("fail*2")
    ids = [(await submit(api)).json()["id"] for _ in range(3)]
    sim_clock.advance(10)
    statuses = [(await api.get(f"/v1/tasks/{i}")).json() for i in ids]
    assert [s["status"] for s in statuses] == ["failed", "failed", "completed"]
    assert statuses[0]["error"]["code"] == "service_error"


async def test_expired_result_urls(api, anon, state, sim_clock):
    done = await run_to_end(api, sim_clock, (await submit(api)).json()["id"])
    url = done["results"][0]
    state.faults = FaultPlan.parse("expired*1")
    reply = await anon.get(url)
    assert reply.status_code == 403 and "Request has expired" in reply.text
    assert (await anon.get(url)).status_code == 200
    sim_clock.advance(86400 + 60)  # the real expiry, 24 h after completion
    reply = await anon.get(url)
    assert reply.status_code == 403 and "Request has expired" in reply.text
    assert (await anon.get(url.split("?")[0])).status_code == 403  # no signature: refused too
    assert (await anon.get(url.replace("/0.png", "/5.png"))).status_code == 404


# --------------------------------------------------------------------------- files


def check_file(data: dict, base: str, *, size: int, mime: str) -> None:
    keys = {
        "file_id",
        "file_name",
        "original_name",
        "file_size",
        "mime_type",
        "upload_path",
        "file_url",
        "download_url",
        "upload_time",
        "expires_at",
    }
    assert keys <= set(data)
    assert data["file_size"] == size and data["mime_type"] == mime
    assert ISO_Z.match(data["upload_time"]) and ISO_Z.match(data["expires_at"])
    uploaded = datetime.strptime(data["upload_time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    expires = datetime.strptime(data["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert (expires - uploaded).total_seconds() == 72 * 3600
    assert data["file_url"].startswith(base + "/files/") and data["download_url"].startswith(base + "/files/")


async def test_upload_three_ways_and_download_without_auth(api, anon, state, loopback):
    png = small_png()
    stream = await api.post(
        "/api/v1/files/upload/stream",
        files={"file": ("ref.png", png, "image/png")},
        data={"uploadPath": "refs", "fileName": "mine.png"},
    )
    body = stream.json()
    assert stream.status_code == 200 and body["success"] is True and body["code"] == 200
    check_file(body["data"], loopback.url, size=len(png), mime="image/png")
    assert (body["data"]["file_name"], body["data"]["original_name"], body["data"]["upload_path"]) == (
        "mine.png",
        "ref.png",
        "refs",
    )
    fetched = await anon.get(body["data"]["file_url"])
    assert fetched.status_code == 200 and fetched.content == png and fetched.headers["content-type"] == "image/png"
    attachment = await anon.get(body["data"]["download_url"])
    assert attachment.content == png and "attachment" in attachment.headers["content-disposition"]

    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(jpeg, "JPEG")
    raw = await api.post(
        "/api/v1/files/upload/base64", json={"base64_data": base64.b64encode(jpeg.getvalue()).decode()}
    )
    check_file(raw.json()["data"], loopback.url, size=len(jpeg.getvalue()), mime="image/jpeg")
    data_url = "data:image/png;base64," + base64.b64encode(png).decode()
    named = await api.post("/api/v1/files/upload/base64", json={"base64_data": data_url, "file_name": "b64.png"})
    assert named.json()["data"]["file_name"] == "b64.png"

    synth = await api.post("/api/v1/files/upload/url", json={"file_url": "https://images.example.com/cat.webp"})
    data = synth.json()["data"]
    assert synth.json()["success"] and data["mime_type"] == "image/webp" and data["original_name"] == "cat.webp"
    assert decode((await anon.get(data["file_url"])).content).format == "WEBP"

    copied = await api.post(
        "/api/v1/files/upload/url", json={"file_url": body["data"]["file_url"], "file_name": "copy.png"}
    )
    assert (await anon.get(copied.json()["data"]["file_url"])).content == png
    assert len(state.files) == 5
    assert [r["endpoint"] for r in state.requests].count("upload") == 5 and state.count("files") == 5


async def test_upload_by_url_of_a_result(api, anon, state, sim_clock):
    done = await run_to_end(api, sim_clock, (await submit(api, model="doubao-seedream-4.0")).json()["id"])
    reply = await api.post("/api/v1/files/upload/url", json={"file_url": done["results"][0]})
    data = reply.json()["data"]
    assert data["mime_type"] == "image/jpeg"
    assert (await anon.get(data["file_url"])).content == (await anon.get(done["results"][0])).content


@pytest.mark.parametrize(
    "url",
    ["https://cdn.nowhere.invalid/a.png", "https://images.example.com/missing/a.png", "ftp://images.example.com/a.png"],
)
async def test_upload_by_url_failures_are_40004(api, state, loopback, url):
    reply = await api.post("/api/v1/files/upload/url", json={"file_url": url})
    assert reply.status_code == 400
    assert reply.json()["success"] is False and reply.json()["code"] == 40004 and reply.json()["data"] is None
    gone = await api.post("/api/v1/files/upload/url", json={"file_url": loopback.url + "/files/file_nope/x.png"})
    assert gone.json()["code"] == 40004
    assert not state.files


async def test_upload_errors_40001_40002_and_bad_requests(api, state):
    state.max_file_size = 1000
    big = small_png() + b"\0" * 2000
    for reply in (
        await api.post("/api/v1/files/upload/base64", json={"base64_data": base64.b64encode(big).decode()}),
        await api.post("/api/v1/files/upload/stream", files={"file": ("big.png", big, "image/png")}),
    ):
        assert reply.status_code == 400 and reply.json()["code"] == 40001 and reply.json()["success"] is False
    state.max_file_size = 100 * 1024 * 1024
    for payload in (b"%PDF-1.7 not an image", b"BM\x00\x00 a bitmap", b"<svg xmlns='http://www.w3.org/2000/svg'/>"):
        reply = await api.post("/api/v1/files/upload/stream", files={"file": ("x.png", payload, "image/png")})
        assert reply.status_code == 400 and reply.json()["code"] == 40002
    gif = io.BytesIO()
    Image.new("P", (3, 3)).save(gif, "GIF")
    assert (
        await api.post("/api/v1/files/upload/stream", files={"file": ("a.gif", gif.getvalue(), "image/gif")})
    ).json()["data"]["mime_type"] == "image/gif"
    bad = [
        await api.post("/api/v1/files/upload/base64", json={"base64_data": "!!!not base64!!!"}),
        await api.post("/api/v1/files/upload/base64", json={}),
        await api.post("/api/v1/files/upload/base64", content=b"nope", headers={"Content-Type": "application/json"}),
        await api.post("/api/v1/files/upload/stream", files={"other": ("a.png", small_png(), "image/png")}),
        await api.post("/api/v1/files/upload/url", json={"upload_path": "x"}),
    ]
    for reply in bad:
        assert reply.status_code == 400 and reply.json()["code"] == 400 and reply.json()["success"] is False
    assert len(state.files) == 1


async def test_quota_40003_overwrite_and_delete(api, state):
    state.max_files = 3
    ids = []
    for i in range(3):
        reply = await api.post(
            "/api/v1/files/upload/base64",
            json={"base64_data": base64.b64encode(small_png((i, 0, 0))).decode(), "file_name": f"f{i}.png"},
        )
        ids.append(reply.json()["data"]["file_id"])
    quota = (await api.get("/api/v1/files/quota")).json()["data"]
    assert quota == {"user_group": "default", "used_files": 3, "max_files": 3, "remain_files": 0}
    full = await api.post(
        "/api/v1/files/upload/base64",
        json={"base64_data": base64.b64encode(small_png()).decode(), "file_name": "f9.png"},
    )
    assert full.status_code == 400 and full.json()["code"] == 40003
    new_png = small_png((9, 9, 9), size=(7, 7))
    over = await api.post(
        "/api/v1/files/upload/base64", json={"base64_data": base64.b64encode(new_png).decode(), "file_name": "f1.png"}
    )
    assert over.json()["success"] is True and over.json()["data"]["file_id"] == ids[1]
    assert over.json()["data"]["file_size"] == len(new_png)
    assert (await api.get("/api/v1/files/quota")).json()["data"]["used_files"] == 3
    # the same name under another upload_path is another file
    elsewhere = await api.post(
        "/api/v1/files/upload/base64",
        json={"base64_data": base64.b64encode(new_png).decode(), "file_name": "f1.png", "upload_path": "other"},
    )
    assert elsewhere.json()["code"] == 40003
    deleted = await api.delete(f"/api/v1/files/{ids[0]}")
    assert deleted.status_code == 200 and deleted.json()["success"] is True
    assert (await api.get("/api/v1/files/quota")).json()["data"]["remain_files"] == 1
    missing = await api.delete(f"/api/v1/files/{ids[0]}")
    assert missing.status_code == 404 and missing.json() == {
        "success": False,
        "code": 404,
        "msg": missing.json()["msg"],
        "data": None,
    }
    assert state.count("delete") == 2


async def test_list_pagination_over_100_files(api, state, sim_clock):
    state.max_files = 250
    payload = base64.b64encode(small_png()).decode()
    for i in range(130):
        reply = await api.post(
            "/api/v1/files/upload/base64", json={"base64_data": payload, "file_name": f"n{i:03}.png"}
        )
        assert reply.json()["success"], reply.text
        sim_clock.advance(1)
    first = (await api.get("/api/v1/files/list", params={"page": 1, "pageSize": 100})).json()["data"]
    second = (await api.get("/api/v1/files/list", params={"page": 2, "pageSize": 100})).json()["data"]
    third = (await api.get("/api/v1/files/list", params={"page": 3, "pageSize": 100})).json()["data"]
    assert first["total"] == second["total"] == 130 and (first["page"], first["page_size"]) == (1, 100)
    assert len(first["files"]) == 100 and len(second["files"]) == 30 and third["files"] == []
    names = [f["file_name"] for f in first["files"] + second["files"]]
    assert names == [f"n{i:03}.png" for i in reversed(range(130))]  # newest first
    clamped = (await api.get("/api/v1/files/list", params={"pageSize": 500})).json()["data"]
    assert clamped["page_size"] == 100 and len(clamped["files"]) == 100
    default = (await api.get("/api/v1/files/list")).json()["data"]
    assert default["page"] == 1 and default["page_size"] == 20 and len(default["files"]) == 20
    quota = (await api.get("/api/v1/files/quota")).json()["data"]
    assert quota["used_files"] == 130 and quota["remain_files"] == 120


async def test_files_expire_after_72_hours(api, anon, state, sim_clock):
    reply = await api.post("/api/v1/files/upload/base64", json={"base64_data": base64.b64encode(small_png()).decode()})
    url = reply.json()["data"]["file_url"]
    sim_clock.advance(72 * 3600 - 10)
    assert (await api.get("/api/v1/files/list")).json()["data"]["total"] == 1
    assert (await anon.get(url)).status_code == 200
    sim_clock.advance(20)
    assert (await api.get("/api/v1/files/list")).json()["data"] == {"total": 0, "page": 1, "page_size": 20, "files": []}
    assert (await api.get("/api/v1/files/quota")).json()["data"]["used_files"] == 0
    assert (await anon.get(url)).status_code == 404


# --------------------------------------------------------------------------- in-process transport


async def test_demo_transport_in_process():
    clock = FakeClock()
    app = create_app(clock=clock, image_long_side=64, environ={})
    async with httpx.AsyncClient(
        transport=demo_transport(app), headers={"Authorization": "Bearer sk-demo-1"}
    ) as client:
        base = "https://api.evolink-demo.invalid"
        task = (
            await client.post(f"{base}/v1/images/generations", json={"prompt": "demo", "model": "wan2.5-t2i-preview"})
        ).json()
        clock.advance(9)
        done = (await client.get(f"{base}/v1/tasks/{task['id']}")).json()
        assert done["results"][0].startswith(f"{base}/results/{task['id']}/0.webp?expires=")
        assert decode((await client.get(done["results"][0])).content).format == "WEBP"
        upload = await client.post(
            "https://files-api.evolink-demo.invalid/api/v1/files/upload/url", json={"file_url": done["results"][0]}
        )
        assert upload.json()["data"]["file_url"].startswith("https://files-api.evolink-demo.invalid/files/")
        app.state.sim.faults = FaultPlan.parse("drop@submit*1,truncate*1")
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(f"{base}/v1/images/generations", json={"prompt": "demo"})
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(done["results"][0])
        assert (await client.get(done["results"][0])).status_code == 200


def test_serve_in_thread_url_and_stop():
    server = serve_in_thread(create_app(environ={}))
    try:
        assert server.url == f"http://127.0.0.1:{server.port}" and server.port > 0
        assert httpx.get(server.url + "/v1/models", headers=AUTH).status_code == 200
    finally:
        server.stop()
    assert not server.thread.is_alive()
    with pytest.raises(httpx.TransportError):
        httpx.get(server.url + "/v1/models", headers=AUTH, timeout=1.0)
