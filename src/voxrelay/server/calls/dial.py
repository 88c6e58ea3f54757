"""``calling.dial``: ring devices serially and in parallel; the first answer wins.

``devices`` is a list of serial steps, each a list of devices rung together (reference §3.5).
Each device becomes an outbound leg tagged with the dial's ``tag``; ``reach`` makes its far
end ring (a RELAY context owning the number, a virtual phone...) or says it cannot. When one
leg answers, the others of its step are cancelled; when every leg of a step fails, the next
step is rung.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from voxrelay.protocol.events import CALL_DIAL
from voxrelay.protocol.models import Device, DialParams
from voxrelay.protocol.states import CallState, DialState, Direction, EndReason
from voxrelay.server.calls.call import Call, EventSink
from voxrelay.server.calls.routing import CallRouter

DEFAULT_DEVICE_TIMEOUT = 30.0

Reach = Callable[[Call, Device], Awaitable[bool]]
"""Make the far end of an outbound leg ring; False when the device cannot be reached."""


def device_number(device: Device) -> str | None:
    """The number or SIP user a device dials, or None if the device type is not dialable."""
    params = device.params
    if device.type == "phone":
        return str(params.get("to_number") or "") or None
    if device.type == "sip":
        to = str(params.get("to") or "")
        user = to.removeprefix("sip:").removeprefix("sips:").split("@", 1)[0]
        return user or None
    return None


def device_timeout(device: Device) -> float:
    """Seconds to ring the device (``params.timeout``, default 30)."""
    try:
        return float(device.params.get("timeout") or DEFAULT_DEVICE_TIMEOUT)
    except (TypeError, ValueError):
        return DEFAULT_DEVICE_TIMEOUT


def inbound_device(device: Device) -> dict[str, Any]:
    """How the dialled side sees the caller: the same device type, numbers as given."""
    return {"type": device.type, "params": dict(device.params)}


class Dial:
    """One ``calling.dial`` in progress for a session."""

    def __init__(
        self,
        router: CallRouter,
        session: EventSink,
        project: str,
        params: DialParams,
        reach: Reach,
        tag: str,
    ) -> None:
        self.router = router
        self.session = session
        self.project = project
        self.params = params
        self.reach = reach
        self.tag = tag
        self.winner: Call | None = None
        self._begun: list[Call] = []

    def _emit_dial(self, state: DialState, **extra: Any) -> None:
        payload = {"node_id": self.router.node_id, "tag": self.tag, "dial_state": state.value}
        self.session.emit(CALL_DIAL, {**payload, **extra})

    def begin(self) -> Call:
        """Start the legs of the first step now (``calling.begin`` answers with the call_id).

        Returns the first leg; ``run()`` then rings them instead of starting new ones.
        """
        self._begun = [self._start_leg(device) for device in self.params.devices[0]]
        return self._begun[0]

    async def run(self) -> None:
        """Ring each serial step until one leg answers; report ``calling.call.dial``."""
        reasons: list[str] = []
        for step_index, step in enumerate(self.params.devices):
            begun, self._begun = self._begun, []
            legs = begun or [self._start_leg(device) for device in step]
            if step_index == 0:
                self._emit_dial(DialState.DIALING)
            await self._ring(legs, step)
            winner = await self._first_answer(legs)
            if winner is not None:
                self.winner = winner
                winner_info = {
                    "call_id": winner.call_id,
                    "node_id": winner.node_id,
                    "tag": self.tag,
                    "device": winner.device,
                    "dial_winner": True,
                }
                self._emit_dial(DialState.ANSWERED, call=winner_info)
                return
            reasons.extend(leg.end_reason.value for leg in legs if leg.end_reason)
        reason = reasons[-1] if reasons else "error"
        self._emit_dial(DialState.FAILED, reason=reason, source="outbound")

    def _start_leg(self, device: Device) -> Call:
        leg = self.router.new_call(
            self.project,
            Direction.OUTBOUND,
            {"type": device.type, "params": device.params},
            tag=self.tag,
            created_by="dial",
        )
        leg.controller = self.session
        leg.emit("calling.call.state", leg.describe())
        return leg

    async def _ring(self, legs: list[Call], devices: list[Device]) -> None:
        for leg, device in zip(legs, devices, strict=True):
            if not await self.reach(leg, device):
                leg.hang_up(EndReason.NOT_FOUND)

    async def _first_answer(self, legs: list[Call]) -> Call | None:
        done: asyncio.Future[Call | None] = asyncio.get_running_loop().create_future()

        def settle(_: Call) -> None:
            if done.done():
                return
            winner = next((c for c in legs if c.state is CallState.ANSWERED), None)
            if winner is not None or all(c.ended for c in legs):
                done.set_result(winner)

        for leg in legs:
            leg.watchers.append(settle)
        settle(legs[0])
        try:
            winner = await done
        finally:
            for leg in legs:
                if settle in leg.watchers:
                    leg.watchers.remove(settle)
        for leg in legs:
            if leg is not winner:
                leg.hang_up(EndReason.CANCEL)
        return winner
