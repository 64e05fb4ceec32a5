"""serve: the app in a web browser, through textual-serve (the optional ``web`` extra).

textual-serve runs one copy of the app per browser tab (``python -m evolink_tui`` with the
same --demo/--download-dir) and relays the terminal over a WebSocket. It has no login of its
own: whoever reaches the port uses the app (and the API key's credits), so it listens on
loopback unless ``--public`` says otherwise; from another machine, forward the port over SSH.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from urllib.parse import urlsplit

from ..cli import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK
from ..core.config import is_loopback_host
from ..core.errors import ValidationError
from .output import Output, settings_for, whole

INSTALL_HINT = "pip install 'evolink-tui[web]'  (or: pipx inject evolink-tui textual-serve)"


def app_command(args) -> str:
    """The shell command textual-serve runs for each browser tab: this Python, this app, the
    options given to ``serve`` (an absolute download folder: the app may start elsewhere)."""
    argv = [sys.executable, "-m", "evolink_tui"]
    if getattr(args, "demo", False):
        argv.append("--demo")
    download_dir = getattr(args, "download_dir", None)
    if download_dir:
        argv += ["--download-dir", str(Path(download_dir).expanduser().absolute())]
    return shlex.join(argv)


def listen_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def check_public_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValidationError("--public-url", url, "an http(s) address such as http://localhost:9000")
    return url.strip().rstrip("/")


def cmd_serve(args, out: Output) -> int:
    port = whole("--port", args.port, "a port number from 1 to 65535")
    if not 1 <= port <= 65535:
        raise ValidationError("--port", args.port, "a port number from 1 to 65535")
    host = args.host.strip()
    if not host:
        raise ValidationError("--host", args.host, "an address to listen on, such as 127.0.0.1")
    if not is_loopback_host(host) and not args.public:
        raise ValidationError(
            "--host",
            host,
            "a loopback address (127.0.0.1, ::1, localhost); add --public to serve on another one, "
            f"or keep loopback and forward the port over SSH: ssh -L {port}:127.0.0.1:{port} HOST",
        )
    public_url = check_public_url(args.public_url) if args.public_url else listen_url(host, port)
    try:
        from textual_serve.server import Server
    except ImportError:
        out.note(
            f"evolink-tui: `serve` needs textual-serve, which is not installed. Install it with:\n  {INSTALL_HINT}"
        )
        return EXIT_BAD_INPUT
    settings_for(args, out, need_key=False)  # a bad config is reported now, not in every browser tab
    if not is_loopback_host(host):
        out.note(
            f"warning: serving on {host}, not loopback: anyone who can reach port {port} uses the app, "
            "with no login, and spends your API key's credits. Prefer loopback and an SSH tunnel."
        )
    server = Server(app_command(args), host=host, port=port, title="evolink-tui", public_url=public_url)
    try:
        server.serve()
    except OSError as exc:
        out.note(f"evolink-tui: could not listen on {listen_url(host, port)}: {exc.strerror or exc}")
        return EXIT_FAILURE
    return EXIT_OK
