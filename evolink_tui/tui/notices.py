"""What an event says in a notification (a toast), if anything.

The text is plain: the app passes it to ``notify(..., markup=False)``; server strings are
made inert here first. :class:`Notices` remembers the little it needs to say things once
(offline, per task).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from evolink_tui.core.errors import describe
from evolink_tui.core.text import inert
from evolink_tui.core.validation import human_size

from .format import plain

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

    from evolink_tui.core.bus import ListenerFailure
    from evolink_tui.core.studio import Studio


class Notice(NamedTuple):
    text: str
    title: str
    severity: SeverityLevel = "information"
    timeout: float = 5.0
    saved: int = 0  # images a task saved: such notices are said together in a wave (see Wave)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def startup_notice(unfinished: int, downloads: int, uncertain: int) -> Notice | None:
    """What one notification says about what an earlier run left, if anything."""
    lines = []
    if unfinished or downloads:
        parts = []
        if unfinished:
            parts.append(f"{_plural(unfinished, 'task')} followed again")
        if downloads:
            parts.append(f"{_plural(downloads, 'result set')} to download")
        lines.append("Picking up where the last run stopped: " + ", ".join(parts) + ".")
    if uncertain:
        one = uncertain == 1
        lines.append(
            f"{_plural(uncertain, 'submit')} may or may not have reached Evolink (unsure). "
            f"{'It is' if one else 'They are'} never resent on {'its' if one else 'their'} own: "
            "select one and press t to resend it with its own key (never a double charge)."
        )
    if not lines:
        return None
    return Notice("\n".join(lines), "Recovering", "warning" if uncertain else "information", 12)


def listener_failed(failure: ListenerFailure) -> Notice:
    """A view raised while showing an event: said once, the updates go on (logged)."""
    where = f" Details in {failure.log}." if failure.log else ""
    text = f"A view failed to show an update ({failure.event}: {failure.error!r}); updates go on.{where}"
    return Notice(text, "Something went wrong", "error", 15)


class Notices:
    """The notifications of the Studio's events."""

    def __init__(self, studio: Studio) -> None:
        self.studio = studio
        self._warned_offline: set[int] = set()  # "offline, retrying" once per task is enough
        self._saved_groups: set[str] = set()  # comparison runs whose "Saved" was said

    def for_event(self, event: object) -> list[Notice]:
        from evolink_tui.core import events as ev

        match event:
            case ev.TaskEvent(record_id=record_id):
                record = self.studio.record(record_id)
                return [] if record is None else self._task(event, plain(record.model))
            case ev.RecoveryStarted(unfinished=unfinished, downloads=downloads, uncertain=uncertain):
                notice = startup_notice(len(unfinished), len(downloads), len(uncertain))
                return [notice] if notice else []
            case ev.FolderUnwritable(folder=folder, problem=problem):
                return [
                    Notice(
                        f"Results cannot be saved to the download folder {inert(folder)}: {inert(problem)}. Tasks "
                        "are still recorded; their results are downloaded once the folder is fixed (t, or the next "
                        "start). --download-dir or EVOLINK_DOWNLOAD_DIR picks another.",
                        "Download folder",
                        "error",
                        15,
                    )
                ]
            case ev.FilesListFailed(error=error):
                return [Notice(inert(describe(error)), "Could not read the files", "error", 10)]
            case ev.FileUploaded(info=info):
                return [
                    Notice(
                        f"Uploaded {plain(info.name, 80)} ({human_size(info.file_size)}) as {plain(info.file_id)}. "
                        "It is deleted 72 hours after upload.",
                        "Files",
                    )
                ]
            case ev.UploadFailed(spec=spec, error=error):
                return [Notice(inert(describe(error)), f"Upload failed: {plain(spec.label, 60)}", "error", 12)]
            case ev.FilesDeleted(deleted=deleted, failed=failed):
                shown = [Notice(f"Deleted {_plural(len(deleted), 'file')}.", "Files")] if deleted else []
                for info, error in failed:
                    shown.append(Notice(inert(describe(error)), f"Not deleted: {plain(info.name, 60)}", "error", 12))
                return shown
        return []

    def _saved(self, record_id: int, count: int, name: str) -> list[Notice]:
        """ "Saved": once per comparison run (when its last task is done), short."""
        folder = plain(self.studio.settings.download_dir.name or self.studio.settings.download_dir)
        record = self.studio.record(record_id)
        group = self.studio.group_records(record) if record is not None else []
        if len(group) > 1 and record is not None and record.group_id:
            if record.group_id in self._saved_groups or not all(r.is_finished and not r.needs_download for r in group):
                return []  # the run's last download says it for all, once
            self._saved_groups.add(record.group_id)
            count = sum(len(r.files) for r in group)
            return [Notice(f"Saved {_plural(count, 'image')} from {len(group)} models to …/{folder}", "Comparison")]
        return [Notice(f"Saved {_plural(count, 'image')} to …/{folder}", name, timeout=4, saved=count)]

    def _task(self, event: object, name: str) -> list[Notice]:
        from evolink_tui.core import events as ev

        match event:
            case ev.TaskFailed(error=error):
                advice = (
                    "A retry may help: press t." if error.retryable else f"Retrying will not help: {error.resolution}"
                )
                return [Notice(f"{inert(error.summary())}\n{advice}", f"Task failed: {name}", "error", 8)]
            case ev.TaskTimedOut(notice=notice):
                return [Notice(inert(notice), name, "warning", 10)]
            case ev.SubmitUncertain(error=error) if error.code != "interrupted":  # those: the startup notice
                return [
                    Notice(
                        "Not sure the request reached the server. Press t to resend it with its own key "
                        "(never a double charge).",
                        name,
                        "warning",
                        10,
                    )
                ]
            case ev.TaskOffline(record_id=record_id, error=error):
                if record_id in self._warned_offline:
                    return []
                self._warned_offline.add(record_id)
                return [Notice(f"Offline, retrying. {inert(error.summary())}", name, "warning")]
            case ev.TaskGone(error=error):
                return [
                    Notice(f"{inert(error.summary())}\n{inert(error.resolution)}", f"Task gone: {name}", "error", 10)
                ]
            case ev.ResumeFailed(error=error):
                later = "The next start tries again." if error.retryable else "The record is kept."
                return [Notice(f"Could not resume this task: {inert(error.summary())}. {later}", name, "warning")]
            case ev.TaskFinished(downloads=downloads):
                failed = [d.error for d in downloads if not d.ok and d.error is not None]
                if failed:
                    return [Notice(inert(failed[0].explain()), f"Download failed: {name}", "error", 8)]
                if downloads:
                    return self._saved(event.record_id, len(downloads), name)
        return []

    def saved_together(self, notices: list[Notice]) -> Notice:
        """One notice for the results several tasks saved."""
        if len(notices) == 1:
            return notices[0]
        images = sum(notice.saved for notice in notices)
        folder = plain(self.studio.settings.download_dir)
        return Notice(f"Saved {_plural(images, 'image')} of {len(notices)} tasks to {folder}", "Tasks", timeout=8)


class Wave:
    """Notices of saved results said together when they come in a wave (200 tasks finishing
    at once): the first at once, then those that follow in one notice once none has come for
    ``quiet`` seconds (the wave is over), or every ``longest`` seconds while they keep coming.
    Every notification is a widget mounted on the screen and laid out again when it goes, a
    frame of the whole screen each (16-40 ms while results arrive): one a task made typing lag,
    and one every few seconds still made a key now and then wait for one. Meanwhile the top
    bar counts the tasks still running. Other notices are shown as they come.

    ``show`` shows a notice; ``later(seconds, callback)`` calls back (the App's ``set_timer``)."""

    def __init__(
        self,
        show: Callable[[Notice], object],
        later: Callable[[float, Callable[[], None]], object],
        together: Callable[[list[Notice]], Notice],
        quiet: float = 1.0,
        longest: float = 30.0,
    ) -> None:
        self._show, self._later, self._together = show, later, together
        self._quiet, self._longest = quiet, longest
        self._open = False  # a wave goes on: what is saved is gathered
        self._fresh = False  # something was gathered since the last look
        self._waited = 0.0  # seconds since the wave began or was last said
        self._gathered: list[Notice] = []

    @property
    def idle(self) -> bool:
        """No wave going on: nothing gathered waits to be said."""
        return not self._open and not self._gathered

    def add(self, notice: Notice) -> None:
        if not notice.saved:
            self._show(notice)
        elif self._open:
            self._gathered.append(notice)
            self._fresh = True
        else:
            self._open, self._fresh, self._waited = True, False, 0.0
            self._show(notice)
            self._later(self._quiet, self._look)

    def _look(self) -> None:
        self._waited += self._quiet
        coming, self._fresh = self._fresh, False
        if coming and self._waited < self._longest:
            self._later(self._quiet, self._look)  # still coming: said once they stop
            return
        gathered, self._gathered = self._gathered, []
        if gathered:
            self._show(self._together(gathered))
        if coming:  # a long wave: said now, and the wave goes on
            self._waited = 0.0
            self._later(self._quiet, self._look)
        else:
            self._open = False
