"""A SIP endpoint: UDP and TCP sockets under the transaction layer (RFC 3261 §17, §18).

Datagrams and framed TCP messages are parsed, matched to transactions (server: branch and
method, ACK and CANCEL to their INVITE; client: branch and CSeq method) and the rest handed
to the user agent (``Handler``). Responses go back where the request came from: the UDP
source address (RFC 3581 symmetric response) or the same TCP connection. Malformed requests
are answered 400 (or the status the parser names) when they can be; nothing crashes the
endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from voxrelay.sip.dialog import new_branch, new_tag
from voxrelay.sip.framing import StreamFramer
from voxrelay.sip.message import (
    Request,
    Response,
    SipParseError,
    Via,
    check_request,
    parse_message,
    response_to,
)
from voxrelay.sip.transaction import ClientTransaction, ServerTransaction, Transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Peer:
    """Where a message came from or goes to."""

    transport: str  # "UDP" or "TCP"
    host: str
    port: int
    conn: Any = None  # the TCP connection (a _TcpConnection), if any

    @property
    def reliable(self) -> bool:
        return self.transport != "UDP"


class Handler(Protocol):
    """The user agent above the transactions."""

    def on_request(self, tx: ServerTransaction, request: Request, peer: Peer) -> None: ...

    def on_cancel(self, invite: ServerTransaction, cancel: Request, peer: Peer) -> None: ...

    def on_ack(self, ack: Request, peer: Peer) -> None: ...

    def on_stray_response(self, response: Response, peer: Peer) -> None: ...


class SipEndpoint:
    """See module docstring. ``host``/``port`` are where UDP and TCP listen."""

    def __init__(
        self, host: str, port: int, handler: Handler, advertise: str | None = None
    ) -> None:
        self.host, self.port = host, port
        self.advertise = advertise or host
        self.handler = handler
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._server_tx: dict[tuple[str, str], ServerTransaction] = {}
        self._client_tx: dict[tuple[str, str], ClientTransaction] = {}
        self._connections: dict[tuple[str, int], _TcpConnection] = {}

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._udp, _ = await loop.create_datagram_endpoint(
            lambda: _UdpProtocol(self), local_addr=(self.host, self.port)
        )
        self.port = self._udp.get_extra_info("sockname")[1]
        self._tcp = await loop.create_server(lambda: _TcpConnection(self), self.host, self.port)

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._tcp.wait_closed(), 2)
        for conn in list(self._connections.values()):
            conn.close()
        for tx in [*self._server_tx.values(), *self._client_tx.values()]:
            tx.on_terminated = None

    # -- sending --------------------------------------------------------------------------

    def via(self, transport: str = "UDP") -> str:
        """A Via for a new request from us (fresh branch, rport asked for)."""
        return f"SIP/2.0/{transport} {self.advertise}:{self.port};branch={new_branch()};rport"

    def contact(self, user: str = "voxrelay", transport: str = "UDP") -> str:
        suffix = "" if transport == "UDP" else f";transport={transport.lower()}"
        return f"<sip:{user}@{self.advertise}:{self.port}{suffix}>"

    def send(self, message: Request | Response, peer: Peer) -> None:
        data = message.serialize()
        if peer.transport == "UDP":
            if self._udp is not None:
                self._udp.sendto(data, (peer.host, peer.port))
        elif peer.conn is not None:
            peer.conn.write(data)

    async def connect(self, host: str, port: int, transport: str) -> Peer:
        """A peer to send requests to (opens or reuses a TCP connection)."""
        if transport == "UDP":
            return Peer("UDP", host, port)
        conn = self._connections.get((host, port))
        if conn is None or conn.closed:
            loop = asyncio.get_running_loop()
            _, conn = await loop.create_connection(lambda: _TcpConnection(self), host, port)
        return Peer("TCP", host, port, conn)

    def client(
        self, request: Request, peer: Peer, on_response: Callable[[Response], None]
    ) -> ClientTransaction:
        """Start a client transaction for ``request`` (its top Via must carry the branch)."""
        loop = asyncio.get_running_loop()
        tx = ClientTransaction(
            request, lambda m: self.send(m, peer), loop.call_later, peer.reliable, on_response
        )
        key = (tx.branch, request.cseq[1])
        self._client_tx[key] = tx
        tx.on_terminated = lambda t: self._forget(self._client_tx, key, t)
        tx.start()
        return tx

    # -- receiving ------------------------------------------------------------------------

    def received(self, data: bytes, peer: Peer) -> None:
        if not data.strip():
            return  # keep-alive CRLF (RFC 5626)
        try:
            message = parse_message(data)
        except SipParseError as exc:
            self._reject_raw(data, exc, peer)
            return
        try:
            if isinstance(message, Request):
                self._request(message, peer)
            else:
                self._response(message, peer)
        except SipParseError as exc:
            if isinstance(message, Request) and message.method != "ACK":
                self._reply_error(message, exc, peer)
        except Exception:
            log.exception("SIP %s from %s:%s failed", type(message).__name__, peer.host, peer.port)

    def _reject_raw(self, data: bytes, exc: SipParseError, peer: Peer) -> None:
        """Answer a request we could not parse, if its headers are good enough to answer."""
        log.info("bad SIP message from %s:%s: %s", peer.host, peer.port, exc.reason)
        head = data.split(b"\r\n", 1)[0]
        if head.startswith(b"SIP/") or head.startswith(b"ACK "):
            return
        with contextlib.suppress(SipParseError, ValueError):
            text = data.decode("utf-8", "replace").split("\r\n\r\n", 1)[0] + "\r\n\r\n"
            lenient = parse_message(
                ("OPTIONS sip:x SIP/2.0\r\n" + text.split("\r\n", 1)[1]).encode()
            )
            assert isinstance(lenient, Request)
            self.send(response_to(lenient, exc.status, exc.reason, to_tag=new_tag()), peer)

    def _reply_error(self, request: Request, exc: SipParseError, peer: Peer) -> None:
        with contextlib.suppress(SipParseError):
            self.send(response_to(request, exc.status, exc.reason, to_tag=new_tag()), peer)

    def _request(self, request: Request, peer: Peer) -> None:
        check_request(request)
        _note_source(request, peer)
        branch = Via.parse(request.headers.get_all("Via")[0]).branch
        if request.method == "ACK":
            tx = self._server_tx.get((branch, "INVITE"))
            if tx is not None and tx.state.value == "completed":
                tx.ack(request)
            else:
                self.handler.on_ack(request, peer)
            return
        existing = self._server_tx.get((branch, request.method))
        if existing is not None:
            existing.retransmission()
            return
        tx = self._new_server_tx(request, peer, branch)
        if request.method == "CANCEL":
            invite = self._server_tx.get((branch, "INVITE"))
            if invite is None:
                tx.respond(response_to(request, 481))
            else:
                tx.respond(response_to(request, 200))
                self.handler.on_cancel(invite, request, peer)
            return
        self.handler.on_request(tx, request, peer)

    def _new_server_tx(self, request: Request, peer: Peer, branch: str) -> ServerTransaction:
        loop = asyncio.get_running_loop()
        tx = ServerTransaction(
            request, lambda m: self.send(m, peer), loop.call_later, peer.reliable
        )
        key = (branch, request.method)
        self._server_tx[key] = tx
        tx.on_terminated = lambda t: self._forget(self._server_tx, key, t)
        return tx

    @staticmethod
    def _forget(table: dict[tuple[str, str], Any], key: tuple[str, str], tx: Transaction) -> None:
        if table.get(key) is tx:
            del table[key]

    def _response(self, response: Response, peer: Peer) -> None:
        branch = Via.parse(response.headers.get_all("Via")[0]).branch
        tx = self._client_tx.get((branch, response.cseq[1]))
        if tx is not None:
            tx.receive(response)
        else:
            self.handler.on_stray_response(response, peer)


def _note_source(request: Request, peer: Peer) -> None:
    """Add received/rport to the top Via (RFC 3261 §18.2.1, RFC 3581 §4)."""
    values = [v for k, v in request.headers if k == "Via"]
    via = Via.parse(values[0])
    if "rport" in via.params:
        via.params["rport"] = str(peer.port)
        via.params["received"] = peer.host
    elif via.host != peer.host:
        via.params["received"] = peer.host
    else:
        return
    items = request.headers.items
    index = next(i for i, (k, _) in enumerate(items) if k == "Via")
    _first, _, rest = items[index][1].partition(",")
    items[index] = ("Via", str(via) + ("," + rest if rest else ""))


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, endpoint: SipEndpoint) -> None:
        self.endpoint = endpoint

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.endpoint.received(data, Peer("UDP", addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:
        pass


class _TcpConnection(asyncio.Protocol):
    def __init__(self, endpoint: SipEndpoint) -> None:
        self.endpoint = endpoint
        self.framer = StreamFramer()
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.peer: Peer | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        host, port = transport.get_extra_info("peername")[:2]
        self.peer = Peer("TCP", host, port, self)
        self.endpoint._connections[(host, port)] = self

    def data_received(self, data: bytes) -> None:
        assert self.peer is not None
        try:
            messages = self.framer.feed(data)
        except SipParseError:
            self.close()
            return
        for message in messages:
            self.endpoint.received(message, self.peer)

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.peer is not None:
            self.endpoint._connections.pop((self.peer.host, self.peer.port), None)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self.closed = True
