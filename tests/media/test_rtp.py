"""RTP packets and the jitter buffer, driven with plain function calls."""

from __future__ import annotations

import contextlib
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxrelay.media.jitterbuffer import JitterBuffer
from voxrelay.media.rtp import RtpError, RtpPacket, RtpStream, is_rtcp, seq_diff, ts_diff


def test_round_trip_with_csrc_extension_and_marker() -> None:
    pkt = RtpPacket(0, 65535, 4294967295, 0x1234, b"\xff" * 160, True, (1, 2), (0xBEDE, b"abcd"))
    assert RtpPacket.parse(pkt.serialize()) == pkt


def test_padding_is_removed() -> None:
    raw = bytearray(RtpPacket(8, 1, 2, 3, b"data").serialize() + b"\x00\x00\x03")
    raw[0] |= 0x20
    assert RtpPacket.parse(bytes(raw)).payload == b"data"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x80" * 11,
        b"\x40" + b"\x00" * 11,
        b"\x8f" + b"\x00" * 11,
        b"\x90" + b"\x00" * 12,
        b"\xa0" + b"\x00" * 11 + b"\x09",
    ],
)
def test_malformed_packets_raise(raw: bytes) -> None:
    with pytest.raises(RtpError):
        RtpPacket.parse(raw)


@given(st.binary(max_size=64))
def test_parse_raises_only_rtp_error(raw: bytes) -> None:
    with contextlib.suppress(RtpError):
        RtpPacket.parse(raw)


def test_wrapping_arithmetic_and_rtcp_demux() -> None:
    assert seq_diff(1, 65535) == 2 and seq_diff(65535, 1) == -2
    assert ts_diff(5, 4294967291) == 10
    assert is_rtcp(b"\x80\xc9") and not is_rtcp(b"\x80\x00")


def test_stream_counts_and_wraps() -> None:
    stream = RtpStream(ssrc=7, sequence=65535, timestamp=4294967200)
    first = stream.packet(b"x" * 160, 0)
    stream.advance(160)
    second = stream.packet(b"x" * 160, 0)
    assert (first.sequence, second.sequence) == (0, 1)
    assert second.timestamp == 64 and stream.packets == 2 and stream.octets == 320


def feed(jb: JitterBuffer, order: list[int], ssrc: int = 1) -> list[int | None]:
    """Put packets (frame numbers in arrival order, one per tick) and get one frame per tick."""
    out = []
    for tick, n in enumerate(order):
        jb.put(RtpPacket(0, n, 1000 + 160 * n, ssrc, bytes([n % 256])), 160 * tick)
        pkt = jb.get()
        out.append(None if pkt is None else (pkt.timestamp - 1000) // 160)
    for _ in range(20):
        pkt = jb.get()
        out.append(None if pkt is None else (pkt.timestamp - 1000) // 160)
    return out


def test_reordered_packets_come_out_in_order() -> None:
    order = list(range(40))
    for i in range(3, 38, 5):
        order[i], order[i + 1] = order[i + 1], order[i]
    played = [n for n in feed(JitterBuffer(), order) if n is not None]
    assert played == list(range(40))


def test_lost_packets_leave_gaps_and_late_ones_are_dropped() -> None:
    jb = JitterBuffer()
    order = [n for n in range(30) if n != 10]
    played = feed(jb, order)
    assert 10 not in played and jb.stats.lost >= 1
    jb.put(RtpPacket(0, 10, 1000 + 1600, 1, b""), 0)  # far too late now
    assert jb.stats.late == 1


def test_target_delay_grows_with_jitter() -> None:
    rng = random.Random(7)
    calm, rough = JitterBuffer(), JitterBuffer()
    for n in range(200):
        calm.put(RtpPacket(0, n, 160 * n, 1, b""), 160 * n)
        rough.put(RtpPacket(0, n, 160 * n, 1, b""), 160 * n + rng.randint(0, 480))
        calm.get()
        rough.get()
    assert calm.target == calm.min_frames
    assert rough.target > calm.target
    assert rough.jitter > 100


def test_new_ssrc_restarts_playout() -> None:
    jb = JitterBuffer()
    feed(jb, list(range(10)), ssrc=1)
    played = feed(jb, list(range(10)), ssrc=2)
    assert [n for n in played if n is not None] == list(range(10))
    assert jb.stats.resyncs == 1


def test_stream_pack_equals_packet_serialize() -> None:
    from voxrelay.media.rtp import RtpStream

    a = RtpStream(ssrc=0xDEADBEEF, sequence=0xFFFF, timestamp=0xFFFFFF00)
    b = RtpStream(ssrc=0xDEADBEEF, sequence=0xFFFF, timestamp=0xFFFFFF00)
    for _ in range(3):
        assert a.pack(b"\x01" * 160, 0) == b.packet(b"\x01" * 160, 0).serialize()
        a.advance(160)
        b.advance(160)
    assert (a.sequence, a.packets, a.octets) == (b.sequence, b.packets, b.octets)


def test_parse_fast_path_matches_general_path() -> None:
    from voxrelay.media.rtp import RtpPacket

    packet = RtpPacket(0, 7, 160, 99, b"\xff" * 160, marker=True)
    parsed = RtpPacket.parse(memoryview(packet.serialize()))
    assert parsed == packet and type(parsed.payload) is bytes


@given(st.lists(st.tuples(st.integers(0, 40), st.booleans()), max_size=120))
def test_depth_matches_a_scan_of_the_held_packets(steps: list[tuple[int, bool]]) -> None:
    jb = JitterBuffer()
    for n, get in steps:
        jb.put(RtpPacket(0, n, 160 * n, 1, b""), 0)
        if get:
            jb.get()
        held = jb.held()
        next_ts = int(jb.bank.next_ts[jb.row])
        if held and next_ts >= 0:
            scan = max(0, max(ts_diff(ts, next_ts) for ts in held) // 160 + 1)
            assert jb.depth == scan
