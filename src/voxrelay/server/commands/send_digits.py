"""``calling.send_digits`` (reference §2.6): RFC 4733 events, or in-band tones for a peer
without telephone-event. Reports ``calling.call.send_digits`` finished when all are sent."""

from __future__ import annotations

from voxrelay.media import digitsender
from voxrelay.protocol.components import SEND_DIGITS
from voxrelay.protocol.models import SendDigitsParams
from voxrelay.server.calls import Call
from voxrelay.server.commands.components import call_media, new_control_id
from voxrelay.server.commands.lifecycle import find_call
from voxrelay.server.dispatch import JsonDict, RequestContext, method, ok

EVENT = SEND_DIGITS.event


@method("calling.send_digits", SendDigitsParams)
async def send_digits(ctx: RequestContext, params: SendDigitsParams) -> JsonDict:
    media = call_media(ctx, params)
    new_control_id(media, params.control_id)
    call = find_call(ctx, params)
    digits = digitsender.check_digits(params.digits)
    control_id = params.control_id

    def finished() -> None:
        media.components.pop(control_id, None)
        _emit(call, control_id)

    media.components[control_id] = digitsender.send_digits(media.leg, control_id, digits, finished)
    return ok("Sending Digits", call_id=call.call_id, control_id=control_id)


def _emit(call: Call, control_id: str) -> None:
    call.emit(
        EVENT,
        {
            "call_id": call.call_id,
            "node_id": call.node_id,
            "control_id": control_id,
            "state": "finished",
        },
    )
