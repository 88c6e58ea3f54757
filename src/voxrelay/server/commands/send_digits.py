"""``calling.send_digits`` (reference §2.6): RFC 4733 events, or in-band tones for a peer
without telephone-event. Reports ``calling.call.send_digits`` finished when all are sent."""

from __future__ import annotations

from voxrelay.media.digitsender import DigitSender, check_digits
from voxrelay.media.dtmf import digits_to_audio
from voxrelay.media.player import Player
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
    digits = check_digits(params.digits)
    control_id = params.control_id

    def finished(_: object) -> None:
        media.components.pop(control_id, None)
        _emit(call, control_id)

    if media.leg.telephone_event is not None:
        sender = DigitSender(control_id, digits, on_done=finished)
        media.components[control_id] = sender
        media.leg.add_digit_sender(sender)
    else:
        player = Player(
            control_id,
            [digits_to_audio(digits)],
            on_state=lambda p: finished(p) if not p.active else None,
        )
        media.components[control_id] = player
        media.leg.add_player(player)
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
