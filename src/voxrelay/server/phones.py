"""Virtual phones waiting for calls: ``voxrelay phone --number N`` registers here.

The HTTP side is ``voxrelay.server.phone_http``: ``POST /api/virtual/phones {"number",
"media": {rtp_host, rtp_port, codecs?, telephone_event?}}`` (Basic auth) keeps an NDJSON
stream open: ``{"event": "registered"}`` first, then one ``{"event": "incoming", "call_id",
"from", "to", "media": {...}}`` per call that dials the number. The phone answers with
``POST /api/virtual/calls/{id}/answer``, follows it with ``GET .../events`` and hangs up
with ``DELETE``, like a caller. Closing the stream unregisters. One call at a time per phone
(a second one gets ``busy``). SIP registration replaces this in the SIP issue.
"""

from __future__ import annotations

import asyncio
from typing import Any

from voxrelay.protocol.states import CallState, EndReason
from voxrelay.server.calls import Call
from voxrelay.server.calls.far_end import VirtualCaller
from voxrelay.server.media import MediaEngine, MediaError, MediaOffer


class AlreadyRegistered(Exception):
    """Another phone of the project waits on that number."""


class RegisteredPhone:
    """A phone waiting on a number; rings one outbound leg at a time."""

    def __init__(self, project: str, number: str, offer: MediaOffer) -> None:
        self.project, self.number, self.offer = project, number, offer
        self.notices: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=64)
        self.current: Call | None = None

    async def ring(self, leg: Call, timeout: float, media: MediaEngine) -> bool:
        """Ring this phone for ``leg``. Busy phones end the leg with ``busy``."""
        if self.current is not None and self.current.active:
            leg.hang_up(EndReason.BUSY)
            return True
        try:
            answer = await media.attach(leg, self.offer)
        except MediaError:
            return False
        self.current = leg
        caller = VirtualCaller()
        leg.far_end = caller
        caller.on_state(leg)
        params = leg.device.get("params", {})
        self.notices.put_nowait(
            {
                "event": "incoming",
                "call_id": leg.call_id,
                "from": params.get("from_number") or params.get("from"),
                "to": params.get("to_number") or params.get("to"),
                "media": answer.model_dump(),
            }
        )
        leg.transition(CallState.RINGING)
        loop = asyncio.get_running_loop()
        loop.call_later(
            timeout,
            lambda: leg.hang_up(EndReason.NO_ANSWER) if leg.state is CallState.RINGING else None,
        )
        return True


class PhoneRegistry:
    def __init__(self) -> None:
        self._phones: dict[tuple[str, str], RegisteredPhone] = {}

    def find(self, project: str, number: str) -> RegisteredPhone | None:
        return self._phones.get((project, number))

    def register(self, phone: RegisteredPhone) -> None:
        key = (phone.project, phone.number)
        if key in self._phones:
            raise AlreadyRegistered(phone.number)
        self._phones[key] = phone

    def unregister(self, phone: RegisteredPhone) -> None:
        if self._phones.get((phone.project, phone.number)) is phone:
            del self._phones[(phone.project, phone.number)]
