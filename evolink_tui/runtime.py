"""Building a client for this run: the real hosts, or the in-process simulator (--demo)."""

from __future__ import annotations

from .core.client import EvolinkClient
from .core.config import Settings


def make_client(settings: Settings, *, clock=None, **kwargs) -> EvolinkClient:
    """A client for ``settings``; in demo mode the simulator answers in-process, no network."""
    if settings.demo:
        from .simulator import create_app, demo_transport  # deferred: only the demo needs it

        app = create_app(clock=clock)
        client = EvolinkClient(settings, transport=demo_transport(app), clock=clock, **kwargs)
        client.simulator = app  # type: ignore[attr-defined]
        return client
    return EvolinkClient(settings, clock=clock, **kwargs)
