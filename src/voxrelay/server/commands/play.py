"""``calling.play`` and ``calling.play.pause|resume|volume|stop`` (reference §2.2, §3.1).

The player exists as soon as the command is accepted, so pause, volume and stop act on it
even while its items load (TTS, URL fetch, decode run off the media clock). The result comes
first, then ``calling.call.play`` reports playing / paused / finished / error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from voxrelay.media.player import Player, PlayState
from voxrelay.protocol.components import PLAY
from voxrelay.protocol.models import MediaItem, PlayParams
from voxrelay.server.audio import AudioError
from voxrelay.server.calls import Call
from voxrelay.server.commands.components import call_media, new_control_id
from voxrelay.server.commands.controls import serve_controls
from voxrelay.server.commands.lifecycle import find_call
from voxrelay.server.dispatch import JsonDict, RequestContext, method, ok
from voxrelay.server.media import CallMedia
from voxrelay.server.node import Node

log = logging.getLogger(__name__)
PLAY_EVENT = PLAY.event


def emit_play(call: Call, control_id: str, state: str) -> None:
    call.emit(
        PLAY_EVENT,
        {
            "call_id": call.call_id,
            "node_id": call.node_id,
            "control_id": control_id,
            "state": state,
        },
    )


def new_player(
    call: Call,
    media: CallMedia,
    control_id: str,
    volume: float,
    loop: int,
    on_end: Callable[[Player], None] | None = None,
    event_id: str | None = None,
) -> Player:
    """A player registered under ``control_id``, not yet loaded nor attached to the leg.

    Its state changes become ``calling.call.play`` events for ``event_id`` (default the
    control_id; play_and_collect's prompt reports under the collect's id).
    """

    def changed(player: Player) -> None:
        emit_play(call, event_id or control_id, player.state)
        if not player.active:
            media.leg.remove(control_id)
            if media.components.get(control_id) is player:
                del media.components[control_id]
            if on_end is not None:
                on_end(player)

    player = Player(control_id, [], volume=volume, loop=loop, on_state=changed)
    media.components[control_id] = player
    media.closers.append(player.stop)
    return player


def announce(call: Call, player: Player, event_id: str) -> None:
    """Report ``playing`` once the command's result is out (next loop turn), unless the
    player has ended meanwhile: a component's last event is always its terminal one."""

    def playing() -> None:
        if player.active:
            emit_play(call, event_id, PlayState.PLAYING)

    asyncio.get_running_loop().call_soon(playing)


async def load_and_start(
    node: Node, call: Call, media: CallMedia, player: Player, items: list[MediaItem]
) -> bool:
    """Load ``items`` into ``player`` and attach it; False (player in error) if loading failed."""
    try:
        player.items = [await node.audio.load(item) for item in items]
    except AudioError as exc:
        log.info("play %s on %s failed: %s", player.control_id, call.call_id, exc)
        player.fail()
        return False
    if player.active and call.media is media:
        media.leg.add_player(player)
        call.early_media()  # before the answer: ringback or an announcement
    return True


@method("calling.play", PlayParams)
async def play(ctx: RequestContext, params: PlayParams) -> JsonDict:
    media = call_media(ctx, params)
    new_control_id(media, params.control_id)
    call = find_call(ctx, params)
    player = new_player(call, media, params.control_id, params.volume, params.loop)
    announce(call, player, params.control_id)
    ctx.node.spawn(
        load_and_start(ctx.node, call, media, player, params.play), f"play {params.control_id}"
    )
    return ok("Playing", call_id=call.call_id, control_id=params.control_id)


serve_controls(
    Player,
    {
        "calling.play.pause": Player.pause,
        "calling.play.resume": Player.resume,
        "calling.play.volume": Player.set_volume,
        "calling.play.stop": Player.stop,
    },
)
