"""Work done for news, paced in a wave: soon after the news already queued, or, when news
comes faster than a person can read it (200 tasks finishing together), at most every
``GAP`` seconds, so that the frames drawn meanwhile go to what is typed."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from time import monotonic

WAVE = 20  # news this many times within a second is a wave
GAP = 0.25  # seconds between two passes in a wave


class Pace:
    """When the next pass over the news should run: :meth:`news` for each piece (returns the
    seconds to wait: 0 for at once), :meth:`ran` as a pass starts."""

    def __init__(self, wave: int = WAVE, gap: float = GAP, clock: Callable[[], float] = monotonic) -> None:
        self._marks: deque[float] = deque(maxlen=wave)
        self._gap = gap
        self._clock = clock
        self._ran_at = -gap

    def news(self) -> float:
        now = self._clock()
        self._marks.append(now)
        wait = self._ran_at + self._gap - now
        in_wave = len(self._marks) == self._marks.maxlen and now - self._marks[0] < 1.0
        return wait if wait > 0 and in_wave else 0.0

    def ran(self) -> None:
        self._ran_at = self._clock()

    def due(self) -> bool:
        """Whether a pass may run now (the gap since the last one is over)."""
        return self._clock() >= self._ran_at + self._gap


class Typing:
    """Whether keys are being typed in the prompt (the last within ``pause`` seconds): news
    that only redraws waits meanwhile for the next key, and is drawn in that key's frame.

    Textual draws a frame at most every 1/60 s, and the frame after a quiet moment keeps the
    next one from coming for one to two of those periods: news drawn in a frame of its own,
    between two keys, made the next key's echo wait up to 33 ms (200 tasks finishing under
    load: echo p95 29-32 ms, 23-25 with the news drawn with the keys). ``pause`` 0: never
    typing (news drawn as it comes)."""

    def __init__(self, pause: float, clock: Callable[[], float] = monotonic) -> None:
        self.pause = pause
        self._clock = clock
        self._at = float("-inf")

    def typed(self) -> None:
        self._at = self._clock()

    def ended(self) -> None:
        """Not typing any more (the prompt was sent): news is drawn as it comes."""
        self._at = float("-inf")

    def left(self) -> float:
        """Seconds until typing counts as paused (0: not typing)."""
        if not self.pause:
            return 0.0
        return max(0.0, self._at + self.pause - self._clock())
