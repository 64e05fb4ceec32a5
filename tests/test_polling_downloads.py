"""Polling per the reference and the download checks, against the loopback simulator."""

from __future__ import annotations

import asyncio
import json
import os

import pytest
from PIL import Image

from evolink_tui.core.downloads import MAX_PIXELS, download_results, result_stem, safe_component, verify_image
from evolink_tui.core.errors import EvolinkError
from evolink_tui.core.polling import (
    READS_AT_ONCE,
    READS_PER_SECOND,
    PollPace,
    PollPolicy,
    TaskTimeout,
    follow_task,
    timeout_notice,
)
from evolink_tui.core.validation import GenerationRequest
from evolink_tui.core.wire import Task
from evolink_tui.simulator import FaultPlan

from .conftest import TEST_KEY


def test_the_timeout_notice_is_the_references_exact_text():
    assert timeout_notice("task-1") == (
        "This is taking longer than expected. The task ID is `task-1` — you can check it again later."
    )


def test_policy_first_read_after_3s_then_every_3_to_5s():
    policy = PollPolicy()
    assert policy.next_delay(0) == 3.0
    delays = [policy.next_delay(i) for i in range(1, 10)]
    assert all(3.0 <= d <= 5.0 for d in delays)
    hinted = Task.parse({"id": "t", "status": "processing", "task_info": {"estimated_time": 60}})
    assert policy.next_delay(3, hinted) == 5.0
    soon = Task.parse({"id": "t", "status": "processing", "task_info": {"estimated_time": 1}})
    assert policy.next_delay(3, soon) == 3.0


async def test_follow_reads_at_3s_then_paced_until_completed(client, sim, fake_clock):
    submitted_at = fake_clock.now()
    task = await client.submit(GenerationRequest("a pier at night"))  # normal model: 8 s
    seen = []
    final = await follow_task(
        client,
        task,
        started_at=submitted_at,
        on_update=lambda t: seen.append((fake_clock.now() - submitted_at, t.status, t.progress)),
    )
    assert final.status == "completed" and final.results
    times = [round(t, 3) for t, _, _ in seen]
    assert times[0] == 3.0
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert all(3.0 <= g <= 5.0 for g in gaps)
    progresses = [p for _, s, p in seen if s == "processing"]
    assert progresses == sorted(progresses)
    assert sim.count("poll") == len(seen)


class StillClock:
    """Time stands still; every wait asked for is written down."""

    def __init__(self, now: float = 1000.0):
        self.moment = now
        self.waits: list[float] = []

    def now(self) -> float:
        return self.moment

    async def sleep(self, seconds: float) -> None:
        self.waits.append(round(seconds, 6))


async def test_reads_of_many_tasks_go_out_ten_at_once_then_ten_a_second_in_the_order_asked():
    clock = StillClock()
    pace = PollPace(clock)
    order: list[int] = []

    async def read(n: int) -> None:
        await pace.turn()
        order.append(n)

    await asyncio.gather(*(read(n) for n in range(25)))
    assert order == list(range(25))  # first asked, first read
    # The first ten go at once; after them the n-th waits (n - 9) tenths of a second.
    assert READS_AT_ONCE == 10
    assert clock.waits == [round((n - 9) / READS_PER_SECOND, 6) for n in range(10, 25)]
    clock.moment += 5  # a quiet moment later, ten reads go at once again
    await asyncio.gather(*(read(n) for n in range(10)))
    assert len(clock.waits) == 15
    clock.moment += 0.05  # an eleventh, half a step later, waits out the other half
    await pace.turn()
    assert clock.waits[-1] == 0.05


async def test_every_read_of_a_followed_task_takes_its_turn_at_the_clients_pace(client, sim):
    tasks = [await client.submit(GenerationRequest(f"a pier at night, {n}")) for n in range(6)]
    finals = await asyncio.gather(*(follow_task(client, task) for task in tasks))
    assert all(final.status == "completed" for final in finals)
    assert sim.count("poll") == client.poll_pace.turns >= len(tasks)


async def test_follow_stops_on_failed_with_the_task_error(client, sim):
    sim.faults = FaultPlan.parse("fail:content_policy_violation*1")
    task = await client.submit(GenerationRequest("blocked"))
    final = await follow_task(client, task)
    assert final.status == "failed" and final.error.code == "content_policy_violation"
    err = final.error.as_exception(final.id)
    assert not err.retryable and err.resolution.startswith("Rephrase")


async def test_after_5_minutes_the_notice_and_the_task_stays_checkable(client, sim, fake_clock):
    task = await client.submit(GenerationRequest("forever"))
    sim.tasks[task.id].duration = 10_000  # a task that takes far longer than the wait
    start = fake_clock.now()
    with pytest.raises(TaskTimeout) as info:
        await follow_task(client, task, started_at=start)
    assert info.value.notice == timeout_notice(task.id)
    assert 290 <= fake_clock.now() - start <= 300.0
    assert sim.count("poll") <= PollPolicy().max_polls()
    again = await client.get_task(task.id)
    assert again.is_active and again.id == task.id


async def test_an_outage_during_polling_is_reported_and_recovers(client, sim):
    task = await client.submit(GenerationRequest("through the storm", model="z-image-turbo"))
    sim.faults = FaultPlan.parse("503@poll*6")  # more than one read's retries
    problems = []
    final = await follow_task(client, task, on_problem=problems.append)
    assert final.status == "completed"
    assert problems and problems[0].code == 503


async def completed(client, fake_clock, prompt="a lighthouse at dusk", **kw) -> tuple[Task, dict]:
    request = GenerationRequest(prompt, **kw)
    task = await client.submit(request)
    fake_clock.advance(60)
    return await client.get_task(task.id), request.to_body()


async def test_download_writes_verified_images_and_sidecars(client, sim, fake_clock, tmp_path):
    task, body = await completed(client, fake_clock, n=2, size="16:9")
    downloads = await download_results(client, task, body, tmp_path)
    assert [d.ok for d in downloads] == [True, True]
    for d in downloads:
        assert d.path.parent == tmp_path and d.path.suffix == ".png"
        with Image.open(d.path) as image:
            assert image.size[0] / image.size[1] == pytest.approx(16 / 9, rel=0.02)
        side = json.loads(d.sidecar.read_text())
        assert side["prompt"] == "a lighthouse at dusk" and side["model"] == "gpt-image-1.5"
        assert side["size"] == "16:9" and side["n"] == 2 and side["task_id"] == task.id
        assert (
            side["source_url"] == d.url and side["url_expires_at"] and side["credits_reserved"] == task.credits_reserved
        )
        assert TEST_KEY not in d.sidecar.read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary files left


async def test_a_large_result_keeps_a_display_copy_from_the_decode_that_verified_it(client, sim, fake_clock, tmp_path):
    from PIL import ImageChops, ImageStat

    from evolink_tui.core import thumbcache
    from evolink_tui.core.graphics import display

    disk = thumbcache.enable_disk_cache(tmp_path / "cache")  # as the app does; headless runs keep none
    before, sim.image_long_side = sim.image_long_side, 2048
    try:
        task, body = await completed(client, fake_clock, size="1:1")
        [download] = await download_results(client, task, body, tmp_path / "out")
        assert download.ok
        # Before any thumbnail or viewer asked for it: the viewer's first frame can come from it.
        copy = display.find(download.path, disk)
    finally:
        sim.image_long_side = before
        thumbcache.disable_disk_cache(disk)
    assert copy is not None and not copy.full
    with Image.open(download.path) as image:
        assert (copy.width, copy.height) == image.size == (2048, 2048)
        expected = image.convert("RGB").resize(copy.image.size, Image.Resampling.BOX)
    assert copy.image.size == (display.SIDE, display.SIDE)
    assert max(ImageStat.Stat(ImageChops.difference(copy.image, expected)).mean) < 2  # the same picture


async def test_a_sidecar_that_cannot_be_written_is_the_downloads_error_and_the_image_is_kept(
    client, sim, fake_clock, tmp_path
):
    task, body = await completed(client, fake_clock)
    stem = result_stem(task.id, body["prompt"], 0)
    (tmp_path / f"{stem}.json").mkdir()  # where the sidecar goes: a folder, so it cannot be written
    [download] = await download_results(client, task, body, tmp_path)
    assert not download.ok and download.sidecar is None
    assert download.error is not None and download.error.code == "disk" and f"{stem}.json" in str(download.error)
    with Image.open(download.path) as image:  # the result itself is on disk, verified, in place
        image.load()
    assert download.path == tmp_path / f"{stem}.png"


async def test_download_reuses_a_verified_file_already_on_disk(client, sim, fake_clock, tmp_path):
    task, body = await completed(client, fake_clock)
    await download_results(client, task, body, tmp_path)
    fetched = sim.count("download")
    again = await download_results(client, task, body, tmp_path)
    assert again[0].ok and sim.count("download") == fetched


async def test_truncated_downloads_are_retried_and_never_left_broken(client, sim, fake_clock, tmp_path):
    task, body = await completed(client, fake_clock)
    sim.faults = FaultPlan.parse("truncate@download*2")
    downloads = await download_results(client, task, body, tmp_path)
    assert downloads[0].ok and sim.count("download") == 3
    verify_image(downloads[0].path)


async def test_a_download_that_keeps_failing_leaves_no_file(client, sim, fake_clock, tmp_path):
    task, body = await completed(client, fake_clock)
    sim.faults = FaultPlan.parse("truncate@download")
    downloads = await download_results(client, task, body, tmp_path)
    assert not downloads[0].ok and downloads[0].error.code in ("network", "download")
    assert list(tmp_path.iterdir()) == []


async def test_expired_result_urls_are_marked_expired(client, sim, fake_clock, tmp_path):
    task, body = await completed(client, fake_clock)
    sim.faults = FaultPlan.parse("expired")
    downloads = await download_results(client, task, body, tmp_path)
    assert downloads[0].error.code == "expired" and not downloads[0].error.retryable
    assert sim.count("download") == 1


async def test_unsafe_names_from_the_server_stay_inside_the_download_dir(client, sim, tmp_path):
    evil = Task.parse({"id": "../../etc/passwd", "status": "completed", "results": []})
    stem = result_stem(evil.id, "../../../x", 0)
    assert "/" not in stem and not stem.startswith(".")
    assert safe_component("..") == "x" and safe_component("a/b\\c") == "a_b_c"


def test_images_over_the_pixel_limit_are_refused(tmp_path):
    path = tmp_path / "bomb.png"
    Image.new("1", (8000, 6000)).save(path)  # 48 megapixels, a tiny file
    with pytest.raises(EvolinkError) as info:
        verify_image(path)
    assert "pixel limit" in str(info.value.message)
    assert 8000 * 6000 > MAX_PIXELS


def test_non_images_are_refused(tmp_path):
    path = tmp_path / "x.png"
    path.write_bytes(b"<html>not an image</html>")
    with pytest.raises(EvolinkError):
        verify_image(path)


async def test_downloads_go_to_a_dir_created_on_demand(client, sim, fake_clock, tmp_path):
    task, body = await completed(client, fake_clock)
    target = tmp_path / "deep" / "er"
    downloads = await download_results(client, task, body, target)
    assert downloads[0].ok and downloads[0].path.parent == target


async def test_an_unwritable_download_dir_is_reported_with_its_path(client, sim, fake_clock, tmp_path):
    if os.geteuid() == 0:
        target = tmp_path / "file-not-dir"
        target.write_text("x")  # root ignores modes; a file where the dir should be fails for everyone
    else:
        target = tmp_path / "ro"
        target.mkdir(mode=0o500)
    task, body = await completed(client, fake_clock)
    downloads = await download_results(client, task, body, target)
    assert not downloads[0].ok
    assert str(target) in downloads[0].error.message
