"""A leg: one side of media. RTP in through a jitter buffer, components in the middle, RTP out.

Each media clock tick (20 ms) the leg mixes its players into the frame it sends (``said``)
and sends one RTP packet, handles the datagrams that arrived since the last tick, takes one
frame from its jitter buffer (``heard``) and hands both frames to its listeners (recorders,
collectors, detectors). A ``media.engine.Engine`` runs these steps for all its legs at
once (``media.batch``); a leg does nothing by itself. Components attach under a
``control_id`` and report through their own callbacks; the leg knows nothing of RELAY. Its
jitter buffer, reception statistics and RTP stream, and its players' and recorders'
positions, are rows of numpy banks (``media.banks.Banks``): banks of its own until it joins
an engine (``move_to``), the engine's while it is in one.

``apply(negotiated)`` sets what an SDP offer/answer agreed (RFC 3264): codec, RFC 4733
telephone-event payload type (none: in-band DTMF detection instead, as for a leg made
without one), RTCP on the RTP port (RFC 5761) or none, mute when the stream is not to be
sent (recvonly, inactive, held), and the far end's address.

Symmetric RTP (RFC 4961): packets go to where the far end's packets come from once any
arrive. No packets for ``inactivity_timeout`` seconds while answered fires ``on_inactive``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

import numpy as np

from voxrelay.media.banks import Banks
from voxrelay.media.codecs import Codec, codec_by_name
from voxrelay.media.digitsender import DigitSender, Step
from voxrelay.media.dtmf import DtmfDetector, DtmfEvent, TelephoneEventReceiver
from voxrelay.media.frames import FRAME, SILENCE, Frame, frames_of, mix
from voxrelay.media.jitterbuffer import JitterBuffer
from voxrelay.media.rtcp import (
    ReceptionStats,
    ReportBlock,
    RtcpError,
    parse_reports,
    receiver_report,
    sender_report,
)
from voxrelay.media.rtp import RtpError, RtpPacket, RtpStream, is_rtcp

log = logging.getLogger(__name__)

INBOX_LIMIT = 64
"""Datagrams a leg queues between ticks before handling them at once (1.28 s of 20 ms RTP)."""
RTCP_INTERVAL_TICKS = 250
"""Ticks between a leg's RTCP reports: 5 s, RFC 3550 §6.2's minimum."""


class Negotiated(Protocol):
    """What ``Leg.apply`` takes from an SDP offer/answer (RFC 3264), as
    ``voxrelay.sip.sdp.Negotiated`` has it: ``codec`` name (PCMU, PCMA), the RFC 4733
    ``telephone_event`` payload type or None, the far end's RTP address, whether RTCP shares
    the RTP port (RFC 5761) and whether we send (``sends``: False while the far end holds
    or the direction is recvonly/inactive)."""

    @property
    def codec(self) -> str: ...

    @property
    def telephone_event(self) -> int | None: ...

    @property
    def remote_host(self) -> str: ...

    @property
    def remote_port(self) -> int: ...

    @property
    def rtcp_mux(self) -> bool: ...

    @property
    def sends(self) -> bool: ...


class Link(Protocol):
    """A leg's socket (``transport.RtpTransport``, ``rtpio.RtpHandle``): where it sends."""

    remote: tuple[str, int] | None


@runtime_checkable
class Banked(Protocol):
    """A component with rows of its own in the banks (players, recorders)."""

    def move_to(self, banks: Banks) -> None: ...


class Player(Protocol):
    """Produces what the leg says: one frame per tick, or None when it has finished.

    ``next_raw`` is the frame before the gain ``factor``; ``next_frame`` has it applied.
    SILENCE (the shared array) means "nothing this tick" (paused)."""

    control_id: str

    @property
    def factor(self) -> float: ...

    def next_raw(self) -> Frame | None: ...

    def next_frame(self) -> Frame | None: ...


class Listener(Protocol):
    """Consumes what the leg hears and says, each tick."""

    control_id: str

    def on_frame(self, heard: Frame, said: Frame) -> None: ...


class DigitListener(Protocol):
    """Told of every DTMF key the far end presses (RFC 4733 or in-band)."""

    control_id: str

    def on_digit(self, digit: str) -> None: ...


T = TypeVar("T")


class _Setting(Generic[T]):
    """A leg attribute the batched tick plans around: assigning it tells the leg's banks."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = "_" + name

    def __get__(self, leg: Any, owner: Any = None) -> T:
        value: T = getattr(leg, self._name)
        return value

    def __set__(self, leg: Any, value: T) -> None:
        setattr(leg, self._name, value)
        leg.banks.changed()


class Leg:
    """See module docstring. ``send`` is the transport's datagram writer (bytes -> None).
    ``inactivity_timeout`` is in seconds (0: never).

    Change components through the methods (``add_player``, ``add_listener``, ``remove``...)
    and settings by assignment: the batched tick keeps a plan of who does what until then."""

    codec: _Setting[Codec] = _Setting()
    send: _Setting[Callable[[bytes], None] | None] = _Setting()
    inband: _Setting[DtmfDetector | None] = _Setting()
    active: _Setting[bool] = _Setting()
    muted: _Setting[bool] = _Setting()
    on_inactive: _Setting[Callable[[], None] | None] = _Setting()
    inactivity_ticks: _Setting[int] = _Setting()
    rtcp_interval_ticks: _Setting[int] = _Setting()

    def __init__(
        self,
        codec: Codec,
        *,
        telephone_event: int | None = 101,
        inactivity_timeout: float = 30.0,
        name: str = "",
    ) -> None:
        self.name = name
        self.banks = Banks(rows=1)
        self.codec = codec
        self.telephone_event = telephone_event
        self.stream = RtpStream(clock_rate=codec.clock_rate, bank=self.banks.streams)
        self.jitter = JitterBuffer(frame_samples=FRAME, bank=self.banks.jitter)
        self.players: list[Player] = []
        self.listeners: list[Listener] = []
        self.digit_listeners: list[DigitListener] = []
        self.on_digit: Callable[[str], None] | None = None
        self.send = None
        self.inbox: list[tuple[bytes, float]] = []  # (datagram, arrival) for the next tick
        self.on_inactive = None
        self._events = TelephoneEventReceiver()
        self.inband = DtmfDetector() if telephone_event is None else None
        self.digit_senders: list[DigitSender] = []
        self._event_ts = 0
        self.inactivity_ticks = frames_of(inactivity_timeout)
        self.active = True
        self.muted = False
        self.invalid = 0
        self.reception = ReceptionStats(codec.clock_rate, bank=self.banks.reception)
        self.remote_report: ReportBlock | None = None  # what the far end says of our stream
        # An RTCP report every 5 s (RFC 3550 §6.2 minimum) on the RTP port (RFC 5761 mux);
        # 0 sends none (a peer that did not agree to rtcp-mux). Each leg reports at its own
        # phase of the interval, so a thousand legs do not all report on the same tick.
        self.rtcp_interval_ticks = RTCP_INTERVAL_TICKS
        self.rtcp_phase = random.randrange(RTCP_INTERVAL_TICKS)

    def move_to(self, banks: Banks) -> None:
        """Carry the leg's rows, its components' and its queued datagrams into ``banks``
        (its engine's when it joins one, banks of its own when it leaves)."""
        old = self.banks
        if banks is old:
            return
        self.jitter.move_to(banks.jitter)
        self.reception.move_to(banks.reception)
        self.stream.move_to(banks.streams)
        for component in [*self.players, *self.listeners]:
            _move(component, banks)
        old.queued -= len(self.inbox)
        banks.queued += len(self.inbox)
        self.banks = banks
        old.changed()
        banks.changed()

    def changed(self) -> None:
        """Something the tick plans around changed outside the leg (its socket)."""
        self.banks.changed()

    def apply(self, negotiated: Negotiated, link: Link | None = None) -> None:
        """Use what SDP negotiation agreed (see module docstring); ``link``, the leg's
        socket, then sends to the far end's address. KeyError for a codec other than PCMU
        or PCMA."""
        self.codec = codec_by_name(negotiated.codec)
        self.telephone_event = negotiated.telephone_event
        if negotiated.telephone_event is not None:
            self.inband = None  # keys come as RFC 4733 events
        elif self.inband is None:
            self.inband = DtmfDetector()  # no RFC 4733: listen for in-band tones
        self.rtcp_interval_ticks = RTCP_INTERVAL_TICKS if negotiated.rtcp_mux else 0
        self.muted = not negotiated.sends
        if link is not None:
            link.remote = (negotiated.remote_host, negotiated.remote_port)

    # -- from the network -----------------------------------------------------------------

    def deliver(self, data: bytes, arrival: float | None = None) -> None:
        """A datagram from the far end, handled in the next tick;
        ``arrival`` is when it came (``time.monotonic()`` seconds, default now).

        The transport only queues it with its arrival time, so a burst of packets does not
        delay the media clock's timer. Past ``INBOX_LIMIT`` datagrams (a leg no clock ticks)
        the queue is handled at once."""
        self.inbox.append((data, time.monotonic() if arrival is None else arrival))
        self.banks.queued += 1
        if len(self.inbox) > INBOX_LIMIT:
            self._drain_inbox()

    def _drain_inbox(self) -> None:
        inbox, self.inbox = self.inbox, []
        self.banks.queued -= len(inbox)
        for data, arrival in inbox:
            self.receive(data, arrival)

    def receive(self, data: bytes, arrival: float | None = None) -> None:
        """One datagram from the far end (RTP or RTCP), handled now; ``arrival`` is when it
        came (``time.monotonic()`` seconds, default now), for the RFC 3550 jitter."""
        if is_rtcp(data):
            self._receive_rtcp(data)
            return
        try:
            packet = RtpPacket.parse(data)
        except RtpError:
            self.invalid += 1
            return
        when = time.monotonic() if arrival is None else arrival
        samples = int(when * self.codec.clock_rate)
        self.reception.update(packet.ssrc, packet.sequence, packet.timestamp, samples)
        tick = self._note_received()
        if packet.payload_type == self.codec.payload_type:
            self.jitter.put(packet, tick * FRAME)
        elif packet.payload_type == self.telephone_event:
            try:
                self._digits(self._events.feed(packet.timestamp, packet.payload))
            except ValueError:
                self.invalid += 1

    # -- each tick (``batch.tick_legs`` drives these for all of an engine's legs) ------------

    def _note_received(self) -> int:
        """An RTP packet arrived; returns the tick it counts in."""
        bank, row = self.reception.bank, np.array([self.reception.row])
        bank.note(row, np.array([1]))
        return int(bank.tick[row[0]])

    @property
    def received(self) -> int:
        """RTP packets received, from any source."""
        return self._row_value("packets")

    def _row_value(self, column: str) -> int:
        return int(getattr(self.reception.bank, column)[self.reception.row])

    def silent_ticks(self) -> int:
        """Media ticks since the last RTP packet (or since the leg's first tick)."""
        return self._row_value("tick") - self._row_value("last_rx_tick")

    def detect_inband(self, heard: Frame) -> None:
        """Look for DTMF tones in what was heard (only when the peer has no telephone-event)."""
        if self.inband is not None:
            self._digits(self.inband.feed(heard))

    def said_source(self) -> tuple[Frame, float] | None:
        """What the players say this tick before the gain, as (frame, amplitude factor), or
        None for silence. Players that ended are dropped."""
        players = self.players
        if len(players) == 1:
            player = players[0]
            frame = player.next_raw()
            if frame is None:
                self.drop_player(player)
                return None
            return None if frame is SILENCE else (frame, player.factor)
        frames = []
        for player in list(players):
            frame = player.next_frame()
            if frame is None:
                self.drop_player(player)
            elif frame is not SILENCE:
                frames.append(frame)
        return (mix(frames), 1.0) if frames else None

    def drop_player(self, player: Player) -> None:
        """Detach a player that has ended."""
        if player in self.players:  # its end callback may have removed it already
            self.players.remove(player)
            self.banks.changed()

    def send_payload(self, payload: bytes | None) -> None:
        """Send one audio packet with ``payload`` (None: encoded silence)."""
        assert self.send is not None
        data = self.codec.silence if payload is None else payload
        self.send(self.stream.pack(data, self.codec.payload_type))

    def send_frame(self, said: Frame) -> None:
        """Send this tick's packet from a frame: an RFC 4733 event while keys are being sent,
        else the audio (silence when muted)."""
        assert self.send is not None
        payload, starts = self._event_step() or (None, False)
        if payload is not None and self.telephone_event is not None:
            if starts:
                self._event_ts = self.stream.timestamp
            packet = self.stream.packet(
                payload, self.telephone_event, marker=starts, timestamp=self._event_ts
            )
            self.send(packet.serialize())
        else:
            self.send_payload(None if self.muted or said is SILENCE else self.codec.encode(said))

    def rtcp_report(self) -> bytes:
        """An SR (we send audio) with our reception report of the far end (RFC 3550 §6.4)."""
        block = self.reception.block()
        if self.stream.packets:
            return sender_report(
                self.stream.ssrc,
                self.stream.timestamp,
                self.stream.packets,
                self.stream.octets,
                block,
            )
        return receiver_report(self.stream.ssrc, block)

    def _receive_rtcp(self, data: bytes) -> None:
        try:
            blocks = parse_reports(data)
        except RtcpError:
            self.invalid += 1
            return
        for block in blocks:
            if block.ssrc == self.stream.ssrc:
                self.remote_report = block

    def stats(self) -> dict[str, object]:
        """Media quality of this leg: counts, loss and jitter both ways (jitter in ms)."""
        rx, remote = self.reception, self.remote_report
        return {
            "codec": self.codec.name,
            "packets_sent": self.stream.packets,
            "packets_received": self.received,
            "packets_lost": max(0, rx.lost),
            "jitter_ms": round(rx.jitter_ms, 2),
            "invalid_packets": self.invalid,
            "late_packets": self.jitter.stats.late,
            "jitter_buffer_frames": self.jitter.target,
            "remote_fraction_lost": remote.fraction_lost if remote else None,
            "remote_packets_lost": remote.cumulative_lost if remote else None,
            "remote_jitter_ms": round(remote.jitter * 1000 / self.codec.clock_rate, 2)
            if remote
            else None,
        }

    def _event_step(self) -> Step | None:
        while self.digit_senders:
            step = self.digit_senders[0].next_step()
            if step is not None:
                return step
            self.digit_senders.pop(0)
            self.banks.changed()
        return None

    def add_digit_sender(self, sender: DigitSender) -> None:
        """Queue RFC 4733 keys; senders run one after another. Needs ``telephone_event``."""
        self.digit_senders.append(sender)
        self.banks.changed()

    def _digits(self, events: list[DtmfEvent]) -> None:
        for event in events:
            if self.on_digit is not None:
                self.on_digit(event.digit)
            for listener in list(self.digit_listeners):
                listener.on_digit(event.digit)

    # -- components -----------------------------------------------------------------------

    def add_player(self, player: Player) -> None:
        _move(player, self.banks)
        self.players.append(player)
        self.banks.changed()

    def add_listener(self, listener: Listener) -> None:
        _move(listener, self.banks)
        self.listeners.append(listener)
        self.banks.changed()

    def add_digit_listener(self, listener: DigitListener) -> None:
        self.digit_listeners.append(listener)

    def remove(self, control_id: str) -> None:
        """Detach every component registered under ``control_id``."""
        self.players = [p for p in self.players if p.control_id != control_id]
        self.listeners = [c for c in self.listeners if c.control_id != control_id]
        self.banks.changed()
        self.digit_listeners = [c for c in self.digit_listeners if c.control_id != control_id]
        for sender in self.digit_senders:
            if sender.control_id == control_id:
                sender.stop()


def _move(component: object, banks: Banks) -> None:
    """Carry a component's bank rows (players, recorders have them) into ``banks``."""
    if isinstance(component, Banked):
        component.move_to(banks)
