"""Time, injectable: the real clock here; tests pass the simulator's FakeClock instead."""

from __future__ import annotations

import asyncio
import time


class RealClock:
    """``now()`` in unix seconds and an awaitable ``sleep``."""

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))
