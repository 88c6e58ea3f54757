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

from voxrelay.protocol import blade, components
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
    Authentication,
    Authorization,
    ConnectParams,
    ConnectResult,
    InvalidParams,
    Open,
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
        self.dialect = "signalwire"  # or "blade": chosen by the first frame

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
                if self.dialect == "blade":  # Blade clients never resume: drop it now
                    self.node.sessions.remove(self.session)
                    self.node.router.session_gone(self.session)

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
        if self.dialect == "blade":
            self.send(encode(blade.disconnect()))
        else:
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
            if self.dialect == "blade":
                ping = blade.ping(time.time())
            else:
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
        if request.method == blade.CONNECT:
            await self._blade_connect(request)
            return
        if self.session is None:
            self._error(
                request.id,
                ErrorCode.PERMISSION_DENIED,
                "not authenticated: send signalwire.connect first",
            )
            return
        if self.dialect == "blade":
            with self.session.results_first():
                await self._blade_request(request)
            return
        with self.session.results_first():
            result = await self._dispatch(request.id, request.method, request.params)
            if result is not None:
                self._reply(Response(request.id, result))

    async def _dispatch(
        self, request_id: str | int | None, method: str, params: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Run RELAY ``method``; its result, or None after replying with an error."""
        assert self.session is not None
        spec = METHODS.get(method)
        if spec is None:
            self._error(request_id, ErrorCode.METHOD_NOT_FOUND, f"Method not found: {method}")
            return None
        rid = str(request_id) if request_id is not None else None
        cached = self.session.result_for(rid) if rid else None
        if cached is not None:
            return cached
        result = await self._run(spec, method, params)
        if rid:
            self.session.remember_result(rid, result)
        return result

    async def _run(self, spec: Any, method: str, raw: dict[str, Any]) -> dict[str, Any]:
        assert self.session is not None
        try:
            params = validate(spec.params, raw)
            result: dict[str, Any] = await spec.handler(
                RequestContext(self.node, self.session), params
            )
            return result
        except InvalidParams as exc:
            return {"code": ResultCode.BAD_REQUEST.value, "message": str(exc)}
        except CommandError as exc:
            return exc.result()
        except Exception:
            log.exception("%s failed", method)
            return {"code": ResultCode.INTERNAL.value, "message": "internal error"}

    # -- signalwire.connect -------------------------------------------------------------

    def _authenticate(self, request: Request, authentication: Authentication) -> Any:
        """The principal, or None after answering -32002 and closing."""
        try:
            return self.node.auth.authenticate(authentication)
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
            return None

    async def _connect(self, request: Request) -> None:
        if self.session is not None:
            self._error(request.id, ErrorCode.INVALID_REQUEST, "already connected")
            return
        try:
            params = validate(ConnectParams, request.params)
        except InvalidParams as exc:
            self._error(request.id, ErrorCode.INVALID_PARAMS, f"Invalid params: {exc}")
            return
        principal = self._authenticate(request, params.authentication)
        if principal is None:
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

    # -- the Blade dialect (PyPI signalwire 2.x; reference §1.9) ------------------------

    async def _blade_connect(self, request: Request) -> None:
        if self.session is not None:
            self._error(request.id, ErrorCode.INVALID_REQUEST, "already connected")
            return
        try:
            params = validate(BladeConnectParams, request.params)
        except InvalidParams as exc:
            self._error(request.id, ErrorCode.INVALID_PARAMS, f"Invalid params: {exc}")
            return
        principal = self._authenticate(request, params.authentication)
        if principal is None:
            return
        session = self.node.sessions.create(principal.project, event_acks=False, agent=params.agent)
        session.frame_event = _blade_event
        self.dialect = "blade"
        self.session = session
        result = blade.connect_result(
            sessionid=session.id,
            nodeid=self.node.config.node_id,
            project=principal.project,
            signature=session.signature,
            scopes=list(principal.scopes),
        )
        self._reply(Response(request.id, result))
        session.attach(self.send, owner=self)

    async def _blade_request(self, request: Request) -> None:
        assert self.session is not None
        try:
            if request.method == blade.EXECUTE:
                execute = blade.unwrap_execute(request.params)
                if execute.is_setup:
                    result: Any = {"protocol": self.session.protocol}
                else:
                    inner = await self._dispatch(request.id, execute.method, execute.params)
                    if inner is None:
                        return
                    result = inner
                node_id = self.node.config.node_id
                self._reply(
                    Response(
                        request.id,
                        blade.execute_result(
                            result, requester_nodeid=self.session.id, responder_nodeid=node_id
                        ),
                    )
                )
            elif request.method == blade.SUBSCRIPTION:
                self._reply(Response(request.id, blade.subscription_result(request.params)))
            elif request.method == blade.PING:
                self._reply(Response(request.id, {"timestamp": time.time()}))
            elif request.method == blade.DISCONNECT:
                self._reply(Response(request.id, {}))
                self.close()
            else:
                self._error(
                    request.id, ErrorCode.METHOD_NOT_FOUND, f"Method not found: {request.method}"
                )
        except blade.BladeError as exc:
            self._error(request.id, ErrorCode.INVALID_PARAMS, f"Invalid params: {exc}")


class BladeConnectParams(Open):
    """``blade.connect`` params; any version is accepted (2.x sends 2.3.0)."""

    version: dict[str, Any] | None = None
    agent: str | None = None
    authentication: Authentication


def _blade_event(
    session: Session, event_type: str, payload: dict[str, Any], ts: float
) -> Request | None:
    """The ``blade.broadcast`` framing of the 2.x dialect, None for an event the 2.x SDK
    would misread as a component's end (a paused play: ``components.blade_hides``)."""
    if components.blade_hides(event_type, payload):
        return None
    return blade.broadcast(
        event_type,
        payload,
        timestamp=ts,
        protocol=session.protocol,
        node_id=session.node_id,
        project_id=session.project,
    )


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
