"""Batched native RTP I/O (media.rtpio): real datagrams over loopback through one socket set."""

from __future__ import annotations

import asyncio
import ctypes
import socket
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.media.test_leg import Tape, dominant_hz
from tests.wire import until
from voxrelay.media import rtpio
from voxrelay.media.clock import MediaClock
from voxrelay.media.codecs import PCMU
from voxrelay.media.engine import Engine
from voxrelay.media.leg import Leg
from voxrelay.media.player import Player
from voxrelay.media.rtp import RtpStream
from voxrelay.media.rtpio import RtpIoError, RtpSocketSet
from voxrelay.media.sources import tone
from voxrelay.media.transport import open_transport


@pytest.fixture
def sockets() -> RtpSocketSet:
    return RtpSocketSet(capacity=8)


async def test_two_legs_talk_through_one_set_and_the_callee_latches(sockets: RtpSocketSet) -> None:
    a, b = Leg(PCMU, name="a"), Leg(PCMU, name="b")
    ha = sockets.open(a, "127.0.0.1")
    hb = sockets.open(b, "127.0.0.1")  # b has no remote: it learns a's address from a's packets
    ha.remote = hb.local
    assert hb.remote is None and ha.remote == hb.local
    tape_a, tape_b = Tape(), Tape()
    a.add_listener(tape_a)
    b.add_listener(tape_b)
    a.add_player(Player("pa", [tone((1000.0,), 1.0)]))
    b.add_player(Player("pb", [tone((440.0,), 1.0)]))
    batch = Engine(sockets)
    batch.add(a)
    batch.add(b)
    clock = MediaClock()
    clock.subscribe(batch.tick)
    clock.start()
    await until(lambda: not a.players and not b.players, timeout=20)  # both played to the end
    marks = [(tape, len(tape.heard) + 10) for tape in (tape_a, tape_b)]
    await until(lambda: all(len(tape.heard) >= mark for tape, mark in marks))  # all arrived
    await clock.stop()
    assert hb.remote == ha.local  # symmetric RTP (RFC 4961)
    assert abs(dominant_hz(tape_b.audio()) - 1000) < 10
    assert abs(dominant_hz(tape_a.audio()) - 440) < 10
    for tape in (tape_a, tape_b):  # each heard the other's whole 1 s tone: 50 frames
        loud = np.abs(tape.audio().reshape(-1, 160)).max(axis=1) > 1000
        assert 48 <= loud.sum() <= 51, loud.sum()
    ha.close()
    hb.close()
    assert a.send is None and b.send is None


def test_bad_datagrams_are_counted_and_dropped(sockets: RtpSocketSet) -> None:
    leg = Leg(PCMU, name="x")
    handle = sockets.open(leg, "127.0.0.1")
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        peer.sendto(b"\x80" * (rtpio.DATAGRAM_ROOM + 500), handle.local)  # too long for RTP
        peer.sendto(b"junk", handle.local)  # not RTP
        stream = RtpStream()
        peer.sendto(stream.pack(b"\xff" * 160, 0), handle.local)
        time.sleep(0.05)
        assert sockets.deliver() == 2
        assert sockets.invalid == 1 and len(leg.inbox) == 2
        engine = Engine()
        engine.add(leg)
        engine.tick(0)
        assert leg.invalid == 1 and leg.received == 1
    finally:
        peer.close()
        handle.close()


def test_a_burst_on_one_socket_arrives_whole_and_in_order(sockets: RtpSocketSet) -> None:
    """More datagrams than one read takes from a socket (``PER_SOCKET`` in rtpio.c): the
    polls that follow take the rest, in order; a cut-off one among them is counted."""
    leg = Leg(PCMU, name="burst")
    handle = sockets.open(leg, "127.0.0.1")
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    try:
        stream = RtpStream()
        for k in range(20):
            peer.sendto(stream.pack(bytes([k]) * 160, 160 * k), handle.local)
            if k == 10:
                peer.sendto(b"\x80" * (rtpio.DATAGRAM_ROOM + 1), handle.local)
        time.sleep(0.05)
        delivered = [sockets.deliver() for _ in range(5)]
        assert sum(delivered) == 20 and delivered[0] < 20
        assert sockets.invalid == 1
        assert [data[12] for data, _ in leg.inbox] == list(range(20))
        assert handle.remote == peer.getsockname()  # latched
    finally:
        peer.close()
        handle.close()


@pytest.mark.parametrize("io", ["native", "asyncio"])
async def test_latching_is_strict_until_another_address_is_given(io: str) -> None:
    """Symmetric RTP (RFC 4961) on both socket paths: the first packet's source becomes the
    remote; after that, datagrams from anyone else are dropped (the native set's socket is
    connected to the source); giving the same address again keeps the latch, giving another
    one latches anew."""
    leg = Leg(PCMU, name="strict")
    peers = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3)]
    sockets = RtpSocketSet(capacity=2) if io == "native" else None
    signalled, a, b = peers
    for peer in peers:
        peer.bind(("127.0.0.1", 0))
    addr = {peer: peer.getsockname() for peer in peers}
    if sockets is not None:
        handle: Any = sockets.open(leg, "127.0.0.1", remote=addr[signalled])
    else:
        handle = await open_transport(leg, "127.0.0.1", remote=addr[signalled])

    async def heard_from(peer: socket.socket) -> bool:
        before = len(leg.inbox)
        peer.sendto(RtpStream().pack(b"\xff" * 160, 0), handle.local)
        await asyncio.sleep(0.05)
        if sockets is not None:
            sockets.deliver()
        return len(leg.inbox) > before

    try:
        assert handle.remote == addr[signalled]
        assert await heard_from(a) and handle.remote == addr[a]  # NAT: latched
        assert not await heard_from(b) and handle.remote == addr[a]  # a stranger: dropped
        handle.remote = addr[signalled]  # a re-offer with the same address
        assert handle.remote == addr[a] and await heard_from(a)
        handle.remote = addr[b]  # the far end moved
        assert handle.remote == addr[b]
        assert await heard_from(b) and handle.remote == addr[b]
        assert not await heard_from(a)
        leg.send(b"to b")  # type: ignore[misc]
        if sockets is not None:
            assert sockets.flush() == 1
        b.settimeout(1)
        assert b.recvfrom(100) == (b"to b", handle.local)
    finally:
        handle.close()
        for peer in peers:
            peer.close()


def test_a_closed_handle_frees_its_slot_and_drops_what_it_queued() -> None:
    sockets = RtpSocketSet(capacity=1)
    first = Leg(PCMU)
    handle = sockets.open(first, "127.0.0.1", remote=("127.0.0.1", 9))
    handle.send(b"queued before close")
    with pytest.raises(RtpIoError, match="in use"):
        sockets.open(Leg(PCMU), "127.0.0.1")
    handle.close()
    handle.close()  # idempotent
    assert sockets.flush() == 0
    second = Leg(PCMU)
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    try:
        again = sockets.open(second, "127.0.0.1", remote=listener.getsockname())
        assert second.send is not None
        second.send(b"hello")
        assert sockets.flush() == 1
        listener.settimeout(1)
        data, source = listener.recvfrom(100)
        assert data == b"hello" and source == again.local
        again.close()
    finally:
        listener.close()


@pytest.mark.ci_may_skip  # IPv6 is the machine's, not a tool to install
def test_ipv6_loopback(sockets: RtpSocketSet) -> None:
    try:
        probe = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    leg = Leg(PCMU)
    handle = sockets.open(leg, "::1", remote=probe.getsockname()[:2])
    try:
        assert handle.remote == probe.getsockname()[:2]
        probe.sendto(RtpStream().pack(b"\xff" * 160, 0), handle.local)
        time.sleep(0.05)
        assert sockets.deliver() == 1 and len(leg.inbox) == 1
        leg.send(b"back")  # type: ignore[misc]
        assert sockets.flush() == 1
        probe.settimeout(1)
        assert probe.recvfrom(10)[0] == b"back"
    finally:
        handle.close()
        probe.close()


def test_sockaddr_round_trip() -> None:
    for addr in [("127.0.0.1", 20000), ("10.1.2.3", 65535), ("::1", 5004)]:
        assert rtpio.address(rtpio.sockaddr(addr)) == addr


def test_build_reports_the_compiler_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "_rtpio.so"
    monkeypatch.setattr(rtpio, "library_path", lambda: target)
    monkeypatch.setenv("CC", "false")
    with pytest.raises(RtpIoError, match=r"compiling rtpio\.c failed"):
        rtpio.build()
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    with pytest.raises(RtpIoError, match="cannot run the C compiler"):
        rtpio.build()
    assert not target.exists()
    monkeypatch.setenv("CC", "cc")
    assert rtpio.build() == target and target.exists()
    assert rtpio.build() == target  # up to date: not rebuilt
    assert ctypes.CDLL(str(target)).rtpio_version() == 1
