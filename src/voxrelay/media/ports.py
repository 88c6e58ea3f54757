"""RTP ports: binding a leg's UDP socket on an even port of a range (RFC 3550 §11)."""

from __future__ import annotations

import random
import socket


def bind_rtp_socket(host: str, port_range: tuple[int, int], attempts: int) -> socket.socket:
    """A non-blocking UDP socket bound to a random even port in ``port_range`` on ``host``.

    Raises OSError when no port could be bound after ``attempts`` tries."""
    family = socket.getaddrinfo(host, None, type=socket.SOCK_DGRAM)[0][0]
    last: OSError | None = None
    for _ in range(attempts):
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.bind((host, random.randrange(port_range[0], port_range[1], 2)))
        except OSError as exc:
            sock.close()
            last = exc
            continue
        sock.setblocking(False)
        return sock
    raise OSError(f"no free RTP port in {port_range} on {host}: {last}")
