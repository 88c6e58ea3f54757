"""UDP transport for one leg's RTP: a thin asyncio layer over ``Leg.receive``/``Leg.send``.

Binds a port from a range (even ports, RFC 3550 §11), sends to the negotiated address and
switches to the address the far end's first packet comes from (symmetric RTP, RFC 4961),
so NATs and peers that advertise another address still work. Once latched, datagrams from
any other source are dropped (strict RTP, as the native socket set's connected sockets do)
until ``remote`` is given another address.
"""

from __future__ import annotations

import asyncio
from typing import Any

from voxrelay.media.leg import Leg
from voxrelay.media.ports import bind_rtp_socket

Address = tuple[str, int]


class RtpTransport(asyncio.DatagramProtocol):
    """Moves datagrams between a socket and a Leg."""

    def __init__(self, leg: Leg, remote: Address | None = None, *, latch: bool = True) -> None:
        self.leg = leg
        self.latch = latch
        self._remote = self._given = remote
        self._latched = False
        self.transport: asyncio.DatagramTransport | None = None
        leg.send = self.send

    @property
    def remote(self) -> Address | None:
        """Where packets go: the address given, or the latched source of the first packet."""
        return self._remote

    @remote.setter
    def remote(self, value: Address | None) -> None:
        if value == self._given and self._latched:
            return  # a re-offer with the same address: stay latched
        self._remote = self._given = value
        self._latched = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        source = (addr[0], addr[1])
        if self.latch:
            if not self._latched:
                self._remote, self._latched = source, True
            elif source != self._remote:
                return  # strict RTP: not the source we latched onto
        self.leg.deliver(data)

    def error_received(self, exc: Exception) -> None:
        pass  # ICMP port unreachable while the far end is not yet listening: keep going

    def send(self, data: bytes) -> None:
        if self.transport is not None and self.remote is not None:
            self.transport.sendto(data, self.remote)

    @property
    def local(self) -> Address:
        assert self.transport is not None
        host, port = self.transport.get_extra_info("sockname")[:2]
        return host, port

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None
        self.leg.send = None


async def open_transport(
    leg: Leg,
    host: str,
    remote: Address | None = None,
    port_range: tuple[int, int] = (20000, 30000),
    attempts: int = 50,
) -> RtpTransport:
    """Bind an even UDP port in ``port_range`` on ``host`` for ``leg``.

    Raises OSError when no port could be bound after ``attempts`` tries.
    """
    sock = bind_rtp_socket(host, port_range, attempts)
    loop = asyncio.get_running_loop()
    try:
        _, protocol = await loop.create_datagram_endpoint(
            lambda: RtpTransport(leg, remote), sock=sock
        )
    except BaseException:
        sock.close()
        raise
    return protocol
