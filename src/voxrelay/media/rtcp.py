"""RTCP (RFC 3550 §6): reception statistics, and sender/receiver reports. Sans-I/O.

``ReceptionBank`` (one row per remote source, numpy columns updated for a tick's packets at
once) and its one-row view ``ReceptionStats`` follow RFC 3550 Appendix A.1 (sequence numbers
and wrap-around), A.3 (expected, lost, fraction lost since the last report) and A.8
(interarrival jitter, in timestamp units). ``sender_report`` / ``receiver_report`` build an
SR or RR with one report block; ``parse_reports`` reads the report blocks of a compound
packet (what the far end says about our stream).
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass

import numpy as np

from voxrelay.media.soa import Column, Ints, RowView, Table, rounds

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


class ReceptionBank(Table):
    """What we received of many remote SSRCs, one row each (RFC 3550 A.1, A.3, A.8), updated
    for a whole tick's packets at once. Jitter is in timestamp units."""

    def __init__(self, rows: int = 4) -> None:
        i64 = np.int64
        columns = {
            "ssrc": Column(i64, -1),
            "received": Column(i64),
            "jitter": Column(np.float64, 0.0),
            "base_seq": Column(i64),
            "max_seq": Column(i64),
            "cycles": Column(i64),
            "transit": Column(i64),
            "has_transit": Column(np.bool_, False),
            "expected_prior": Column(i64),
            "received_prior": Column(i64),
            # the leg's own counts: RTP packets of any source, the media tick it is in, the
            # tick of its last packet (for the inactivity timeout)
            "packets": Column(i64),
            "tick": Column(i64),
            "last_rx_tick": Column(i64),
            "ticked": Column(np.bool_, False),
        }
        super().__init__(columns, rows)

    def start(self, rows: Ints, n: int) -> None:
        """Media tick ``n`` begins for ``rows`` (a row's first tick counts as heard from)."""
        first = rows[~self.ticked[rows]]
        self.last_rx_tick[first] = n
        self.ticked[first] = True
        self.tick[rows] = n

    def note(self, rows: Ints, counts: Ints) -> None:
        """``counts`` RTP packets arrived for each of ``rows`` (distinct) in this tick."""
        self.packets[rows] += counts
        self.last_rx_tick[rows] = self.tick[rows]

    def update(self, rows: Ints, ssrc: Ints, seq: Ints, timestamp: Ints, arrival: Ints) -> None:
        """One RTP packet per entry; ``arrival`` is the local clock in timestamp units.
        Several entries may be for one row (taken in order)."""
        for picked in rounds(rows):
            if picked is None:
                self._update_distinct(rows, ssrc, seq, timestamp, arrival)
            else:
                self._update_distinct(
                    rows[picked], ssrc[picked], seq[picked], timestamp[picked], arrival[picked]
                )

    def _update_distinct(
        self, rows: Ints, ssrc: Ints, seq: Ints, timestamp: Ints, arrival: Ints
    ) -> None:
        new = ssrc != self.ssrc[rows]
        if new.any():  # a new source: statistics start again (RFC 3550 A.1 init_seq)
            r, first = rows[new], seq[new]
            self.ssrc[r], self.base_seq[r], self.max_seq[r] = ssrc[new], first, first
            self.received[r] = self.cycles[r] = self.expected_prior[r] = 0
            self.received_prior[r] = 0
            self.jitter[r] = 0.0
            self.has_transit[r] = False
        max_seq = self.max_seq[rows]
        in_order = ((seq - max_seq) & 0xFFFF) < 0x8000  # in order, with a gap maybe
        self.cycles[rows] += np.where(in_order & (seq < max_seq), 1 << 16, 0)
        self.max_seq[rows] = np.where(in_order, seq, max_seq)
        self.received[rows] += 1
        transit = arrival - timestamp
        jitter = self.jitter[rows]
        d = np.abs(transit - self.transit[rows])
        self.jitter[rows] = np.where(self.has_transit[rows], jitter + (d - jitter) / 16, jitter)
        self.transit[rows] = transit
        self.has_transit[rows] = True


class ReceptionStats(RowView[ReceptionBank]):
    """What we received of one remote SSRC: a row of ``bank`` (by default its own)."""

    def __init__(self, clock_rate: int = 8000, bank: ReceptionBank | None = None) -> None:
        self.clock_rate = clock_rate
        super().__init__(bank or ReceptionBank(rows=1))

    def update(self, ssrc: int, seq: int, timestamp: int, arrival: int) -> None:
        """One RTP packet; ``arrival`` is the local clock in timestamp units."""
        self.bank.update(*(np.array([v]) for v in (self.row, ssrc, seq, timestamp, arrival)))

    def _get(self, name: str) -> int:
        return int(getattr(self.bank, name)[self.row])

    @property
    def ssrc(self) -> int | None:
        ssrc = self._get("ssrc")
        return None if ssrc < 0 else ssrc

    @property
    def received(self) -> int:
        return self._get("received")

    @property
    def jitter(self) -> float:
        """Interarrival jitter, timestamp units (RFC 3550 A.8)."""
        return float(self.bank.jitter[self.row])

    @property
    def extended_max(self) -> int:
        return self._get("cycles") + self._get("max_seq")

    @property
    def expected(self) -> int:
        return self.extended_max - self._get("base_seq") + 1 if self.ssrc is not None else 0

    @property
    def lost(self) -> int:
        return self.expected - self.received

    @property
    def jitter_ms(self) -> float:
        return self.jitter * 1000 / self.clock_rate

    def block(self) -> ReportBlock | None:
        """A report block for the interval since the previous one (None before any packet)."""
        ssrc = self.ssrc
        if ssrc is None:
            return None
        bank, row = self.bank, self.row
        expected, received = self.expected, self.received
        expected_interval = expected - int(bank.expected_prior[row])
        received_interval = received - int(bank.received_prior[row])
        bank.expected_prior[row], bank.received_prior[row] = expected, received
        lost_interval = expected_interval - received_interval
        fraction = (
            lost_interval / expected_interval
            if expected_interval > 0 and lost_interval > 0
            else 0.0
        )
        return ReportBlock(
            ssrc, fraction, self.lost, self.extended_max & 0xFFFFFFFF, int(self.jitter)
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
