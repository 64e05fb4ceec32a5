"""The submit gate: one door every submit of a client goes through, one at a time.

Installed on a client (``client.submit_gate``), it

- lets one submit request out at a time, each at least ``interval`` seconds after the one
  before (new submits are paced, retries included);
- closes for everyone when a submit is answered 429 (or with ``Retry-After``): the client
  calls :meth:`SubmitGate.pause` before its own retry waits, so every other submit of the
  batch waits out the same ``Retry-After`` instead of trying its luck task by task.

Submits are short (the answer is a pending task), so one at a time costs little, and it
makes the pause exact: no submit is on its way when a 429 arrives, so none is sent inside
a ``Retry-After`` window the client has been told about.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any


class SubmitGate:
    def __init__(self, clock, interval: float = 1.0):
        self.clock = clock
        self.interval = max(0.0, float(interval))
        self.open_at = 0.0  # no submit before this moment (a Retry-After)
        self.pauses = 0  # how many times a 429 paused every submit
        self.listeners: list[Callable[[float, Any], None]] = []  # (until, error) at each pause
        self._last: float | None = None
        self._lock: asyncio.Lock | None = None

    def paused_for(self) -> float:
        """Seconds left of the current pause (0 when open)."""
        return max(0.0, self.open_at - self.clock.now())

    def pause(self, seconds: float, error: Any = None) -> None:
        """Keep every submit back for ``seconds`` from now (a 429's Retry-After)."""
        until = self.clock.now() + max(0.0, seconds)
        if until <= self.open_at:
            return
        self.open_at = until
        self.pauses += 1
        for listener in list(self.listeners):
            try:
                listener(until, error)
            except Exception:  # a listener must never break a submit
                pass

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Wait for the gate to open and the pacing interval to pass, then hold it for one attempt."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            while True:
                now = self.clock.now()
                ready = self.open_at
                if self._last is not None:
                    ready = max(ready, self._last + self.interval)
                if ready <= now:
                    break
                await self.clock.sleep(ready - now)
            self._last = self.clock.now()
            yield
