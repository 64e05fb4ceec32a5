"""Asking before credits are spent by any key other than Generate.

Generate (ctrl+j) sends at once: it is the one key whose whole meaning is "spend". Every other
way to send a paid request (t on a failed task, resending an unsure submit) asks first, naming
the model, the number of images and what they are expected to cost, from what that model cost
this user before (:func:`evolink_tui.core.costs.model_stats`). The folder the results go to is
checked before anything is sent (:func:`evolink_tui.core.preflight.download_folder_problem`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.content import Content

from evolink_tui.core.costs import ModelStats, images_of, model_stats
from evolink_tui.core.errors import ValidationError
from evolink_tui.core.preflight import check_download_folder
from evolink_tui.core.text import inert

from .format import plain

if TYPE_CHECKING:
    from evolink_tui.core.history import TaskRecord

    from .app import EvolinkApp


def expected_credits(stats: ModelStats | None, n: int) -> str:
    """``about 12 credits (10-14)``, or why it is not known."""
    spread = stats.credits_for(n) if stats else None
    if spread is None:
        return "not known yet (no earlier runs of this model with credits)"
    text = f"about {spread.median:g} credits"
    if spread.low != spread.high:
        text += f" ({spread.low:g}-{spread.high:g})"
    return f"{text}, from {stats.runs} earlier run{'s' if stats.runs != 1 else ''}" if stats else text


async def stats_for(app: EvolinkApp, models: list[str]) -> dict[str, ModelStats]:
    """What each model cost this user before (read from the history in a thread)."""
    history = app.studio.history
    return await asyncio.to_thread(model_stats, history, models)


async def folder_problem(app: EvolinkApp, results: int) -> ValidationError | None:
    """Why results could not be saved in the download folder (nothing is sent then), or None."""
    folder = app.settings.download_dir
    try:
        await asyncio.to_thread(check_download_folder, folder, results=results)
    except ValidationError as err:
        return err
    return None


def refuse_for_folder(app: EvolinkApp, err: ValidationError) -> None:
    app.notify(
        f"Not sent: {inert(str(err))} Nothing was sent and nothing was charged.",
        title="Download folder",
        severity="error",
        markup=False,
        timeout=12,
    )


async def confirm_resend(app: EvolinkApp, record: TaskRecord, why: str, then: Callable[[], None]) -> None:
    """Ask before a retry that sends a paid request for ``record``; ``then`` runs on yes."""
    from .screens.confirm import ConfirmScreen

    n = images_of(record.request)
    stats = (await stats_for(app, [record.model])).get(record.model)
    body = Content.assemble(
        why,
        "\n\n",
        ("Model   ", "dim"),
        (plain(record.model, 60), "bold"),
        "\n",
        ("Images  ", "dim"),
        (str(n), "bold"),
        "\n",
        ("Credits ", "dim"),
        (expected_credits(stats, n), "bold"),
        "\n\nThis spends credits. Send it?",
    )

    def answered(yes: bool | None) -> None:
        if yes:
            then()
        else:
            app.notify("Not sent: nothing was charged.", markup=False, timeout=3)

    app.push_screen(ConfirmScreen("Send a paid request?", body, yes="Send", no="Cancel"), answered)
