"""The headless commands: the reference's tools (generate, check, upload, files, delete,
models), the recovery commands (history, resume) plus locate and simulator, on the same
core as the TUI. Never imports textual.

One module per group of commands; :func:`dispatch` imports only the module of the command
being run, so a command loads what it uses and nothing else. A new command is a
``cmd_<name>(args, out) -> int`` function in a module here, a line in :data:`COMMANDS` and
its arguments in ``cli.py`` (a ``_<name>_arguments`` function, given to ``add_parser``).
"""

from __future__ import annotations

import argparse
import importlib

from ..cli import EXIT_BAD_INPUT, EXIT_FAILURE
from .output import Output

TYPE_CHECKING = False  # typing's own costs a headless command milliseconds to import
if TYPE_CHECKING:
    from collections.abc import Callable

# command -> the module (in this package) that holds its ``cmd_<command>`` function
COMMANDS: dict[str, str] = {
    "generate": "tasks",
    "check": "tasks",
    "resume": "tasks",
    "batch": "batch",
    "history": "records",
    "upload": "files",
    "files": "files",
    "delete": "files",
    "models": "models",
    "locate": "info",
    "keys": "keys",
    "simulator": "info",
    "serve": "web",
    "iterate": "recipes",
    "lineage": "recipes",
    "reopen": "recipes",
    "export": "gallery",
    "favourite": "gallery",
}


def command_handler(command: str) -> Callable[[argparse.Namespace, Output], int]:
    """The ``cmd_<command>`` function, its module imported."""
    module = importlib.import_module(f"{__name__}.{COMMANDS[command]}")
    return getattr(module, f"cmd_{command}")


def dispatch(args: argparse.Namespace, run: Callable[[argparse.Namespace, Output], int] | None = None) -> int:
    """Run ``args.command`` (its handler ``run`` when already looked up), its errors shown
    as the command line shows them."""
    handler = run or command_handler(args.command)
    out = Output(getattr(args, "json", False))
    try:
        return handler(args, out)
    except Exception as err:
        # The error classes are looked up only now: a command loads what it uses, and one
        # that never touches the history does not import it to name its error.
        from ..core.errors import EvolinkError, ValidationError
        from ..core.history import HistoryError, UnrecordedSubmit

        if isinstance(err, ValidationError):
            out.fail(err)
            return EXIT_BAD_INPUT
        if isinstance(err, EvolinkError):
            out.fail(err)
            return EXIT_FAILURE
        if isinstance(err, UnrecordedSubmit):  # the submit went out: it may have been charged (the message says so)
            out.fail(err)
            return EXIT_FAILURE
        if isinstance(err, HistoryError):
            out.fail(err)
            # Only these record a generation before sending it, and turn any later failure into an
            # UnrecordedSubmit; a batch's own bookkeeping may fail after some of its submits went out.
            if args.command in ("generate", "iterate"):
                out.note("Nothing was sent: a generation is never sent without being recorded first.")
            return EXIT_FAILURE
        raise
    except KeyboardInterrupt:
        out.note(
            "Interrupted."
            + (
                " Anything under way is kept in the history: `evolink-tui resume` picks it up."
                if args.command in ("generate", "check", "resume", "iterate", "batch")
                else ""
            )
        )
        return 130
