"""Sending DTMF keys as RFC 4733 telephone-events, one step per 20 ms tick.

Each key is a 100 ms event (RFC 4733 §2.5.1: updates every packet time, then three end
packets) followed by 100 ms of normal audio; ``w`` waits 0.5 s and ``W`` 1 s, as RELAY
``send_digits`` defines them (reference §2.6). The leg asks ``next_step()`` each tick and
sends an event packet instead of audio when it gets one. A peer without telephone-event gets
the same keys in-band instead (``dtmf.digits_to_audio`` through a Player): ``send_digits``
picks the way for a leg.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from typing import Protocol

from voxrelay.media.dtmf import PAUSES_MS, digits_to_audio, telephone_event_packets
from voxrelay.media.player import Player

KEY_MS = 100
GAP_MS = 100
TICK_MS = 20
VALID = re.compile(r"^[0-9*#A-Dwa-dW]+$")

Step = tuple[bytes | None, bool]
"""``(payload, starts_event)``; a None payload is a tick of normal audio."""


def check_digits(digits: str) -> str:
    """``digits`` upper-cased for A-D; raises ValueError naming the first bad character."""
    for char in digits:
        if not VALID.match(char):
            raise ValueError(f"invalid DTMF character {char!r}: use 0-9 * # A-D w W")
    if not digits:
        raise ValueError("no digits to send")
    return "".join(c if c in "wW" else c.upper() for c in digits)


class DigitSender:
    """The tick-by-tick plan for sending ``digits`` (see module docstring)."""

    def __init__(
        self, control_id: str, digits: str, on_done: Callable[[DigitSender], None] | None = None
    ) -> None:
        self.control_id = control_id
        self.digits = check_digits(digits)
        self.on_done = on_done
        self.finished = False
        self._steps: deque[Step] = deque(self._plan())

    def _plan(self) -> list[Step]:
        steps: list[Step] = []
        for char in self.digits:
            if char in PAUSES_MS:
                steps += [(None, False)] * (PAUSES_MS[char] // TICK_MS)
                continue
            payloads = list(telephone_event_packets(char, KEY_MS, TICK_MS))
            steps += [(p, i == 0) for i, p in enumerate(payloads)]
            steps += [(None, False)] * (GAP_MS // TICK_MS)
        return steps

    def next_step(self) -> Step | None:
        """This tick's step, or None once every key has been sent (``on_done`` fires once)."""
        if self._steps:
            return self._steps.popleft()
        if not self.finished:
            self.finished = True
            if self.on_done is not None:
                self.on_done(self)
        return None

    def stop(self) -> None:
        self._steps.clear()


class KeyedLeg(Protocol):
    """What ``send_digits`` needs of a leg (``media.leg.Leg``)."""

    @property
    def telephone_event(self) -> int | None: ...

    def add_digit_sender(self, sender: DigitSender) -> None: ...

    def add_player(self, player: Player) -> None: ...


def send_digits(
    leg: KeyedLeg, control_id: str, digits: str, on_done: Callable[[], None] | None = None
) -> DigitSender | Player:
    """Send ``digits`` (0-9 * # A-D, ``w``/``W`` pauses) on ``leg`` under ``control_id``: as
    RFC 4733 events when the leg has a telephone-event payload type, else as in-band tones
    (a Player of ``dtmf.digits_to_audio``). ``on_done()`` once the last key has been sent.
    Returns the component. ValueError for a bad character (``check_digits``)."""
    if leg.telephone_event is not None:
        sender = DigitSender(control_id, digits, (lambda _: on_done()) if on_done else None)
        leg.add_digit_sender(sender)
        return sender
    player = Player(
        control_id,
        [digits_to_audio(check_digits(digits))],
        on_state=(lambda p: None if p.active else on_done()) if on_done else None,
    )
    leg.add_player(player)
    return player
