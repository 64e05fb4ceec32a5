"""The first hour of a new user (issue 12's app points, issue 11's app wiring): keys that never
spend by accident, the download folder checked before a paid submit, the demo's own folder,
times and credits told truthfully. Each test drives the app on the demo simulator."""

from __future__ import annotations

import os
from pathlib import Path

from evolink_tui.simulator import FakeClock, FaultPlan
from evolink_tui.tui.screens.confirm import ConfirmScreen
from evolink_tui.tui.widgets.tasklist import TaskList

from .helpers import START, demo_app, finished, screen_text, type_text, wait_until


def submits(app) -> int:
    return app.studio.client.simulator.state.sim.count("submit")


# -- issue 11 point 8: the download folder is checked before anything is paid for -----------------


async def test_generate_refuses_when_the_download_folder_is_a_file(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    monkeypatch.setenv("EVOLINK_DOWNLOAD_DIR", str(blocker))
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.studio.client is not None, what="client")
        await type_text(pilot, "a paid lighthouse")
        await pilot.press("ctrl+j")
        await wait_until(
            pilot, lambda: any(n.title == "Download folder" and "Not sent" in n.message for n in app.notes)
        )
        note = next(n for n in app.notes if n.title == "Download folder" and "Not sent" in n.message)
        assert str(blocker) in note.message and "is a file, not a folder" in note.message
        assert "nothing was charged" in note.message
        assert submits(app) == 0 and not app.studio.records  # nothing sent, nothing recorded
        assert app.main.composer.prompt == "a paid lighthouse"  # nothing typed is lost


# -- issue 12 point 5: a retry that spends credits asks first ---------------------------------------


async def test_t_on_a_failed_task_asks_with_model_n_and_expected_credits_before_sending():
    app = demo_app(faults="fail:service_error@submit*1")
    async with app.run_test(size=(100, 30)) as pilot:
        # one run of the model first, so its price is known
        await type_text(pilot, "a first castle")
        await pilot.press("ctrl+j")
        await wait_until(pilot, finished(app), what="first task")
        # (the fault plan's one failure went to the first submit only if it was the first: check)
        failed = [r for r in app.studio.records.values() if r.state == "failed"]
        assert failed, "the simulator's fault should fail the first submit"
        app.main.tasks.select(failed[0].id)
        app.main.query_one(TaskList).focus()
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        text = screen_text(app)
        assert "gpt-image-1.5" in text and "Images  1" in text and "Credits" in text
        assert "spends credits" in text
        before = submits(app)
        await pilot.press("escape")
        await pilot.pause()
        assert submits(app) == before and len(app.studio.records) == 1  # cancelled: nothing sent
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question again")
        await pilot.press("y")
        await wait_until(pilot, lambda: len(app.studio.records) == 2 and finished(app, 2)(), what="the retry")
        assert submits(app) == before + 1


async def test_the_question_names_what_the_model_cost_before():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_text(pilot, "a priced castle")
        await pilot.press("ctrl+j")
        await wait_until(pilot, finished(app), what="a completed task")
        [done] = app.studio.records.values()
        assert done.credits
        app.studio.client.simulator.state.sim.faults = FaultPlan.parse("fail:service_error@submit*1")
        await pilot.press("ctrl+j")
        await wait_until(pilot, lambda: any(r.state == "failed" for r in app.studio.records.values()), what="fail")
        failed = next(r for r in app.studio.records.values() if r.state == "failed")
        app.main.tasks.select(failed.id)
        app.main.query_one(TaskList).focus()
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        assert f"about {done.credits:g} credits, from 1 earlier run" in screen_text(app)


# -- core/timing: a task checked by id has no made-up time --------------------------------------------


async def test_a_task_checked_by_id_shows_no_made_up_time(isolated_env):
    from evolink_tui.core.history import history_path
    from evolink_tui.tui.screens.check import CheckTaskScreen
    from evolink_tui.tui.widgets.preview import ResultCard

    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_text(pilot, "timed")
        await pilot.press("ctrl+j")
        await wait_until(pilot, finished(app), what="done")
        [record] = app.studio.records.values()
        task_id = record.task_id
        path = history_path(app.settings)
    for leftover in path.parent.glob(path.name + "*"):  # another machine: the demo server knows it, we do not
        leftover.unlink()
    other = demo_app(FakeClock(START + 3600))  # an hour later
    async with other.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: other.studio.client is not None, what="client")
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(other.screen, CheckTaskScreen), what="check dialog")
        await type_text(pilot, task_id)
        await pilot.press("enter")
        await wait_until(pilot, lambda: any(r.files for r in other.studio.records.values()), what="checked")
        await wait_until(pilot, lambda: bool(other.main.query(ResultCard)), what="its card")
        text = screen_text(other)
        assert "0.0s" not in text and "— · " in text


# -- the demo's own folder when "continue in demo mode" is chosen ------------------------------------


async def test_continue_in_demo_mode_keeps_demo_results_out_of_the_real_folder(isolated_env, monkeypatch):
    real = isolated_env["downloads"]
    monkeypatch.delenv("EVOLINK_DOWNLOAD_DIR")
    config = Path(os.environ["EVOLINK_TUI_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'download_dir = "{real}"\n')
    monkeypatch.setenv("XDG_PICTURES_DIR", str(isolated_env["downloads"].parent / "Pictures"))
    app = demo_app(demo=False)
    async with app.run_test(size=(100, 30)) as pilot:
        from evolink_tui.tui.screens.key import KeyScreen

        await wait_until(pilot, lambda: isinstance(app.screen, KeyScreen), what="the key dialog")
        assert app.settings.download_dir == real
        await pilot.click("#demo")
        await wait_until(pilot, lambda: app.settings.demo, what="demo mode")
        assert app.settings.download_dir != real
        assert app.settings.download_dir.name == "evolink-demo"


# -- issue 11 point 10: a config file with the key that others can read: offered a fix ----------------


async def test_a_config_file_readable_by_others_is_offered_a_fix_at_start(isolated_env):
    config = Path(os.environ["EVOLINK_TUI_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('api_key = "sk-readable0000000000000000"\n')
    config.chmod(0o644)
    app = demo_app(demo=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the offer")
        text = screen_text(app)
        assert "other users can read" in text and "0600" in text
        assert "sk-readable" not in text  # the key itself is never shown
        await pilot.press("y")
        await wait_until(pilot, lambda: (config.stat().st_mode & 0o777) == 0o600, what="the mode fixed")
        await wait_until(pilot, lambda: any("readable only by you" in n.message for n in app.notes), what="said")


# -- issue 12 point 15: the key bar behind a modal says what t does on the panel -----------------------


async def test_the_key_bar_behind_a_modal_keeps_the_panels_meaning_of_t():
    from evolink_tui.tui.screens.sidecar import SidecarScreen

    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_text(pilot, "a done castle")
        await pilot.press("ctrl+j")
        await wait_until(pilot, finished(app), what="done")
        app.main.query_one(TaskList).focus()
        await pilot.pause()
        assert "t Retry" in screen_text(app).splitlines()[-1]
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, SidecarScreen), what="the sidecar")
        await pilot.pause()
        bar = screen_text(app).splitlines()[-1]
        assert "t Retry" in bar and "Resend same key" not in bar


# -- issue 12 points 14 and 20: the reference list --------------------------------------------------------


async def test_tab_onto_the_references_highlights_one_and_delete_removes_it_shown_by_file_name(tmp_path):
    from PIL import Image

    paths = []
    for name in ("first-reference.png", "second-reference.png"):
        path = tmp_path / "a" / "very" / "long" / "folder" / "path" / "that" / "would" / "hide" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (32, 32), (10, 200, 10)).save(path)
        paths.append(str(path))
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        composer = app.main.composer
        for path in paths:
            composer.add_reference(path)
        await pilot.pause()
        text = screen_text(app)
        assert "first-reference.png" in text and "second-reference.png" in text  # names, not path starts
        app.main.focus_reference_input()
        await pilot.press("tab")
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "refs"
        await pilot.press("delete")
        await wait_until(pilot, lambda: len(composer.references) == 1, what="one removed")
        assert composer.references == [paths[1]]


# -- issue 12 point 4: keys typed with focus on the task list ---------------------------------------------


async def test_typing_with_focus_on_the_task_list_goes_to_the_prompt():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_text(pilot, "x")
        await pilot.press("ctrl+j")
        await wait_until(pilot, finished(app), what="a task in the list")
        app.main.composer.set_prompt("")
        await pilot.press("escape")  # the focus moves to the task list (unnoticed)
        await pilot.pause()
        assert app.focused is app.main.tasks
        assert "typing goes to the prompt" in screen_text(app)  # the panel says what its keys do
        await type_text(pilot, "a frog in the rain")
        await pilot.pause()
        assert app.main.composer.prompt == "a frog in the rain"
        assert app.main.composer.references == []  # f did not add a reference
        assert len(app.studio.records) == 1
        app.main.tasks.focus()
        await pilot.pause()
        for key in "; a frog":  # the same as one burst (tmux send-keys): nothing waits between keys
            app.simulate_key(key)
        await wait_until(pilot, lambda: app.main.composer.prompt.endswith("; a frog"), what="the burst")
        assert app.main.composer.references == [] and len(app.studio.records) == 1


async def test_regenerate_over_a_written_prompt_can_be_undone():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_text(pilot, "an old prompt")
        await pilot.press("ctrl+j")
        await wait_until(pilot, finished(app), what="a task in the list")
        app.main.composer.set_prompt("")
        await type_text(pilot, "a long new prompt I care about")
        app.main.tasks.focus()
        await pilot.press("r")
        await wait_until(pilot, lambda: app.main.composer.prompt == "an old prompt", what="refilled")
        assert any("ctrl+z brings back" in n.message for n in app.notes)
        await wait_until(pilot, lambda: app.focused is not None and app.focused.id == "prompt", what="prompt")
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert app.main.composer.prompt == "a long new prompt I care about"


# -- issue 12 point 7: a task can be dismissed from the list (undoable) --------------------------------------


async def test_a_running_task_dismissed_leaves_the_list_and_the_running_count_and_comes_back():
    from .helpers import StepClock

    clock = StepClock()
    app = demo_app(clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await type_text(pilot, "a stuck one")
        await pilot.press("ctrl+j")
        await wait_until(pilot, lambda: any(r.task_id for r in app.studio.records.values()), what="submitted")
        [record_id] = app.studio.records
        await wait_until(pilot, lambda: "1 running" in app.main.topbar.render().plain, what="running")
        app.main.tasks.focus()
        await pilot.press("x")
        await pilot.pause()
        assert app.main.tasks.record(record_id) is None and app.main.tasks.row_count == 0
        assert "running" not in app.main.topbar.render().plain
        assert app.studio.history.get(record_id) is not None  # the history keeps it
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert app.main.tasks.record(record_id) is not None and app.main.tasks.row_count == 1
        assert "1 running" in app.main.topbar.render().plain


async def _dismissed_then_restarted(undo: bool) -> tuple[int, str, bool]:
    """Submit a task that keeps running, dismiss it (and undo if asked), quit; start the app
    again on the same data dir: (record id, the top bar, whether the row is listed)."""
    from .helpers import StepClock

    app = demo_app(StepClock())
    async with app.run_test(size=(100, 30)) as pilot:
        await type_text(pilot, "a stuck one")
        await pilot.press("ctrl+j")
        await wait_until(pilot, lambda: any(r.task_id for r in app.studio.records.values()), what="submitted")
        [record_id] = app.studio.records
        app.main.tasks.focus()
        await pilot.press("x")
        await wait_until(pilot, lambda: app.main.tasks.record(record_id) is None, what="dismissed")
        if undo:
            await pilot.press("ctrl+z")
            await wait_until(pilot, lambda: app.main.tasks.record(record_id) is not None, what="back")
    again = demo_app(StepClock())
    async with again.run_test(size=(100, 30)) as pilot:
        await wait_until(
            pilot,
            lambda: record_id in again.studio.records and again.main.ready,
            what="the history read again",
        )
        await pilot.pause()
        return record_id, again.main.topbar.render().plain, again.main.tasks.record(record_id) is not None


async def test_a_dismissed_task_stays_dismissed_after_a_restart_and_is_not_counted_as_running():
    record_id, topbar, listed = await _dismissed_then_restarted(undo=False)
    assert not listed
    assert "running" not in topbar


async def test_a_dismiss_undone_before_the_restart_is_listed_and_running_after_it():
    record_id, topbar, listed = await _dismissed_then_restarted(undo=True)
    assert listed
    assert "1 running" in topbar


# -- issue 12 points 6, 8, 9: the picker ------------------------------------------------------------------


async def open_picker(pilot):
    from evolink_tui.tui.screens.picker import ModelPicker

    await wait_until(pilot, lambda: pilot.app.studio.client is not None, what="client")
    await pilot.press("f2")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ModelPicker), what="the picker")
    return pilot.app.screen


async def test_the_picker_shows_all_20_models_at_100x30_with_the_highlighted_ones_details():
    from evolink_tui.core.catalogue import load_catalogue

    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_picker(pilot)
        await pilot.pause()
        text = screen_text(app)
        for model in load_catalogue():
            assert f" {model.id} " in text, model.id
        assert "BETA" in text and "STABLE" in text
        assert "n 1-4" in text and "reference images" in text  # the highlighted model's details
        await wait_until(pilot, lambda: "Your runs: no runs yet" in screen_text(app), what="its history")


async def test_a_burst_of_fast_down_space_marks_the_model_and_space_marks_from_the_filter():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        picker = await open_picker(pilot)
        # one burst, as a paste or tmux send-keys delivers it: nothing waits between the keys
        for key in ("f", "a", "s", "t", "down", "space"):
            app.simulate_key(key)
        await wait_until(pilot, lambda: bool(picker._marked), what="a mark")
        first_fast = next(m.id for m in load_fast())
        assert picker._marked == {first_fast}
        assert picker.query_one("#filter").value == "fast"
        picker.query_one("#filter").focus()
        await pilot.pause()
        await pilot.press("space")  # with the filter focused: marks (toggles) the highlighted model
        await pilot.pause()
        assert picker._marked == set() and picker.query_one("#filter").value == "fast"


def load_fast():
    from evolink_tui.core.catalogue import load_catalogue

    return load_catalogue().filter("fast")


async def test_the_picker_and_composer_say_what_a_model_cost_before():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_text(pilot, "a priced fox")
        await pilot.press("ctrl+j")
        await wait_until(pilot, finished(app), what="a completed task")
        [done] = app.studio.records.values()
        await wait_until(pilot, lambda: f"≈{done.credits:g} cr" in screen_text(app), what="the composer's cost line")
        await open_picker(pilot)
        await wait_until(pilot, lambda: f"Your runs: {done.credits:g} credits/image" in screen_text(app), what="cost")


async def test_help_stays_on_the_key_bar_at_80x24():
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.studio.client is not None, what="client")
        await pilot.pause()
        assert "f1 Help" in screen_text(app).splitlines()[-1]


async def test_the_composer_shows_how_many_references_the_model_takes():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        composer = app.main.composer
        composer.set_models(["qwen-image-edit"])
        await pilot.pause()
        assert "needs 1+" in screen_text(app)
        composer.set_models(["gemini-3-pro-image-preview"])
        await pilot.pause()
        assert "No reference images" in screen_text(app)


# -- issue 12 point 18: failed tasks are not counted as spent --------------------------------------------


async def test_credits_this_run_count_what_was_charged_and_failed_tasks_apart():
    app = demo_app(faults="fail:service_error*1")
    async with app.run_test(size=(100, 30)) as pilot:
        await type_text(pilot, "first fails")
        await pilot.press("ctrl+j")
        await wait_until(pilot, finished(app), what="the failed task")
        await pilot.press("ctrl+j")
        await wait_until(pilot, finished(app, 2), what="the completed task")
        failed = next(r for r in app.studio.records.values() if r.state == "failed")
        done = next(r for r in app.studio.records.values() if r.state == "completed")
        assert failed.credits and done.credits  # both reserved credits when accepted
        await wait_until(pilot, lambda: "credits this run" in app.main.topbar.render().plain, what="bar")
        bar = app.main.topbar.render().plain
        assert f"credits this run: {done.credits:g} (+1 failed, not charged)" in bar
        row = app.main.tasks.row_text(failed.id)
        assert row is not None and row[2].splitlines()[1].startswith("0 ·")


# -- issue 12 point 6: the upload dialog filled by one burst ---------------------------------------------


async def test_a_burst_of_path_tab_name_fills_both_upload_fields(tmp_path):
    from textual.widgets import Input

    from evolink_tui.tui.screens.files import FilesScreen
    from evolink_tui.tui.screens.upload import UploadScreen

    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.studio.client is not None, what="client")
        await pilot.press("f5")
        await wait_until(pilot, lambda: isinstance(app.screen, FilesScreen), what="files")
        await pilot.press("u")
        await wait_until(pilot, lambda: isinstance(app.screen, UploadScreen), what="the upload dialog")
        dialog = app.screen
        await pilot.pause()
        path = str(tmp_path / "cat.png")
        for key in [*path, "tab", *"kitty.png"]:  # one burst: nothing waits between the keys
            app.simulate_key(key)
        await wait_until(pilot, lambda: dialog.query_one("#upload-name", Input).value == "kitty.png", what="name")
        assert dialog.query_one("#upload-source", Input).value == path


# -- issue 12 point 19: notifications grouped, short, off the results -------------------------------------


async def test_a_comparison_run_says_saved_once_and_the_toast_leaves_the_results_visible():
    app = demo_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await type_text(pilot, "two lighthouses")
        app.main.composer.set_models(["gpt-image-1.5", "z-image-turbo"])
        await pilot.press("ctrl+j")
        await wait_until(pilot, finished(app, 2), what="both done")
        await wait_until(pilot, lambda: any(n.message.startswith("Saved") for n in app.notes), what="saved")
        await pilot.pause()
        saved = [n for n in app.notes if n.message.startswith("Saved")]
        assert len(saved) == 1 and "2 images from 2 models" in saved[0].message
        lines = screen_text(app).splitlines()
        shown = [i for i, line in enumerate(lines) if "Saved 2 images" in line]
        assert shown and max(shown) < len(lines) // 2  # at the top: the new results below stay visible


# -- issue 12 point 16: no text cut at 100x30 --------------------------------------------------------------


async def test_the_check_dialog_says_its_whole_sentence_at_100x30():
    from evolink_tui.tui.screens.check import CheckTaskScreen

    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.studio.client is not None, what="client")
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, CheckTaskScreen), what="the dialog")
        await pilot.pause()
        assert "is followed to the end." in screen_text(app)


async def test_a_full_quota_says_what_to_do_in_full_at_100x30():
    from evolink_tui.tui.screens.files import FilesScreen

    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.studio.client is not None, what="client")
        app.studio.client.simulator.state.sim.max_files = 0
        await pilot.press("f5")
        await wait_until(pilot, lambda: isinstance(app.screen, FilesScreen), what="files")
        await wait_until(pilot, lambda: "full: delete files to upload more" in screen_text(app), what="the whole line")
