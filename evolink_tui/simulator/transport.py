"""Running the simulator in-process: an httpx transport that speaks ASGI to the app.

The app signals a simulated network failure (``drop``, ``drop-after``, ``truncate``
faults) by raising :class:`DroppedConnection` after starting a response; under uvicorn
that cuts the socket mid-answer, and here it becomes ``httpx.RemoteProtocolError``, the
same error a real cut connection gives the client.
"""

from __future__ import annotations

import logging

import httpx

log = logging.getLogger("evolink_tui.simulator")


class DroppedConnection(Exception):
    """Raised by the simulator app to cut the connection without a complete answer."""


class _AppGuard:
    """Lets DroppedConnection through; swallows any other app exception once the error
    middleware has already answered 500, so a simulator bug looks like a server error."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        started = False

        async def watch(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except DroppedConnection:
            raise
        except Exception:
            if not started:
                raise
            log.exception("simulator error (answered 500)")


class DemoTransport(httpx.ASGITransport):
    """``httpx.ASGITransport`` whose simulated connection drops are network errors."""

    def __init__(self, app, *, client: tuple[str, int] = ("127.0.0.1", 123)):
        super().__init__(app=_AppGuard(app), raise_app_exceptions=True, client=client)
        self.sim_app = app

    async def aclose(self) -> None:
        """The client is done: let go of the simulator's state file, if it keeps one."""
        sim = getattr(getattr(self.sim_app, "state", None), "sim", None)
        if sim is not None:
            sim.close()
        await super().aclose()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except DroppedConnection as exc:
            raise httpx.RemoteProtocolError(
                f"peer closed connection without sending complete message ({exc})", request=request
            ) from exc


def demo_transport(app) -> httpx.AsyncBaseTransport:
    """An in-process transport for ``httpx.AsyncClient(transport=...)`` serving ``app``."""
    return DemoTransport(app)
