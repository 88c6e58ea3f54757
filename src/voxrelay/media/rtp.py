"""RTP packets (RFC 3550 §5.1) and the sending side of one RTP stream. Sans-I/O.

``RtpPacket.parse`` turns a datagram into a packet, raising RtpError for anything that is not
RTP version 2 with a consistent header; ``serialize`` does the reverse. Sequence numbers and
timestamps wrap modulo 2**16 and 2**32: compare them with ``seq_diff`` / ``ts_diff``.
"""

from __future__ import annotations

import secrets
import struct
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from voxrelay.media.soa import Column, Ints, RowView, Table

_HEADER = struct.Struct("!BBHII")
T = TypeVar("T", int, Ints)


class RtpError(ValueError):
    """A datagram that is not a well-formed RTP packet."""


def seq_diff(a: int, b: int) -> int:
    """``a - b`` for 16-bit sequence numbers, in -32768..32767 (RFC 3550 §A.1)."""
    return ((a - b + 0x8000) & 0xFFFF) - 0x8000


def ts_diff(a: T, b: T) -> T:
    """``a - b`` for 32-bit timestamps, in -2**31..2**31-1 (ints, or int64 arrays)."""
    return ((a - b + 0x80000000) & 0xFFFFFFFF) - 0x80000000


def is_rtcp(data: bytes) -> bool:
    """True for an RTCP packet sharing the RTP port (payload types 200-204, RFC 5761 §4)."""
    return len(data) >= 2 and 200 <= data[1] <= 204


@dataclass(slots=True)
class RtpPacket:
    """One RTP packet. ``extension`` is ``(profile, data)`` with data a multiple of 4 bytes."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrc: tuple[int, ...] = ()
    extension: tuple[int, bytes] | None = None

    def serialize(self) -> bytes:
        b0 = 0x80 | (0x10 if self.extension else 0) | len(self.csrc)
        b1 = (0x80 if self.marker else 0) | (self.payload_type & 0x7F)
        parts = [
            _HEADER.pack(
                b0, b1, self.sequence & 0xFFFF, self.timestamp & 0xFFFFFFFF, self.ssrc & 0xFFFFFFFF
            )
        ]
        parts += [struct.pack("!I", c) for c in self.csrc]
        if self.extension:
            profile, data = self.extension
            parts.append(struct.pack("!HH", profile, len(data) // 4) + data)
        parts.append(self.payload)
        return b"".join(parts)

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        """Parse a datagram. Raises RtpError (version, length, padding or extension wrong)."""
        if len(data) < 12:
            raise RtpError(f"{len(data)} bytes is shorter than an RTP header")
        b0, b1, seq, ts, ssrc = _HEADER.unpack_from(data)
        if b0 == 0x80:  # the common case: version 2, no padding, extension or CSRC
            return cls(b1 & 0x7F, seq, ts, ssrc, bytes(data[12:]), bool(b1 & 0x80))
        if b0 >> 6 != 2:
            raise RtpError(f"RTP version {b0 >> 6}, expected 2")
        offset = 12 + 4 * (b0 & 0x0F)
        if len(data) < offset:
            raise RtpError("CSRC list runs past the end of the packet")
        csrc = struct.unpack_from(f"!{b0 & 0x0F}I", data, 12)
        extension = None
        if b0 & 0x10:
            if len(data) < offset + 4:
                raise RtpError("header extension runs past the end of the packet")
            profile, words = struct.unpack_from("!HH", data, offset)
            end = offset + 4 + 4 * words
            if len(data) < end:
                raise RtpError("header extension runs past the end of the packet")
            extension = (profile, bytes(data[offset + 4 : end]))
            offset = end
        end = len(data)
        if b0 & 0x20:
            pad = data[-1]
            if pad == 0 or offset + pad > end:
                raise RtpError(f"bad padding length {pad}")
            end -= pad
        return cls(
            b1 & 0x7F,
            seq,
            ts,
            ssrc,
            bytes(data[offset:end]),
            bool(b1 & 0x80),
            tuple(csrc),
            extension,
        )


class StreamBank(Table):
    """The sending side of many RTP streams, one row each (RFC 3550 §5.1): SSRC, sequence
    number and timestamp of the next packet, packet and octet counts. ``pack`` makes the
    next packet of many streams at once."""

    def __init__(self, rows: int = 4) -> None:
        columns = {name: Column(np.int64) for name in _STREAM_FIELDS}
        super().__init__(columns, rows)

    def pack(self, rows: Ints, payload_type: Ints, payloads: np.ndarray[Any, Any]) -> Any:
        """The next packet of each row's stream, one per row of ``payloads`` (k, n) uint8:
        a (k, 12 + n) uint8 matrix of RTP packets with plain headers."""
        count, size = payloads.shape
        sequence = (self.sequence[rows] + 1) & 0xFFFF
        self.sequence[rows] = sequence
        self.packets[rows] += 1
        self.octets[rows] += size
        out = np.empty((count, 12 + size), dtype=np.uint8)
        words = np.empty((count, 3), dtype=">u4")
        words[:, 0] = 0x80000000 | ((payload_type & 0x7F) << 16) | sequence
        words[:, 1] = self.timestamp[rows]
        words[:, 2] = self.ssrc[rows]
        out[:, :12] = words.view(np.uint8)
        out[:, 12:] = payloads
        return out

    def advance(self, rows: Ints, samples: int) -> None:
        self.timestamp[rows] = (self.timestamp[rows] + samples) & 0xFFFFFFFF


_STREAM_FIELDS = ("ssrc", "sequence", "timestamp", "packets", "octets")


def _field(name: str) -> property:
    def get(self: RtpStream) -> int:
        return int(getattr(self.bank, name)[self.row])

    def set_(self: RtpStream, value: int) -> None:
        getattr(self.bank, name)[self.row] = value

    return property(get, set_)


class RtpStream(RowView[StreamBank]):
    """The sending side of one stream, a row of ``bank`` (by default its own): random SSRC,
    sequence and timestamp origin (RFC 3550 §5.1).

    ``timestamp`` is the media clock of the next frame in samples; ``advance(n)`` moves it on.
    """

    ssrc = _field("ssrc")
    sequence = _field("sequence")
    timestamp = _field("timestamp")
    packets = _field("packets")
    octets = _field("octets")

    def __init__(
        self,
        clock_rate: int = 8000,
        ssrc: int | None = None,
        sequence: int | None = None,
        timestamp: int | None = None,
        bank: StreamBank | None = None,
    ) -> None:
        self.clock_rate = clock_rate
        super().__init__(bank or StreamBank(rows=1))
        self.ssrc = secrets.randbits(32) if ssrc is None else ssrc
        self.sequence = secrets.randbits(16) if sequence is None else sequence
        self.timestamp = secrets.randbits(32) if timestamp is None else timestamp

    def packet(
        self,
        payload: bytes,
        payload_type: int,
        *,
        marker: bool = False,
        timestamp: int | None = None,
    ) -> RtpPacket:
        """The next packet of the stream (sequence + 1) at ``timestamp`` (default: now)."""
        self.sequence = (self.sequence + 1) & 0xFFFF
        self.packets += 1
        self.octets += len(payload)
        ts = self.timestamp if timestamp is None else timestamp
        return RtpPacket(payload_type, self.sequence, ts, self.ssrc, payload, marker)

    def pack(self, payload: bytes, payload_type: int) -> bytes:
        """``packet(payload, payload_type).serialize()`` without building the packet object."""
        return self.packet(payload, payload_type).serialize()

    def advance(self, samples: int) -> None:
        self.timestamp = (self.timestamp + samples) & 0xFFFFFFFF


@dataclass(slots=True)
class Datagrams:
    """Datagrams as rows of a matrix, for handling a tick's packets at once: datagram k is
    ``data[k, :size[k]]`` (uint8, ``room`` bytes per row), received at ``arrival[k]``
    (``time.monotonic()`` seconds)."""

    data: np.ndarray[Any, np.dtype[np.uint8]]
    size: np.ndarray[Any, np.dtype[np.int64]]
    arrival: np.ndarray[Any, np.dtype[np.float64]]

    @classmethod
    def from_list(cls, items: list[tuple[bytes, float]], room: int) -> Datagrams:
        """``(datagram, arrival)`` pairs; datagrams longer than ``room`` are cut (their
        ``size`` says so)."""
        data = np.zeros((len(items), room), dtype=np.uint8)
        for k, (datagram, _) in enumerate(items):
            cut = datagram[:room]
            data[k, : len(cut)] = np.frombuffer(cut, dtype=np.uint8)
        size = np.fromiter((len(d) for d, _ in items), dtype=np.int64, count=len(items))
        arrival = np.fromiter((a for _, a in items), dtype=np.float64, count=len(items))
        return cls(data, size, arrival)

    def __len__(self) -> int:
        return len(self.size)

    def pick(self, mask: Any) -> Datagrams:
        return Datagrams(self.data[mask], self.size[mask], self.arrival[mask])

    def bytes(self, k: int) -> bytes:
        return self.data[k, : self.size[k]].tobytes()


@dataclass(slots=True)
class Headers:
    """The fixed RTP headers (RFC 3550 §5.1) of a matrix of datagrams, as int64 arrays.
    ``plain`` marks version 2 without padding, extension or CSRC (payload at byte 12)."""

    plain: np.ndarray[Any, np.dtype[np.bool_]]
    payload_type: np.ndarray[Any, np.dtype[np.int64]]
    marker: np.ndarray[Any, np.dtype[np.bool_]]
    sequence: np.ndarray[Any, np.dtype[np.int64]]
    timestamp: np.ndarray[Any, np.dtype[np.int64]]
    ssrc: np.ndarray[Any, np.dtype[np.int64]]

    @classmethod
    def parse(cls, data: np.ndarray[Any, np.dtype[np.uint8]]) -> Headers:
        """Read the first 12 bytes of each row of ``data`` (k, >= 12)."""
        head = np.ascontiguousarray(data[:, :12])
        words = head.view(">u4").astype(np.int64)  # (k, 3)
        b1 = head[:, 1].astype(np.int64)
        return cls(
            head[:, 0] == 0x80,
            b1 & 0x7F,
            (b1 & 0x80) != 0,
            words[:, 0] & 0xFFFF,
            words[:, 1],
            words[:, 2],
        )
