"""Serving the simulator on a real loopback socket: in a thread (tests) or in the foreground."""

from __future__ import annotations

import argparse
import logging
import socket
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass

import uvicorn

from .transport import DroppedConnection

DEFAULT_PORT = 8765


class _QuietDrops(logging.Filter):
    """Simulated connection drops are intended: keep them out of uvicorn's error log."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        seen = 0
        while exc is not None and seen < 10:
            if isinstance(exc, DroppedConnection):
                return False
            if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
                exc = exc.exceptions[0]
            else:
                exc = exc.__cause__ or exc.__context__
            seen += 1
        return True


def _quiet_drops() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in logger.filters):
        logger.addFilter(_QuietDrops())


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio only sets TCP_NODELAY on accepted sockets of that proto
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _config(app, host: str, port: int) -> uvicorn.Config:
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off", timeout_graceful_shutdown=2)
    _quiet_drops()
    return config


@dataclass
class RunningServer:
    """A simulator served by uvicorn in a daemon thread."""

    server: uvicorn.Server
    thread: threading.Thread
    host: str
    port: int
    app: object = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self, timeout: float = 5.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def serve_in_thread(app, host: str = "127.0.0.1", port: int = 0, *, timeout: float = 10.0) -> RunningServer:
    """Start ``app`` on ``host:port`` (0 = a free port) and return once it accepts connections."""
    sock = _bind(host, port)
    actual_port = sock.getsockname()[1]
    server = uvicorn.Server(_config(app, host, actual_port))
    errors: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # surfaced to the caller below
            errors.append(exc)
        finally:
            sock.close()

    thread = threading.Thread(target=run, name=f"evolink-simulator-{actual_port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if errors or not thread.is_alive():
            raise RuntimeError(
                f"the simulator failed to start on {host}:{actual_port}: {errors[0] if errors else 'exited'}"
            )
        if time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError(f"the simulator did not start on {host}:{actual_port} within {timeout} s")
        time.sleep(0.005)
    return RunningServer(server=server, thread=thread, host=host, port=actual_port, app=app)


def run_forever(app=None, port: int = DEFAULT_PORT, *, host: str = "127.0.0.1", out=None) -> None:
    """Serve the simulator in the foreground on loopback until Ctrl-C."""
    from .app import create_app

    if host not in ("127.0.0.1", "::1", "localhost"):
        raise ValueError("the simulator only listens on loopback (127.0.0.1)")
    out = out or sys.stdout
    app = app if app is not None else create_app()
    sock = _bind(host, port)
    actual_port = sock.getsockname()[1]
    url = f"http://{host}:{actual_port}"
    sim = getattr(getattr(app, "state", None), "sim", None)
    print(f"# Evolink simulator on {url} (Ctrl-C to stop). Point evolink-tui at it with:", file=out)
    print(f"export EVOLINK_BASE_URL={url}", file=out)
    print(f"export EVOLINK_FILES_BASE_URL={url}", file=out)
    if sim is not None:
        keys = "any key starting with sk-" if sim.api_keys is None else "the key in EVOLINK_SIM_API_KEY"
        print(f"# API key: {keys}. Faults: {sim.faults.spec() or 'none'}. Speed: x{sim.speed:g}.", file=out)
        if sim.store is not None:
            print(f"# State kept in {sim.store.path}", file=out)
    out.flush()
    server = uvicorn.Server(_config(app, host, actual_port))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


def main(argv: list[str] | None = None) -> int:
    """``evolink-tui simulator [--port N] [--faults SPEC] [--speed X] [--state FILE]``."""
    from evolink_tui.core.catalogue import load_catalogue

    from .app import create_app
    from .faults import FaultPlan

    parser = argparse.ArgumentParser(
        prog="evolink-tui simulator", description="Run the built-in Evolink API simulator on 127.0.0.1."
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT}; 0 = any free port)"
    )
    parser.add_argument(
        "--faults",
        default=None,
        help="fault spec, e.g. '429:2@submit*1,truncate@download*1' (default: $EVOLINK_SIM_FAULTS)",
    )
    parser.add_argument(
        "--speed", type=float, default=None, help="task speed multiplier (default: $EVOLINK_SIM_SPEED or 1.0)"
    )
    parser.add_argument(
        "--state",
        metavar="FILE",
        default=None,
        help="keep tasks, files and credits in this file across restarts (default: in memory only)",
    )
    args = parser.parse_args(argv)
    try:
        faults = FaultPlan.parse(args.faults) if args.faults is not None else None
        app = create_app(faults=faults, speed=args.speed, catalogue=load_catalogue(), state_file=args.state)
    except ValueError as exc:
        print(f"evolink-tui simulator: {exc}", file=sys.stderr)
        return 2
    except (OSError, sqlite3.Error) as exc:
        print(f"evolink-tui simulator: cannot use the state file {args.state}: {exc}", file=sys.stderr)
        return 2
    try:
        run_forever(app, args.port)
    except OSError as exc:
        print(f"evolink-tui simulator: cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0
