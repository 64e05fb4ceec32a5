"""Building a client for this run: the real hosts, or the in-process simulator (--demo)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .core.config import Settings

if TYPE_CHECKING:
    from .core.client import EvolinkClient


def make_client(settings: Settings, *, clock=None, **kwargs) -> EvolinkClient:
    """A client for ``settings``; in demo mode the simulator answers in-process, no network."""
    from .core.client import EvolinkClient  # deferred: httpx loads with the first client, after the first frame

    if settings.demo:
        from .core.catalogue import load_catalogue
        from .simulator import create_app, demo_transport  # deferred: only the demo needs it

        # The demo key is always accepted, even with EVOLINK_SIM_API_KEY set; faults and
        # speed still follow EVOLINK_SIM_FAULTS / EVOLINK_SIM_SPEED, so a demo run can be faulty.
        # Its "server" knows the models in use, the user's own models.toml included.
        app = create_app(clock=clock, api_keys=[settings.api_key or ""], catalogue=load_catalogue())
        client = EvolinkClient(settings, transport=demo_transport(app), clock=clock, **kwargs)
        client.simulator = app  # type: ignore[attr-defined]
        return client
    return EvolinkClient(settings, clock=clock, **kwargs)
