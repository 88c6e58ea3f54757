"""RTCP (RFC 3550 §6): reception statistics, and sender/receiver reports. Sans-I/O.

``ReceptionStats`` follows RFC 3550 Appendix A.1 (sequence numbers and wrap-around), A.3
(expected, lost, fraction lost since the last report) and A.8 (interarrival jitter, in
timestamp units). ``sender_report`` / ``receiver_report`` build an SR or RR with one report
block; ``parse_reports`` reads the report blocks of a compound packet (what the far end says
about our stream).
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass

NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900-01-01 to 1970-01-01
SR, RR = 200, 201


class RtcpError(ValueError):
    """Not a well-formed RTCP packet."""


@dataclass(slots=True)
class ReportBlock:
    """One reception report (RFC 3550 §6.4.1)."""

    ssrc: int
    fraction_lost: float  # 0..1 since the previous report
    cumulative_lost: int
    highest_seq: int  # extended
    jitter: int  # timestamp units
    last_sr: int = 0
    delay_since_last_sr: int = 0

    def pack(self) -> bytes:
        lost = max(-(1 << 23), min((1 << 23) - 1, self.cumulative_lost)) & 0xFFFFFF
        fraction = int(self.fraction_lost * 256) & 0xFF
        return struct.pack(
            "!IIIIII",
            self.ssrc,
            (fraction << 24) | lost,
            self.highest_seq,
            self.jitter & 0xFFFFFFFF,
            self.last_sr,
            self.delay_since_last_sr,
        )

    @classmethod
    def unpack(cls, data: bytes, offset: int) -> ReportBlock:
        ssrc, word, highest, jitter, lsr, dlsr = struct.unpack_from("!IIIIII", data, offset)
        lost = word & 0xFFFFFF
        if lost & 0x800000:
            lost -= 1 << 24
        return cls(ssrc, (word >> 24) / 256, lost, highest, jitter, lsr, dlsr)


class ReceptionStats:
    """What we received of one remote SSRC (RFC 3550 A.1, A.3, A.8)."""

    def __init__(self, clock_rate: int = 8000) -> None:
        self.clock_rate = clock_rate
        self.ssrc: int | None = None
        self.received = 0
        self.jitter = 0.0  # timestamp units
        self._base_seq = 0
        self._max_seq = 0
        self._cycles = 0
        self._transit: int | None = None
        self._expected_prior = 0
        self._received_prior = 0

    def update(self, ssrc: int, seq: int, timestamp: int, arrival: int) -> None:
        """One RTP packet; ``arrival`` is the local clock in timestamp units."""
        if ssrc != self.ssrc:
            self._reset(ssrc, seq)
        delta = (seq - self._max_seq) & 0xFFFF
        if delta < 0x8000:  # in order (with a gap maybe)
            if seq < self._max_seq:
                self._cycles += 1 << 16
            self._max_seq = seq
        self.received += 1
        transit = arrival - timestamp
        if self._transit is not None:
            d = abs(transit - self._transit)
            self.jitter += (d - self.jitter) / 16
        self._transit = transit

    def _reset(self, ssrc: int, seq: int) -> None:
        """A new source: statistics start again (RFC 3550 A.1 init_seq)."""
        self.ssrc, self._base_seq, self._max_seq = ssrc, seq, seq
        self.received, self.jitter, self._cycles = 0, 0.0, 0
        self._transit = None
        self._expected_prior = self._received_prior = 0

    @property
    def extended_max(self) -> int:
        return self._cycles + self._max_seq

    @property
    def expected(self) -> int:
        return self.extended_max - self._base_seq + 1 if self.ssrc is not None else 0

    @property
    def lost(self) -> int:
        return self.expected - self.received

    @property
    def jitter_ms(self) -> float:
        return self.jitter * 1000 / self.clock_rate

    def block(self) -> ReportBlock | None:
        """A report block for the interval since the previous one (None before any packet)."""
        if self.ssrc is None:
            return None
        expected_interval = self.expected - self._expected_prior
        received_interval = self.received - self._received_prior
        self._expected_prior, self._received_prior = self.expected, self.received
        lost_interval = expected_interval - received_interval
        fraction = (
            lost_interval / expected_interval
            if expected_interval > 0 and lost_interval > 0
            else 0.0
        )
        return ReportBlock(
            self.ssrc, fraction, self.lost, self.extended_max & 0xFFFFFFFF, int(self.jitter)
        )


def _header(kind: int, count: int, words: int) -> bytes:
    return struct.pack("!BBH", 0x80 | count, kind, words)


def sender_report(
    ssrc: int,
    rtp_timestamp: int,
    packets: int,
    octets: int,
    block: ReportBlock | None,
    now: float | None = None,
) -> bytes:
    """An SR (RFC 3550 §6.4.1) with at most one report block."""
    now = time.time() if now is None else now
    seconds = int(now) + NTP_EPOCH_OFFSET
    fraction = int((now % 1) * (1 << 32))
    body = struct.pack(
        "!IIIIII",
        ssrc,
        seconds & 0xFFFFFFFF,
        fraction,
        rtp_timestamp & 0xFFFFFFFF,
        packets & 0xFFFFFFFF,
        octets & 0xFFFFFFFF,
    )
    blocks = block.pack() if block else b""
    return _header(SR, 1 if block else 0, (len(body) + len(blocks)) // 4) + body + blocks


def receiver_report(ssrc: int, block: ReportBlock | None) -> bytes:
    """An RR (RFC 3550 §6.4.2) with at most one report block."""
    blocks = block.pack() if block else b""
    return _header(RR, 1 if block else 0, (4 + len(blocks)) // 4) + struct.pack("!I", ssrc) + blocks


def parse_reports(data: bytes) -> list[ReportBlock]:
    """Every report block in an SR/RR compound packet. Raises RtcpError if malformed."""
    blocks: list[ReportBlock] = []
    offset = 0
    while offset + 4 <= len(data):
        b0, kind, words = struct.unpack_from("!BBH", data, offset)
        if b0 >> 6 != 2:
            raise RtcpError("RTCP version is not 2")
        end = offset + 4 * (words + 1)
        if end > len(data):
            raise RtcpError("RTCP length runs past the end of the packet")
        first = {SR: offset + 28, RR: offset + 8}.get(kind)
        if first is not None:
            for i in range(b0 & 0x1F):
                if first + 24 * (i + 1) > end:
                    raise RtcpError("report block runs past its packet")
                blocks.append(ReportBlock.unpack(data, first + 24 * i))
        offset = end
    if offset != len(data):
        raise RtcpError("trailing bytes after the last RTCP packet")
    return blocks
