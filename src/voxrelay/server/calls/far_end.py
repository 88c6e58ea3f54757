"""Far ends of a leg that need no network: a virtual caller and two linked legs.

``VirtualCaller`` is the caller behind a call placed with the HTTP origination API
(``voxrelay.testing.LocalServer.originate``): it sees the call's progress and can hang up.
``LinkedLegs`` joins an outbound leg (from ``calling.dial``) to the inbound call it produced on one of our own
numbers: the inbound side's ringing and answer drive the outbound leg, and whichever side
ends first ends the other with the same reason.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from voxrelay.protocol.states import CallState, EndReason
from voxrelay.server.calls.call import Call


class VirtualCaller:
    """Observes a call as its caller does; a bounded queue of ``{call_state, end_reason, time}``."""

    def __init__(self, maxsize: int = 256) -> None:
        self.updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=maxsize)
        self.call: Call | None = None
        self._last: tuple[CallState, EndReason | None] | None = None

    def on_state(self, call: Call) -> None:
        self.call = call
        if self._last == (call.state, call.end_reason):
            return
        self._last = (call.state, call.end_reason)
        update = {
            "call_id": call.call_id,
            "call_state": call.state.value,
            "end_reason": call.end_reason.value if call.end_reason else None,
            "time": time.time(),
        }
        if self.updates.full():
            self.updates.get_nowait()
        self.updates.put_nowait(update)

    def hang_up(self) -> bool:
        """The caller hangs up (before answer: ``cancel``; after: ``hangup``)."""
        if self.call is None:
            return False
        answered = self.call.state is CallState.ANSWERED
        return self.call.hang_up(EndReason.HANGUP if answered else EndReason.CANCEL)


class LinkedLegs:
    """Joins ``outbound`` (a dial leg) to ``inbound`` (the call it rings on our side)."""

    def __init__(self, outbound: Call, inbound: Call) -> None:
        self.outbound = outbound
        self.inbound = inbound

    def on_state(self, call: Call) -> None:
        if call is self.inbound:
            self._inbound_changed()
        elif not self.outbound.active:
            self.inbound.hang_up(self.outbound.end_reason or EndReason.CANCEL)

    def _inbound_changed(self) -> None:
        state, out = self.inbound.state, self.outbound
        if state is CallState.RINGING and out.state is CallState.CREATED:
            out.transition(CallState.RINGING)
        elif state is CallState.ANSWERED and out.active:
            out.transition(CallState.ANSWERED)
        elif not self.inbound.active:
            out.hang_up(self.inbound.end_reason or EndReason.HANGUP)


def link(outbound: Call, inbound: Call) -> LinkedLegs:
    """Make the two legs each other's far end."""
    joined = LinkedLegs(outbound, inbound)
    outbound.far_end = joined
    inbound.far_end = joined
    return joined
