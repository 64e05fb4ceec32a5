"""A small hostile HTTP server on loopback, written apart from the simulator: each request
is answered by a test's coroutine that writes whatever raw bytes it likes (a redirect to
itself, a damaged gzip body, a header no library would send)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable

Handler = Callable[[str, str, dict, asyncio.StreamWriter], Awaitable[None]]


def raw_answer(status: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    """An HTTP/1.1 answer as bytes, exactly as given (no Content-Length unless in headers)."""
    lines = [f"HTTP/1.1 {status}"] + [f"{k}: {v}" for k, v in headers.items()] + ["Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1") + body


class HostileServer:
    """``with HostileServer(handler) as server: server.url``; every request is logged in
    ``requests`` as (method, path, headers)."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1"):
        self.handler = handler
        self.host = host
        self.requests: list[tuple[str, str, dict]] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hostile-server", daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._serve, self.host, 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            first, *lines = head.decode("latin-1").split("\r\n")
            method, path, _ = first.split(" ", 2)
            headers = {}
            for line in lines:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            self.requests.append((method, path, headers))
            await self.handler(method, path, headers, writer)
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()

    def __enter__(self) -> HostileServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc) -> None:
        def stop() -> None:
            self._server.close()
            self._loop.stop()

        self._loop.call_soon_threadsafe(stop)
        self._thread.join(10)
