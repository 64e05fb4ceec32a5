"""The command palette (ctrl+p): every action by a name that starts with a verb."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

# (name, help, action). "app." actions run on the App; "files:" ones on the files screen
# (opened first if needed); the others on the current screen when it has them (the
# gallery acts on its own selection), else on the main screen.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("Generate", "Send the prompt to the marked model(s) (ctrl+j)", "generate"),
    ("Pick models", "Choose a model, or mark several for a comparison run (F2)", "pick_models"),
    ("Check task by ID", "Add any task id to the task list and follow it (F3)", "check_task"),
    ("Open gallery", "Every downloaded result as thumbnails (F4)", "app.open_gallery"),
    ("Open files", "The file quota and every uploaded file (F5)", "app.open_files"),
    ("Upload file", "Upload a local image or a URL through the Files API (u on the files screen)", "files:upload_file"),
    ("Delete selected files", "Delete the marked files, or the chosen one, after asking (d)", "files:delete_files"),
    (
        "Use file as reference",
        "Add the chosen file's URL to the composer's reference images (f)",
        "files:use_file_as_reference",
    ),
    ("Use file as mask", "Set the chosen PNG as the composer's mask, gpt-4o-image only (m)", "files:use_file_as_mask"),
    ("Copy file URL", "Copy the chosen file's URL to the clipboard (c)", "files:copy_file_url"),
    ("Make mask", "Mark the area to edit on the reference image; the mask is uploaded and set (k)", "make_mask"),
    ("Refresh files", "Read the quota and the file list again (r on the files screen)", "files:refresh_files"),
    ("Regenerate selected task", "Refill the composer with the task's exact settings (r)", "regenerate"),
    ("Retry selected task", "Re-run a failed task, resend an uncertain one, or check a slow one again (t)", "retry"),
    ("View result", "The selected result full size: zoom, pan, compare side by side (v or enter)", "view_result"),
    ("Copy result path", "Copy the downloaded file's path to the clipboard (c)", "copy_path"),
    ("Copy result URL", "Copy the result URL to the clipboard (u)", "copy_url"),
    ("Open result in viewer", "Open the file with the system image viewer (o)", "open_result"),
    ("Show sidecar", "Show the JSON written next to the result (s)", "show_sidecar"),
    ("Use result as reference", "Add the result to the composer's reference images (f)", "use_as_reference"),
    (
        "Iterate on this result",
        "The composer opens with the result as its reference, its prompt and settings; nothing is sent (i)",
        "iterate",
    ),
    ("Show lineage", "The tree of what was made from this result's line, as thumbnails (l)", "show_lineage"),
    (
        "Reopen image",
        "Refill the composer from the recipe an image file (or its sidecar) carries; also reopen:PATH",
        "reopen_file",
    ),
    ("Edit prompt in editor", "Write the prompt in $EDITOR (EVOLINK_TUI_EDITOR, VISUAL or EDITOR) (F8)", "edit_prompt"),
    ("Recall earlier prompt", "Search every earlier prompt and reuse one (ctrl+r)", "recall_prompt"),
    ("Search history", "Find past tasks by prompt, model, status and date (ctrl+f)", "search_history"),
    (
        "Resend uncertain submit",
        "Send a submit whose outcome is unknown again, with its own key: never charged twice (t)",
        "resend_uncertain",
    ),
    (
        "Plan matrix run",
        "Plan the prompt's {a|b} variants on the marked models and sizes; drop tasks, then send",
        "plan_batch",
    ),
    ("Load prompt file", "Plan a file of prompts, one a line, on the marked models", "load_prompt_file"),
    ("Open batch", "The latest batch as a grid of results; pause, continue, cancel (ctrl+b)", "open_batch"),
    ("Set budget", "Credits per app run and per day; the app asks before crossing them", "set_budget"),
    ("Change theme", "Pick a theme; the choice is remembered", "app.change_theme"),
    ("Show help", "List the keys of the focused panel (F1 or ?)", "app.show_help"),
    ("Enter API key", "Paste an API key (saved with mode 0600), or switch to demo mode", "app.enter_key"),
    ("Save screenshot", "Save an SVG screenshot of the screen", "app.screenshot"),
    ("Quit", "Leave evolink-tui; running tasks can be resumed next time (ctrl+q)", "app.quit"),
)


class EvolinkCommands(Provider):
    """Lists :data:`COMMANDS`; fuzzy-matched as you type."""

    def _run(self, action: str) -> None:
        from .app import EvolinkApp

        app = self.app
        if isinstance(app, EvolinkApp):
            app.call_later(app.run_command, action)

    def _commands(self) -> list[tuple[str, str, str]]:
        """COMMANDS, each help naming the user's own key where [keymap] moved it (the key in
        brackets at the end of a help is the default of the binding whose id is the action)."""
        keymap = getattr(getattr(self.app, "settings", None), "keymap", {})
        found = []
        for name, help_text, action in COMMANDS:
            keys = keymap.get(action.removeprefix("app.")) if keymap else None
            if keys and help_text.endswith(")") and " (" in help_text:
                help_text = f"{help_text.rsplit(' (', 1)[0]} ({', '.join(keys)})"
            found.append((name, help_text, action))
        return found

    async def discover(self) -> Hits:
        for name, help_text, action in self._commands():
            yield DiscoveryHit(name, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, action in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), partial(self._run, action), text=name, help=help_text)
