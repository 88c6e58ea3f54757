"""The media engine: the one owner of a set of legs, their banks, their plan and their tick.

ARCHITECTURE.md "Media model": one media clock per process ticks every 20 ms; each tick every
active leg sends its frame, takes what arrived, feeds its components. ``Engine`` is what the
clock ticks (subscribe ``Engine.tick``). It owns:

- the legs it drives, in the order the tick sees them;
- their ``Banks`` (``media.banks``): the legs' jitter buffers, reception statistics and RTP
  streams, their players' and recorders' rows, the change version and the count of queued
  datagrams. A leg joining (``add``) moves its rows and its components' into them; a leg
  leaving (``discard``) takes them back into banks of its own;
- the ``TickPlan`` (``media.plan``) of who does what, rebuilt when the legs change;
- the socket set the tick polls and sends through, when there is one (``io``).

The per-tick work itself is ``media.batch.tick_legs``: vectorised across all legs.

Routes (the next issues: bridges, conferences, forks) plug in here as routing between the
engine's legs, not as new per-leg loops. A route is a row mapping over the engine's legs
kept in the plan: a bridge says leg j's outbound frame
takes leg i's received frame (and the reverse), a conference sums its members' received
frames and gives each the sum minus its own, a fork copies rows of the tick's ``heard`` or
``said`` matrix to a consumer. The engine will own the routes (adding or removing one is a
change of the plan, ``Banks.changed``); ``tick_legs`` applies them between taking this tick's
``heard`` matrix and making the next tick's ``said`` one, in one numpy operation per kind.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from voxrelay.media.banks import Banks
from voxrelay.media.batch import Arrived, BatchIO, tick_legs
from voxrelay.media.leg import Leg
from voxrelay.media.plan import TickPlan
from voxrelay.media.rtp import Datagrams
from voxrelay.media.soa import Ints


class Engine:
    """The legs one media clock ticks together; see module docstring.

    With ``io`` (the legs' ``RtpSocketSet``), each tick reads the datagrams waiting on the
    sockets and sends the tick's packets through it."""

    def __init__(self, io: BatchIO | None = None) -> None:
        self.banks = Banks()
        self.io = io
        self._legs: dict[int, Leg] = {}
        self._list: list[Leg] = []
        self._plan: TickPlan | None = None
        self._mapped: Any = None  # the roles _owner_of_slot was made from
        self._owner_of_slot = np.full(0, -1, dtype=np.int64)

    def add(self, leg: Leg) -> None:
        """Tick ``leg`` with the others; its state (and its components') moves into the
        engine's banks."""
        if id(leg) not in self._legs:
            leg.move_to(self.banks)
            self._legs[id(leg)] = leg
            self._changed()

    def discard(self, leg: Leg) -> None:
        """Stop ticking ``leg``; it keeps its state, in banks of its own."""
        if self._legs.pop(id(leg), None) is not None:
            leg.move_to(Banks(rows=1))
            self._changed()

    def _changed(self) -> None:
        self._list = list(self._legs.values())
        self._plan = None

    def __len__(self) -> int:
        return len(self._legs)

    def __contains__(self, leg: object) -> bool:
        return id(leg) in self._legs

    def tick(self, n: int) -> None:
        """Tick every leg once (the media clock's subscriber); ``n`` is the tick number."""
        io = self.io
        if self._list and self._plan is None:
            self._plan = TickPlan(self._list, self.banks, io.slots_of if io else None)
        if io is None:
            if self._plan is not None:
                tick_legs(self._list, n, self._plan)
            return
        if self._plan is not None:  # the legs send first, then the sockets are read
            tick_legs(self._list, n, self._plan, io, lambda: self._poll(io))
        else:
            self._poll(io)  # datagrams of legs outside the engine
        io.flush()  # what the tick sent after its audio (RTCP)

    def _poll(self, io: BatchIO) -> Arrived:
        slots, datagrams = io.poll()
        return self._owners(io, slots, datagrams), datagrams

    def _owners(self, io: BatchIO, slots: Ints, datagrams: Datagrams) -> Ints:
        """Each datagram's leg position; datagrams for legs outside the engine are handed
        to their receivers now, and cut-off ones (counted by the set) dropped: owner -1."""
        owner = np.full(len(slots), -1, dtype=np.int64)
        if self._plan is not None:
            roles = self._plan.roles(self._list)
            if roles is not self._mapped:  # the slot of each leg, as an array over slots
                self._mapped = roles
                self._owner_of_slot = np.full(io.capacity, -1, dtype=np.int64)
                on_set = np.flatnonzero(roles.leg_slots >= 0)
                self._owner_of_slot[roles.leg_slots[on_set]] = on_set
            owner = self._owner_of_slot[slots]
        stray = (owner < 0) | (datagrams.size < 0)
        for k in np.flatnonzero(stray).tolist():
            owner[k] = -1
            receiver = io.receiver_of(int(slots[k]))
            if datagrams.size[k] >= 0 and receiver is not None:
                receiver.deliver(datagrams.bytes(k), float(datagrams.arrival[k]))
        return owner
