"""The client against the simulator on a real loopback port: every endpoint, every error
class, retries that never double-charge."""

from __future__ import annotations

import base64

import pytest

from evolink_tui import __version__
from evolink_tui.core.client import EvolinkClient, RetryPolicy, parse_retry_after
from evolink_tui.core.errors import EvolinkError, ValidationError
from evolink_tui.core.events import RequestAnswered, RequestRetrying
from evolink_tui.core.validation import GenerationRequest
from evolink_tui.simulator import FaultPlan

from .conftest import TEST_KEY, png_bytes


async def test_submit_returns_a_pending_task_with_credits(client, sim):
    task = await client.submit(GenerationRequest("a lighthouse at dusk", n=2), "run_" + "a" * 32)
    assert task.id.startswith("task-unified-")
    assert task.status == "pending" and task.progress == 0
    assert task.model == "gpt-image-1.5"
    assert task.credits_reserved and task.credits_reserved > 0
    assert task.estimated_time and task.estimated_time > 0
    sent = [r for r in sim.requests if r["endpoint"] == "submit"]
    assert len(sent) == 1
    assert sent[0]["idempotency_key"] == "run_" + "a" * 32
    assert sent[0]["user_agent"] == f"evolink-tui/{__version__}"


async def test_get_task_walks_to_completed(client, sim, fake_clock):
    task = await client.submit(GenerationRequest("a red fox", model="z-image-turbo"))
    fake_clock.advance(1.0)
    mid = await client.get_task(task.id)
    assert mid.status == "processing" and 0 < mid.progress < 100
    fake_clock.advance(10.0)
    done = await client.get_task(task.id)
    assert done.status == "completed" and done.progress == 100
    assert len(done.results) == 1 and done.results[0].startswith("http://127.0.0.1")


async def test_unknown_task_is_404_with_reference_resolution(client, sim):
    with pytest.raises(EvolinkError) as info:
        await client.get_task("task-unified-0-nothere")
    err = info.value
    assert err.kind == "http" and err.code == 404 and not err.retryable
    assert err.resolution == "Verify task_id is correct"


async def test_wrong_key_is_401_on_both_hosts(settings, fake_clock, sim):
    settings.api_key = "bad-key"
    async with EvolinkClient(settings, clock=fake_clock) as bad:
        with pytest.raises(EvolinkError) as api:
            await bad.get_task("task-x")
        with pytest.raises(EvolinkError) as files:
            await bad.quota()
    assert api.value.code == 401 and "EVOLINK_API_KEY" in api.value.resolution
    assert files.value.kind == "file" and files.value.code == 401
    assert not api.value.retryable


async def test_server_400_message_is_shown_with_param(client, sim):
    # The client validates first, so send a body the catalogue would refuse by skipping it.
    request = GenerationRequest("x", model="gpt-image-1.5", size="1024x1024")
    with pytest.raises(EvolinkError) as info:
        await client.submit(request)
    err = info.value
    assert err.code == 400 and err.param == "size"
    assert "1024x1024" in err.message
    assert "Check required fields" in err.explain()


async def test_key_is_sent_only_to_the_api_hosts(client, sim, fake_clock, tmp_path):
    from evolink_tui.core.downloads import download_results

    task = await client.submit(GenerationRequest("a blue whale", model="z-image-turbo"))
    fake_clock.advance(30)
    done = await client.get_task(task.id)
    await download_results(client, done, {"prompt": "a blue whale"}, tmp_path)
    by_endpoint = {}
    for r in sim.requests:
        by_endpoint.setdefault(r["endpoint"], set()).add(r["authorization"])
    assert by_endpoint["submit"] == {True} and by_endpoint["poll"] == {True}
    assert by_endpoint["download"] == {False}


# -- files -------------------------------------------------------------------------


async def test_upload_three_ways_then_list_quota_delete(client, sim, png_file):
    streamed = await client.upload_file(png_file, upload_path="refs")
    assert streamed.file_id and streamed.file_url and streamed.mime_type == "image/png"
    assert streamed.file_size == png_file.stat().st_size
    assert streamed.expires_at is not None and streamed.upload_time is not None
    assert (streamed.expires_at - streamed.upload_time).total_seconds() == pytest.approx(72 * 3600, abs=5)

    data = base64.b64encode(png_bytes(color=(1, 2, 3))).decode()
    raw = await client.upload_base64(data, name="raw.png")
    as_url = await client.upload_base64("data:image/png;base64," + data, name="dataurl.png")
    remote = await client.upload_url(streamed.file_url, name="copy.png")
    assert raw.file_name == "raw.png" and as_url.file_name == "dataurl.png" and remote.file_name == "copy.png"

    quota = await client.quota()
    assert quota.used_files == 4 and quota.max_files == 100 and quota.remain_files == 96
    page = await client.list_files(1, 20)
    assert page.total == 4 and {f.file_id for f in page.files} == {
        streamed.file_id,
        raw.file_id,
        as_url.file_id,
        remote.file_id,
    }

    await client.delete_file(raw.file_id)
    assert (await client.quota()).used_files == 3
    with pytest.raises(EvolinkError) as gone:
        await client.delete_file(raw.file_id)
    assert gone.value.kind == "file" and gone.value.code == 404 and gone.value.resolution == "Verify file_id"


async def test_pagination_across_more_than_100_files(client, sim):
    sim.max_files = 250
    data = base64.b64encode(png_bytes(8, 8)).decode()
    for i in range(130):
        await client.upload_base64(data, name=f"f{i:03}.png")
    first = await client.list_files(1, 100)
    second = await client.list_files(2, 100)
    assert first.total == 130 and len(first.files) == 100 and len(second.files) == 30
    assert first.pages == 2
    assert not {f.file_id for f in first.files} & {f.file_id for f in second.files}
    assert sim.requests[-1]["query"].get("pageSize") == "100"


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ("too_large", 40001),
        ("quota", 40003),
        ("bad_url", 40004),
    ],
)
async def test_file_error_codes_carry_the_reference_resolution(client, sim, png_file, setup, code):
    if setup == "too_large":
        sim.max_file_size = 100
        call = client.upload_file(png_file)
    elif setup == "quota":
        sim.max_files = 0
        call = client.upload_file(png_file)
    else:
        call = client.upload_url("https://example.invalid/missing.png")
    with pytest.raises(EvolinkError) as info:
        await call
    err = info.value
    assert err.kind == "file" and err.code == code
    assert err.resolution  # from the table
    assert err.summary().startswith(str(code))


async def test_type_not_allowed_is_40002_from_the_server(client, sim):
    # Base64 of a text file slips past no check locally: the client refuses it first.
    with pytest.raises(ValidationError) as info:
        await client.upload_base64(base64.b64encode(b"hello world, not an image").decode())
    assert info.value.field == "base64_data"
    assert sim.count("upload") == 0


async def test_files_envelope_success_false_inside_200_is_an_error(client, sim):
    sim.faults = FaultPlan.parse("50001@quota*1")
    with pytest.raises(EvolinkError) as info:
        await client.quota()
    assert info.value.code == 50001 and info.value.retryable


async def test_local_upload_checks_type_and_size_before_sending(client, sim, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    with pytest.raises(ValidationError) as info:
        await client.upload_file(text)
    assert info.value.field == "file_path" and "JPEG/PNG/GIF/WebP" in str(info.value)
    with pytest.raises(ValidationError):
        await client.upload_file(tmp_path / "missing.png")
    with pytest.raises(ValidationError):
        await client.list_files(1, 101)
    assert sim.count() == 0


# -- retries -----------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 502, 503])
async def test_reads_retry_on_transient_statuses(client, sim, status):
    task = await client.submit(GenerationRequest("retry me"))
    sim.faults = FaultPlan.parse(f"{status}@poll*2")
    again = await client.get_task(task.id)
    assert again.id == task.id
    assert sim.count("poll") == 3


async def test_retry_after_is_honoured(client, sim, fake_clock):
    task = await client.submit(GenerationRequest("slow down"))
    sim.faults = FaultPlan.parse("429:7@poll*1")
    before = fake_clock.now()
    await client.get_task(task.id)
    assert fake_clock.now() - before == pytest.approx(7.0)


def test_retry_after_http_date():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470.0) == pytest.approx(10.0)
    assert parse_retry_after("12", 0) == 12.0
    assert parse_retry_after("soon", 0) is None


async def test_reads_retry_on_dropped_connections_and_malformed_json(client, sim):
    task = await client.submit(GenerationRequest("flaky"))
    sim.faults = FaultPlan.parse("drop@poll*1,malformed@poll*1")
    again = await client.get_task(task.id)
    assert again.id == task.id and sim.count("poll") == 3


async def test_reads_give_up_after_the_attempts_with_a_clear_error(client, sim):
    task = await client.submit(GenerationRequest("down"))
    sim.faults = FaultPlan.parse("503@poll")
    with pytest.raises(EvolinkError) as info:
        await client.get_task(task.id)
    assert info.value.code == 503 and info.value.retryable
    assert sim.count("poll") == client.retry.attempts


@pytest.mark.parametrize("fault", ["429", "502", "503", "drop-after", "drop"])
async def test_submit_retries_with_the_same_key_and_charges_once(client, sim, fault):
    sim.faults = FaultPlan.parse(f"{fault}@submit*1")
    task = await client.submit(GenerationRequest("charge me once"), "run_" + "b" * 32)
    keys = [r["idempotency_key"] for r in sim.requests if r["endpoint"] == "submit"]
    assert len(keys) == 2 and set(keys) == {"run_" + "b" * 32}
    assert sim.charges == 1 and len(sim.tasks) == 1
    assert task.id in sim.tasks


@pytest.mark.parametrize("status", [500, 400, 401, 402])
async def test_submit_is_not_retried_on_other_statuses(client, sim, status):
    sim.faults = FaultPlan.parse(f"{status}@submit*1")
    with pytest.raises(EvolinkError) as info:
        await client.submit(GenerationRequest("no double charge"))
    assert info.value.code == status
    assert sim.count("submit") == 1


async def test_uploads_are_not_retried_after_the_server_may_have_stored_them(client, sim, png_file):
    sim.faults = FaultPlan.parse("500@upload*1")
    with pytest.raises(EvolinkError):
        await client.upload_file(png_file)
    assert sim.count("upload") == 1
    sim.faults = FaultPlan.parse("503@upload*1")
    await client.upload_file(png_file)
    assert sim.count("upload") == 3


async def test_retry_events_are_reported(client, sim):
    events = []
    client.events.subscribe(events.append)
    task = await client.submit(GenerationRequest("tell me"))
    sim.faults = FaultPlan.parse("502@poll*1")
    await client.get_task(task.id)
    assert [type(e) for e in events] == [RequestAnswered, RequestRetrying, RequestAnswered]
    expected = [("submit", None, 1), ("poll", task.id, 1), ("poll", task.id, 2)]
    assert [(e.op, e.task_id, e.attempt) for e in events] == expected
    assert events[1].error.code == 502 and events[1].delay >= 0


async def test_credits_extra_endpoint(client, sim):
    data = await client.credits()
    assert "data" in data


async def test_no_key_means_no_request(settings, fake_clock, sim):
    settings.api_key = None
    async with EvolinkClient(settings, clock=fake_clock) as keyless:
        with pytest.raises(EvolinkError) as info:
            await keyless.get_task("task-1")
    assert info.value.code == 401 and sim.count() == 0


def test_retry_policy_backoff_grows_and_caps():
    policy = RetryPolicy(base_delay=1, max_delay=8, jitter=0)
    assert [policy.delay(a, None) for a in (1, 2, 3, 4, 5)] == [1, 2, 4, 8, 8]
    assert policy.delay(1, 300) == policy.max_retry_after


def test_settings_repr_never_shows_the_key(settings):
    assert TEST_KEY not in repr(settings)
    assert TEST_KEY not in str(settings.describe())


async def test_slow_answers_time_out_and_reads_are_retried(settings, fake_clock, sim):
    async with EvolinkClient(settings, clock=fake_clock, timeout=0.3, retry=RetryPolicy(jitter=0)) as quick:
        task = await quick.submit(GenerationRequest("patience"))
        sim.faults = FaultPlan.parse("slow:1@poll*1")
        again = await quick.get_task(task.id)
    assert again.id == task.id and sim.count("poll") == 2


async def test_a_slow_submit_is_retried_with_the_same_key_and_charged_once(settings, fake_clock, sim):
    async with EvolinkClient(settings, clock=fake_clock, timeout=0.3, retry=RetryPolicy(jitter=0)) as quick:
        sim.faults = FaultPlan.parse("slow:1@submit*1")
        await quick.submit(GenerationRequest("patience"), "run_" + "d" * 32)
    keys = [r["idempotency_key"] for r in sim.requests if r["endpoint"] == "submit"]
    assert keys == ["run_" + "d" * 32] * 2 and len(sim.tasks) == 1


class _Lookups:
    """A module finder that finds nothing and remembers what was looked for."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(self, name, path=None, target=None):
        self.names.append(name)
        return None


async def test_a_poll_once_the_client_is_warm_looks_up_no_module(client, sim, monkeypatch):
    # httpcore asks for sniffio on every lock it makes: without it, each request paid a failed
    # import (a search of sys.path, about half a millisecond), 40 a second with 200 tasks polling.
    import sys

    task = await client.submit(GenerationRequest("warm up", model="z-image-turbo"))
    await client.get_task(task.id)
    lookups = _Lookups()
    monkeypatch.setattr(sys, "meta_path", [lookups, *sys.meta_path])
    for _ in range(5):
        await client.get_task(task.id)
    await client.submit(GenerationRequest("and a submit", model="z-image-turbo"))
    assert lookups.names == []


async def test_many_tasks_polling_at_once_wait_their_turn_before_the_pool(client, sim):
    # httpcore scans its whole queue on each request and answer: 200 tasks queued in its pool
    # cost time growing with the square of the queue. They queue in the client instead.
    import asyncio

    tasks = [await client.submit(GenerationRequest(f"fox {i}", model="z-image-turbo")) for i in range(3)]
    inside, most = 0, 0

    async def sent(request):
        nonlocal inside, most
        inside += 1
        most = max(most, inside)

    async def answered(response):
        nonlocal inside
        inside -= 1

    client.http.event_hooks = {"request": [sent], "response": [answered]}
    polled = await asyncio.gather(*(client.get_task(tasks[i % 3].id) for i in range(40)))
    assert len(polled) == 40 and {task.id for task in polled} == {task.id for task in tasks}
    assert 1 <= most <= 2  # the client's two connections to the host, never a queue in the pool
