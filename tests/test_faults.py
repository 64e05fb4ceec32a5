"""The fault matrix: every fault the simulator can inject, at every stage where it makes
sense, through a full generation (local reference uploaded, submitted, polled, downloaded)
on the loopback simulator. Whatever happens: zero lost tasks, zero broken files, never a
second charge, and once the fault clears a recovery finishes the job."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from PIL import Image

from evolink_tui.core import events as ev
from evolink_tui.core import runner as r
from evolink_tui.core.client import EvolinkClient, RetryPolicy
from evolink_tui.core.history import History
from evolink_tui.core.polling import PollPolicy
from evolink_tui.core.recovery import recover
from evolink_tui.core.validation import GenerationRequest
from evolink_tui.simulator import FaultPlan

STAGES = ("submit", "poll", "upload", "download")
SLOW_SECONDS = 1.5
CLIENT_TIMEOUT = 0.75
RETRY_AFTER = 2


def _matrix() -> list[tuple[str, str, bool]]:
    """(fault kind, stage, persistent) for every combination that makes sense.

    Transient faults (the first two requests, or one for slow/drop-after) must be absorbed
    by the retries: the generation completes. Persistent ones must end in a recorded,
    recoverable state. ``slow`` is transient only (each try costs real seconds);
    ``drop-after`` exists for submit and upload, ``malformed`` for JSON answers,
    ``truncate`` and ``expired`` for downloads.
    """
    cases = []
    for kind in ("429", "500", "502", "503", "drop"):
        for stage in STAGES:
            cases += [(kind, stage, False), (kind, stage, True)]
    cases += [("slow", stage, False) for stage in STAGES]
    cases += [("drop-after", stage, p) for stage in ("submit", "upload") for p in (False, True)]
    cases += [("malformed", stage, p) for stage in ("submit", "poll", "upload") for p in (False, True)]
    cases += [("truncate", "download", p) for p in (False, True)]
    cases += [("expired", "download", True)]
    return cases


MATRIX = _matrix()


def _spec(kind: str, stage: str, persistent: bool) -> str:
    arg = {"429": f":{RETRY_AFTER}", "slow": f":{SLOW_SECONDS}"}.get(kind, "")
    count = "" if persistent else ("*1" if kind in ("slow", "drop-after") else "*2")
    return f"{kind}{arg}@{stage}{count}"


@pytest.fixture
def small_images(sim):
    before = sim.image_long_side
    sim.image_long_side = 96
    yield
    sim.image_long_side = before


@pytest.fixture
def fault_client(settings, fake_clock):
    return EvolinkClient(
        settings, clock=fake_clock, retry=RetryPolicy(attempts=4, base_delay=0.5, jitter=0.0), timeout=CLIENT_TIMEOUT
    )


def downloads_dir(tmp_path: Path) -> Path:
    return tmp_path / "downloads"


def assert_no_broken_files(folder: Path) -> None:
    """Every image decodes, every sidecar parses, no temporary or partial file is left."""
    if not folder.exists():
        return
    for path in folder.rglob("*"):
        assert not path.name.startswith("."), f"temporary file left: {path}"
        assert not path.name.endswith((".part", ".tmp")), f"partial file left: {path}"
        if path.suffix == ".json":
            side = json.loads(path.read_text("utf-8"))
            assert side["task_id"] and side["source_url"]
        else:
            with Image.open(path) as image:
                image.load()
            assert path.with_suffix(".json").is_file(), f"image without its sidecar: {path}"


def assert_nothing_lost(history: History, sim, folder: Path, *, settled: bool) -> None:
    """Zero lost tasks, zero broken files, one charge per task.

    Every record is completed with its files on disk, or ends failed / uncertain / expired
    / still running with the error (or notice) recorded and the task id kept where the
    server gave one. Every task the server made is known to the history, except those
    behind an uncertain submit (whose resend with the same key finds them again).
    """
    records = history.recent(1000)
    assert records, "the generation was not recorded"
    for rec in records:
        if rec.state == "completed" and rec.download_state == "done":
            assert len(rec.files) == len(rec.results) >= 1
            assert all(Path(f).is_file() and Path(f).parent == folder for f in rec.files)
        elif rec.state == "completed":
            assert rec.task_id and rec.results and rec.error, rec
            assert rec.download_state in ("failed", "expired", "refused")
        elif rec.is_finished:  # failed, submit_failed
            assert rec.error, rec
        elif rec.task_id:  # still running: polled again by the next recovery
            assert rec.notice or rec.error or not settled, rec
        else:
            assert rec.state == "uncertain" and rec.error, rec
    known = {rec.task_id for rec in records if rec.task_id}
    assert known <= set(sim.tasks)
    unknown = set(sim.tasks) - known
    assert len(unknown) <= sum(1 for rec in records if rec.is_uncertain)
    assert sim.charges == len(sim.tasks) <= len(records)  # one charge per task, one task per record at most
    assert_no_broken_files(folder)


@pytest.mark.parametrize(
    ("kind", "stage", "persistent"), MATRIX, ids=[f"{k}-{s}-{'persistent' if p else 'transient'}" for k, s, p in MATRIX]
)
async def test_fault_matrix(kind, stage, persistent, sim, fault_client, history, tmp_path, png_file, small_images):
    folder = downloads_dir(tmp_path)
    retries = []
    fault_client.events.subscribe(lambda e: retries.append(e) if isinstance(e, ev.RequestRetrying) else None)
    events: list[ev.TaskEvent] = []
    runner = r.Runner(fault_client, history, folder, on_event=events.append, policy=PollPolicy(max_offline=90.0))
    request = GenerationRequest("a harbour in fog", model="gemini-3.1-flash-image-preview", images=(str(png_file),))
    spec = _spec(kind, stage, persistent)
    sim.faults = FaultPlan.parse(spec)

    record = await runner.run(runner.prepare(request))

    assert_nothing_lost(history, sim, folder, settled=True)
    fired = sum(rule.used for rule in sim.faults.rules)
    assert fired >= 1, f"{spec} never fired"
    if (kind, stage) == ("500", "submit"):
        # A submit is retried only for network errors, 429, 502 and 503 (wire notes): after a
        # 500 the task may exist, so it waits, uncertain, for a resend with the same key.
        assert record.is_uncertain and record.error["code"] == 500
    elif not persistent:
        assert record.state == "completed" and record.download_state == "done", (spec, record)
    if kind == "expired":
        assert record.state == "completed" and record.download_state == "expired"
        assert record.error["code"] == "expired" and record.task_id and not record.files
    if kind == "429" and stage != "download":
        assert any(event.delay == RETRY_AFTER for event in retries), "Retry-After not honoured"
    if kind == "429":
        times = [q["time"] for q in sim.requests if q["endpoint"] == stage]
        assert len(times) >= 2 and times[1] - times[0] >= RETRY_AFTER
    if persistent and stage == "submit" and kind in ("500", "502", "503", "drop", "drop-after", "malformed"):
        assert record.is_uncertain and record.error, "an unknown submit outcome must stay uncertain"
    if persistent and stage == "upload":
        assert record.state == "submit_failed" and record.error["stage"] == "upload" and sim.count("submit") == 0
    if persistent and stage == "poll":
        assert any(isinstance(e, ev.TaskOffline) and e.task_id == record.task_id for e in events)

    if kind == "slow":  # let the slowed answer land (a late submit finds its key: no second task)
        deadline = time.monotonic() + 10
        while sim.in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert_nothing_lost(history, sim, folder, settled=True)

    # The fault clears (the network is back, the server mends): a recovery finishes the job,
    # an uncertain or refused submit only when asked, and always with its own key.
    sim.faults = FaultPlan.parse("")
    submits_before = sim.count("submit")
    summary = await recover(runner)
    assert sim.count("submit") == submits_before, "recovery must never resend on its own"
    resend = [rec.id for rec in history.resendable()]
    if resend:
        summary = await recover(runner, resend=resend)
        assert summary.resent == resend
    final = history.get(record.id)
    assert_nothing_lost(history, sim, folder, settled=True)
    assert history.count() == 1 and len(sim.tasks) == 1 and sim.charges == 1
    assert final.task_id in sim.tasks
    keys = {q["idempotency_key"] for q in sim.requests if q["endpoint"] == "submit"}
    assert keys == {final.idempotency_key}
    if kind == "expired":
        assert final.download_state == "expired" and final.error["code"] == "expired"
    else:
        assert final.state == "completed" and final.download_state == "done" and final.files, (spec, final)
        assert final.error is None


async def test_an_outage_of_minutes_says_offline_and_recovers_by_itself(
    sim, fault_client, history, tmp_path, fake_clock, small_images
):
    """The simulator drops or refuses every read for over three (fake) minutes."""
    folder = downloads_dir(tmp_path)
    events: list[ev.TaskEvent] = []
    runner = r.Runner(fault_client, history, folder, on_event=events.append)
    request = GenerationRequest("through the storm", model="gemini-3.1-flash-image-preview")
    record_id = runner.prepare(request)
    await runner.run(record_id, follow=False)
    outage_start = fake_clock.now()
    sim.faults = FaultPlan.parse("503:5@poll,drop@download")

    def heal(event: object) -> None:  # the network comes back after 200 s
        if isinstance(event, ev.RequestRetrying) and fake_clock.now() - outage_start > 200:
            sim.faults = FaultPlan.parse("")

    fault_client.events.subscribe(heal)
    record = history.get(record_id)
    final = await runner.follow(record_id, record.as_task(), started_at=outage_start, polls_done=0)
    offline = [e for e in events if isinstance(e, ev.TaskOffline)]
    assert offline and all(e.record_id == record_id and e.error.retryable for e in offline)
    assert fake_clock.now() - outage_start > 200
    assert final.state == "completed" and final.download_state == "done" and final.files
    assert not final.notice  # the 5-minute notice does not count time spent offline
    assert_nothing_lost(history, sim, folder, settled=True)


async def test_a_download_429_waits_for_retry_after(sim, fault_client, history, tmp_path, small_images):
    runner = r.Runner(fault_client, history, downloads_dir(tmp_path))
    sim.faults = FaultPlan.parse("429:7@download*1")
    record = await runner.run(runner.prepare(GenerationRequest("patience", model="z-image-turbo")))
    times = [q["time"] for q in sim.requests if q["endpoint"] == "download"]
    assert record.download_state == "done" and len(times) == 2 and times[1] - times[0] == pytest.approx(7)


async def test_a_server_error_task_keeps_its_id_and_error(sim, fault_client, history, tmp_path, small_images):
    runner = r.Runner(fault_client, history, downloads_dir(tmp_path))
    sim.faults = FaultPlan.parse("fail:upstream_error*1")
    record = await runner.run(runner.prepare(GenerationRequest("doomed", model="z-image-turbo")))
    assert record.state == "failed" and record.task_id in sim.tasks and record.error["code"] == "upstream_error"
    summary = await recover(runner)
    assert summary.records == [] and history.get(record.id).state == "failed"
    assert sim.charges == 1
