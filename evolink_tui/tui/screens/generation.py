"""Generating and retrying, as the main screen runs them.

:class:`Generation` belongs to the main screen (``main.generation``): send what the composer
holds (validated and recorded by the Studio, then one worker on the App per task), retry a
task the way the Studio says is safe, check any task by id, show a task found in the history
search (with the rest of its comparison run), refill the composer to regenerate one, and use
a result as a reference.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from evolink_tui.core.errors import ValidationError
from evolink_tui.core.history import TaskRecord
from evolink_tui.core.rules import CHECK, NEW_TASK, RESEND

from ..format import plain, short_problem

if TYPE_CHECKING:
    from evolink_tui.core.validation import GenerationRequest

    from ..app import EvolinkApp
    from .main import MainScreen


class Generation:
    """The main screen's generation flows (see the module docstring)."""

    def __init__(self, screen: MainScreen) -> None:
        self.screen = screen
        self._select_task_id: str | None = None  # "check task by id": select it when it arrives

    @property
    def app(self) -> EvolinkApp:
        return self.screen.app

    def wanted(self, record: TaskRecord) -> bool:
        """Whether ``record`` is the task checked by id a moment ago (then it is selected, once)."""
        if self._select_task_id is None or record.task_id != self._select_task_id:
            return False
        self._select_task_id = None
        return True

    async def generate(self) -> None:
        """Validate, check the download folder (in a thread), record and start each request
        (several: a comparison run). Never blocks."""
        from ..spend import folder_problem, refuse_for_folder

        composer = self.screen.composer
        composer.mark_tried()
        requests = composer.requests()
        if not requests or self.app.needs_key():
            return
        if (problem := await folder_problem(self.app, sum(r.n or 1 for r in requests))) is not None:
            refuse_for_folder(self.app, problem)
            return
        from .. import batch_flow

        if batch_flow.has_variants(requests[0].prompt):  # a matrix: planned first, sent once confirmed
            batch_flow.open_plan(self.app, requests)
            return
        batch_flow.check_budget(self.app, requests, lambda: self._send(requests))

    def _send(self, requests: list[GenerationRequest]) -> None:
        composer = self.screen.composer
        try:
            record_ids = self.app.studio.prepare(requests, parent=self.screen.iterating.parent_for(requests))
        except ValidationError as err:
            composer.show_problem(short_problem(err))
            self.screen.notify(f"Not sent. {err}", severity="error", markup=False)
            return
        for position, record_id in enumerate(record_ids):
            self._start(record_id, select=position == 0)

    def _start(self, record_id: int, *, select: bool = False) -> None:
        studio = self.app.studio
        record = studio.record(record_id)
        if record is not None:
            self.screen.show_record(record, select=select)
            self.screen.update_totals()
        self.app.start(studio.run(record_id), name=f"task {record_id}")

    def retry(self, record: TaskRecord) -> None:
        """Retry the way that is safe for the record's state (the Studio decides). One that
        sends a paid request asks first (model, n, expected credits), then checks the folder."""
        if self.app.needs_key():
            return
        if self.app.studio.retry_action(record).kind in (NEW_TASK, RESEND):
            from ..spend import confirm_resend

            why = self.app.studio.retry_action(record).reason
            self.app.call_later(
                confirm_resend, self.app, record, why, lambda: self.app.call_later(self._paid_retry, record)
            )
            return
        self._retry_now(record)

    async def _paid_retry(self, record: TaskRecord) -> None:
        from evolink_tui.core.costs import images_of

        from ..spend import folder_problem, refuse_for_folder

        if (problem := await folder_problem(self.app, images_of(record.request))) is not None:
            refuse_for_folder(self.app, problem)
            return
        self._retry_now(record)

    def _retry_now(self, record: TaskRecord) -> None:
        try:
            retry = self.app.studio.retry(record)
        except ValidationError as err:
            self.screen.notify(f"Cannot retry: {err}", severity="error", markup=False)
            return
        action = retry.action
        self.screen.notify(
            action.reason,
            severity="warning" if action.warning else "information",
            timeout=8 if action.warning else None,
            markup=False,
        )
        if retry.job is None:
            return
        fresh = self.app.studio.record(retry.record_id)
        if fresh is not None:
            self.screen.show_record(fresh, select=True)
        name = f"check {record.task_id}" if action.kind == CHECK else f"task {retry.record_id}"
        self.app.start(retry.job(), name=name)

    def resend_uncertain(self) -> None:
        """The palette's "Resend uncertain submit": the selected one, or show where one is."""
        screen, studio = self.screen, self.app.studio
        found = screen.current_result()
        if found and studio.is_unsure(found[0]):
            self.retry(found[0])
            return
        waiting = sorted((r.id for r in studio.records.values() if studio.is_unsure(r)), reverse=True)
        if not waiting:
            screen.notify("No uncertain submits: the outcome of every request is known.", markup=False)
            return
        screen.tasks.select(waiting[0])
        screen.tasks.focus()
        screen.notify(
            f"Selected task #{waiting[0]}: nobody knows whether its submit reached Evolink. Press t to resend "
            f"it with its own key (never a double charge). Uncertain submits: {len(waiting)}.",
            markup=False,
            timeout=8,
        )

    def check_task(self, task_id: str) -> None:
        """Add any task id to the list and follow it."""
        if self.app.needs_key():
            return
        self._select_task_id = task_id.strip()
        self.app.start(self.app.studio.check(task_id), name=f"check {task_id}")

    async def reveal(self, record: TaskRecord, *, retry: bool = False) -> None:
        """Show a task from the history search in the task list and the preview (with the
        rest of its comparison run), selected; ``retry``: then retry it (t)."""
        screen = await self.app.back_to_main()
        found = self.app.studio.reveal(record.id) or [record]
        for sibling in found[:-1]:
            screen.show_record(sibling)
        screen.show_record(found[-1], select=True)
        screen.update_totals()
        screen.tasks.focus()
        if retry:
            self.retry(found[-1])

    async def regenerate(self, record: TaskRecord) -> None:
        """The composer refilled with exactly the record's settings."""
        screen = await self.app.back_to_main()
        replaced = screen.composer.fill(record.generation_request())
        screen.iterating.forget()
        screen.focus_prompt()
        undo = " ctrl+z brings back the prompt you had." if replaced else ""
        screen.notify(
            f"Composer refilled with task #{record.id}'s settings: change anything, then ctrl+j.{undo}", markup=False
        )

    async def use_as_reference(self, ref: str) -> None:
        """A result (its file, else its URL) added to the composer's reference images."""
        screen = await self.app.back_to_main()
        if screen.composer.add_reference(ref):
            screen.notify(f"Added as a reference image: {plain(Path(ref).name)}", markup=False)
            screen.focus_reference_input()
