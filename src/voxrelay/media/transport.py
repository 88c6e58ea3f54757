"""UDP transport for one leg's RTP: a thin asyncio layer over ``Leg.receive``/``Leg.send``.

Binds a port from a range (even ports, RFC 3550 §11), sends to the negotiated address and
switches to the address the far end's packets actually come from (symmetric RTP, RFC 4961),
so NATs and peers that advertise another address still work.
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
        self.remote = remote
        self.latch = latch
        self.transport: asyncio.DatagramTransport | None = None
        leg.send = self.send

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if self.latch and addr != self.remote:
            self.remote = (addr[0], addr[1])
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
