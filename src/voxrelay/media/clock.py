"""The media clock: one per process, ticking every 20 ms of monotonic time.

Deadlines are absolute (``start + n * period``), so sleeping late on one tick does not push
the next one later: the clock never drifts. A tick that starts more than one period after its
deadline counts as late; if the loop falls further behind than ``max_catch_up`` periods
(the process was suspended), the clock drops those ticks and realigns instead of bursting.
Every subscriber is called once per tick with the tick number.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from voxrelay.media.frames import FRAME_SECONDS

log = logging.getLogger(__name__)


Tick = Callable[[int], None]


@dataclass(slots=True)
class ClockStats:
    ticks: int = 0
    late: int = 0
    dropped: int = 0
    max_lateness: float = 0.0  # seconds
    lateness: list[float] = field(default_factory=list)  # last samples, seconds

    def record(self, lateness: float, keep: int = 3000) -> None:
        self.lateness.append(lateness)
        if len(self.lateness) > keep:
            del self.lateness[: len(self.lateness) - keep]
        self.max_lateness = max(self.max_lateness, lateness)


class MediaClock:
    """Calls every subscriber each ``period`` seconds (default 20 ms). See module docstring."""

    def __init__(
        self,
        period: float = FRAME_SECONDS,
        max_catch_up: int = 5,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.period = period
        self.max_catch_up = max_catch_up
        self.stats = ClockStats()
        self._now = now
        self._subscribers: list[Tick] = []
        self._task: asyncio.Task[None] | None = None
        self.tick_number = 0

    def subscribe(self, fn: Tick) -> None:
        self._subscribers.append(fn)

    def unsubscribe(self, fn: Tick) -> None:
        if fn in self._subscribers:
            self._subscribers.remove(fn)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start ticking on the running event loop (idempotent)."""
        if not self.running:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="media clock")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        start = self._now()
        n = 0
        while True:
            n += 1
            deadline = start + n * self.period
            delay = deadline - self._now()
            # always yield, even when behind: an overloaded clock must not starve the loop's
            # I/O (RTP receive, commands), or it could never catch up
            await asyncio.sleep(max(0.0, delay))
            lateness = self._now() - deadline
            if lateness > self.max_catch_up * self.period:
                skipped = int(lateness / self.period)
                self.stats.dropped += skipped
                n += skipped
                lateness -= skipped * self.period
            self.stats.record(max(0.0, lateness))
            if lateness > self.period:
                self.stats.late += 1
            self.tick(n)

    def tick(self, n: int) -> None:
        """Run one tick now (the clock task calls this; tests may call it directly)."""
        self.tick_number = n
        self.stats.ticks += 1
        for fn in list(self._subscribers):
            try:
                fn(n)
            except Exception:
                log.exception("media tick subscriber failed; unsubscribing it")
                self.unsubscribe(fn)
