"""The prompt in the user's own editor ($EDITOR), through ``App.suspend``.

While the editor runs, Textual hands the terminal over and the app waits (Textual's own
way: anything drawn meanwhile would land on the editor's screen); running tasks go on
polling as soon as the editor exits, and nothing they did is lost. In a browser
(``evolink-tui serve``) there is no terminal to hand over, so the key says so and does
nothing.
"""

from __future__ import annotations

from textual.app import App, SuspendNotSupported

from evolink_tui.core.editor import VARIABLES, EditorError, edit_text, editor_command

from .format import plain


def edit_prompt(app: App, text: str) -> str | None:
    """``text`` after the user edited it in their editor; None (with a notice saying why)
    when it was not edited."""
    if app.is_web:
        app.notify(
            "The editor cannot open in a browser session: it would run on the server, out of sight. "
            "Write or paste the prompt here.",
            title="No editor here",
            severity="warning",
            markup=False,
        )
        return None
    try:
        command = editor_command()
    except EditorError as exc:
        app.notify(plain(exc, 300), title="No editor", severity="error", markup=False)
        return None
    if command is None:
        app.notify(
            f"No editor set: set {', '.join(VARIABLES[:-1])} or {VARIABLES[-1]} (for example EDITOR=vim).",
            title="No editor",
            severity="warning",
            markup=False,
        )
        return None
    try:
        with app.suspend():
            edited = edit_text(text, command)
    except SuspendNotSupported:
        app.notify(
            "This terminal cannot be handed over to an editor.", title="No editor", severity="warning", markup=False
        )
        return None
    except EditorError as exc:
        app.notify(f"The prompt is unchanged: {plain(exc, 300)}", title="Editor", severity="error", markup=False)
        return None
    if edited is None:
        app.notify(
            f"{plain(command[0])} exited with an error: the prompt is unchanged.",
            title="Editor",
            severity="warning",
            markup=False,
        )
    return edited
