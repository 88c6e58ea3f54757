"""A fake ``schedule`` for sans-I/O SIP code: timers fire only when a test advances time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(order=True)
class Timer:
    when: float
    seq: int
    fn: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class Clock:
    """A fake ``schedule``: timers fire only when the test advances time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.timers: list[Timer] = []
        self._seq = 0

    def schedule(self, delay: float, fn: Callable[[], None]) -> Timer:
        self._seq += 1
        timer = Timer(self.now + delay, self._seq, fn)
        self.timers.append(timer)
        return timer

    def advance(self, seconds: float) -> None:
        end = self.now + seconds
        while True:
            due = sorted(t for t in self.timers if not t.cancelled and t.when <= end)
            if not due:
                break
            timer = due[0]
            self.timers.remove(timer)
            self.now = timer.when
            timer.fn()
        self.now = end

    def armed(self) -> int:
        return sum(not t.cancelled for t in self.timers)
