"""The RELAY WebSocket session: connect, requests, acks, keepalive, reconnect and resume.

Reference §1.2-§1.8. One :class:`Connection` outlives many sockets:

- ``signalwire.connect`` (version 2.0.0, ``event_acks: true``) authenticates each socket. The
  ``protocol`` it returns and the ``authorization_state`` pushed by the server are sent back
  on the next connect, so the server resumes the session (``session_restored``).
- Every server request is answered: ``signalwire.event`` is acked with ``{}`` *before* it is
  processed; ``signalwire.ping`` gets ``{}``; ``signalwire.disconnect`` gets ``{}`` and the
  socket is left for the server to close (with ``restart: true`` the session is dropped).
- Events are processed one at a time, in wire order. The server redelivers events that were
  not acked when a socket dropped, so events are deduplicated by their JSON-RPC id.
- Client requests time out after ``request_timeout`` seconds. While offline they are queued
  (at most 500) and sent after the reconnect. Requests already on the wire when the socket
  drops are held; if the next connect resumes the session they are sent again *with the same
  id* (a server may use the id to avoid doing the work twice), otherwise, or if no resume
  happens within ``request_timeout``, they fail with ``RelayError(-1, "Connection closed")``.
- ``signalwire.ping`` every ``ping_interval``; after ``max_ping_failures`` consecutive
  failures the socket is aborted and the session reconnects.
- Reconnects back off from ``reconnect_delay`` doubling to ``reconnect_max_delay``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from voxrelay.protocol import (
    ErrorCode,
    ErrorResponse,
    ProtocolError,
    Request,
    Response,
    encode,
    new_id,
    parse_message,
)
from voxrelay.protocol.events import AUTHORIZATION_STATE, EVENT_METHOD, unwrap_event
from voxrelay.relay.errors import RelayError, RequestTimeoutError

log = logging.getLogger("voxrelay.relay")

JsonDict = dict[str, Any]
EventSink = Callable[[str, JsonDict, float], None]
"""Receives ``(event_type, payload, timestamp)`` for every new event, in order."""
SessionSink = Callable[[bool], None]
"""Told ``session_restored`` after every successful connect."""

PROTOCOL_VERSION: JsonDict = {"major": 2, "minor": 0, "revision": 0}
MAX_FRAME = 10 * 1024 * 1024
QUEUE_LIMIT = 500
EVENT_MEMORY = 4096
CLOSED = "Connection closed"
_SECRETS = re.compile(r'"(token|jwt_token|authorization_state|password)"\s*:\s*"[^"]*"')
_NETWORK_ERRORS = (OSError, WebSocketException, TimeoutError)


@dataclass(frozen=True, slots=True)
class Timings:
    """Timeouts and retry policy, in seconds and counts (reference §1.6, §4.1)."""

    request_timeout: float = 10.0
    ping_interval: float = 30.0
    max_ping_failures: int = 3
    reconnect_delay: float = 1.0
    reconnect_max_delay: float = 30.0
    max_auth_failures: int = 3


@dataclass(eq=False, slots=True)
class _Pending:
    request: Request
    future: asyncio.Future[Any]
    timeout: float
    resumable: bool = True
    timer: asyncio.TimerHandle | None = None

    @property
    def id(self) -> str:
        return str(self.request.id)

    def fail(self, message: str) -> None:
        if not self.future.done():
            self.future.set_exception(RelayError(-1, message))


class EventMemory:
    """The ids of the most recent events (bounded, oldest forgotten first)."""

    def __init__(self, size: int = EVENT_MEMORY) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def seen(self, event_id: str) -> bool:
        """True if ``event_id`` was seen before; otherwise remember it and return False."""
        if event_id in self._ids:
            self._ids.move_to_end(event_id)
            return True
        self._ids[event_id] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return False


def scrub(text: str) -> str:
    """``text`` with credential values (token, jwt_token, authorization_state) masked."""
    return _SECRETS.sub(lambda m: f'"{m.group(1)}":"***"', text)


class Connection:
    """A RELAY session over one WebSocket at a time (see the module docstring).

    The ``signalwire.connect`` dialect; ``voxrelay.v2`` overrides ``_handshake``,
    ``_on_request`` and ``ping_method`` for Blade.

    ``authentication`` is ``{"project", "token"}`` or ``{"jwt_token"}``; ``contexts`` is the
    caller's list, read again at every connect (so contexts added later survive reconnects);
    ``on_event`` gets every event exactly once, in order.
    """

    ping_method = "signalwire.ping"

    def __init__(
        self,
        url: str,
        authentication: JsonDict,
        contexts: list[str],
        on_event: EventSink,
        *,
        agent: str,
        timings: Timings | None = None,
        ssl_context: ssl.SSLContext | None = None,
        on_connected: SessionSink | None = None,
    ) -> None:
        self.url = url
        self.contexts = contexts
        self.timings = timings or Timings()
        self.protocol: str | None = None
        self.authorization_state: str | None = None
        self.session_restored = False
        self.connect_result: JsonDict = {}
        self._authentication = authentication
        self._on_event = on_event
        self._on_connected = on_connected
        self._agent = agent
        self._ssl = ssl_context
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pinger: asyncio.Task[None] | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._online = False
        self._started = False
        self._closing = False
        self._wake = asyncio.Event()
        self._pending: dict[str, _Pending] = {}
        self._queue: deque[_Pending] = deque()
        self._held: list[_Pending] = []
        self._events = EventMemory()

    # -- public --------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while a socket is open and authenticated."""
        return self._online

    @property
    def ws(self) -> ClientConnection | None:
        """The current WebSocket (None between sockets)."""
        return self._ws

    async def open(self, *, persistent: bool = False) -> None:
        """Connect and authenticate; afterwards the session reconnects by itself.

        Auth rejections (the server answers ``signalwire.connect`` with an error) are retried
        with backoff and raised as ``RelayError(code, message)`` after ``max_auth_failures``
        in a row. Network failures raise ``RelayError(-1, ...)`` at once, unless
        ``persistent``, in which case they are retried until the server is reachable.
        """
        if self._started:
            return
        self._closing = False
        auth_failures = 0
        delay = self.timings.reconnect_delay
        while True:
            try:
                await self._attempt()
                break
            except RelayError as exc:
                if exc.code == -1:
                    if not persistent:
                        raise
                else:
                    auth_failures += 1
                    log.warning("RELAY connect rejected (%d): %s", auth_failures, exc)
                    if auth_failures >= self.timings.max_auth_failures:
                        raise
            except _NETWORK_ERRORS as exc:
                if not persistent:
                    raise RelayError(-1, f"Cannot connect to {self.url}: {exc}") from exc
                log.warning("RELAY connect to %s failed: %s", self.url, exc)
            if await self._pause(delay):
                raise RelayError(-1, CLOSED)
            delay = min(delay * 2, self.timings.reconnect_max_delay)
        self._started = True
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise())

    async def close(self) -> None:
        """Close for good: no reconnect; every unanswered request fails "Connection closed"."""
        self._closing = True
        self._online = False
        self._wake.set()
        ws = self._ws
        if ws is not None:
            await ws.close()
        for task in (self._supervisor, self._reader, self._pinger):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._fail_all()
        self._started = False
        self._ws = None

    async def request(self, method: str, params: JsonDict, timeout: float | None = None) -> Any:
        """Send a request and return its ``result`` (any JSON value, usually a dict).

        ``timeout`` in seconds, counted from when the request goes on the wire (default
        ``request_timeout``). Raises ``RelayError(code, message)`` for a JSON-RPC error
        response and ``RelayError(-1, ...)`` on timeout, on a full offline queue, when the
        connection is closed, or when it was never opened.
        """
        return await self._call(method, params, timeout=timeout, resumable=True)

    # -- requests ------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        params: JsonDict,
        *,
        timeout: float | None,
        resumable: bool,
        handshake: bool = False,
    ) -> Any:
        if self._closing or not (self._started or self._ws is not None):
            raise RelayError(-1, "Not connected")
        loop = asyncio.get_running_loop()
        pending = _Pending(
            Request(method, params, new_id()),
            loop.create_future(),
            timeout if timeout is not None else self.timings.request_timeout,
            resumable,
        )
        pending.future.add_done_callback(lambda _: self._forget(pending))
        if self._online or handshake:
            await self._transmit(pending)
        elif len(self._queue) >= QUEUE_LIMIT:
            raise RelayError(-1, f"Request queue full ({QUEUE_LIMIT} requests waiting)")
        else:
            self._queue.append(pending)
        return await pending.future

    async def _transmit(self, pending: _Pending) -> None:
        """Put ``pending`` on the wire and start its timeout."""
        ws = self._ws
        if ws is None:
            pending.fail(CLOSED)
            return
        self._pending[pending.id] = pending
        pending.timer = asyncio.get_running_loop().call_later(
            pending.timeout, self._expire, pending
        )
        text = encode(pending.request)
        log.debug("RELAY -> %s", scrub(text))
        # if the socket is gone, the supervisor holds or fails the request
        with contextlib.suppress(ConnectionClosed):
            await ws.send(text)

    def _expire(self, pending: _Pending) -> None:
        if not pending.future.done():
            message = f"Request timed out after {pending.timeout:g} s: {pending.request.method}"
            pending.future.set_exception(RequestTimeoutError(message))

    def _forget(self, pending: _Pending) -> None:
        if pending.timer is not None:
            pending.timer.cancel()
        self._pending.pop(pending.id, None)
        if pending in self._queue:
            self._queue.remove(pending)
        if pending in self._held:
            self._held.remove(pending)

    def _on_response(self, message: Response | ErrorResponse) -> None:
        pending = self._pending.pop(str(message.id), None)
        if pending is None or pending.future.done():
            log.debug("RELAY response to unknown or finished request %s", message.id)
            return
        if isinstance(message, ErrorResponse):
            pending.future.set_exception(RelayError(message.code, message.message))
        else:
            pending.future.set_result(message.result)

    def _hold_in_flight(self) -> None:
        """The socket is gone: keep resumable in-flight requests for a resumed session."""
        loop = asyncio.get_running_loop()
        for pending in list(self._pending.values()):
            if pending.timer is not None:
                pending.timer.cancel()
            if pending.resumable and not self._closing and not pending.future.done():
                self._held.append(pending)
                pending.timer = loop.call_later(self.timings.request_timeout, pending.fail, CLOSED)
            else:
                pending.fail(CLOSED)
        self._pending.clear()

    async def _resume_requests(self) -> None:
        """After a successful connect: resend held requests if resumed, then the queue."""
        held, self._held = self._held, []
        for pending in held:
            if pending.timer is not None:
                pending.timer.cancel()
            if self.session_restored:
                await self._transmit(pending)
            else:
                pending.fail(CLOSED)
        while self._queue:
            await self._transmit(self._queue.popleft())

    def _fail_all(self) -> None:
        for pending in [*self._pending.values(), *self._queue, *self._held]:
            pending.fail(CLOSED)
        self._pending.clear()
        self._queue.clear()
        self._held.clear()

    # -- sockets -------------------------------------------------------------------------

    def _connect_params(self) -> JsonDict:
        params: JsonDict = {
            "version": dict(PROTOCOL_VERSION),
            "agent": self._agent,
            "event_acks": True,
            "authentication": dict(self._authentication),
        }
        if self.contexts:
            params["contexts"] = list(self.contexts)
        if self.protocol:
            params["protocol"] = self.protocol
        if self.authorization_state:
            params["authorization_state"] = self.authorization_state
        return params

    async def _attempt(self) -> None:
        """Open one socket and authenticate on it (raises on any failure)."""
        ws = await connect(
            self.url,
            ssl=self._ssl,
            ping_interval=None,
            max_size=MAX_FRAME,
            open_timeout=self.timings.request_timeout,
            close_timeout=self.timings.request_timeout,
            user_agent_header=self._agent,
            proxy=None,
        )
        self._ws = ws
        self._reader = asyncio.get_running_loop().create_task(self._read(ws))
        try:
            await self._handshake()
        except BaseException:
            ws.transport.abort()
            await asyncio.gather(self._reader, return_exceptions=True)
            self._ws = None
            raise
        if self._on_connected is not None:
            self._on_connected(self.session_restored)
        await self._resume_requests()
        self._online = True
        self._pinger = asyncio.get_running_loop().create_task(self._ping_loop(ws))
        log.info("RELAY connected to %s (session restored: %s)", self.url, self.session_restored)

    async def _handshake(self) -> None:
        """Authenticate the new socket (``signalwire.connect``); dialects override this."""
        result = await self._call(
            "signalwire.connect",
            self._connect_params(),
            timeout=None,
            resumable=False,
            handshake=True,
        )
        self._accept(result if isinstance(result, dict) else {})

    def _accept(self, result: JsonDict) -> None:
        self.connect_result = result
        self.session_restored = bool(result.get("session_restored"))
        protocol = result.get("protocol")
        if isinstance(protocol, str) and protocol:
            self.protocol = protocol

    async def _supervise(self) -> None:
        """Wait for each socket to end, then reconnect until closed."""
        while not self._closing:
            if self._reader is not None:
                await asyncio.gather(self._reader, return_exceptions=True)
            self._online = False
            if self._pinger is not None:
                self._pinger.cancel()
            self._hold_in_flight()
            self._ws = None
            if self._closing:
                return
            log.warning("RELAY connection to %s lost; reconnecting", self.url)
            await self._reconnect()

    async def _reconnect(self) -> None:
        delay = self.timings.reconnect_delay
        while not self._closing:
            if await self._pause(delay):
                return
            try:
                await self._attempt()
                return
            except RelayError as exc:
                log.warning("RELAY reconnect failed: %s", exc)
                if exc.code != -1 and self.protocol:
                    self.protocol = self.authorization_state = None  # start a fresh session
            except _NETWORK_ERRORS as exc:
                log.warning("RELAY reconnect to %s failed: %s", self.url, exc)
            delay = min(delay * 2, self.timings.reconnect_max_delay)

    async def _pause(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless closed meanwhile; True if closed."""
        self._wake.clear()
        if self._closing:
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        return self._closing

    async def _ping_loop(self, ws: ClientConnection) -> None:
        failures = 0
        while True:
            await asyncio.sleep(self.timings.ping_interval)
            try:
                await self._call(self.ping_method, {}, timeout=None, resumable=False)
                failures = 0
            except RelayError as exc:
                failures += 1
                log.warning("RELAY ping failed (%d in a row): %s", failures, exc)
                if failures >= self.timings.max_ping_failures:
                    ws.transport.abort()
                    return

    # -- incoming ------------------------------------------------------------------------

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                log.debug("RELAY <- %s", scrub(raw if isinstance(raw, str) else raw.decode()))
                try:
                    message = parse_message(raw)
                except ProtocolError as exc:
                    log.warning("RELAY ignoring bad frame: %s", exc)
                    continue
                if isinstance(message, Request):
                    await self._on_request(ws, message)
                else:
                    self._on_response(message)
        except ConnectionClosed:
            pass

    async def _reply(self, ws: ClientConnection, message: Response | ErrorResponse) -> None:
        with contextlib.suppress(ConnectionClosed):
            await ws.send(encode(message))

    async def _on_request(self, ws: ClientConnection, request: Request) -> None:
        method = request.method
        if method == EVENT_METHOD:
            await self._reply(ws, Response(request.id, {}))
            self._on_server_event(request)
        elif method == "signalwire.ping":
            await self._reply(ws, Response(request.id, {}))
        elif method == "signalwire.disconnect":
            await self._reply(ws, Response(request.id, {}))
            self._on_server_disconnect(ws, bool(request.params.get("restart")))
        elif request.id is not None:
            error = ErrorResponse(request.id, ErrorCode.METHOD_NOT_FOUND, "Method not found")
            await self._reply(ws, error)

    def _on_server_event(self, request: Request) -> None:
        if request.id is not None and self._events.seen(str(request.id)):
            log.debug("RELAY dropping redelivered event %s", request.id)
            return
        event_type, payload, timestamp = unwrap_event(request.params)
        if event_type == AUTHORIZATION_STATE:
            state = payload.get("authorization_state")
            if isinstance(state, str) and state:
                self.authorization_state = state
        try:
            self._on_event(event_type, payload, timestamp)
        except Exception:
            log.exception("RELAY event handler failed for %s", event_type)

    def _on_server_disconnect(self, ws: ClientConnection, restart: bool) -> None:
        """The server is about to close: queue new requests, forget the session on restart."""
        log.info("RELAY server asked to disconnect (restart=%s)", restart)
        self._online = False
        if restart:
            self.protocol = self.authorization_state = None
        # if the server never closes, do it ourselves
        asyncio.get_running_loop().call_later(self.timings.request_timeout, ws.transport.abort)
