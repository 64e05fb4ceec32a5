"""Polling per the reference: first read 3 s after submit, then every 3-5 s, up to 5 minutes.

Every read of an unfinished task makes the gateway ask the upstream provider, so reads
are paced. Time comes from an injectable clock so tests run instantly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from .errors import EvolinkError
from .text import one_line
from .wire import Task

# The reads of all the tasks a client follows go out at most this many a second. The
# reference's 3-5 s is per task: 200 tasks at that pace would be 40-67 reads a second, each
# one making the gateway ask the upstream provider (and each costing this process about 4 ms
# of a core in the HTTP client). Up to 30-50 running tasks nothing changes; beyond that each
# task is read a little less often (200 tasks: every 20 s), never more often than the policy.
# Up to READS_AT_ONCE reads asked together (a comparison run's tasks) still go at once.
READS_PER_SECOND = 10.0
READS_AT_ONCE = 10

TIMEOUT_NOTICE = "This is taking longer than expected. The task ID is `{task_id}` — you can check it again later."


def timeout_notice(task_id: str) -> str:
    return TIMEOUT_NOTICE.format(task_id=one_line(task_id))


@dataclass(frozen=True)
class PollPolicy:
    initial_delay: float = 3.0
    min_interval: float = 3.0
    max_interval: float = 5.0
    max_wait: float = 300.0
    # Time spent offline (reads failing after the client's own retries) does not count
    # against max_wait, up to this much: an outage of minutes ends in the result, not in
    # the 5-minute notice.
    max_offline: float = 1800.0

    def next_delay(self, polls_done: int, task: Task | None = None) -> float:
        """Seconds to wait before the next read, given how many reads were made."""
        if polls_done == 0:
            return self.initial_delay
        if task is not None and task.estimated_time is not None and task.estimated_time > 0:
            # Aim at the moment the server expects to be done, within 3-5 s.
            return float(min(self.max_interval, max(self.min_interval, task.estimated_time)))
        step = self.min_interval + (polls_done - 1)
        return float(min(self.max_interval, step))

    def max_polls(self) -> int:
        """The most reads one task may cost within ``max_wait`` (for network economy checks)."""
        return 1 + math.floor((self.max_wait - self.initial_delay) / self.min_interval)


class PollPace:
    """One queue for the reads of every task a client follows: at most ``rate`` a second
    over time, up to ``burst`` at once after a quiet moment (a few tasks polled together never
    wait), then each at least ``1 / rate`` seconds after the one before, in the order asked.
    A turn is reserved when asked (no lock is held while the read is on its way), so reads
    still overlap. The rule is the generic cell rate algorithm: a theoretical time for the
    next read moves on ``1 / rate`` per read, and a read may go up to ``burst - 1`` steps
    ahead of it."""

    def __init__(self, clock, rate: float = READS_PER_SECOND, burst: int = READS_AT_ONCE):
        self.clock = clock
        self.spacing = 1.0 / rate
        self.ahead = max(0, burst - 1) * self.spacing
        self.turns = 0  # how many reads went through (for tests and benchmarks)
        self._due = float("-inf")

    async def turn(self) -> None:
        now = self.clock.now()
        due = max(self._due, now)
        slot = max(now, due - self.ahead)
        self._due = due + self.spacing
        self.turns += 1
        if slot - now > 1e-9:  # not a rounding error's worth of a wait
            await self.clock.sleep(slot - now)


class TaskTimeout(Exception):
    """Still running after ``max_wait``; the task stays checkable by id."""

    def __init__(self, task: Task):
        self.task = task
        self.notice = timeout_notice(task.id)
        super().__init__(self.notice)


async def follow_task(
    client,
    task: Task,
    *,
    policy: PollPolicy | None = None,
    started_at: float | None = None,
    on_update: Callable[[Task], None] | None = None,
    on_problem: Callable[[EvolinkError], None] | None = None,
    polls_done: int = 0,
) -> Task:
    """Poll ``task`` until it is terminal; the final task. Raises TaskTimeout after max_wait.

    A retryable failure that outlasts the client's own retries (an outage of minutes) is
    reported through ``on_problem`` and polling goes on ("offline, retrying"); the time
    spent offline does not count against the 5-minute wait (up to ``max_offline``). A
    final failure is raised.
    """
    policy = policy or PollPolicy()
    clock = client.clock
    start = clock.now() if started_at is None else started_at
    current = task
    offline = 0.0
    pace: PollPace = client.poll_pace  # shared by every task the client follows
    while not current.is_terminal:
        delay = policy.next_delay(polls_done, current)
        deadline = start + policy.max_wait + min(offline, policy.max_offline)
        if clock.now() + delay > deadline:
            remaining = deadline - clock.now()
            if remaining > 0:
                await clock.sleep(remaining)
            raise TaskTimeout(current)
        await clock.sleep(delay)
        await pace.turn()
        polls_done += 1
        asked = clock.now()
        try:
            current = await client.get_task(current.id, from_server=True)
        except EvolinkError as err:
            if not err.retryable:
                raise
            offline += clock.now() - asked + delay
            if on_problem:
                on_problem(err)
            continue
        if on_update:
            on_update(current)
    return current
