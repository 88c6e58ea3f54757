"""The RELAY WebSocket endpoint: one ``RelayConnection`` per socket.

Thin I/O around the sans-I/O pieces: frames are parsed by ``voxrelay.protocol``, requests are
dispatched to the method registry, events come from the session. Frames are written by one
writer task from a queue, so a slow client never blocks the code that emits its events.

Bad input never ends the server: every malformed, oversized, unauthenticated, unknown or
over-the-rate-limit frame gets a JSON-RPC error reply and the socket stays open (bad
credentials excepted: -32002, then close, as the official clients expect).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import secrets
import time
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from voxrelay.protocol.codes import ErrorCode, ResultCode
from voxrelay.protocol.events import AUTHORIZATION_STATE
from voxrelay.protocol.jsonrpc import (
    ErrorResponse,
    Message,
    ProtocolError,
    Request,
    Response,
    encode,
    new_id,
    parse_message,
)
from voxrelay.protocol.models import (
    Authorization,
    ConnectParams,
    ConnectResult,
    InvalidParams,
    validate,
)
from voxrelay.server import commands  # noqa: F401  (registers the RELAY methods)
from voxrelay.server.auth import AuthError
from voxrelay.server.dispatch import METHODS, CommandError, RequestContext
from voxrelay.server.node import Node
from voxrelay.server.ratelimit import TokenBucket
from voxrelay.server.session import Session

log = logging.getLogger(__name__)

AUTH_FAILED_MESSAGE = (
    "Authentication service failed with status ProtocolError, 401 Unauthorized: {}"
)
CLOSE_AUTH_FAILED = 4001
CLOSE_PING_TIMEOUT = 4002
CLOSE_SHUTDOWN = 1001
CLOSE_RESTART = 1012
_CLOSE = object()


class RelayConnection:
    """One client socket: authenticates, dispatches requests, writes the session's events."""

    def __init__(self, node: Node, websocket: WebSocket) -> None:
        self.node = node
        self.ws = websocket
        self.session: Session | None = None
        self._outbox: asyncio.Queue[Any] = asyncio.Queue()
        self._pings: set[str] = set()
        cfg = node.config
        self._bucket = TokenBucket(cfg.rate_limit_per_s, cfg.rate_burst)
        self._closing = False

    # -- lifecycle ----------------------------------------------------------------------

    async def run(self) -> None:
        await self.ws.accept()
        self.node.connections.add(self)
        writer = asyncio.create_task(self._writer())
        pinger = asyncio.create_task(self._pinger())
        try:
            await self._reader()
        finally:
            self.node.connections.discard(self)
            pinger.cancel()
            self.close()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(writer, 2.0)
            if self.session is not None:
                self.session.detach(owner=self)

    def send(self, frame: str) -> None:
        """Queue one text frame for the writer task."""
        if not self._closing:
            self._outbox.put_nowait(frame)

    def close(self, code: int = 1000) -> None:
        """Flush what is queued, then close the socket with ``code``."""
        if not self._closing:
            self._outbox.put_nowait((_CLOSE, code))
            self._closing = True

    async def shutdown(self) -> None:
        """Server shutdown: tell the client to reconnect fresh (``restart: true``), then close."""
        self.send(encode(Request("signalwire.disconnect", {"restart": True}, new_id())))
        self.close(CLOSE_SHUTDOWN)

    async def _writer(self) -> None:
        while True:
            item = await self._outbox.get()
            if isinstance(item, tuple) and item[0] is _CLOSE:
                with contextlib.suppress(Exception):
                    await self.ws.close(item[1])
                return
            try:
                await self.ws.send_text(item)
            except Exception:  # the socket died under us: stop writing, the reader ends too
                return

    async def _reader(self) -> None:
        max_bytes = self.node.config.max_frame_bytes
        while True:
            try:
                msg = await self.ws.receive()
            except (WebSocketDisconnect, RuntimeError):
                return
            if msg["type"] == "websocket.disconnect":
                return
            data = msg.get("text")
            if data is None:
                data = msg.get("bytes")
            if data is None:
                continue
            if len(data) > max_bytes:
                self._error(
                    None,
                    ErrorCode.REQUEST_TOO_LARGE,
                    f"frame of {len(data)} bytes exceeds the limit of {max_bytes}",
                )
                continue
            await self._handle_frame(data)

    async def _pinger(self) -> None:
        cfg = self.node.config
        while True:
            await asyncio.sleep(cfg.ping_interval)
            if self.session is None:
                continue
            if len(self._pings) >= cfg.ping_failures:
                log.info(
                    "session %s: %d pings unanswered, closing", self.session.id, len(self._pings)
                )
                self.close(CLOSE_PING_TIMEOUT)
                return
            ping = Request("signalwire.ping", {"timestamp": time.time()}, new_id())
            self._pings.add(str(ping.id))
            self.send(encode(ping))

    # -- frames -------------------------------------------------------------------------

    def _reply(self, message: Message) -> None:
        self.send(encode(message))

    def _error(self, rid: str | int | None, code: int, message: str) -> None:
        self._reply(ErrorResponse(rid, code, message))

    async def _handle_frame(self, data: str | bytes) -> None:
        try:
            message = parse_message(data)
        except ProtocolError as exc:
            self._error(exc.id, exc.code, exc.message)
            return
        if isinstance(message, Request):
            await self._on_request(message)
        else:
            self._on_response(message)

    def _on_response(self, message: Response | ErrorResponse) -> None:
        rid = str(message.id)
        if rid in self._pings:
            self._pings.clear()
        elif self.session is not None:
            self.session.ack(rid)

    async def _on_request(self, request: Request) -> None:
        if not self._bucket.take():  # requests only: acks and pongs never count
            self._error(request.id, ErrorCode.RATE_LIMITED, "rate limit exceeded: slow down")
            return
        if request.method == "signalwire.connect":
            await self._connect(request)
            return
        if self.session is None:
            self._error(
                request.id,
                ErrorCode.PERMISSION_DENIED,
                "not authenticated: send signalwire.connect first",
            )
            return
        spec = METHODS.get(request.method)
        if spec is None:
            self._error(
                request.id, ErrorCode.METHOD_NOT_FOUND, f"Method not found: {request.method}"
            )
            return
        rid = str(request.id) if request.id is not None else None
        cached = self.session.result_for(rid) if rid else None
        if cached is not None:
            self._reply(Response(request.id, cached))
            return
        result = await self._run(spec, request)
        if rid:
            self.session.remember_result(rid, result)
        self._reply(Response(request.id, result))

    async def _run(self, spec: Any, request: Request) -> dict[str, Any]:
        assert self.session is not None
        try:
            params = validate(spec.params, request.params)
            result: dict[str, Any] = await spec.handler(
                RequestContext(self.node, self.session), params
            )
            return result
        except InvalidParams as exc:
            return {"code": ResultCode.BAD_REQUEST.value, "message": str(exc)}
        except CommandError as exc:
            return exc.result()
        except Exception:
            log.exception("%s failed", request.method)
            return {"code": ResultCode.INTERNAL.value, "message": "internal error"}

    # -- signalwire.connect -------------------------------------------------------------

    async def _connect(self, request: Request) -> None:
        if self.session is not None:
            self._error(request.id, ErrorCode.INVALID_REQUEST, "already connected")
            return
        try:
            params = validate(ConnectParams, request.params)
        except InvalidParams as exc:
            self._error(request.id, ErrorCode.INVALID_PARAMS, f"Invalid params: {exc}")
            return
        try:
            principal = self.node.auth.authenticate(params.authentication)
        except AuthError:
            self._reply(
                ErrorResponse(
                    request.id,
                    ErrorCode.AUTH_FAILED,
                    AUTH_FAILED_MESSAGE,
                    {"signalwire_error_code": "AUTH_REQUIRED"},
                )
            )
            self.close(CLOSE_AUTH_FAILED)
            return
        sessions = self.node.sessions
        session = sessions.resume(params.protocol, principal.project) if params.protocol else None
        restored = session is not None
        if session is None:
            session = sessions.create(
                principal.project, event_acks=params.event_acks, agent=params.agent
            )
        session.event_acks = params.event_acks
        self.session = session
        result = ConnectResult(
            session_restored=restored,
            sessionid=session.id,
            nodeid=self.node.config.node_id,
            identity=f"{session.id}@{self.node.config.node_id}",
            protocol=session.protocol,
            authorization=Authorization(
                project=principal.project,
                signature=session.signature,
                expires_at=principal.expires_at,
                scopes=list(principal.scopes),
            ),
        )
        self._reply(Response(request.id, result.model_dump()))
        stale = session.attach(self.send, owner=self)
        if isinstance(stale, RelayConnection):
            stale.close(1000)
        added = sessions.subscribe(session, [*params.contexts, *params.topics])
        self.node.router.subscribed(session, added)
        session.emit(AUTHORIZATION_STATE, {"authorization_state": _authorization_state()})


def _authorization_state() -> str:
    """An opaque ``<b64>:<b64>`` blob; clients echo it on reconnect and we accept either way."""
    part = base64.b64encode(secrets.token_bytes(24)).decode()
    tag = base64.b64encode(secrets.token_bytes(12)).decode()
    return f"{part}:{tag}"


async def relay_endpoint(websocket: WebSocket) -> None:
    """ASGI WebSocket handler for ``/``."""
    node: Node = websocket.app.state.node
    if node.shutting_down:
        await websocket.close(code=CLOSE_RESTART)  # before accept: the handshake is refused
        return
    await RelayConnection(node, websocket).run()
