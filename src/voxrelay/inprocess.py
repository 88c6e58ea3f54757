"""The server app in the test's own event loop: fast command-handler tests, no subprocess.

``InProcessServer`` builds the same Starlette app as ``voxrelay serve``
(``voxrelay.server.app.create_app``) and runs its lifespan in-process (``asgi_lifespan``), so
the node, its media tick and its SIP service (UDP and TCP on a free loopback port) run in the
caller's loop. RELAY sessions talk to the app over an in-memory WebSocket (``httpx_ws``'s ASGI
transport), REST over ``httpx.ASGITransport``; only SIP and RTP use real loopback sockets, so a
call can have real media: a ``voxrelay.phone.VirtualPhone`` calls in over SIP and plays,
records and sends DTMF on its own RTP leg::

    async with InProcessServer() as server:
        app = await server.session(contexts=["default"])         # signalwire.connect
        call = await server.call_in(app, hangup_after=5.0)       # a phone calls, app answers
        result = await app.execute("calling.play", {
            "call_id": call.call_id, "node_id": call.node_id, "control_id": "p1",
            "play": [{"type": "silence", "params": {"duration": 1}}]})
        assert result["code"] == "200"
        await app.wait_event("calling.call.play", control_id="p1", state="finished")
        report = await call.report()                             # what the phone heard
        async with server.http() as rest:                        # Basic auth project:token
            resp = await rest.get(f"/api/calls/{call.call_id}")

``server.session(dialect="blade")`` connects as the 2.x SDK does (``blade.connect``, setup,
subscription, ``signalwire.receive``) and ``execute`` then wraps each method in
``blade.execute``; ``server.open_session()`` opens the socket without a handshake. Sessions
acknowledge events and answer pings; ``events`` holds every RELAY event in arrival order.
Recording URLs point at ``http://testserver`` (the ASGI transport's base URL), so
``server.http().get(url)`` downloads them.

Errors: ``RelayRpcError`` for a JSON-RPC error reply (its ``code`` and ``message``);
``TimeoutError`` when an awaited reply or event does not come within ``TIMEOUT`` seconds
(naming what did come), or the app's startup or shutdown within ``TIMEOUT``; ``WebSocketClosed``
(``httpx_ws.WebSocketDisconnect``: ``code``, ``reason``; RFC 6455 §7.4) when the server
refused the socket or closed it, from ``send``, ``request`` and ``open_session``. An exception
of the app's startup or shutdown propagates from ``async with`` as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import wsproto
from asgi_lifespan import LifespanManager
from httpx_ws import (
    AsyncWebSocketSession,
    HTTPXWSException,
    WebSocketDisconnect,
    aconnect_ws,
)
from httpx_ws.transport import ASGIWebSocketTransport

from voxrelay.phone import PhoneReport, VirtualPhone
from voxrelay.protocol import blade
from voxrelay.server.app import create_app
from voxrelay.server.config import Project, ServerConfig
from voxrelay.server.node import Node

__all__ = [
    "InProcessServer",
    "PhoneCall",
    "RelayEvent",
    "RelayRpcError",
    "RelayTestSession",
    "WebSocketClosed",
]

TIMEOUT = 10.0  # seconds a reply or an event may take before TimeoutError
CLOSE_TIMEOUT = 5.0  # seconds the server's handler may take to end once a session closed
MAX_FRAME_BYTES = 1024 * 1024  # the largest frame a session takes (the server's own limit)
BASE_URL = "http://testserver"
EVENT_METHODS = ("signalwire.event", blade.BROADCAST)

WebSocketClosed = WebSocketDisconnect
"""The server refused or closed the socket: ``code`` (RFC 6455 §7.4), ``reason``."""


class RelayRpcError(Exception):
    """A JSON-RPC error reply (``code``, ``message``; JSON-RPC 2.0 §5.1)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass
class RelayEvent:
    """One RELAY event as delivered: ``event_type`` (``calling.call.play``...) and its params."""

    event_type: str
    params: dict[str, Any]


def _sole(exc: BaseException) -> BaseException:
    """The one exception inside (nested) groups of one: anyio task groups wrap what ends
    them, so a refused handshake leaves httpx-ws as ExceptionGroup([WebSocketDisconnect])."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


class RelayTestSession:
    """A raw RELAY client over an in-process WebSocket to ``app`` (see module docstring);
    ``close_code`` (RFC 6455 §7.4) is set once the socket closed.

    ``open()`` starts one task that owns the socket and reads every frame the server sends:
    httpx-ws's ASGI transport and its session each hold an anyio task group, which must be
    left in the task that entered it (else ``RuntimeError: Attempted to exit cancel scope in
    a different task than it was entered in``), and pytest-asyncio runs a fixture's setup,
    the test and the teardown in different tasks. httpx-ws does not answer a close frame
    from the server; the reader does (echoing its code, RFC 6455 §5.5.1), so the server's
    handler gets its ``websocket.disconnect`` and ends.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.dialect = "signalwire"
        self.protocol = ""  # the session's protocol string, once connected
        self.events: list[RelayEvent] = []
        self.close_code: int | None = None
        self.close_reason = ""
        self._ws: AsyncWebSocketSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._new = asyncio.Event()
        self._closed = asyncio.Event()

    async def open(self) -> RelayTestSession:
        """Open the WebSocket to ``/``; WebSocketClosed if the server refuses it."""
        opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._run(opened), name="relay test session")
        await opened
        return self

    async def _run(self, opened: asyncio.Future[None]) -> None:
        transport = ASGIWebSocketTransport(self.app, initial_receive_timeout=TIMEOUT)
        try:
            async with (
                httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client,
                aconnect_ws(
                    "/",
                    client,
                    max_message_size_bytes=MAX_FRAME_BYTES,
                    session_class=AsyncWebSocketSession,
                ) as ws,
            ):
                self._ws = ws
                opened.set_result(None)
                await self._read(ws)
        except Exception as exc:
            if opened.done():
                raise
            opened.set_exception(_sole(exc))
        finally:
            self._ended(1006, "the socket ended")

    async def _read(self, ws: AsyncWebSocketSession) -> None:
        """Every frame until the socket closes; a close from the server is answered."""
        try:
            while True:
                event = await ws.receive()
                if isinstance(event, wsproto.events.TextMessage):
                    await self._on_frame(json.loads(event.data))
        except WebSocketDisconnect as closed:  # the server closed: echo its code
            self._ended(closed.code, closed.reason)
            await ws.close(closed.code)
        except HTTPXWSException:  # the stream ended: our own close()
            self._ended(1000)

    def _ended(self, code: int, reason: str = "") -> None:
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
        for waiter in self._replies.values():
            if not waiter.done():
                waiter.set_exception(WebSocketClosed(self.close_code, self.close_reason))
        self._replies.clear()
        self._closed.set()
        self._new.set()

    async def _on_frame(self, frame: dict[str, Any]) -> None:
        if "method" in frame:
            await self._on_request(frame)
            return
        waiter = self._replies.pop(str(frame.get("id")), None)
        if waiter is not None and not waiter.done():
            waiter.set_result(frame)

    async def _on_request(self, frame: dict[str, Any]) -> None:
        params = frame.get("params") or {}
        if frame["method"] == "signalwire.event":
            self.events.append(RelayEvent(params["event_type"], params["params"]))
        elif frame["method"] == blade.BROADCAST:
            unwrapped = blade.unwrap_broadcast(params)
            if unwrapped is not None:
                self.events.append(RelayEvent(unwrapped[1], unwrapped[2]))
        self._new.set()
        if frame.get("id") is not None:  # ack events, answer pings (not once closing)
            await self._write({"jsonrpc": "2.0", "id": frame["id"], "result": {}})

    async def send(self, frame: dict[str, Any]) -> None:
        """Send one raw frame; WebSocketClosed once the socket closed."""
        if not await self._write(frame):
            with contextlib.suppress(TimeoutError):  # a close being read: wait for its code
                await asyncio.wait_for(self._closed.wait(), TIMEOUT)
            raise WebSocketClosed(self.close_code or 1006, self.close_reason)

    async def _write(self, frame: dict[str, Any]) -> bool:
        """Send ``frame``; False if the socket is closed or closing (never waits for that:
        the reader acks with it)."""
        if self._ws is None or self.close_code is not None:
            return False
        try:
            await self._ws.send_text(json.dumps(frame))
        except (wsproto.utilities.LocalProtocolError, HTTPXWSException):
            return False  # httpx-ws's reader has the server's close frame, ours not yet
        return True

    async def request(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """Send a JSON-RPC request and return its ``result``; RelayRpcError on an error."""
        rid = str(uuid.uuid4())
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[rid] = waiter
        try:
            await self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params or {}})
            reply = await asyncio.wait_for(waiter, TIMEOUT)
        except TimeoutError:
            raise TimeoutError(f"no reply to {method} in {TIMEOUT} s") from None
        finally:
            self._replies.pop(rid, None)
            if waiter.done() and not waiter.cancelled():
                waiter.exception()  # seen: send raised the same WebSocketClosed
        if "error" in reply:
            raise RelayRpcError(int(reply["error"]["code"]), str(reply["error"]["message"]))
        return reply.get("result")

    async def execute(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Run RELAY ``method`` (``calling.play``...) and return its result (``code``,
        ``message``...); inside ``blade.execute`` on a Blade session."""
        if self.dialect == "blade":
            outer = await self.request(
                blade.EXECUTE, blade.execute_params(self.protocol, method, params)
            )
            result: dict[str, Any] = blade.unwrap_execute_result(outer)
            return result
        plain: dict[str, Any] = await self.request(method, params)
        return plain

    async def connect(
        self, project: str, token: str, contexts: list[str], **extra: Any
    ) -> dict[str, Any]:
        """``signalwire.connect`` (version 2.0.0, event acks) subscribed to ``contexts``."""
        params = {
            "version": {"major": 2, "minor": 0, "revision": 0},
            "agent": "voxrelay-inprocess",
            "event_acks": True,
            "authentication": {"project": project, "token": token},
            "contexts": contexts,
            **extra,
        }
        result: dict[str, Any] = await self.request("signalwire.connect", params)
        self.protocol = result["protocol"]
        return result

    async def blade_connect(self, project: str, token: str, contexts: list[str]) -> None:
        """The 2.x SDK's handshake: ``blade.connect``, setup (names the protocol),
        ``blade.subscription`` to notifications, ``signalwire.receive`` for ``contexts``."""
        self.dialect = "blade"
        await self.request(blade.CONNECT, blade.connect_params(project, token, "inprocess"))
        setup = blade.unwrap_execute_result(await self.request(blade.EXECUTE, blade.setup_params()))
        self.protocol = setup["protocol"]
        subscription = {"command": "add", "protocol": self.protocol, "channels": [blade.CHANNEL]}
        await self.request(blade.SUBSCRIPTION, subscription)
        if contexts:
            await self.execute("signalwire.receive", {"contexts": contexts})

    async def wait_event(
        self, event_type: str, timeout: float = TIMEOUT, **match: Any
    ) -> RelayEvent:
        """The first event (received so far or later) of ``event_type`` whose params have
        the ``match`` values; TimeoutError naming the events seen."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while not self._closed.is_set():
                    found = self.matching(event_type, **match)
                    if found:
                        return found[0]
                    self._new.clear()
                    await self._new.wait()
        found = self.matching(event_type, **match)
        if found:
            return found[0]
        raise TimeoutError(f"no {event_type} {match}; saw {self.summary()}")

    def summary(self) -> list[tuple[str, Any]]:
        """``(event_type, state)`` of every event so far, for failure messages."""
        return [
            (e.event_type, e.params.get("state") or e.params.get("call_state")) for e in self.events
        ]

    def matching(self, event_type: str, **match: Any) -> list[RelayEvent]:
        """Every event so far of ``event_type`` whose params have the ``match`` values."""
        return [
            e
            for e in self.events
            if e.event_type == event_type and all(e.params.get(k) == v for k, v in match.items())
        ]

    async def close(self, code: int = 1000) -> None:
        """Close the socket from the client side (``code``) and wait until the server's
        handler has ended (up to CLOSE_TIMEOUT seconds, then the session's task is cancelled)."""
        if self._task is None:
            return
        if self._ws is not None and self.close_code is None:
            self.close_code = code
            with contextlib.suppress(Exception):
                await self._ws.close(code)
        try:
            await asyncio.wait_for(asyncio.shield(self._task), CLOSE_TIMEOUT)
        except TimeoutError:
            self._task.cancel()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await self._task


@dataclass
class PhoneCall:
    """A call a virtual phone placed into the server, as the test's session received it."""

    call_id: str
    node_id: str
    phone: asyncio.Task[PhoneReport]
    offer: RelayEvent  # the calling.call.receive event

    @property
    def ids(self) -> dict[str, str]:
        """``{"call_id", "node_id"}``, the params every calling.* command starts with."""
        return {"call_id": self.call_id, "node_id": self.node_id}

    async def report(self, timeout: float = 60.0) -> PhoneReport:
        """What the phone saw and heard, once its call has ended (see VirtualPhone.call)."""
        return await asyncio.wait_for(asyncio.shield(self.phone), timeout)


@dataclass
class InProcessServer:
    """See module docstring. ``projects`` maps project id to token (the first is the one
    ``session``, ``http`` and ``call_in`` use by default); ``numbers`` routes numbers to
    contexts as ``[numbers]`` does; ``config_hook`` adjusts the ServerConfig before the app is
    built (e.g. ``lambda cfg: setattr(cfg, "resume_grace", 1.0)``)."""

    projects: dict[str, str] = field(
        default_factory=lambda: {"test-project": "PTtest-token", "other-project": "PTother"}
    )
    numbers: dict[str, str] = field(default_factory=dict)
    config_hook: Any = None
    data_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="voxrelay-ip-")))
    app: Any = field(init=False, default=None)
    _stack: contextlib.AsyncExitStack = field(init=False, default_factory=contextlib.AsyncExitStack)
    _phones: list[asyncio.Task[PhoneReport]] = field(init=False, default_factory=list)

    @property
    def project(self) -> str:
        return next(iter(self.projects))

    @property
    def token(self) -> str:
        return self.projects[self.project]

    @property
    def node(self) -> Node:
        """The server's node (sessions, calls, media): for assertions on server state."""
        node: Node = self.app.state.node
        return node

    @property
    def sip_address(self) -> str:
        """``host:port`` of the server's SIP service (UDP and TCP)."""
        sip = self.node.sip
        if sip is None:
            raise RuntimeError("SIP did not start (see the log for the reason)")
        return f"{sip.host}:{sip.ua.endpoint.port}"

    def build_config(self) -> ServerConfig:
        cfg = ServerConfig(
            projects=[Project(pid, tok) for pid, tok in self.projects.items()],
            numbers=dict(self.numbers),
            data_dir=self.data_dir,
            public_url=BASE_URL,
        )
        cfg.sip.host, cfg.sip.port = "127.0.0.1", 0  # the port SIP binds is read back
        if self.config_hook is not None:
            self.config_hook(cfg)
        return cfg

    async def __aenter__(self) -> InProcessServer:
        self.app = create_app(self.build_config())
        await self._stack.enter_async_context(
            LifespanManager(self.app, startup_timeout=TIMEOUT, shutdown_timeout=TIMEOUT)
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self._stack.aclose()  # the app's shutdown hangs up every call
            for task in self._phones:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(task, 10.0)
        finally:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    async def session(
        self,
        contexts: list[str] | None = None,
        *,
        dialect: str = "signalwire",
        project: str | None = None,
        token: str | None = None,
    ) -> RelayTestSession:
        """A connected RELAY session (closed with the server); ``dialect`` ``signalwire``
        (``signalwire.connect``) or ``blade`` (the 2.x handshake)."""
        session = await self.open_session()
        project = project or self.project
        token = token or self.projects.get(project, "")
        if dialect == "blade":
            await session.blade_connect(project, token, contexts or [])
        else:
            await session.connect(project, token, contexts or [])
        return session

    async def open_session(self) -> RelayTestSession:
        """A RELAY session with its socket open and no handshake yet (closed with the
        server); WebSocketClosed if the server refuses the socket."""
        session = await RelayTestSession(self.app).open()
        self._stack.push_async_callback(session.close)
        return session

    def http(self, project: str | None = None, token: str | None = None) -> httpx.AsyncClient:
        """An httpx client of the app (Basic auth ``project:token``), no sockets."""
        project = project or self.project
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url=BASE_URL,
            auth=(project, token or self.projects.get(project, "")),
        )

    def phone(self, **options: Any) -> VirtualPhone:
        """A VirtualPhone of the default project pointed at this server's SIP service."""
        return VirtualPhone(BASE_URL, self.project, self.token, sip=self.sip_address, **options)

    async def call_in(
        self,
        session: RelayTestSession,
        context: str = "default",
        *,
        answer: bool = True,
        phone: VirtualPhone | None = None,
        **call: Any,
    ) -> PhoneCall:
        """A virtual phone calls ``context`` (keyword arguments as ``VirtualPhone.call``:
        ``say``, ``digits``, ``digits_at``, ``hangup_after``...); returns once ``session``
        got the ``calling.call.receive`` and, with ``answer``, once it answered the call."""
        known = {e.params.get("call_id") for e in session.matching("calling.call.receive")}
        task = asyncio.create_task((phone or self.phone()).call(context, **call), name="phone")
        self._phones.append(task)
        offer = await self._next_offer(session, known, task)
        placed = PhoneCall(offer.params["call_id"], offer.params["node_id"], task, offer)
        if answer:
            await session.execute("calling.answer", placed.ids)
            await session.wait_event(
                "calling.call.state", call_id=placed.call_id, call_state="answered"
            )
        return placed

    @staticmethod
    async def _next_offer(
        session: RelayTestSession, known: set[Any], phone: asyncio.Task[PhoneReport]
    ) -> RelayEvent:
        async with asyncio.timeout(TIMEOUT):
            while True:
                for event in session.matching("calling.call.receive"):
                    if event.params.get("call_id") not in known:
                        return event
                if phone.done():
                    phone.result()  # the phone's PhoneError, if it failed
                    raise RuntimeError("the phone's call ended before the session got it")
                await asyncio.sleep(0.01)
