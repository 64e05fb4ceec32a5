"""The Studio and the typed event stream, without Textual: the decisions (what a retry may
do, unsure submits, the shared limits), the index kept fresh before listeners hear of a
change, the connection state, recovery, and listeners that raise."""

from __future__ import annotations

import pytest

from evolink_tui.core import events as ev
from evolink_tui.core import rules
from evolink_tui.core.bus import EventBus
from evolink_tui.core.client import EvolinkClient, RetryPolicy
from evolink_tui.core.costs import charge
from evolink_tui.core.dates import day_range, parse_day, when
from evolink_tui.core.errors import EvolinkError, ValidationError, describe, summary
from evolink_tui.core.history import TaskRecord
from evolink_tui.core.studio import Studio
from evolink_tui.core.validation import GenerationRequest
from evolink_tui.simulator import FaultPlan

# -- the decisions, on records as the history holds them -------------------------------------


def record(state: str, *, task_id: str | None = "task-1", **fields) -> TaskRecord:
    return TaskRecord(
        id=7, task_id=task_id, state=state, prompt="p", model="z-image-turbo", request={}, idempotency_key="k", **fields
    )


RETRYABLE = EvolinkError("task", "service_error", "busy").to_json()
FINAL = EvolinkError("task", "content_policy_violation", "no").to_json()


@pytest.mark.parametrize(
    ("rec", "kind", "warning"),
    [
        (record("uncertain", task_id=None), rules.RESEND, False),
        (record("submitting", task_id=None), rules.RESEND, False),  # left by a stopped run
        (record("processing", notice="taking longer than expected"), rules.CHECK, False),
        (record("failed", error=RETRYABLE), rules.NEW_TASK, False),
        (record("submit_failed", task_id=None, error=RETRYABLE), rules.NEW_TASK, False),
        (record("cancelled"), rules.NEW_TASK, False),
        (record("failed", error=FINAL), rules.REFUSE, True),
        (record("not_found", error=FINAL), rules.REFUSE, True),
        (record("completed", results=["u"], download_state="failed"), rules.DOWNLOAD, False),
        (record("completed", results=["u"], download_state="expired"), rules.REFUSE, True),
        (record("completed", results=["u"], files=["f.png"], download_state="done"), rules.REFUSE, False),
        (record("processing"), rules.REFUSE, False),
    ],
    ids=[
        "uncertain",
        "interrupted",
        "slow",
        "failed",
        "refused-submit",
        "cancelled",
        "final-error",
        "gone",
        "not-on-disk",
        "expired",
        "done",
        "running",
    ],
)
def test_retry_action_does_what_is_safe_for_each_state(rec, kind, warning):
    action = rules.retry_action(rec)
    assert action.kind == kind and action.warning is warning and action.reason


def test_a_record_being_sent_is_neither_retried_nor_unsure():
    sending = record("submitting", task_id=None)
    assert rules.retry_action(sending, in_flight=True).kind == rules.REFUSE
    assert rules.is_unsure(sending) and not rules.is_unsure(sending, in_flight=True)
    assert not rules.is_unsure(record("processing"))


def test_the_refusals_say_why_and_what_to_do():
    assert "will not help" in rules.retry_action(record("failed", error=FINAL)).reason
    assert "24 hours" in rules.retry_action(record("completed", results=["u"], download_state="expired")).reason
    assert "still running" in rules.retry_action(record("processing")).reason


def test_quota_full_is_the_files_code_40003_only():
    assert rules.is_quota_full(EvolinkError("file", 40003, "full"))
    assert rules.is_quota_full(EvolinkError("file", "40003", "full"))
    assert not rules.is_quota_full(EvolinkError("http", 40003, "x"))
    assert not rules.is_quota_full(EvolinkError("file", 40002, "x"))
    assert not rules.is_quota_full(ValueError("40003"))


def test_the_shared_limits_are_one_definition():
    from evolink_tui.core import downloads, history, imaging, thumbnails

    assert rules.RESULT_URL_LIFETIME == 24 * 3600
    assert downloads.URL_LIFETIME.total_seconds() == rules.RESULT_URL_LIFETIME
    assert downloads.MAX_PIXELS is thumbnails.MAX_PIXELS is imaging.MAX_PIXELS is rules.MAX_PIXELS
    assert history.RESULT_URL_LIFETIME is rules.RESULT_URL_LIFETIME


def test_days_are_parsed_once_for_the_app_and_the_command():
    start, end = day_range("2025-01-31", "2025-01-31")
    assert end - start == pytest.approx(86400, abs=3600)  # the whole day (a DST day is 23 or 25 hours)
    assert parse_day("since", None) is None and when(start).startswith("2025-01-31")
    for bad in ("2025-13-45", "31/01/2025", "", "2025-1-1"):
        with pytest.raises(ValidationError) as info:
            parse_day("until", bad)
        assert info.value.field == "until" and "YYYY-MM-DD" in str(info.value)


def test_errors_read_the_same_everywhere():
    err = EvolinkError("task", "content_policy_violation", "nope")
    assert describe(err) == err.explain() and summary(err) == err.summary() == summary(err.to_json())
    assert describe(ValidationError("n", 9, "1-4")).startswith("Nothing was sent.")
    assert describe(FileNotFoundError(2, "No such file", "/x.png")) == "No such file: /x.png"
    assert summary(None) == ""


# -- the event bus ---------------------------------------------------------------------------------


def test_a_listener_that_raises_is_logged_reported_once_and_never_stops_the_others(isolated_env):
    bus = EventBus()
    heard, reports = [], []
    bus.on_failure = reports.append

    def broken(event):
        raise RuntimeError(f"bug on {event}")

    bus.subscribe(broken)
    bus.subscribe(heard.append)
    for n in range(3):
        bus.emit(n)
    assert heard == [0, 1, 2]  # the second listener heard everything
    assert len(reports) == 1 and reports[0].event == "int" and "broken" in reports[0].listener
    log = isolated_env["state"] / "evolink-tui.log"
    assert reports[0].log == log
    text = log.read_text()
    assert text.count("RuntimeError: bug on") == 3 and "Traceback" in text


def test_unsubscribe_stops_the_events():
    bus = EventBus()
    heard: list = []
    stop = bus.subscribe(heard.append)
    bus.emit(1)
    stop()
    bus.emit(2)
    assert heard == [1] and len(bus) == 0


# -- the Studio on the simulator -----------------------------------------------------------------------


@pytest.fixture
async def studio(settings, fake_clock):
    def factory(s, clock=None):
        return EvolinkClient(s, clock=fake_clock, retry=RetryPolicy(attempts=3, base_delay=0.5, jitter=0.0))

    s = Studio(settings, clock=fake_clock, client_factory=factory)
    yield s
    await s.aclose()


async def test_every_listener_reads_the_record_as_the_event_left_it(studio, sim):
    seen: list[tuple[type, str]] = []

    def view(event):
        if isinstance(event, ev.TaskEvent):
            seen.append((type(event), studio.record(event.record_id).state))

    studio.events.subscribe(view)
    [record_id] = studio.prepare([GenerationRequest("a lighthouse", model="z-image-turbo")])
    assert studio.record(record_id).state == "submitting" and record_id in studio.session_ids
    final = await studio.run(record_id)
    assert final.state == "completed" and final.files
    assert seen[0] == (ev.SubmitStarted, "submitting")
    assert (ev.TaskSubmitted, "pending") in seen or (ev.TaskSubmitted, "processing") in seen
    assert seen[-1] == (ev.TaskFinished, "completed") and studio.record(record_id).download_state == "done"
    assert studio.totals() == (final.credits, 0, 0) and not studio.in_flight


async def test_a_comparison_run_is_one_group_and_bad_input_records_nothing(studio, sim):
    with pytest.raises(ValidationError):
        studio.prepare([GenerationRequest("ok", model="z-image-turbo"), GenerationRequest("", model="gpt-image-1.5")])
    assert studio.history.count() == 0 and not studio.records
    ids = studio.prepare(
        [GenerationRequest("two", model="z-image-turbo"), GenerationRequest("two", model="gpt-4o-image")]
    )
    first = studio.record(ids[0])
    assert first.group_id and [r.id for r in studio.group_records(first)] == ids
    assert set(ids) <= studio.in_flight  # about to be sent: never offered for a resend meanwhile
    assert not any(studio.is_unsure(studio.record(i)) for i in ids)


async def test_iterating_records_the_parent_on_every_model_of_the_run_and_its_url_follows_the_clock(
    studio, sim, fake_clock
):
    [first] = studio.prepare([GenerationRequest("a heron", model="gpt-image-1.5", n=2)])
    parent = await studio.run(first)
    iteration = studio.iterate(parent, 1)
    assert iteration.request.images == (parent.results[1],) and iteration.parent == (first, 1)
    runs = [iteration.request, iteration.with_model("qwen-image-edit").request]
    ids = studio.prepare(runs, parent=iteration.parent)
    assert [studio.history.get(i).parent for i in ids] == [(first, 1), (first, 1)]
    assert [r.id for r in studio.history.children(first)] == ids
    fake_clock.advance(25 * 3600)  # the Studio's clock, not the wall's, says the URL has lapsed
    assert studio.iterate(parent, 1).request.images == (parent.files[1],)


async def test_retry_resends_an_unsure_submit_with_its_own_key(studio, sim):
    sim.faults = FaultPlan.parse("drop-after@submit")
    [record_id] = studio.prepare([GenerationRequest("lost", model="z-image-turbo")])
    unsure = await studio.run(record_id)
    assert unsure.state == "uncertain" and studio.is_unsure(unsure) and studio.totals().unsure == 1
    sim.faults = FaultPlan.parse("")
    retry = studio.retry(unsure)
    assert retry.action.kind == rules.RESEND and retry.record_id == record_id
    assert studio.retry_action(unsure).kind == rules.REFUSE  # already on its way: a second t does nothing
    done = await retry.job()
    assert done.state == "completed" and sim.charges == 1
    assert {q["idempotency_key"] for q in sim.requests if q["endpoint"] == "submit"} == {unsure.idempotency_key}


async def test_retry_runs_a_failed_task_as_a_new_one_in_the_same_group(studio, sim):
    sim.faults = FaultPlan.parse("fail:service_error*1")
    [record_id] = studio.prepare([GenerationRequest("busy", model="z-image-turbo")])
    failed = await studio.run(record_id)
    assert failed.state == "failed"
    retry = studio.retry(failed)
    assert retry.action.kind == rules.NEW_TASK and retry.record_id != record_id
    fresh = studio.record(retry.record_id)
    assert fresh.idempotency_key != failed.idempotency_key and fresh.request == failed.request
    assert (await retry.job()).state == "completed" and sim.charges == 2


async def test_retry_downloads_what_is_not_on_disk_and_refuses_what_cannot_help(studio, sim):
    sim.faults = FaultPlan.parse("drop@download")
    [record_id] = studio.prepare([GenerationRequest("fragile", model="z-image-turbo")])
    first = await studio.run(record_id)
    assert first.state == "completed" and first.download_state == "failed"
    sim.faults = FaultPlan.parse("")
    retry = studio.retry(first)
    assert retry.action.kind == rules.DOWNLOAD
    assert (await retry.job()).download_state == "done" and sim.charges == 1
    done = studio.retry(studio.record(record_id))
    assert done.action.kind == rules.REFUSE and done.job is None


async def test_the_connection_names_the_task_whose_reads_fail(studio, sim):
    changes: list[ev.ConnectionChanged] = []
    studio.events.subscribe(lambda e: changes.append(e) if isinstance(e, ev.ConnectionChanged) else None)
    [record_id] = studio.prepare([GenerationRequest("storm", model="z-image-turbo")])
    runner = studio.ensure_runner()
    submitted = await runner.run(record_id, follow=False)
    sim.faults = FaultPlan.parse("503@poll*1")
    await runner.follow(record_id, submitted.as_task(), polls_done=0)
    offline = [c for c in changes if c.label]
    assert offline and offline[0].tasks == ((submitted.task_id, "offline, retrying"),)
    assert changes[-1] == ev.ConnectionChanged(None, ())  # the next good answer clears it
    assert studio.record(record_id).state == "completed"


async def test_recovery_says_what_it_picks_up_and_leaves_this_runs_tasks_alone(studio, sim):
    runner = studio.ensure_runner()
    earlier = runner.prepare(GenerationRequest("from before", model="z-image-turbo"))
    await runner.run(earlier, follow=False)
    cut = runner.prepare(GenerationRequest("cut off", model="z-image-turbo"))
    studio.history.mark_sending(cut)
    [mine] = studio.prepare([GenerationRequest("mine", model="z-image-turbo")])
    heard: list = []
    studio.events.subscribe(heard.append)
    summary = await studio.recover()
    [started] = [e for e in heard if isinstance(e, ev.RecoveryStarted)]
    assert started == ev.RecoveryStarted((earlier,), (), (cut,))
    assert isinstance(heard[-1], ev.RecoveryFinished) and set(heard[-1].record_ids) == {earlier, cut}
    assert studio.record(earlier).state == "completed" and studio.record(cut).state == "uncertain"
    assert studio.record(mine).state == "submitting" and mine not in {r.id for r in summary.records}
    assert sim.count("submit") == 1  # nothing resent on its own


async def test_a_view_that_raises_never_stops_a_task(studio, sim, isolated_env):
    reports = []
    studio.events.on_failure = reports.append

    def broken(event):
        raise ZeroDivisionError("a bug in a view")

    studio.events.subscribe(broken)
    [record_id] = studio.prepare([GenerationRequest("carry on", model="z-image-turbo")])
    final = await studio.run(record_id)
    assert final.state == "completed" and final.download_state == "done"
    assert len(reports) == 1 and isinstance(reports[0].error, ZeroDivisionError)
    assert "ZeroDivisionError: a bug in a view" in (isolated_env["state"] / "evolink-tui.log").read_text()


def scanned_totals(studio: Studio) -> tuple[float, int, int]:
    """The top bar's totals the slow way: every record looked at (the Studio keeps them as
    records change instead)."""
    records = studio.records
    spent = sum(charge(records[i]).credits or 0.0 for i in studio.session_ids if i in records)  # failed: 0
    running = sum(1 for r in records.values() if not r.is_finished and r.state != "uncertain")
    unsure = sum(1 for r in records.values() if studio.is_unsure(r))
    return spent, running, unsure


async def test_the_totals_kept_as_records_change_match_a_full_count_at_every_event(studio, sim):
    runner = studio.ensure_runner()
    earlier = runner.prepare(GenerationRequest("from before", model="z-image-turbo"))
    await runner.run(earlier, follow=False)  # an earlier run's task, still processing
    cut = runner.prepare(GenerationRequest("cut off", model="z-image-turbo"))
    studio.history.mark_sending(cut)  # an earlier run's submit, cut off
    seen: list[tuple[str, tuple, tuple]] = []
    studio.events.subscribe(lambda e: seen.append((type(e).__name__, tuple(studio.totals()), scanned_totals(studio))))
    await studio.load_history(0)
    assert studio.totals().running == 2 and studio.totals().unsure == 1  # both shown as they stand

    done, failing, lost, gone = studio.prepare([GenerationRequest(p, model="z-image-turbo") for p in "abcd"])
    assert tuple(studio.totals()) == scanned_totals(studio) and studio.totals().running == 6
    await studio.run(done)
    sim.faults = FaultPlan.parse("fail:service_error*1")
    assert (await studio.run(failing)).state == "failed"
    sim.faults = FaultPlan.parse("drop-after@submit")
    assert (await studio.run(lost)).state == "uncertain"
    sim.faults = FaultPlan.parse("")
    submitted = await runner.run(gone, follow=False)
    sim.tasks.clear()  # Evolink forgets the running tasks (this one and the earlier run's)
    assert (await studio.check(submitted.task_id)).state == "not_found"
    await studio.recover()  # the earlier task: gone; the cut-off submit: uncertain
    assert studio.record(earlier).state == "not_found" and studio.record(cut).state == "uncertain"
    mine = [studio.record(i) for i in (done, failing, lost, gone)]
    charged = sum(charge(r).credits or 0 for r in mine)  # the failed task's credits are not counted
    assert tuple(studio.totals()) == scanned_totals(studio) == (charged, 0, 2)
    resend = studio.retry(studio.record(lost))  # being resent: no longer unsure, with no event yet
    assert tuple(studio.totals()) == scanned_totals(studio) and studio.totals().unsure == 1
    await resend.job()

    mismatched = [(name, kept, counted) for name, kept, counted in seen if kept != counted]
    assert not mismatched, mismatched
    assert len(seen) > 20 and {kept[1] for _, kept, _ in seen} >= {0, 1, 2}
    final = studio.totals()
    assert tuple(final) == scanned_totals(studio) and final.running == 0 and final.unsure == 1
    assert final.spent == sum(charge(studio.record(r.id)).credits or 0 for r in mine) > 0


async def test_the_totals_version_moves_with_every_change_of_what_they_count(studio, sim):
    """The top bar counts again only when counts_version moves: each change of this run's
    records, of those in flight and of those dismissed moves it by itself, and a change made
    some other way is refused rather than left uncounted."""
    [record_id] = studio.prepare([GenerationRequest("a fox", model="z-image-turbo")])
    for change in (
        lambda: studio.in_flight.discard(record_id),
        lambda: studio.in_flight.add(record_id),
        lambda: studio.session_ids.discard(record_id),
        lambda: studio.session_ids.update([record_id]),
        lambda: studio.dismissed.add(record_id),
        lambda: studio.dismissed.clear(),
    ):
        before = studio.counts_version
        change()
        assert studio.counts_version != before
    before = studio.counts_version
    studio.in_flight.add(record_id)  # already there: nothing counted changes
    assert studio.counts_version == before
    with pytest.raises(TypeError):
        studio.in_flight |= {record_id + 1}
    assert record_id + 1 not in studio.in_flight
