"""Where a dialled device rings (``calling.dial``, reference §3.5).

A number (``phone.to_number``, or the user part of ``sip.to``) rings, in this order: the
RELAY context that owns it (``[numbers]`` in the config file), as an inbound call linked to
the outbound leg; else SIP (``SipService.target``): a ``sip`` device's URI, a phone the
dialling project registered for the number (``voxrelay phone``, a virtual phone), a
softphone of ``[sip.users]`` registered for it, or the configured trunk.
"""

from __future__ import annotations

from voxrelay.protocol.models import Device
from voxrelay.protocol.states import Direction
from voxrelay.server.calls import Call
from voxrelay.server.calls.dial import device_number, device_timeout, inbound_device
from voxrelay.server.calls.far_end import link
from voxrelay.server.node import Node


class DialTargets:
    def __init__(self, node: Node) -> None:
        self.node = node

    async def reach(self, leg: Call, device: Device) -> bool:
        number = device_number(device)
        if number is None:
            return False
        context = self.node.config.numbers.get(number)
        if context is not None:
            self._ring_context(leg, device, context)
            return True
        if self.node.sip is not None:
            return await self.node.sip.dial(leg, device, device_timeout(device))
        return False

    def _ring_context(self, leg: Call, device: Device, context: str) -> None:
        inbound = self.node.router.new_call(
            leg.project, Direction.INBOUND, inbound_device(device), context=context
        )
        link(leg, inbound)
        self.node.router.ring(inbound, device_timeout(device))
