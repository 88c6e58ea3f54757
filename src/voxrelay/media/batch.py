"""One media tick for many legs at once: decode, gain, record and encode in single numpy calls.

DESIGN.md's per-tick step, vectorised across legs. Each 20 ms tick ``tick_legs``:

1. asks each leg's players for its outbound frame (``Leg.said_source``) and applies the
   volume gains of all legs in one multiply, into a (k, 160) int16 matrix ``said``;
2. encodes every leg's ``said`` row with one table lookup per codec and sends one RTP packet
   per leg (legs saying nothing send a cached frame of encoded silence). Sending comes
   first, so the send times (RTP jitter) depend on nothing else the tick does;
3. has each leg handle the datagrams queued since the last tick and take its frame from the
   jitter buffer (``Leg.take``);
4. decodes the payloads of every leg that listens, one table lookup per codec, into a
   matrix ``heard``, and runs in-band DTMF detection where the peer has no telephone-event;
5. feeds the listeners: listener classes with a batch method ``on_frames(listeners, heard,
   said)`` (the recorder) get all their instances' rows in one call, others get
   ``on_frame(heard, said)`` per leg with frames of their own (copies they may keep);
6. lets each leg finish its tick (RTCP, timestamp, inactivity).

What a listener or digit callback changes (stopping a player, queueing keys) takes effect
from the next tick, as in a leg ticked alone.
Rows a batch listener receives are views of matrices made for that tick and never reused,
so keeping them is safe. ``LegBatch`` is the set of legs one media clock drives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from voxrelay.media.frames import FRAME, SILENCE, Frame
from voxrelay.media.jitterbuffer import Arrivals, Ints, JitterBank
from voxrelay.media.rtcp import ReceptionBank
from voxrelay.media.rtp import Datagrams, Headers, StreamBank

if TYPE_CHECKING:
    from voxrelay.media.leg import Leg

Matrix = np.ndarray[Any, np.dtype[np.int16]]
ROOM = 12 + FRAME
"""A 20 ms G.711 RTP packet with a plain header: the datagrams the vectorised path takes."""
BatchFeed = Callable[[list[Any], Matrix, Matrix], None]


_listener_changes = [0]


def listeners_changed() -> None:
    """A listener was added to or removed from some leg (``Leg`` calls this): the batches'
    listener plans are rebuilt at their next tick."""
    _listener_changes[0] += 1


class BatchIO(Protocol):
    """Sockets polled by the tick rather than by the event loop (``rtpio.RtpSocketSet``)."""

    def poll(self) -> tuple[list[Any], Datagrams]:
        """The datagrams waiting, with the receiver (a Leg, or None) of each."""
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


class LegBatch:
    """The legs one media clock ticks together; subscribe ``tick`` to the clock.

    With ``io`` (the legs' ``RtpSocketSet``), each tick first has it deliver the datagrams
    waiting on the sockets, and has it send the tick's packets as soon as they are made."""

    def __init__(self, io: BatchIO | None = None) -> None:
        self._legs: dict[int, Leg] = {}
        self._index: dict[int, int] = {}  # id(leg) -> its position in the tick's list
        self._list: list[Leg] = []
        self._sides: _Sides | None = None
        self.io = io
        self.jitter = JitterBank()
        self.reception = ReceptionBank()
        self.streams = StreamBank()

    def add(self, leg: Leg) -> None:
        """Tick ``leg`` with the others; its receive state moves into the batch's banks."""
        if id(leg) not in self._legs:
            leg.jitter.move_to(self.jitter)
            leg.reception.move_to(self.reception)
            leg.stream.move_to(self.streams)
            self._legs[id(leg)] = leg
            self._changed()

    def discard(self, leg: Leg) -> None:
        """Stop ticking ``leg``; it keeps its receive state, in banks of its own."""
        if self._legs.pop(id(leg), None) is not None:
            leg.jitter.move_to(JitterBank(rows=1))
            leg.reception.move_to(ReceptionBank(rows=1))
            leg.stream.move_to(StreamBank(rows=1))
            self._changed()

    def _changed(self) -> None:
        self._list = list(self._legs.values())
        self._index = {id(leg): i for i, leg in enumerate(self._list)}
        self._sides = None

    def __len__(self) -> int:
        return len(self._legs)

    def __contains__(self, leg: object) -> bool:
        return id(leg) in self._legs

    def tick(self, n: int) -> None:
        """Tick every leg once (the media clock's subscriber)."""
        io = self.io
        if self._list and self._sides is None:
            self._sides = _Sides(self._list)
        if io is None:
            if self._list:
                tick_legs(self._list, n, sides=self._sides)
            return
        receivers, datagrams = io.poll()
        owner = self._owners(receivers, datagrams)
        if self._list:
            tick_legs(self._list, n, io, (owner, datagrams), self._sides)
        io.flush()  # what the tick sent after its audio (RTCP)

    def _owners(self, receivers: list[Any], datagrams: Datagrams) -> list[int]:
        """Each datagram's leg position; datagrams for legs outside the batch are handed to
        their receivers now, and cut-off ones (counted by the set) dropped: owner -1."""
        index = self._index
        owner = [index.get(id(r), -1) for r in receivers]
        sizes = datagrams.size.tolist()
        for k, (i, size) in enumerate(zip(owner, sizes, strict=True)):
            if i >= 0 and size > 0:
                continue
            owner[k] = -1
            if size >= 0 and receivers[k] is not None:
                receivers[k].deliver(datagrams.bytes(k), float(datagrams.arrival[k]))
        return owner


def tick_legs(
    legs: Sequence[Leg],
    n: int,
    io: BatchIO | None = None,
    arrived: tuple[Sequence[int], Datagrams] | None = None,
    sides: _Sides | None = None,
) -> None:
    """Advance ``legs`` by one 20 ms frame (tick number ``n``). See module docstring.

    With ``io`` (the legs' socket set), packets of legs with a socket there are sent through
    it. ``arrived`` is ``(owner, datagrams)``: datagrams read for the legs, datagram k for
    ``legs[owner[k]]`` (-1: none), besides what the legs' own inboxes hold. ``sides`` is
    where the legs' state is, when the caller keeps it between ticks (``LegBatch``)."""
    if sides is None:
        sides = _Sides(legs)
    else:
        sides.refresh(legs)
    said, said_row = _said(legs)
    _send(legs, sides, said, said_row, io)  # first: the send times should not depend on the rest
    if io is not None:
        io.flush()
    _receive_inboxes(legs, sides)
    if arrived is not None and len(arrived[1]):
        owner = np.asarray(arrived[0], dtype=np.int64)
        mine = owner >= 0
        if mine.all():
            _receive(legs, sides, owner, arrived[1])
        elif mine.any():
            _receive(legs, sides, owner[mine], arrived[1].pick(mine))
    heard, heard_row = _take(legs, sides, n)
    for leg, row in zip(legs, heard_row, strict=True):
        if leg.inband is not None:
            leg.detect_inband(SILENCE if row < 0 else heard[row])
    _feed_listeners(legs, sides, heard, heard_row, said, said_row)
    for leg in legs:
        leg.finish_tick(n)
    for members in sides.groups:  # the RTP clock of every stream on by one frame
        legs[int(members[0])].stream.bank.advance(sides.stream_row[members], FRAME)


class _Sides:
    """Where each leg's state is in a tick: the rows of its jitter buffer, reception
    statistics and RTP stream, grouped by the banks holding them (one group for a
    ``LegBatch``)."""

    def __init__(self, legs: Sequence[Leg]) -> None:
        self.jitter_row = np.array([leg.jitter.row for leg in legs], dtype=np.int64)
        self.reception_row = np.array([leg.reception.row for leg in legs], dtype=np.int64)
        self.stream_row = np.array([leg.stream.row for leg in legs], dtype=np.int64)
        self._plan: tuple[list[tuple[BatchFeed, list[Any], Ints]], list[tuple[int, Any]]] | None
        self._plan, self._plan_version = None, -1
        self.refresh(legs)
        groups: dict[tuple[int, int, int], list[int]] = {}
        for i, leg in enumerate(legs):
            key = (id(leg.jitter.bank), id(leg.reception.bank), id(leg.stream.bank))
            groups.setdefault(key, []).append(i)
        self.groups = [np.array(members, dtype=np.int64) for members in groups.values()]
        self.group = np.zeros(len(legs), dtype=np.int64)
        for g, members in enumerate(self.groups):
            self.group[members] = g

    def listener_plan(
        self, legs: Sequence[Leg]
    ) -> tuple[list[tuple[BatchFeed, list[Any], Ints]], list[tuple[int, Any]]]:
        """Who listens to what: listener classes with a batch ``on_frames`` with their
        instances and those instances' leg positions, and the other listeners with theirs.
        Kept until a listener is added or removed anywhere (``_listener_changes[0]``)."""
        if self._plan is None or self._plan_version != _listener_changes[0]:
            self._plan_version = _listener_changes[0]
            batched: dict[BatchFeed, tuple[list[Any], list[int]]] = {}
            singles: list[tuple[int, Any]] = []
            for i, leg in enumerate(legs):
                for listener in leg.listeners:
                    feed = getattr(type(listener), "on_frames", None)
                    if feed is None:
                        singles.append((i, listener))
                    else:
                        group = batched.setdefault(feed, ([], []))
                        group[0].append(listener)
                        group[1].append(i)
            plan = [(f, ls, np.array(ix, dtype=np.int64)) for f, (ls, ix) in batched.items()]
            self._plan = (plan, singles)
        return self._plan

    def refresh(self, legs: Sequence[Leg]) -> None:
        """What may change between ticks without the legs changing banks: the codec."""
        self.payload_type = np.array([leg.codec.payload_type for leg in legs], dtype=np.int64)


def _receive_inboxes(legs: Sequence[Leg], sides: _Sides) -> None:
    """Datagrams the legs' transports queued (``Leg.deliver``) since the last tick."""
    owner: list[int] = []
    items: list[tuple[bytes, float]] = []
    for i, leg in enumerate(legs):
        if leg.inbox:
            owner.extend([i] * len(leg.inbox))
            items.extend(leg.inbox)
            leg.inbox = []
    if items:
        _receive(legs, sides, np.array(owner, dtype=np.int64), Datagrams.from_list(items, ROOM))


def _receive(legs: Sequence[Leg], sides: _Sides, owner: Ints, datagrams: Datagrams) -> None:
    """RTP for the legs: 20 ms audio packets of a leg's codec with a plain header go to the
    reception statistics and jitter buffers of all legs at once; anything else (RTCP,
    telephone-event, other packet times, malformed datagrams) to its ``Leg.receive``."""
    headers = Headers.parse(datagrams.data)
    fast = (
        headers.plain
        & (datagrams.size == ROOM)
        & (headers.payload_type == sides.payload_type[owner])
    )
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
    previous_tick = np.zeros(len(legs), dtype=np.int64)
    for i in np.flatnonzero(counts).tolist():
        previous_tick[i] = legs[i].note_received(int(counts[i]))
    for members in _split(sides.group[owner], len(sides.groups)):
        o = owner[members]
        first = legs[int(o[0])]
        first.reception.bank.update(
            sides.reception_row[o],
            ssrc[members],
            seq[members],
            ts[members],
            (arrival[members] * first.codec.clock_rate).astype(np.int64),
        )
        first.jitter.bank.put(
            Arrivals(
                sides.jitter_row[o],
                ssrc[members],
                ts[members],
                previous_tick[o] * FRAME,
                seq[members],
                marker[members],
                pt[members],
                payload[members],
                np.full(len(o), FRAME, dtype=np.int64),
            )
        )


def _split(labels: Ints, count: int) -> list[Ints | slice]:
    """Index arrays of each label's entries (a full slice when there is one label)."""
    if count == 1:
        return [slice(None)]
    return [np.flatnonzero(labels == g) for g in range(count)]


def _take(legs: Sequence[Leg], sides: _Sides, n: int) -> tuple[Matrix, list[int]]:
    """Each leg's frame for tick ``n`` from its jitter buffer, decoded where something
    listens: matrix rows with a zero row last; ``row[i]`` is leg i's or -1 (nothing)."""
    listening = np.zeros(len(legs), dtype=np.bool_)
    for i, leg in enumerate(legs):
        listening[i] = leg.start_tick(n)
    hit = np.zeros(len(legs), dtype=np.bool_)
    payload = np.zeros((len(legs), FRAME), dtype=np.uint8)
    size = np.full(len(legs), FRAME, dtype=np.int64)
    for members in sides.groups:
        bank = legs[int(members[0])].jitter.bank
        rows = sides.jitter_row[members]
        got, slot = bank.get(rows)
        want = got & listening[members]
        if want.any():
            m, r, s = members[want], rows[want], slot[want]
            hit[m] = True
            payload[m] = bank.ring_payload[r, s, :FRAME]
            size[m] = bank.ring_size[r, s]
    rows_of = [-1] * len(legs)
    blocks: list[Matrix] = []
    count = 0
    codecs: dict[str, list[int]] = {}
    for i in np.flatnonzero(hit).tolist():
        codecs.setdefault(legs[i].codec.name, []).append(i)
    for members_list in codecs.values():
        members = np.array(members_list, dtype=np.int64)
        frames = legs[members_list[0]].codec.decode_table.take(payload[members])
        short = size[members] < FRAME
        if short.any():  # another packet time: silence after the samples it carried
            frames[np.arange(FRAME)[None, :] >= size[members][:, None]] = 0
        blocks.append(frames)
        for i in members_list:
            rows_of[i] = count
            count += 1
    blocks.append(np.zeros((1, FRAME), dtype=np.int16))
    return (np.concatenate(blocks) if len(blocks) > 1 else blocks[0]), rows_of


def _said(legs: Sequence[Leg]) -> tuple[Matrix, list[int]]:
    """What each leg says, gains applied, as matrix rows with a zero row last (-1: silence)."""
    rows = [-1] * len(legs)
    frames: list[Frame] = []
    factors: list[float] = []
    for i, leg in enumerate(legs):
        source = leg.said_source() if leg.players else None
        if source is not None:
            rows[i] = len(frames)
            frames.append(source[0])
            factors.append(source[1])
    frames.append(SILENCE)
    factors.append(1.0)
    said = np.stack(frames)
    if any(f != 1.0 for f in factors):
        scaled = said.astype(np.float32) * np.array(factors, dtype=np.float32)[:, None]
        said = np.clip(scaled, -32768, 32767).astype(np.int16)
    return said, rows


def _feed_listeners(
    legs: Sequence[Leg],
    sides: _Sides,
    heard: Matrix,
    heard_row: list[int],
    said: Matrix,
    said_row: list[int],
) -> None:
    batched, singles = sides.listener_plan(legs)
    for i, listener in singles:
        listener.on_frame(_row(heard, heard_row[i]), _row(said, said_row[i]))
    if batched:
        h, s = np.array(heard_row), np.array(said_row)  # -1 picks the zero row
        for feed, listeners, members in batched:
            feed(listeners, heard[h[members]], said[s[members]])


def _row(matrix: Matrix, row: int) -> Frame:
    """A frame a listener may keep: its own copy, or the shared SILENCE."""
    return SILENCE if row < 0 else matrix[row].copy()


def _send(
    legs: Sequence[Leg], sides: _Sides, said: Matrix, said_row: list[int], io: BatchIO | None
) -> None:
    """Each sending leg's packet: encoded in one table lookup per codec and packetised for
    all legs at once; handed to the socket set in one call, or to each leg's ``send``."""
    fast: list[int] = []
    for i, leg in enumerate(legs):
        if leg.send is None or not leg.active:
            continue
        if leg.digit_senders:  # RFC 4733 events to interleave: the leg's own path
            row = said_row[i]
            leg.send_frame(SILENCE if row < 0 else said[row])
        else:
            fast.append(i)
    if not fast:
        return
    members = np.array(fast, dtype=np.int64)
    rows = np.array([-1 if legs[i].muted else said_row[i] for i in fast], dtype=np.int64)
    payload = np.empty((len(fast), FRAME), dtype=np.uint8)
    codecs: dict[str, list[int]] = {}
    for k, i in enumerate(fast):
        codecs.setdefault(legs[i].codec.name, []).append(k)
    for ks in codecs.values():
        table = legs[fast[ks[0]]].codec.encode_table
        payload[ks] = table.take(said[rows[ks]].view(np.uint16))  # row -1: the zero row
    packets = np.empty((len(fast), ROOM), dtype=np.uint8)
    group = sides.group[members]
    for picked in _split(group, len(sides.groups)):
        m = members[picked]
        bank = legs[int(m[0])].stream.bank
        packets[picked] = bank.pack(sides.stream_row[m], sides.payload_type[m], payload[picked])
    slots = np.asarray(io.slots_of([legs[i] for i in fast]) if io else [-1] * len(fast))
    native = slots >= 0
    if native.any():
        assert io is not None
        io.send_rows(slots[native], packets[native])
    for k in np.flatnonzero(~native).tolist():
        send = legs[fast[k]].send
        assert send is not None
        send(packets[k].tobytes())
