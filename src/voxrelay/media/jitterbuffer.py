"""An adaptive jitter buffer: RTP packets in, whenever they arrive; one frame out per tick.

Packets are keyed by timestamp, so reordering and duplicates cost nothing. Playout starts
once ``target`` frames are buffered; then every ``get()`` yields the packet for the next
frame time or None (lost or not yet arrived: the caller conceals it). Packets for frames
already played are late and dropped. The target delay follows the measured interarrival
jitter (RFC 3550 §A.8): about three times the jitter plus one frame, between ``min_frames``
and ``max_frames``. When the buffer holds more than the target for a while, one frame is
skipped to bring the delay back down; after an underrun it refills to the target first.
A new SSRC or a jump in timestamps (the far end paused sending) restarts playout.

The state of every buffer lives in a ``JitterBank``, one row per stream in numpy columns
(``media.soa``), so the media tick puts and gets the packets of all legs at once.
``JitterBuffer`` is one stream's view of a bank row (its own one-row bank by default): the
same code runs for one leg and for a thousand.

Packets are held in a ring of ``capacity`` slots per stream: slot ``((timestamp - origin) //
frame) % capacity``, with ``origin`` a timestamp of the stream (so slots run on across the
2**32 wrap); a packet landing on a slot still holding another drops the older one. Payloads
keep their first ``room`` bytes (160: 20 ms of G.711).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from voxrelay.media.rtp import RtpPacket, ts_diff
from voxrelay.media.soa import Column, Ints, RowView, Table, rounds

Bools = np.ndarray[Any, np.dtype[np.bool_]]
M32 = 0xFFFFFFFF


@dataclass(slots=True)
class JitterStats:
    received: int = 0
    played: int = 0
    lost: int = 0
    late: int = 0
    duplicate: int = 0
    skipped: int = 0
    resyncs: int = 0


STAT_NAMES = ("received", "played", "lost", "late", "duplicate", "skipped", "resyncs")


@dataclass(slots=True)
class Arrivals:
    """Packets for a bank's ``put``, one per entry: arrays of equal length (timestamps and
    arrival in samples as int64, ``payload`` (k, room) uint8 with ``size`` bytes used)."""

    rows: Ints
    ssrc: Ints
    timestamp: Ints
    arrival: Ints
    sequence: Ints
    marker: Bools
    payload_type: Ints
    payload: np.ndarray[Any, np.dtype[np.uint8]]
    size: Ints

    def pick(self, mask: Bools | Ints) -> Arrivals:
        return Arrivals(*(getattr(self, name)[mask] for name in Arrivals.__slots__))


class JitterBank(Table):
    """The jitter buffers of many streams (see module docstring); ``put`` and ``get`` work
    on arrays of rows. ``frame`` is the packet time in samples (160 = 20 ms)."""

    def __init__(
        self,
        frame: int = 160,
        min_frames: int = 2,
        max_frames: int = 12,
        capacity: int = 64,
        room: int = 160,
        rows: int = 4,
    ) -> None:
        self.frame, self.min_frames, self.max_frames = frame, min_frames, max_frames
        self.capacity, self.room = capacity, room
        i64, i32 = np.int64, np.int32
        columns = {
            "ssrc": Column(i64, -1),
            "next_ts": Column(i64, -1),  # timestamp of the next frame to play (-1: none yet)
            "newest": Column(i64, -1),  # the latest timestamp held, so depth needs no scan
            "playing": Column(np.bool_, False),
            "started": Column(np.bool_, False),  # played a frame since the last (re)start
            "over_target": Column(i32),
            "target": Column(i32, min_frames),
            "floor": Column(i32, min_frames),
            "calm": Column(i32),
            "jitter": Column(np.float64, 0.0),  # samples, RFC 3550 §A.8 estimator
            "transit": Column(i64),
            "has_transit": Column(np.bool_, False),
            "held": Column(i32),
            "origin": Column(i64),  # timestamp of ring slot 0's frame, modulo the ring
            **{name: Column(i64) for name in STAT_NAMES},
            "ring_ts": Column(i64, -1, (capacity,)),
            "ring_seq": Column(i32, 0, (capacity,)),
            "ring_marker": Column(np.bool_, False, (capacity,)),
            "ring_pt": Column(np.int16, 0, (capacity,)),
            "ring_size": Column(np.int16, 0, (capacity,)),
            "ring_payload": Column(np.uint8, 0, (capacity, room)),
        }
        super().__init__(columns, rows)

    # -- in -----------------------------------------------------------------------------------

    def put(self, packets: Arrivals) -> None:
        """Hold ``packets``; several may be for one row (handled in arrival order)."""
        for round_ in rounds(packets.rows):
            self._put_distinct(packets if round_ is None else packets.pick(round_))

    def _put_distinct(self, p: Arrivals) -> None:
        rows = p.rows
        self.received[rows] += 1
        restart = p.ssrc != self.ssrc[rows]
        if restart.any():
            r = rows[restart]
            self.resyncs[r] += self.ssrc[r] >= 0
            self.ssrc[r] = p.ssrc[restart]
            self._clear(r)
            self.next_ts[r] = -1
            self.has_transit[r] = False
        self._update_jitter(rows, p.timestamp, p.arrival)
        ts = p.timestamp
        next_ts = self.next_ts[rows]
        next_ts = np.where(next_ts < 0, ts, next_ts)
        offset = ts_diff(ts, next_ts)
        behind = offset < 0
        late = behind & self.started[rows]
        self.late[rows[late]] += 1
        self.next_ts[rows] = np.where(behind & ~late, ts, next_ts)  # earlier, while buffering
        far = offset > self.max_frames * self.frame * 4
        if far.any():
            r = rows[far]
            self.resyncs[r] += 1
            self._clear(r)
            self.next_ts[r] = ts[far]
        if late.any():
            p = p.pick(~late)
            rows, ts = p.rows, p.timestamp
        self._rebase(rows, ts)
        slot = self._slot(rows, ts)
        there = self.ring_ts[rows, slot]
        dup = there == ts
        if dup.any():
            self.duplicate[rows[dup]] += 1
            p, slot, there = p.pick(~dup), slot[~dup], there[~dup]
            rows, ts = p.rows, p.timestamp
        self.held[rows] += there < 0  # a slot still holding an older packet drops it
        self.ring_ts[rows, slot] = ts
        self.ring_seq[rows, slot] = p.sequence
        self.ring_marker[rows, slot] = p.marker
        self.ring_pt[rows, slot] = p.payload_type
        self.ring_size[rows, slot] = np.minimum(p.size, self.room)
        self.ring_payload[rows, slot] = p.payload
        newest = self.newest[rows]
        newer = (newest < 0) | (ts_diff(ts, newest) > 0)
        self.newest[rows[newer]] = ts[newer]

    def _update_jitter(self, rows: Ints, ts: Ints, arrival: Ints) -> None:
        transit = ts_diff(arrival, ts)
        d = np.abs(transit - self.transit[rows])
        jitter = self.jitter[rows]
        moved = self.has_transit[rows] & (d < self.frame * 50)  # timestamp jumps are pauses
        jitter = np.where(moved, jitter + (d - jitter) / 16, jitter)
        self.jitter[rows] = jitter
        self.transit[rows] = transit
        self.has_transit[rows] = True
        calm = self.calm[rows] + 1
        floor = self.floor[rows]
        ease = (calm >= 500) & (floor > self.min_frames)  # 10 s without underrun
        floor = floor - ease
        self.floor[rows] = floor
        self.calm[rows] = np.where(ease, 0, calm)
        wanted = np.maximum(np.ceil(3 * jitter / self.frame).astype(np.int32) + 1, floor)
        self.target[rows] = np.clip(wanted, self.min_frames, self.max_frames)

    def _slot(self, rows: Ints, ts: Ints) -> Ints:
        slot: Ints = (ts_diff(ts, self.origin[rows]) // self.frame) % self.capacity
        return slot

    def _rebase(self, rows: Ints, ts: Ints) -> None:
        """Keep ``ts - origin`` far from the 2**31 wrap: an empty ring starts at ``ts``; a
        ring that has held packets for 2**30 samples (37 h at 8 kHz) is re-slotted."""
        empty = self.held[rows] == 0
        self.origin[rows[empty]] = ts[empty]
        drifted = np.abs(ts_diff(ts, self.origin[rows])) > 1 << 30
        for row, new in zip(rows[drifted].tolist(), ts[drifted].tolist(), strict=True):
            columns = [self.ring_ts, self.ring_seq, self.ring_marker, self.ring_pt]
            columns += [self.ring_size, self.ring_payload]
            kept = [column[row].copy() for column in columns]
            self.origin[row] = new
            self.ring_ts[row] = -1
            there = np.flatnonzero(kept[0] >= 0)
            slots = (ts_diff(kept[0][there], new) // self.frame) % self.capacity
            for column, old in zip(columns, kept, strict=True):
                column[row, slots] = old[there]

    def _clear(self, rows: Ints) -> None:
        self.ring_ts[rows] = -1
        self.held[rows] = 0
        self.newest[rows] = -1
        self.playing[rows] = False
        self.started[rows] = False

    # -- out ----------------------------------------------------------------------------------

    def depth(self, rows: Ints) -> Ints:
        """Frames buffered from the next one to play to the newest one held."""
        held = self.held[rows].astype(np.int64)
        ahead = ts_diff(self.newest[rows], self.next_ts[rows]) // self.frame + 1
        known = (held > 0) & (self.next_ts[rows] >= 0)
        depth: Ints = np.where(known, np.maximum(0, ahead), held)
        return depth

    def get(self, rows: Ints) -> tuple[Bools, Ints]:
        """One frame time for each row: ``(hit, slot)``, where ``hit[i]`` says row i has a
        packet to play now, in ring slot ``slot[i]`` (read it before the next ``put``)."""
        count = len(rows)
        hit = np.zeros(count, dtype=np.bool_)
        slot = np.zeros(count, dtype=np.int64)
        next_ts = self.next_ts[rows]
        depth = self.depth(rows)
        playing = self.playing[rows]
        start = (next_ts >= 0) & ~playing & (depth >= self.target[rows])
        self.playing[rows[start]] = True
        self.started[rows[start]] = True
        active = (next_ts >= 0) & (playing | start)
        held = self.held[rows]
        underrun = active & (held == 0)
        if underrun.any():  # refill to a larger target before playing again
            r = rows[underrun]
            self.playing[r] = False
            self.floor[r] = self.target[r] = np.minimum(self.max_frames, self.target[r] + 1)
            self.calm[r] = 0
        active &= held > 0
        r, ts = rows[active], next_ts[active]
        ts = self._maybe_skip(r, ts, depth[active])
        s = self._slot(r, ts)
        found = self.ring_ts[r, s] == ts
        self.ring_ts[r[found], s[found]] = -1
        self.held[r[found]] -= 1
        self.played[r[found]] += 1
        self.lost[r[~found]] += 1
        self.next_ts[r] = (ts + self.frame) & M32
        hit[active] = found
        slot[active] = s
        return hit, slot

    def _maybe_skip(self, rows: Ints, ts: Ints, depth: Ints) -> Ints:
        over = np.where(depth > self.target[rows] + 2, self.over_target[rows] + 1, 0)
        skip = over >= 25  # half a second above target: drop one frame
        self.over_target[rows] = np.where(skip, 0, over)
        if not skip.any():
            return ts
        r, t = rows[skip], ts[skip]
        s = self._slot(r, t)
        found = self.ring_ts[r, s] == t
        self.ring_ts[r[found], s[found]] = -1
        self.held[r[found]] -= 1
        self.skipped[r] += 1
        ts = ts.copy()
        ts[skip] = (t + self.frame) & M32
        return ts


class JitterBuffer(RowView[JitterBank]):
    """One stream's jitter buffer: a row of ``bank`` (by default a bank of its own).
    ``frame_samples`` is the packet time in samples (160 = 20 ms)."""

    def __init__(
        self,
        frame_samples: int = 160,
        min_frames: int = 2,
        max_frames: int = 12,
        capacity: int = 64,
        bank: JitterBank | None = None,
    ) -> None:
        super().__init__(
            bank or JitterBank(frame_samples, min_frames, max_frames, capacity, rows=1)
        )

    @property
    def frame(self) -> int:
        return self.bank.frame

    @property
    def min_frames(self) -> int:
        return self.bank.min_frames

    @property
    def max_frames(self) -> int:
        return self.bank.max_frames

    @property
    def target(self) -> int:
        return int(self.bank.target[self.row])

    @property
    def jitter(self) -> float:
        return float(self.bank.jitter[self.row])

    @property
    def depth(self) -> int:
        return int(self.bank.depth(np.array([self.row]))[0])

    @property
    def stats(self) -> JitterStats:
        return JitterStats(*(int(getattr(self.bank, name)[self.row]) for name in STAT_NAMES))

    def held(self) -> list[int]:
        """The timestamps of the packets held."""
        ring = self.bank.ring_ts[self.row]
        return [int(ts) for ts in ring[ring >= 0]]

    def put(self, packet: RtpPacket, arrival: int) -> None:
        """Hold ``packet``; ``arrival`` is the receive time in samples of the local clock."""
        room = self.bank.room
        payload = np.zeros((1, room), dtype=np.uint8)
        data = packet.payload[:room]
        payload[0, : len(data)] = np.frombuffer(data, dtype=np.uint8)
        one = np.array([self.row])
        self.bank.put(
            Arrivals(
                one,
                np.array([packet.ssrc]),
                np.array([packet.timestamp]),
                np.array([arrival]),
                np.array([packet.sequence]),
                np.array([packet.marker]),
                np.array([packet.payload_type]),
                payload,
                np.array([len(packet.payload)]),
            )
        )

    def get(self) -> RtpPacket | None:
        """The packet for the next frame time, or None (still filling, lost or underrun)."""
        bank, row = self.bank, self.row
        hit, slot = bank.get(np.array([row]))
        if not hit[0]:
            return None
        s = int(slot[0])
        return RtpPacket(
            int(bank.ring_pt[row, s]),
            int(bank.ring_seq[row, s]),
            int((bank.next_ts[row] - bank.frame) & M32),
            int(bank.ssrc[row]),
            bank.ring_payload[row, s, : bank.ring_size[row, s]].tobytes(),
            bool(bank.ring_marker[row, s]),
        )
