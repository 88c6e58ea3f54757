"""One media tick for many legs at once: receive, decode, gain, record, encode and send in
single numpy calls.

ARCHITECTURE.md "Media model": the per-tick step, vectorised across legs. Each 20 ms tick
``tick_legs``:

1. asks each leg's players for its outbound frame (``Leg.said_source``) and applies the
   volume gains of all legs in one multiply, into a (k, 160) int16 matrix ``said``;
2. encodes every leg's ``said`` row with one table lookup per codec, makes every leg's RTP
   packet in one call (``StreamBank.pack``) and sends them (legs saying nothing send encoded
   silence). Sending comes first, so the send times (RTP jitter) depend on nothing else
   the tick does, not even on how long reading the sockets takes;
3. handles the datagrams that arrived since the last tick (the engine reads its socket
   set only now): plain 20 ms audio packets of a
   leg's codec go to the reception statistics and jitter buffers of all legs at once
   (``ReceptionBank``, ``JitterBank``), anything else to the leg's own ``receive``;
4. takes every leg's frame from its jitter buffer, decodes those of the legs that listen,
   one table lookup per codec, into a matrix ``heard``, and runs in-band DTMF detection
   where the peer has no telephone-event;
5. feeds the listeners: listener classes with a batch method ``on_frames(listeners, heard,
   said)`` (the recorder) get all their instances' rows in one call, others get
   ``on_frame(heard, said)`` per leg with frames of their own (copies they may keep);
6. lets each leg finish its tick (RTCP, inactivity) and moves every RTP clock on.

What a listener or digit callback changes (stopping a player, queueing keys) takes effect
from the next tick, as in a leg ticked alone. Rows a batch listener receives are views of
matrices made for that tick and never reused, so keeping them is safe. ``TickPlan``
(``media.plan``) keeps who does what between ticks. ``media.engine.Engine`` owns the legs
one media clock drives, their banks and this tick's plan.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from voxrelay.media.frames import FRAME, SILENCE, Frame
from voxrelay.media.jitterbuffer import Arrivals
from voxrelay.media.plan import Matrix, TickPlan
from voxrelay.media.player import ENDED, PLAYED
from voxrelay.media.rtp import Datagrams, Headers
from voxrelay.media.soa import Ints

if TYPE_CHECKING:
    from voxrelay.media.leg import Leg

ROOM = 12 + FRAME
"""A 20 ms G.711 RTP packet with a plain header: the datagrams the vectorised path takes."""

Arrived = tuple[Sequence[int] | Ints, Datagrams]
"""Datagrams read for a tick's legs, with the position of each one's leg (-1: none)."""


class BatchIO(Protocol):
    """Sockets polled by the tick rather than by the event loop (``rtpio.RtpSocketSet``)."""

    capacity: int

    def poll(self) -> tuple[Ints, Datagrams]:
        """The datagrams waiting, with the slot (socket) each came on."""
        ...

    def receiver_of(self, slot: int) -> Any:
        """The Leg on ``slot``, or None."""
        ...

    def flush(self) -> int:
        """Send what the legs' handles queued."""
        ...

    def slots_of(self, legs: list[Any]) -> list[int]:
        """Each leg's socket in the set, or -1."""
        ...

    def send_rows(self, slots: Ints, packets: np.ndarray[Any, Any]) -> int:
        """Send packet ``packets[k]`` on socket ``slots[k]``."""
        ...


def tick_legs(
    legs: Sequence[Leg],
    n: int,
    plan: TickPlan,
    io: BatchIO | None = None,
    arrived: Arrived | Callable[[], Arrived] | None = None,
) -> None:
    """Advance ``legs`` by one 20 ms frame (tick number ``n``). See module docstring.

    ``plan`` is the legs' (made for this list, kept between ticks by the engine). With
    ``io`` (the legs' socket set), packets of legs with a socket there are sent through
    it. ``arrived`` is ``(owner, datagrams)``: datagrams read for the legs, datagram k for
    ``legs[owner[k]]`` (-1: none), besides what the legs' own inboxes hold; or a function
    that reads them, called once the packets are sent (so reading the sockets does not
    delay the sends)."""
    said, said_row = _said(legs, plan)
    _send(legs, plan, said, said_row, io)  # first: the send times should not depend on the rest
    if io is not None:
        io.flush()
    if callable(arrived):
        arrived = arrived()
    _receive_inboxes(legs, plan)
    if arrived is not None and len(arrived[1]):
        owner = np.asarray(arrived[0], dtype=np.int64)
        mine = owner >= 0
        if mine.all():
            _receive(legs, plan, owner, arrived[1])
        elif mine.any():
            _receive(legs, plan, owner[mine], arrived[1].pick(mine))
    heard, heard_row = _take(legs, plan, n)
    for i in plan.roles(legs).inband:
        legs[i].detect_inband(SILENCE if heard_row[i] < 0 else heard[heard_row[i]])
    _feed_listeners(legs, plan, heard, heard_row, said, said_row)
    _finish(legs, plan, n)


def _finish(legs: Sequence[Leg], plan: TickPlan, n: int) -> None:
    """End tick ``n``: RTCP from the legs whose report is due, ``on_inactive`` for watched
    legs that heard no RTP for too long, and every stream's RTP clock on by one frame."""
    roles = plan.roles(legs)
    interval = roles.rtcp_interval
    due = roles.sending & (interval > 0) & ((n + roles.rtcp_phase) % np.maximum(interval, 1) == 0)
    for i in np.flatnonzero(due).tolist():
        send = legs[i].send
        if send is not None:
            send(legs[i].rtcp_report())
    bank, rows = plan.banks.reception, plan.reception_row
    quiet = (roles.inactivity > 0) & (bank.tick[rows] - bank.last_rx_tick[rows] > roles.inactivity)
    for i in np.flatnonzero(quiet).tolist():
        row = legs[i].reception.row
        bank.last_rx_tick[row] = bank.tick[row]
        callback = legs[i].on_inactive
        if callback is not None:
            callback()
    plan.banks.streams.advance(plan.stream_row, FRAME)


def _receive_inboxes(legs: Sequence[Leg], plan: TickPlan) -> None:
    """Datagrams the legs' transports queued (``Leg.deliver``) since the last tick. (Legs
    on a socket set have none: their datagrams come from its poll.)"""
    banks = plan.banks
    if banks.queued <= 0:
        return
    owner: list[int] = []
    items: list[tuple[bytes, float]] = []
    for i, leg in enumerate(legs):
        if leg.inbox:
            owner.extend([i] * len(leg.inbox))
            items.extend(leg.inbox)
            banks.queued -= len(leg.inbox)
            leg.inbox = []
    if items:
        _receive(legs, plan, np.array(owner, dtype=np.int64), Datagrams.from_list(items, ROOM))


def _receive(legs: Sequence[Leg], plan: TickPlan, owner: Ints, datagrams: Datagrams) -> None:
    """RTP for the legs: 20 ms audio packets of a leg's codec with a plain header go to the
    reception statistics and jitter buffers of all legs at once; anything else (RTCP,
    telephone-event, other packet times, malformed datagrams) to its ``Leg.receive``."""
    headers = Headers.parse(datagrams.data)
    roles = plan.roles(legs)
    fast = (
        headers.plain
        & (datagrams.size == ROOM)
        & (headers.payload_type == roles.payload_type[owner])
    )
    if fast.all():  # the usual case: no copies
        fast = slice(None)
    else:
        for k in np.flatnonzero(~fast).tolist():
            legs[owner[k]].receive(datagrams.bytes(k), float(datagrams.arrival[k]))
        if not fast.any():
            return
    owner = owner[fast]
    ssrc, seq, ts = headers.ssrc[fast], headers.sequence[fast], headers.timestamp[fast]
    marker, pt = headers.marker[fast], headers.payload_type[fast]
    arrival = datagrams.arrival[fast]
    payload = datagrams.data[fast, 12:ROOM]
    counts = np.bincount(owner, minlength=len(legs))
    reception = plan.banks.reception
    heard_from = np.unique(owner)
    rows = plan.reception_row[heard_from]
    reception.note(rows, counts[heard_from])
    previous_tick = np.zeros(len(legs), dtype=np.int64)  # the tick they count in
    previous_tick[heard_from] = reception.tick[rows]
    reception.update(
        plan.reception_row[owner],
        ssrc,
        seq,
        ts,
        (arrival * legs[int(owner[0])].codec.clock_rate).astype(np.int64),
    )
    plan.banks.jitter.put(
        Arrivals(
            plan.jitter_row[owner],
            ssrc,
            ts,
            previous_tick[owner] * FRAME,
            seq,
            marker,
            pt,
            payload,
            np.full(len(owner), FRAME, dtype=np.int64),
        )
    )


def _take(legs: Sequence[Leg], plan: TickPlan, n: int) -> tuple[Matrix, list[int]]:
    """Each leg's frame for tick ``n`` from its jitter buffer, decoded where something
    listens: matrix rows with a zero row last; ``row[i]`` is leg i's or -1 (nothing)."""
    plan.banks.reception.start(plan.reception_row, n)
    roles = plan.roles(legs)
    bank, rows = plan.banks.jitter, plan.jitter_row
    got, slot = bank.get(rows)
    want = got & roles.listening
    row_of = np.full(len(legs), -1, dtype=np.int64)
    if not want.any():
        return np.zeros((1, FRAME), dtype=np.int16), row_of.tolist()
    r, s = rows[want], slot[want]
    hit, payload, size = np.flatnonzero(want), bank.ring_payload[r, s, :FRAME], bank.ring_size[r, s]
    heard = np.empty((len(hit) + 1, FRAME), dtype=np.int16)  # a zero row last
    heard[-1] = 0
    count = 0
    for codec, members in roles.codecs:
        pick = np.isin(hit, members) if len(roles.codecs) > 1 else slice(None)
        mine = hit[pick]
        if not len(mine):
            continue
        frames = heard[count : count + len(mine)]
        codec.decode_table.take(payload[pick], out=frames, mode="clip")  # clip: unbuffered
        short = size[pick] < FRAME
        if short.any():  # another packet time: silence after the samples it carried
            frames[np.arange(FRAME)[None, :] >= size[pick][:, None]] = 0
        row_of[mine] = np.arange(count, count + len(mine))
        count += len(mine)
    return heard, row_of.tolist()


def _said(legs: Sequence[Leg], plan: TickPlan) -> tuple[Matrix, list[int]]:
    """What each leg says, gains applied, as matrix rows with a zero row last (-1: silence).
    Legs with one player get their frames from the player bank in one call."""
    roles = plan.roles(legs)
    rows = np.full(len(legs), -1, dtype=np.int64)
    k = len(roles.solo)
    factor = np.ones(k + 1)
    if k:  # a spare zero row after the players' frames: the usual said matrix
        bank = plan.banks.players
        said, status = bank.next_frames(roles.solo_players, roles.solo_rows, spare=1)
        factor[:k] = bank.factor[roles.solo_rows]
        played = np.flatnonzero(status == PLAYED)
        rows[roles.solo[played]] = played  # other rows are zeros, and unused
        for j in np.flatnonzero(status == ENDED).tolist():
            legs[int(roles.solo[j])].drop_player(roles.solo_players[j])
    else:
        said = np.zeros((1, FRAME), dtype=np.int16)
    mixed: list[Frame] = []
    gains: list[float] = []
    for i in roles.mixing:
        source = legs[i].said_source()
        if source is not None:
            rows[i] = k + len(mixed)
            mixed.append(source[0])
            gains.append(source[1])
    if mixed:
        said = np.concatenate([said[:k], np.stack(mixed), said[k:]])
        factor = np.concatenate([factor[:k], gains, factor[k:]])
    if (factor != 1.0).any():
        scaled = said.astype(np.float32) * factor.astype(np.float32)[:, None]
        said = np.clip(scaled, -32768, 32767).astype(np.int16)
    return said, rows.tolist()


def _feed_listeners(
    legs: Sequence[Leg],
    plan: TickPlan,
    heard: Matrix,
    heard_row: list[int],
    said: Matrix,
    said_row: list[int],
) -> None:
    roles = plan.roles(legs)
    for i, listener in roles.singles:
        listener.on_frame(_row(heard, heard_row[i]), _row(said, said_row[i]))
    if roles.feeds:
        h, s = np.array(heard_row), np.array(said_row)  # -1 picks the zero row
        for feed, listeners, members in roles.feeds:
            feed(listeners, heard[h[members]], said[s[members]])


def _row(matrix: Matrix, row: int) -> Frame:
    """A frame a listener may keep: its own copy, or the shared SILENCE."""
    return SILENCE if row < 0 else matrix[row].copy()


def _send(
    legs: Sequence[Leg], plan: TickPlan, said: Matrix, said_row: list[int], io: BatchIO | None
) -> None:
    """Each sending leg's packet: encoded in one table lookup per codec and packetised for
    all legs at once; handed to the socket set in one call, or to each leg's ``send``."""
    roles = plan.roles(legs)
    for i in roles.own_send:  # RFC 4733 events to interleave: the leg's own path
        row = said_row[i]
        legs[i].send_frame(SILENCE if row < 0 else said[row])
    fast = roles.fast_send
    if not len(fast):
        return
    rows = np.array(said_row)[fast]
    rows[roles.muted] = -1  # the zero row: encoded silence
    payload = np.empty((len(fast), FRAME), dtype=np.uint8)
    for codec, members in roles.codecs:
        picked = np.isin(fast, members) if len(roles.codecs) > 1 else slice(None)
        payload[picked] = codec.encode_table.take(said[rows[picked]].view(np.uint16))
    packets = plan.banks.streams.pack(plan.stream_row[fast], roles.payload_type[fast], payload)
    slots = roles.leg_slots[fast]
    native = slots >= 0
    if io is not None and native.any():
        io.send_rows(slots[native], packets[native])
    for k in np.flatnonzero(~native).tolist():
        send = legs[int(fast[k])].send
        if send is not None:
            send(packets[k].tobytes())
