"""Command line: ``evolink-tui`` opens the TUI; subcommands run headless on the same core.

Exit codes: 0 success; 1 API or task failure (for ``resume``: something needs attention);
2 bad input (nothing sent); 3 still running after the 5-minute wait; 141 the output's
reader went away (``| head``).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys

from . import __version__

TYPE_CHECKING = False  # not typing's: importing typing costs a headless command milliseconds
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT, EXIT_RUNNING = 0, 1, 2, 3
EXIT_PIPE = 141  # 128 + SIGPIPE: the reader of the output went away (`| head`), as shell tools report it


def _common(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    default = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--demo",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="use the built-in simulator instead of Evolink: no key, no network, no credits",
    )
    parser.add_argument(
        "--download-dir",
        metavar="DIR",
        default=default,
        help="where results are saved (else EVOLINK_DOWNLOAD_DIR, else Pictures/evolink; demo: evolink-demo)",
    )


def _spending(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--budget",
        metavar="CREDITS",
        help="refuse (exit 2, nothing sent) if the expected cost would cross this many credits",
    )
    parser.add_argument(
        "--notify", action="store_true", help="ring the bell and send a desktop notification at the end"
    )


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


_RESULT_CHOICE = "RECORD or RECORD:N (result N from 1), several separated by spaces or commas"


def _generate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("prompt", metavar="PROMPT")
    p.add_argument("--model", "-m", default="", help="model id (see `evolink-tui models`; default gpt-image-1.5)")
    p.add_argument("--size", "-s", default=None, help="aspect ratio such as 16:9, or a pixel size for gpt-4o-image")
    p.add_argument("-n", dest="n", default=None, help="number of images, 1-4")
    p.add_argument(
        "--image",
        "-i",
        action="append",
        default=[],
        metavar="PATH_OR_URL",
        help="reference image (repeat for several, up to 14); local files are uploaded first",
    )
    p.add_argument("--mask", metavar="PATH_OR_URL", default=None, help="PNG mask (gpt-4o-image only)")
    p.add_argument(
        "--param",
        "-p",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra parameter the model takes, such as quality=high (repeat; see `evolink-tui models`)",
    )
    p.add_argument("--no-wait", action="store_true", help="print the task id and return at once")
    _spending(p)
    _json_flag(p)
    _common(p)


def _batch_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", nargs="?", metavar="FILE_OR_PROMPT", help="a prompt, or a file of prompts (one a line)")
    p.add_argument("--models", metavar="A,B", help="comma-separated model ids (default: gpt-image-1.5)")
    p.add_argument("--sizes", metavar="1:1,16:9", help="comma-separated sizes (default: each model's own)")
    p.add_argument("-n", dest="n", default=None, help="images per task, 1-4")
    p.add_argument(
        "--image", "-i", action="append", default=[], metavar="PATH_OR_URL", help="reference image for every task"
    )
    p.add_argument("--concurrency", metavar="K", help="tasks at once, 1-8 (default: batch_concurrency, else 3)")
    p.add_argument("--plan", action="store_true", help="print the plan (tasks, credits, time) and send nothing")
    p.add_argument("--continue", dest="continue_id", metavar="BATCH_ID", help="send the rest of a paused batch")
    p.add_argument("--cancel", metavar="BATCH_ID", help="never send the rest of a batch (sent tasks still finish)")
    _spending(p)
    p.add_argument("--json", action="store_true", help="print JSON lines: one object per event, then a summary")
    _common(p)


def _check_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("task_id", metavar="TASK_ID")
    p.add_argument("--wait", action="store_true", help="poll until the task finishes (up to 5 minutes)")
    _json_flag(p)
    _common(p)


def _history_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--search", "-q", metavar="TEXT", help="text in the prompt (or the task id)")
    p.add_argument("--model", "-m", metavar="M", help="only this model")
    p.add_argument(
        "--status",
        "-s",
        metavar="S",
        help="a state (completed, failed, pending, processing, "
        "submit_failed, not_found...) or: unfinished, uncertain, expired, undownloaded",
    )
    p.add_argument("--since", metavar="YYYY-MM-DD", help="created on or after this day")
    p.add_argument("--until", metavar="YYYY-MM-DD", help="created on or before this day")
    p.add_argument("--limit", default="50", help="at most this many records (default 50)")
    p.add_argument("--favourites", action="store_true", help="only records with a starred result")
    p.add_argument("--sort", choices=("newest", "oldest", "model"), default="newest", help="order (default newest)")
    _json_flag(p)
    _common(p)


def _resume_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--resend", action="append", default=[], metavar="ID", help="resend this uncertain record (repeat for several)"
    )
    _json_flag(p)
    _common(p)


def _upload_arguments(p: argparse.ArgumentParser) -> None:
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("path", nargs="?", metavar="PATH", help="a local file (stream upload)")
    source.add_argument("--url", help="a remote URL for the server to fetch")
    source.add_argument("--base64", metavar="DATA", help="base64 data, raw or as a data URL")
    p.add_argument("--name", help="file name to store it under (a stored name: asked first, see --overwrite)")
    p.add_argument("--overwrite", action="store_true", help="replace a stored file of the same name without asking")
    p.add_argument("--path", dest="upload_path", metavar="DIR", help="server-side folder")
    _json_flag(p)
    _common(p)


def _files_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--page", default="1", help="page number (from 1)")
    p.add_argument("--page-size", default="20", help="files per page (1-100)")
    _json_flag(p)
    _common(p)


def _delete_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file_id", metavar="FILE_ID")
    _json_flag(p)
    _common(p)


def _models_arguments(p: argparse.ArgumentParser) -> None:
    _json_flag(p)
    _common(p)


def _keys_arguments(p: argparse.ArgumentParser) -> None:
    _json_flag(p)
    _common(p)


def _locate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--fix-permissions", action="store_true", help="make the config file (it holds the key) private: mode 0600"
    )
    _json_flag(p)
    _common(p)


def _serve_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; others need --public)")
    p.add_argument("--port", default="8000", help="port (default 8000)")
    p.add_argument(
        "--public", action="store_true", help="allow a non-loopback --host (anyone who reaches it uses your key)"
    )
    p.add_argument(
        "--public-url", metavar="URL", help="the address the browser uses, if not http://HOST:PORT (another port)"
    )
    _common(p)


def _simulator_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", default="8765", help="port (default 8765; 0 picks a free one)")
    p.add_argument("--faults", default=None, help="fault injection spec (else EVOLINK_SIM_FAULTS), e.g. 429:2@submit*1")
    p.add_argument("--speed", default=None, help="task speed multiplier (else EVOLINK_SIM_SPEED, default 1)")
    p.add_argument("--state", metavar="FILE", help="keep tasks, files and credits in FILE across restarts")


def _iterate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("result", metavar="RECORD[:N]", help="record id, and the result number (default 1)")
    p.add_argument("prompt", metavar="PROMPT", nargs="?", default=None, help="the new prompt (default: the task's)")
    p.add_argument("--model", "-m", default="", help="a model that takes reference images (default: the task's)")
    p.add_argument("--size", "-s", default=None, help="aspect ratio (default: the task's)")
    p.add_argument("-n", dest="n", default=None, help="number of images, 1-4 (default: the task's)")
    p.add_argument("--no-wait", action="store_true", help="print the task id and return at once")
    _json_flag(p)
    _common(p)


def _lineage_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("record_id", metavar="RECORD_ID")
    _json_flag(p)
    _common(p)


def _reopen_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="an image, or its .json sidecar")
    _json_flag(p)
    _common(p)


def _export_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ids", nargs="+", default=[], metavar="ID", help=_RESULT_CHOICE)
    p.add_argument("--favourites", action="store_true", help="every starred result")
    p.add_argument("--zip", metavar="FILE", help="write the images and their sidecars into this zip")
    p.add_argument("--sheet", metavar="FILE", help="draw the images on one labelled PNG")
    _json_flag(p)
    _common(p)


def _favourite_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("ids", nargs="+", metavar="ID", help=_RESULT_CHOICE)
    p.add_argument("--off", action="store_true", help="unstar instead")
    _json_flag(p)
    _common(p)


def _help_formatter(prog: str) -> argparse.HelpFormatter:
    """argparse's own help formatter, as wide as argparse makes it: the columns that
    shutil.get_terminal_size() reports (COLUMNS, else stdout's terminal, else 80), less 2.
    argparse imports shutil for that in each formatter it makes (one per argument added), and
    shutil, with the bz2, lzma and fnmatch it loads, costs a headless command 4-5 ms of the
    ~20 it has: the same three steps, done with os."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns if sys.__stdout__ else 0
        except (ValueError, OSError):
            columns = 0
        columns = columns or 80
    return argparse.HelpFormatter(prog, width=columns - 2)


class _CommandParser:
    """A command's parser, built only when its command is the one being run.

    argparse makes each command's parser as the command is declared and only ever asks it to
    ``parse_known_args`` (the list of commands in ``--help`` and the invalid-choice message
    come from the names and ``help`` texts alone). Building all eighteen costs a headless
    command more than its own work (gettext lookups and a formatter per argument), so each
    is declared with the function that adds its arguments, called on first use. Help and
    errors are the same ``ArgumentParser`` with the same options as before.
    """

    def __init__(self, *, arguments: Callable[[argparse.ArgumentParser], None], **options: Any):
        self._arguments = arguments
        self._options = options  # prog, description...: as add_parser passes them to ArgumentParser
        self._parser: argparse.ArgumentParser | None = None

    @property
    def parser(self) -> argparse.ArgumentParser:
        if self._parser is None:
            self._parser = argparse.ArgumentParser(formatter_class=_help_formatter, **self._options)
            self._arguments(self._parser)
        return self._parser

    def parse_known_args(self, args=None, namespace=None):
        return self.parser.parse_known_args(args, namespace)

    def __getattr__(self, name: str) -> Any:
        # Anything else argparse (another Python version) may ask of a command's parser.
        return getattr(self.parser, name)


def build_parser(*, commands: bool = True) -> argparse.ArgumentParser:
    """The whole command line; ``commands=False``: only the app's own options (the commands'
    parsers take a few milliseconds to build, and opening the app should not wait for them).
    Each command's own parser is built only when that command is run (:class:`_CommandParser`)."""
    parser = argparse.ArgumentParser(
        prog="evolink-tui",
        formatter_class=_help_formatter,
        description="A keyboard-driven terminal app for the Evolink Image API. "
        "With no command it opens the app; the commands below run headless.",
        epilog="Exit codes: 0 success, 1 API or task failure (resume: something needs attention), "
        "2 bad input (nothing sent), 3 still running after the 5-minute wait, 141 output pipe closed (| head).",
    )
    parser.add_argument("--version", action="version", version=f"evolink-tui {__version__}")
    _common(parser, top=True)
    parser.add_argument(
        "--graphics",
        metavar="METHOD",
        default=None,
        help="how the app draws pictures: auto, kitty, iterm, sixel or halfblock "
        "(else EVOLINK_TUI_GRAPHICS, else graphics in config.toml, else auto)",
    )
    if not commands:
        parser.set_defaults(command=None)
        return parser
    # argparse only calls parse_known_args on a command's parser: _CommandParser has it (typeshed
    # wants an ArgumentParser subclass)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_CommandParser)  # type: ignore[type-var]
    sub.add_parser("generate", arguments=_generate_arguments, help="generate images from a prompt, wait, download them")
    sub.add_parser(
        "batch",
        arguments=_batch_arguments,
        help="run a prompt matrix on several models and sizes: planned, priced, a few at a time",
        description="Expand {a|b|c} variants and {1-3} ranges of a prompt (or of every line of a prompt "
        "file; # starts a comment), times --models, times --sizes, into a plan; check every task and "
        "the budget before anything is sent; then run a few at a time, paced, pausing every submit "
        "on a 429. A batch survives quitting and kill -9: `evolink-tui resume` finishes it.",
    )
    sub.add_parser("check", arguments=_check_arguments, help="show a task by id; download its results when completed")
    sub.add_parser(
        "history",
        arguments=_history_arguments,
        help="list past generations from the local history (no network)",
        description="List recorded generations, newest first: record id, task id, state, model, "
        "prompt, files, credits and error.",
    )
    sub.add_parser(
        "resume",
        arguments=_resume_arguments,
        help="finish what a stopped run left: poll, download, list uncertain submits",
        description="Poll every unfinished task again, download every completed result not yet on "
        "disk while its URL lasts, and list submits whose outcome is unknown. Those are never "
        "resent on their own: --resend sends one again with its own idempotency key, which "
        "never charges twice.",
    )

    # iterate, lineage, reopen, export and favourite (headless/recipes.py, headless/gallery.py)
    sub.add_parser(
        "iterate",
        arguments=_iterate_arguments,
        help="generate again from a result: it becomes the reference image",
        description="A new generation with result N of a record as its reference image (its URL while it "
        "lasts, else its file, uploaded first), the prompt and settings of its task unless given, and "
        "the record kept as its parent (see `lineage`).",
    )
    sub.add_parser(
        "lineage", arguments=_lineage_arguments, help="the tree of results iterated from one another (no network)"
    )
    sub.add_parser(
        "reopen",
        arguments=_reopen_arguments,
        help="print the recipe an image carries (or its sidecar); exit 1 if it has none",
        description="The prompt, model, settings, references and task an image was made with, read from "
        "the file itself (moved or renamed) or from its .json sidecar, with the command to make it again.",
    )
    sub.add_parser(
        "export",
        arguments=_export_arguments,
        help="chosen results as a zip with their sidecars, or a contact sheet PNG (no network)",
        description=f"Choose results with --ids ({_RESULT_CHOICE}) and/or --favourites. Exit 1 if some result's "
        "file is not on disk (the others are written).",
    )
    sub.add_parser("favourite", arguments=_favourite_arguments, help="star results (or --off: unstar them)")
    sub.add_parser(
        "upload", arguments=_upload_arguments, help="upload an image to the Files API (JPEG/PNG/GIF/WebP, up to 100 MB)"
    )
    sub.add_parser("files", arguments=_files_arguments, help="list uploaded files and the quota")
    sub.add_parser("delete", arguments=_delete_arguments, help="delete an uploaded file")
    sub.add_parser(
        "models",
        arguments=_models_arguments,
        help="list the image models: the built-in ones and those of your models.toml",
    )
    sub.add_parser(
        "keys",
        arguments=_keys_arguments,
        help="list every key binding: its id, default keys and the keys in force ([keymap])",
    )
    sub.add_parser("locate", arguments=_locate_arguments, help="print the config, data and download paths")
    sub.add_parser(
        "serve",
        arguments=_serve_arguments,
        help="serve the app in a web browser (needs the web extra; loopback only unless --public)",
        description="Serve the app to a web browser with textual-serve: each browser tab runs its own copy "
        "with the same --demo/--download-dir. There is no login: keep the default loopback address and "
        "forward the port over SSH (ssh -L 8000:127.0.0.1:8000 HOST) to use it from another machine.",
    )
    sub.add_parser(
        "simulator", arguments=_simulator_arguments, help="serve the built-in Evolink simulator on 127.0.0.1"
    )

    return parser


def _only_app_options(argv: list[str]) -> bool:
    """Whether ``argv`` holds nothing but the app's own options (--demo, --download-dir DIR,
    --graphics METHOD)."""
    value_next = False
    for token in argv:
        if value_next:
            value_next = False
        elif token in ("--download-dir", "--graphics"):
            value_next = True
        elif token != "--demo" and not token.startswith(("--download-dir=", "--graphics=")):
            return False
    return not value_next


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # `evolink-tui history | head -2`: the reader has what it wanted. Stop quietly, as
        # command-line tools do, and send what is still buffered nowhere (else the
        # interpreter's last flush would complain on its way out).
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_PIPE


def _main(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # No cyclic garbage collection while the command line is read and a command's code
    # imported, or the app started (the app turns it back on after its first frame, see
    # EvolinkApp): startup makes tens of thousands of objects that all live, and the
    # collections they would set off only walk them (about a tenth of the app's startup).
    gc.disable()
    try:
        parser = build_parser(commands=not _only_app_options(argv))
        args = parser.parse_args(argv)
        if args.command is None:
            return _run_tui(args)
        from . import headless  # never imports textual

        handler = headless.command_handler(args.command)
        # And out of the collector's sight for good, as the app does after its first frame:
        # a collection while the command runs walks only what it made.
        gc.freeze()
    finally:
        gc.enable()
    return headless.dispatch(args, handler)


def _run_tui(args: argparse.Namespace) -> int:
    """The app, started with the collector paused (by _main) until its first frame."""
    from .core.config import load_settings
    from .core.errors import ValidationError
    from .core.graphics import detect

    try:
        settings = load_settings(demo=args.demo, download_dir=args.download_dir)
        graphics = detect.start(detect.requested(args.graphics, settings))  # asks the terminal while Textual loads
    except ValidationError as err:
        print(f"evolink-tui: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    from .core.catalogue import load_catalogue

    settings.warnings += [f"The model catalogue {problem}" for problem in load_catalogue().problems]
    from .core.history import history_path, read_ahead

    ahead = read_ahead(history_path(settings))  # read while Textual loads
    from .tui.app import EvolinkApp  # deferred: textual loads only for the TUI

    graphics.finish()  # before Textual takes the terminal over
    app = EvolinkApp(settings, history_ahead=ahead)
    app.run()
    return app.return_code or 0


if __name__ == "__main__":
    raise SystemExit(main())
