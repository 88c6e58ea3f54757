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

if TYPE_CHECKING:
    from voxrelay.media.leg import Leg

Matrix = np.ndarray[Any, np.dtype[np.int16]]
BatchFeed = Callable[[list[Any], Matrix, Matrix], None]


class BatchIO(Protocol):
    """Sockets polled by the tick rather than by the event loop (``rtpio.RtpSocketSet``)."""

    def poll(self) -> int: ...

    def flush(self) -> int: ...


class LegBatch:
    """The legs one media clock ticks together; subscribe ``tick`` to the clock.

    With ``io`` (the legs' ``RtpSocketSet``), each tick first has it deliver the datagrams
    waiting on the sockets, and has it send the tick's packets as soon as they are made."""

    def __init__(self, io: BatchIO | None = None) -> None:
        self._legs: dict[int, Leg] = {}
        self.io = io

    def add(self, leg: Leg) -> None:
        self._legs[id(leg)] = leg

    def discard(self, leg: Leg) -> None:
        self._legs.pop(id(leg), None)

    def __len__(self) -> int:
        return len(self._legs)

    def __contains__(self, leg: object) -> bool:
        return id(leg) in self._legs

    def tick(self, n: int) -> None:
        """Tick every leg once (the media clock's subscriber)."""
        io = self.io
        if io is not None:
            io.poll()
        if self._legs:
            tick_legs(list(self._legs.values()), n, None if io is None else io.flush)
        if io is not None:
            io.flush()  # what the tick sent after its audio (RTCP)


def tick_legs(legs: Sequence[Leg], n: int, sent: Callable[[], object] | None = None) -> None:
    """Advance ``legs`` by one 20 ms frame (tick number ``n``). See module docstring.

    ``sent`` is called once every leg's audio packet is handed to its ``send``."""
    said, said_row = _said(legs)
    _send(legs, said, said_row)  # first: the send times should not depend on the rest
    if sent is not None:
        sent()
    payloads = [leg.take(n) for leg in legs]
    heard, heard_row = _decode(legs, payloads)
    for leg, row in zip(legs, heard_row, strict=True):
        if leg.inband is not None:
            leg.detect_inband(SILENCE if row < 0 else heard[row])
    _feed_listeners(legs, heard, heard_row, said, said_row)
    for leg in legs:
        leg.finish_tick(n)


def _decode(legs: Sequence[Leg], payloads: list[bytes | None]) -> tuple[Matrix, list[int]]:
    """Decoded frames as matrix rows, with a zero row last; ``row[i]`` is leg i's or -1."""
    groups: dict[str, list[int]] = {}
    for i, payload in enumerate(payloads):
        if payload is not None:
            groups.setdefault(legs[i].codec.name, []).append(i)
    rows = [-1] * len(legs)
    blocks: list[Matrix] = []
    count = 0
    for members in groups.values():
        codec = legs[members[0]].codec
        data = [payloads[i] or b"" for i in members]
        if all(len(p) == FRAME for p in data):
            joined = np.frombuffer(b"".join(data), dtype=np.uint8)
            blocks.append(codec.decode_table.take(joined).reshape(-1, FRAME))
        else:  # another ptime somewhere: fit each frame to 20 ms
            blocks.append(np.stack([legs[i].decode(p) for i, p in zip(members, data, strict=True)]))
        for i in members:
            rows[i] = count
            count += 1
    blocks.append(np.zeros((1, FRAME), dtype=np.int16))
    return np.concatenate(blocks) if len(blocks) > 1 else blocks[0], rows


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
    legs: Sequence[Leg], heard: Matrix, heard_row: list[int], said: Matrix, said_row: list[int]
) -> None:
    batched: dict[BatchFeed, tuple[list[Any], list[int], list[int]]] = {}
    for i, leg in enumerate(legs):
        if not leg.listeners:
            continue
        for listener in list(leg.listeners):
            feed = getattr(type(listener), "on_frames", None)
            if feed is not None:
                group = batched.setdefault(feed, ([], [], []))
                group[0].append(listener)
                group[1].append(heard_row[i])
                group[2].append(said_row[i])
            else:
                listener.on_frame(_row(heard, heard_row[i]), _row(said, said_row[i]))
    for feed, (listeners, h_rows, s_rows) in batched.items():
        feed(listeners, heard[h_rows], said[s_rows])


def _row(matrix: Matrix, row: int) -> Frame:
    """A frame a listener may keep: its own copy, or the shared SILENCE."""
    return SILENCE if row < 0 else matrix[row].copy()


def _send(legs: Sequence[Leg], said: Matrix, said_row: list[int]) -> None:
    groups: dict[str, list[int]] = {}
    for i, leg in enumerate(legs):
        row = said_row[i]
        if leg.send is None or not leg.active:
            continue
        if leg.digit_senders:  # RFC 4733 events to interleave: the leg's own path
            leg.send_frame(SILENCE if row < 0 else said[row])
        elif row < 0 or leg.muted:
            leg.send_payload(None)
        else:
            groups.setdefault(leg.codec.name, []).append(i)
    for members in groups.values():
        codec = legs[members[0]].codec
        picked = said[[said_row[i] for i in members]]
        encoded = codec.encode_table.take(picked.view(np.uint16)).tobytes()
        for k, i in enumerate(members):
            legs[i].send_payload(encoded[k * FRAME : (k + 1) * FRAME])
