"""One TCP port for TLS and plain connections alike (``voxrelay serve --tls``).

The official ``signalwire-sdk`` 3.x dials ``wss://`` for RELAY but ``http://`` for REST when the
host is a loopback address, so a local TLS server has to answer both on one port. Each accepted
connection's first byte is peeked with ``MSG_PEEK`` (it stays in the kernel's buffer for whoever
reads next). A TLS connection opens with a handshake record, content type 22 (0x16; RFC 8446
§5.1, RFC 5246 §6.2.1), carrying the ClientHello: such a connection is handed over with TLS on
it. Any other first byte is handed over plain, unless ``tls_only``: then the client gets an
HTTP ``400`` saying to use ``https://``/``wss://`` and the connection is closed. A connection
that sends nothing within ``first_byte_timeout`` seconds is closed, and so is one whose TLS
handshake does not finish within that time.

Connections are handed to ``loop.connect_accepted_socket`` with the server's protocol factory
(uvicorn's HTTP protocol in ``voxrelay serve``), which works the same on asyncio's loop and
uvloop. ``SniffingListener`` has ``close()``, ``wait_closed()`` and ``sockets`` as
``asyncio.Server`` has, so a server that closes its ``asyncio.Server`` objects can close it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Callable

log = logging.getLogger(__name__)

TLS_HANDSHAKE = 0x16  # TLSPlaintext.type of a handshake record (RFC 8446 §5.1)
ACCEPT_BATCH = 100  # connections accepted per readiness of a listening socket
ACCEPT_PAUSE = 1.0  # seconds to stop accepting after EMFILE and the like

_REFUSAL_TEXT = b"This server accepts TLS connections only: use https:// or wss://.\n"
REFUSAL = (
    b"HTTP/1.1 400 Bad Request\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: " + str(len(_REFUSAL_TEXT)).encode() + b"\r\n"
    b"connection: close\r\n\r\n" + _REFUSAL_TEXT
)


def bind_sockets(host: str, port: int, backlog: int = 2048) -> list[socket.socket]:
    """Listening TCP sockets for every address ``host`` resolves to (IPv6 ones IPv6-only, as
    ``loop.create_server`` makes them), non-blocking. Raises ``OSError`` when one cannot bind
    (none is left open then)."""
    infos = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE
    )
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(backlog)
            sock.setblocking(False)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def refuse_plain(conn: socket.socket) -> None:
    """Answer a plain connection to a TLS-only port with ``REFUSAL`` and close it. What the
    client has sent is read first: closing with unread data would reset the connection and
    could discard the answer before the client reads it."""
    with contextlib.suppress(OSError):
        conn.recv(65536)
        conn.send(REFUSAL)
        conn.shutdown(socket.SHUT_WR)
    conn.close()


class SniffingListener:
    """Accepts on ``sockets`` and hands each connection to ``protocol_factory`` with TLS
    (``ssl_context``) or plain, as its first byte says (see the module docstring)."""

    def __init__(
        self,
        sockets: list[socket.socket],
        protocol_factory: Callable[[], asyncio.Protocol],
        ssl_context: ssl.SSLContext,
        *,
        tls_only: bool = False,
        first_byte_timeout: float = 10.0,
    ) -> None:
        self.sockets = sockets
        self.tls_only = tls_only
        self.first_byte_timeout = first_byte_timeout
        self._factory = protocol_factory
        self._ssl = ssl_context
        self._loop = asyncio.get_running_loop()
        self._waiting: dict[socket.socket, asyncio.TimerHandle] = {}  # accepted, not yet sniffed
        self._handovers: set[asyncio.Task[None]] = set()
        self._serving = False

    def start(self) -> None:
        """Start accepting connections."""
        self._serving = True
        for sock in self.sockets:
            self._loop.add_reader(sock, self._accept, sock)
            log.info(
                "accepting %s connections on %s",
                "TLS" if self.tls_only else "TLS and plain",
                sock.getsockname()[:2],
            )

    def close(self) -> None:
        """Stop accepting, close the listening sockets and every connection not yet handed
        over. Connections already handed over belong to their protocols."""
        self._serving = False
        for sock in self.sockets:
            self._loop.remove_reader(sock)
            sock.close()
        for conn in list(self._waiting):
            self._unwatch(conn)
            conn.close()

    async def wait_closed(self) -> None:
        """Wait until the handovers under way (TLS handshakes) are done."""
        if self._handovers:
            await asyncio.gather(*self._handovers, return_exceptions=True)

    # -- accepting -----------------------------------------------------------------------

    def _accept(self, listener: socket.socket) -> None:
        for _ in range(ACCEPT_BATCH):
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # out of file descriptors or memory: wait, then go on
                log.warning("accept failed (%s); not accepting for %s s", exc, ACCEPT_PAUSE)
                self._loop.remove_reader(listener)
                self._loop.call_later(ACCEPT_PAUSE, self._resume, listener)
                return
            conn.setblocking(False)
            self._watch(conn)

    def _resume(self, listener: socket.socket) -> None:
        if self._serving:
            self._loop.add_reader(listener, self._accept, listener)

    # -- sniffing ------------------------------------------------------------------------

    def _watch(self, conn: socket.socket) -> None:
        self._loop.add_reader(conn, self._readable, conn)
        self._waiting[conn] = self._loop.call_later(self.first_byte_timeout, self._silent, conn)

    def _unwatch(self, conn: socket.socket) -> None:
        self._loop.remove_reader(conn)
        self._waiting.pop(conn).cancel()

    def _silent(self, conn: socket.socket) -> None:
        if conn not in self._waiting:  # sniffed or closed in this same loop iteration
            return
        log.debug("closing a connection that sent nothing in %s s", self.first_byte_timeout)
        self._unwatch(conn)
        conn.close()

    def _readable(self, conn: socket.socket) -> None:
        if conn not in self._waiting:
            return
        try:
            first = conn.recv(1, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            first = b""
        self._unwatch(conn)
        if not first:  # closed (or reset) before sending anything
            conn.close()
            return
        tls = first[0] == TLS_HANDSHAKE
        if self.tls_only and not tls:
            refuse_plain(conn)
            return
        task = self._loop.create_task(self._hand_over(conn, tls))
        self._handovers.add(task)
        task.add_done_callback(self._handovers.discard)

    async def _hand_over(self, conn: socket.socket, tls: bool) -> None:
        """From here the loop owns ``conn`` (uvloop detaches it): never touch it again."""
        try:
            if tls:
                await self._loop.connect_accepted_socket(
                    self._factory,
                    conn,
                    ssl=self._ssl,
                    ssl_handshake_timeout=self.first_byte_timeout,
                )
            else:
                await self._loop.connect_accepted_socket(self._factory, conn)
        except OSError as exc:  # a failed or timed-out TLS handshake; the loop closed it
            log.debug("connection dropped before it was served: %r", exc)
