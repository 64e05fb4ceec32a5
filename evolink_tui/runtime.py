"""Building a client for this run: the real hosts, or the in-process simulator (--demo)."""

from __future__ import annotations

from pathlib import Path

from .core.config import Settings

TYPE_CHECKING = False  # typing's own costs a headless command milliseconds to import
if TYPE_CHECKING:
    from .core.client import EvolinkClient


# The demo's simulated server keeps its tasks, files and credits here (in the data dir),
# so that the next run finds them as the real service would.
DEMO_SERVER_FILE = "demo-server.sqlite3"


def demo_server_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / DEMO_SERVER_FILE


def make_client(settings: Settings, *, clock=None, **kwargs) -> EvolinkClient:
    """A client for ``settings``; in demo mode the simulator answers in-process, no network."""
    from .core import client as client_module  # deferred: httpx loads with the first client, after the first frame

    if settings.demo:
        from .simulator import create_app, demo_transport  # deferred: only the demo needs it

        # One clock for the simulator and its client. The demo key is always accepted,
        # even with EVOLINK_SIM_API_KEY set; faults and speed still follow
        # EVOLINK_SIM_FAULTS / EVOLINK_SIM_SPEED, so a demo run can be faulty.
        clock = clock if clock is not None else client_module.RealClock()
        app = _demo_app(create_app, clock, settings)
        client = client_module.EvolinkClient(settings, transport=demo_transport(app), clock=clock, **kwargs)
        client.simulator = app  # type: ignore[attr-defined]
        return client
    return client_module.EvolinkClient(settings, clock=clock, **kwargs)


def _demo_app(create_app, clock, settings: Settings):
    """The demo's simulator on its state file. A file it cannot use (damaged, or from a
    newer version) is moved aside, never deleted, and the demo starts afresh: it holds
    only demo data, and the demo must always open."""
    import sqlite3

    from .core.catalogue import load_catalogue

    # Its "server" knows the models in use, the user's own models.toml included.
    keys, catalogue, path = [settings.api_key or ""], load_catalogue(), demo_server_path(settings)
    try:
        return create_app(clock=clock, api_keys=keys, catalogue=catalogue, state_file=path)
    except sqlite3.DatabaseError as exc:
        aside = path.with_name(f"{path.name}.unusable")
        for suffix in ("-wal", "-shm", ""):  # its journal goes with it
            part = path.with_name(path.name + suffix)
            if part.exists():
                part.replace(aside.with_name(aside.name + suffix))
        settings.warnings.append(f"The demo's server state {path} could not be read ({exc}); moved to {aside}.")
        return create_app(clock=clock, api_keys=keys, catalogue=catalogue, state_file=path)
