"""``calling.play`` and ``calling.play.pause|resume|volume|stop`` (reference §2.2, §3.1).

The result comes first; items are then loaded off the media clock (TTS, URL fetch, decode)
and the player starts, reporting ``calling.call.play`` playing / paused / finished / error.
"""

from __future__ import annotations

import logging
from typing import Any

from voxrelay.media.player import Player, PlayState
from voxrelay.protocol.models import ControlRef, PlayParams, VolumeParams
from voxrelay.server.audio import AudioError
from voxrelay.server.calls import Call
from voxrelay.server.commands.components import call_media, component, new_control_id
from voxrelay.server.commands.lifecycle import find_call
from voxrelay.server.dispatch import JsonDict, RequestContext, method, ok
from voxrelay.server.node import Node

log = logging.getLogger(__name__)
PLAY_EVENT = "calling.call.play"


def _emit(call: Call, control_id: str, state: str) -> None:
    call.emit(
        PLAY_EVENT,
        {
            "call_id": call.call_id,
            "node_id": call.node_id,
            "control_id": control_id,
            "state": state,
        },
    )


async def start_player(
    node: Node, call: Call, control_id: str, params: PlayParams, on_end: Any = None
) -> Player | None:
    """Load the items and attach a player to the call's leg; None (and an error event) on failure."""
    media = call.media
    try:
        items = [await node.audio.load(item) for item in params.play]
    except AudioError as exc:
        log.info("play %s on %s failed: %s", control_id, call.call_id, exc)
        if media is not None:
            media.components.pop(control_id, None)
        _emit(call, control_id, PlayState.ERROR)
        if on_end is not None:
            on_end(None)
        return None
    if media is None or call.media is not media or not call.active:
        return None

    def changed(player: Player) -> None:
        _emit(call, control_id, player.state)
        if not player.active:
            media.components.pop(control_id, None)
            if on_end is not None:
                on_end(player)

    player = Player(control_id, items, volume=params.volume, loop=params.loop, on_state=changed)
    media.components[control_id] = player
    media.closers.append(player.stop)
    media.leg.add_player(player)
    _emit(call, control_id, PlayState.PLAYING)
    return player


@method("calling.play", PlayParams)
async def play(ctx: RequestContext, params: PlayParams) -> JsonDict:
    media = call_media(ctx, params)
    new_control_id(media, params.control_id)
    call = find_call(ctx, params)
    media.components[params.control_id] = "loading"
    ctx.node.spawn(_start(ctx.node, call, params), f"play {params.control_id}")
    return ok("Playing", call_id=call.call_id, control_id=params.control_id)


async def _start(node: Node, call: Call, params: PlayParams) -> None:
    await start_player(node, call, params.control_id, params)


@method("calling.play.pause", ControlRef)
async def pause(ctx: RequestContext, params: ControlRef) -> JsonDict:
    component(ctx, params, Player).pause()
    return ok("Paused", call_id=params.call_id, control_id=params.control_id)


@method("calling.play.resume", ControlRef)
async def resume(ctx: RequestContext, params: ControlRef) -> JsonDict:
    component(ctx, params, Player).resume()
    return ok("Resumed", call_id=params.call_id, control_id=params.control_id)


@method("calling.play.volume", VolumeParams)
async def volume(ctx: RequestContext, params: VolumeParams) -> JsonDict:
    component(ctx, params, Player).set_volume(params.volume)
    return ok("Volume set", call_id=params.call_id, control_id=params.control_id)


@method("calling.play.stop", ControlRef)
async def stop(ctx: RequestContext, params: ControlRef) -> JsonDict:
    component(ctx, params, Player).stop()
    return ok("Stopped", call_id=params.call_id, control_id=params.control_id)
