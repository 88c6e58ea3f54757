"""Calls get media: a leg with its RTP socket, driven by the node's media clock.

``MediaEngine.attach`` gives a call a leg: with the codec, telephone-event, RTCP, direction
and address an SDP negotiation agreed (an offer we answer), or with codecs to offer; it
opens an RTP port and keeps the leg in the node's media engine
(``voxrelay.media.engine.Engine``) until the call ends, when every component is finalised
(recordings written) and the port closed. RELAY command modules find the leg and its
components in ``call.media`` (``server.calls.media.CallMedia``). ``connect`` applies a
negotiated SDP to the leg (``Leg.apply``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from voxrelay.media.clock import MediaClock
from voxrelay.media.codecs import Codec, codec_by_name
from voxrelay.media.engine import Engine
from voxrelay.media.leg import Leg, Negotiated
from voxrelay.media.rtpio import Loader, RtpSocketSet
from voxrelay.media.transport import open_transport
from voxrelay.protocol.models import Open
from voxrelay.protocol.states import EndReason
from voxrelay.server.calls import Call
from voxrelay.server.calls.media import CallMedia, RtpLink
from voxrelay.server.config import ServerConfig

__all__ = ["CallMedia", "MediaAnswer", "MediaEngine", "MediaError"]
log = logging.getLogger(__name__)


class MediaAnswer(Open):
    rtp_host: str
    rtp_port: int
    codec: str
    telephone_event: int | None


class MediaError(Exception):
    """An offer we cannot take (no common codec, no free port)."""


def _socket_set(config: ServerConfig) -> RtpSocketSet | None:
    """The batched socket set the media tick polls, or None for event-loop transports."""
    loader = Loader()
    if config.rtp_io == "asyncio" or (config.rtp_io == "auto" and not loader.available()):
        return None
    low, high = config.rtp_ports
    return RtpSocketSet(max(1, (high - low) // 2 + 1), loader)  # raises RtpIoError


def _rtp_timeout(call: Call) -> None:
    log.info("call %s: no RTP for too long, hanging up", call.call_id)
    call.hang_up(EndReason.ERROR)


class MediaEngine:
    """The node's media clock, media engine and RTP address; attaches legs to calls."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.host = config.rtp_host or config.host
        self.clock = MediaClock()
        self.sockets = _socket_set(config)
        log.info("RTP socket I/O: %s", "native batched" if self.sockets else "asyncio transports")
        self.engine = Engine(self.sockets)  # every call's leg, ticked together
        self.clock.subscribe(self.engine.tick)
        self._draining: set[asyncio.Task[None]] = set()

    def choose_codec(self, offered: list[str]) -> Codec:
        for name in offered:
            try:
                return codec_by_name(name)
            except KeyError:
                continue
        raise MediaError(f"no common codec: offered {offered}, supported PCMU, PCMA")

    async def attach(
        self, call: Call, negotiated: Negotiated | None, codecs: list[str] | None = None
    ) -> MediaAnswer:
        """Give ``call`` a leg with an RTP port: as ``negotiated`` says (an offer we answer;
        ``Leg.apply``), or (None) with the first of ``codecs`` we take (default PCMU, PCMA)
        and telephone-event 101, sending nowhere until ``connect`` says where. Raises
        MediaError (no common codec, no free port)."""
        codec = self.choose_codec(
            [negotiated.codec] if negotiated else (codecs or ["PCMU", "PCMA"])
        )
        leg = Leg(codec, inactivity_timeout=self.config.rtp_timeout, name=call.call_id)
        try:
            if self.sockets is not None:
                transport: RtpLink = self.sockets.open(leg, self.host, None, self.config.rtp_ports)
            else:
                transport = await open_transport(leg, self.host, None, self.config.rtp_ports)
        except OSError as exc:
            raise MediaError(str(exc)) from None
        if negotiated is not None:
            leg.apply(negotiated, transport)
        call.media = CallMedia(leg, transport)
        call.end_barrier = lambda done: self._drain(call, done)
        leg.on_inactive = lambda: _rtp_timeout(call)
        call.watchers.append(self._on_call_state)
        self.engine.add(leg)
        self.clock.start()
        host, port = transport.local
        return MediaAnswer(
            rtp_host=host, rtp_port=port, codec=codec.name, telephone_event=leg.telephone_event
        )

    @staticmethod
    def connect(call: Call, negotiated: Negotiated) -> None:
        """Point a call's leg at the far end (after an SDP answer or re-offer): codec,
        telephone-event or in-band DTMF, RTCP, mute and address, as ``Leg.apply`` does."""
        if call.media is not None:
            call.media.leg.apply(negotiated, call.media.transport)

    def _drain(self, call: Call, done: Callable[[], None]) -> None:
        """The call is ending: stop its media, finish its components, then report ended."""
        media = call.media
        if media is None:
            done()
            return
        self.engine.discard(media.leg)

        async def drain_then_end() -> None:
            try:
                await media.drain()
            finally:
                done()

        task = asyncio.get_running_loop().create_task(drain_then_end())
        self._draining.add(task)
        task.add_done_callback(self._draining.discard)

    def _on_call_state(self, call: Call) -> None:
        if call.ended and call.media is not None:
            media, call.media = call.media, None
            self.engine.discard(media.leg)
            media.transport.close()

    async def stop(self) -> None:
        await self.clock.stop()
        if self.sockets is not None:
            self.sockets.flush()
