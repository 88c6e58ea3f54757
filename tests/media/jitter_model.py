"""The scalar jitter buffer voxrelay used before the banked one (media.jitterbuffer), kept
as the reference model that tests/media/test_jitter_bank.py checks the bank against."""

from __future__ import annotations

import math

from voxrelay.media.jitterbuffer import JitterStats
from voxrelay.media.rtp import RtpPacket, ts_diff


class ScalarJitterBuffer:
    """See module docstring. ``frame_samples`` is the packet time in samples (160 = 20 ms)."""

    def __init__(
        self,
        frame_samples: int = 160,
        min_frames: int = 2,
        max_frames: int = 12,
        capacity: int = 64,
    ) -> None:
        self.frame = frame_samples
        self.min_frames = min_frames
        self.max_frames = max_frames
        self.capacity = capacity
        self.target = min_frames
        self.jitter = 0.0  # in samples, RFC 3550 §A.8 estimator
        self.stats = JitterStats()
        self._packets: dict[int, RtpPacket] = {}
        self._newest: int | None = None  # the latest timestamp held
        self._ssrc: int | None = None
        self._next_ts: int | None = None  # timestamp of the next frame to play
        self._playing = False
        self._started = False  # played a frame since the last (re)start
        self._over_target = 0
        self._transit: int | None = None
        self._floor = min_frames
        self._calm = 0

    @property
    def depth(self) -> int:
        """Frames buffered from the next one to play to the newest one held."""
        if not self._packets or self._next_ts is None:
            return len(self._packets)
        assert self._newest is not None
        ahead = ((self._newest - self._next_ts + 0x80000000) & 0xFFFFFFFF) - 0x80000000
        return max(0, ahead // self.frame + 1)

    def put(self, packet: RtpPacket, arrival: int) -> None:
        """Hold ``packet``; ``arrival`` is the receive time in samples of the local clock."""
        # runs for every packet of every leg: timestamp arithmetic is inlined (ts_diff)
        self.stats.received += 1
        if packet.ssrc != self._ssrc:
            self._restart(packet.ssrc)
        ts = packet.timestamp
        self._update_jitter(ts, arrival)
        next_ts = self._next_ts
        if next_ts is None:
            next_ts = self._next_ts = ts
        offset = ((ts - next_ts + 0x80000000) & 0xFFFFFFFF) - 0x80000000
        if offset < 0:
            if self._started:
                self.stats.late += 1
                return
            self._next_ts = ts  # an earlier packet arrived while buffering
        elif offset > self.max_frames * self.frame * 4:
            self._resync(ts)
        packets = self._packets
        if ts in packets:
            self.stats.duplicate += 1
            return
        packets[ts] = packet
        newest = self._newest
        if newest is None or ((ts - newest + 0x80000000) & 0xFFFFFFFF) > 0x80000000:
            self._newest = ts  # kept so depth() needs no scan of the packets
        if len(packets) > self.capacity:
            del packets[min(packets, key=lambda t: ts_diff(t, self._next_ts or t))]

    def get(self) -> RtpPacket | None:
        """The packet for the next frame time, or None (still filling, lost or underrun)."""
        if self._next_ts is None:
            return None
        if not self._playing:
            if self.depth < self.target:
                return None
            self._playing = self._started = True
        if not self._packets:
            self._playing = False  # underrun: refill to a larger target before playing again
            self._floor = min(self.max_frames, self.target + 1)
            self.target = self._floor
            self._calm = 0
            return None
        self._maybe_skip()
        packet = self._packets.pop(self._next_ts, None)
        self._next_ts = (self._next_ts + self.frame) & 0xFFFFFFFF
        if packet is None:
            self.stats.lost += 1
        else:
            self.stats.played += 1
        return packet

    def _maybe_skip(self) -> None:
        assert self._next_ts is not None
        if self.depth > self.target + 2:
            self._over_target += 1
        else:
            self._over_target = 0
        if self._over_target >= 25:  # half a second above target: drop one frame
            self._over_target = 0
            self._packets.pop(self._next_ts, None)
            self._next_ts = (self._next_ts + self.frame) & 0xFFFFFFFF
            self.stats.skipped += 1

    def _update_jitter(self, timestamp: int, arrival: int) -> None:
        transit = ((arrival - timestamp + 0x80000000) & 0xFFFFFFFF) - 0x80000000
        previous = self._transit
        self._transit = transit
        if previous is not None:
            d = abs(transit - previous)
            if d < self.frame * 50:  # ignore timestamp jumps (pauses), they are not jitter
                self.jitter += (d - self.jitter) / 16
        self._calm += 1
        if self._calm >= 500 and self._floor > self.min_frames:  # 10 s without underrun
            self._floor -= 1
            self._calm = 0
        wanted = max(math.ceil(3 * self.jitter / self.frame) + 1, self._floor)
        self.target = max(self.min_frames, min(self.max_frames, wanted))

    def _restart(self, ssrc: int) -> None:
        if self._ssrc is not None:
            self.stats.resyncs += 1
        self._ssrc = ssrc
        self._packets.clear()
        self._newest = None
        self._next_ts = None
        self._playing = self._started = False
        self._transit = None

    def _resync(self, timestamp: int) -> None:
        self.stats.resyncs += 1
        self._packets.clear()
        self._newest = None
        self._next_ts = timestamp
        self._playing = self._started = False
