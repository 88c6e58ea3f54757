"""Calls get media: a leg with its RTP socket, driven by the node's media clock.

``MediaEngine.attach`` answers a media offer (the far end's RTP address and codecs) for a
call: it picks the codec, opens an RTP port, and keeps the leg until the call ends, when every
component is finalised (recordings written) and the port closed. RELAY command modules find
the leg and its components in ``call.media``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field

from voxrelay.media import rtpio
from voxrelay.media.batch import LegBatch
from voxrelay.media.clock import MediaClock
from voxrelay.media.codecs import Codec, codec_by_name
from voxrelay.media.dtmf import DtmfDetector
from voxrelay.media.leg import Leg
from voxrelay.media.rtpio import RtpHandle, RtpSocketSet
from voxrelay.media.transport import RtpTransport, open_transport
from voxrelay.protocol.models import Open
from voxrelay.protocol.states import EndReason
from voxrelay.server.calls import Call
from voxrelay.server.config import ServerConfig

log = logging.getLogger(__name__)
DRAIN_TIMEOUT = 30.0
RtpLink = RtpTransport | RtpHandle  # a leg's socket: event-loop transport or batched set


class MediaOffer(Open):
    """The far end's side: where to send RTP, which codecs it takes (preference order)."""

    rtp_host: str = Field(min_length=1, max_length=253)
    rtp_port: int = Field(ge=1, le=65535)
    codecs: list[str] = Field(default_factory=lambda: ["PCMU", "PCMA"], min_length=1)
    telephone_event: int | None = Field(default=101, ge=96, le=127)
    rtcp_mux: bool = True


class MediaAnswer(Open):
    rtp_host: str
    rtp_port: int
    codec: str
    telephone_event: int | None


class MediaError(Exception):
    """An offer we cannot take (no common codec, no free port)."""


@dataclass
class CallMedia:
    """A call's leg and the components attached to it under their control_ids.

    ``closers`` run when the call ends; awaitable ones (recordings being written) are
    awaited, at most ``DRAIN_TIMEOUT`` seconds, before the call reports ``ended``.
    """

    leg: Leg
    transport: RtpLink
    components: dict[str, Any] = field(default_factory=dict)
    closers: list[Callable[[], object]] = field(default_factory=list)

    async def drain(self) -> None:
        pending = []
        for closer in self.closers:
            try:
                result = closer()
            except Exception:
                log.exception("closing a media component failed")
                continue
            if inspect.isawaitable(result):
                pending.append(result)
        self.closers.clear()
        if pending:
            try:
                async with asyncio.timeout(DRAIN_TIMEOUT):
                    await asyncio.gather(*pending, return_exceptions=True)
            except TimeoutError:
                log.error("media components took over %s s to close", DRAIN_TIMEOUT)
        self.transport.close()


def _socket_set(config: ServerConfig) -> RtpSocketSet | None:
    """The batched socket set the media tick polls, or None for event-loop transports."""
    if config.rtp_io == "asyncio" or (config.rtp_io == "auto" and not rtpio.available()):
        return None
    low, high = config.rtp_ports
    return RtpSocketSet(capacity=max(1, (high - low) // 2 + 1))  # raises RtpIoError


def _rtp_timeout(call: Call) -> None:
    log.info("call %s: no RTP for too long, hanging up", call.call_id)
    call.hang_up(EndReason.ERROR)


class MediaEngine:
    """The node's media clock and RTP address; attaches legs to calls."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.host = config.rtp_host or config.host
        self.clock = MediaClock()
        self.sockets = _socket_set(config)
        log.info("RTP socket I/O: %s", "native batched" if self.sockets else "asyncio transports")
        self.legs = LegBatch(self.sockets)  # every call's leg, ticked together
        self.clock.subscribe(self.legs.tick)
        self._draining: set[asyncio.Task[None]] = set()

    def choose_codec(self, offered: list[str]) -> Codec:
        for name in offered:
            try:
                return codec_by_name(name)
            except KeyError:
                continue
        raise MediaError(f"no common codec: offered {offered}, supported PCMU, PCMA")

    async def attach(
        self, call: Call, offer: MediaOffer | None, codecs: list[str] | None = None
    ) -> MediaAnswer:
        """Give ``call`` a leg with an RTP port; it sends to the offer's address, or (None)
        nowhere until ``connect`` says where. Raises MediaError."""
        codec = self.choose_codec(offer.codecs if offer else (codecs or ["PCMU", "PCMA"]))
        event = offer.telephone_event if offer else 101
        leg = Leg(
            codec,
            telephone_event=event,
            inactivity_timeout=self.config.rtp_timeout,
            name=call.call_id,
        )
        remote = (offer.rtp_host, offer.rtp_port) if offer else None
        try:
            if self.sockets is not None:
                transport: RtpLink = self.sockets.open(
                    leg, self.host, remote, self.config.rtp_ports
                )
            else:
                transport = await open_transport(leg, self.host, remote, self.config.rtp_ports)
        except OSError as exc:
            raise MediaError(str(exc)) from None
        if offer is not None and not offer.rtcp_mux:
            leg.rtcp_interval_ticks = 0
        call.media = CallMedia(leg, transport)
        call.end_barrier = lambda done: self._drain(call, done)
        leg.on_inactive = lambda: _rtp_timeout(call)
        call.watchers.append(self._on_call_state)
        self.legs.add(leg)
        self.clock.start()
        host, port = transport.local
        return MediaAnswer(rtp_host=host, rtp_port=port, codec=codec.name, telephone_event=event)

    @staticmethod
    def connect(
        call: Call,
        host: str,
        port: int,
        codec: str,
        telephone_event: int | None,
        rtcp_mux: bool,
        sending: bool = True,
    ) -> None:
        """Point a call's leg at the far end's RTP address (after an SDP answer or re-offer)."""
        media = call.media
        if media is None:
            return
        media.transport.remote = (host, port)
        media.leg.codec = codec_by_name(codec)
        media.leg.telephone_event = telephone_event
        media.leg.rtcp_interval_ticks = 250 if rtcp_mux else 0
        media.leg.muted = not sending
        if telephone_event is None and media.leg.inband is None:
            media.leg.inband = DtmfDetector()  # no RFC 4733: listen for in-band tones

    def _drain(self, call: Call, done: Callable[[], None]) -> None:
        """The call is ending: stop its media, finish its components, then report ended."""
        media = call.media
        if media is None:
            done()
            return
        self.legs.discard(media.leg)

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
            self.legs.discard(media.leg)
            media.transport.close()

    async def stop(self) -> None:
        await self.clock.stop()
        if self.sockets is not None:
            self.sockets.flush()
