"""Clocks for the simulator.

Task timing (pending → processing → completed) and expiry times are computed from a
clock's ``now()``. Tests share one :class:`FakeClock` between their poller and the
simulator, so "waiting" five seconds is an instant ``advance(5)``.
"""

from __future__ import annotations

import asyncio
import threading
import time


class SimClock:
    """The real clock: ``now()`` is unix seconds, ``sleep()`` really sleeps."""

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, float(seconds)))


class FakeClock(SimClock):
    """A clock that only moves when told to.

    ``sleep(s)`` advances the clock by ``s`` and yields once to the event loop, so a
    poller written against ``clock.sleep`` runs instantly. Safe to share between the
    test's thread and a simulator served from another thread.
    """

    def __init__(self, start: float = 1_800_000_000.0):
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("a FakeClock cannot go backwards")
        with self._lock:
            self._now += float(seconds)
            return self._now

    def set(self, moment: float) -> None:
        with self._lock:
            self._now = float(moment)

    async def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, float(seconds)))
        await asyncio.sleep(0)

    def __repr__(self) -> str:
        return f"FakeClock({self._now!r})"
