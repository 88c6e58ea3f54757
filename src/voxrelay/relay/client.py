"""RelayClient: the entry point of the RELAY SDK (reference §4.1, event routing §1.7).

Code written for ``signalwire.relay.RelayClient`` runs unchanged with
``from voxrelay.relay import RelayClient``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import Any

import voxrelay
from voxrelay.protocol.events import AUTHORIZATION_STATE, CALL_RECEIVE, CALL_STATE
from voxrelay.relay import callbacks
from voxrelay.relay.address import DEFAULT_HOST, ssl_context, websocket_url
from voxrelay.relay.call import Call, check_result
from voxrelay.relay.connection import CLOSED, Connection, Timings
from voxrelay.relay.errors import RelayError, RequestTimeoutError
from voxrelay.relay.event import DialEvent, RelayEvent, parse_event

log = logging.getLogger("voxrelay.relay")

JsonDict = dict[str, Any]
CallHandler = Callable[[Call], Any]
AGENT = f"voxrelay-python/{voxrelay.__version__}"
DEFAULT_MAX_ACTIVE_CALLS = 1000


def _env(value: str | None, name: str) -> str | None:
    return value or os.environ.get(name) or None


def _max_calls(value: int | None) -> int:
    if value is not None:
        return value
    raw = os.environ.get("RELAY_MAX_ACTIVE_CALLS")
    return int(raw) if raw else DEFAULT_MAX_ACTIVE_CALLS


class RelayClient:
    """A RELAY connection that receives inbound calls and dials outbound ones.

    Arguments fall back to the environment: ``project`` to ``SIGNALWIRE_PROJECT_ID``,
    ``token`` to ``SIGNALWIRE_API_TOKEN``, ``jwt_token`` to ``SIGNALWIRE_JWT_TOKEN``, ``host``
    to ``SIGNALWIRE_SPACE`` (default ``relay.signalwire.com``; forms in
    :mod:`voxrelay.relay.address`, loopback hosts default to ``ws://``), ``max_active_calls``
    to ``RELAY_MAX_ACTIVE_CALLS`` (default 1000). ``contexts`` are subscribed at connect.
    ``timings`` (voxrelay extension) overrides timeouts and reconnect backoff.

    Raises ValueError when neither a JWT nor both project and token are available, or when
    ``host`` is malformed.
    """

    def __init__(
        self,
        project: str | None = None,
        token: str | None = None,
        jwt_token: str | None = None,
        host: str | None = None,
        contexts: list[str] | None = None,
        max_active_calls: int | None = None,
        *,
        timings: Timings | None = None,
    ) -> None:
        self.project = _env(project, "SIGNALWIRE_PROJECT_ID")
        self.token = _env(token, "SIGNALWIRE_API_TOKEN")
        self.jwt_token = _env(jwt_token, "SIGNALWIRE_JWT_TOKEN")
        authentication = self._authentication()
        self.host = _env(host, "SIGNALWIRE_SPACE") or DEFAULT_HOST
        url = websocket_url(self.host)
        self.max_active_calls = _max_calls(max_active_calls)
        self._calls: dict[str, Call] = {}
        self._dials: dict[str, asyncio.Future[Call]] = {}
        self._call_handler: CallHandler | None = None
        self._connected_once = False
        self._connection = Connection(
            url,
            authentication,
            list(contexts or []),
            self._on_event,
            agent=AGENT,
            timings=timings,
            ssl_context=ssl_context(url),
            on_connected=self._on_connected,
        )

    def _authentication(self) -> JsonDict:
        if self.jwt_token:
            return {"jwt_token": self.jwt_token}
        if not self.project:
            raise ValueError("project is required (argument or SIGNALWIRE_PROJECT_ID)")
        if not self.token:
            raise ValueError("token is required (argument or SIGNALWIRE_API_TOKEN)")
        return {"project": self.project, "token": self.token}

    # -- properties ----------------------------------------------------------------------

    @property
    def contexts(self) -> list[str]:
        """Contexts this client receives inbound calls on (sent again at every reconnect)."""
        return self._connection.contexts

    @contexts.setter
    def contexts(self, value: list[str]) -> None:
        self._connection.contexts[:] = list(value)

    @property
    def relay_protocol(self) -> str | None:
        """The session's protocol string from ``signalwire.connect`` (None before connect)."""
        return self._connection.protocol

    @property
    def session_restored(self) -> bool:
        """Whether the last connect resumed the previous session (voxrelay extension)."""
        return self._connection.session_restored

    @property
    def connection(self) -> Connection:
        """The underlying session (voxrelay extension, for diagnostics and tests)."""
        return self._connection

    @property
    def calls(self) -> dict[str, Call]:
        """Live calls by call_id (voxrelay extension; do not mutate)."""
        return self._calls

    # -- lifecycle -----------------------------------------------------------------------

    def on_call(self, handler: CallHandler) -> CallHandler:
        """Decorator: ``handler(call)`` (usually ``async``) runs as its own task for every
        inbound call. A later registration replaces the previous handler."""
        self._call_handler = handler
        return handler

    async def connect(self) -> None:
        """Connect and authenticate. Raises RelayError(code, message) after 3 consecutive
        auth rejections and RelayError(-1, ...) when the server cannot be reached. Once
        connected the client reconnects by itself until :meth:`disconnect`."""
        await self._connection.open()

    async def disconnect(self) -> None:
        """Close the connection; pending requests and dials fail with "Connection closed"."""
        await self._connection.close()
        self._fail_dials(CLOSED)

    async def __aenter__(self) -> RelayClient:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.disconnect()

    def run(self) -> None:
        """Connect and serve calls until Ctrl-C (SIGINT) or SIGTERM, then disconnect and
        return. Unreachable servers are retried with backoff; RelayError is raised after 3
        consecutive auth rejections before the first successful connect."""
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(self._run_forever())

    async def _run_forever(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        installed = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        try:
            await self._connection.open(persistent=True)
            await stop.wait()
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
            await self.disconnect()

    def _on_connected(self, restored: bool) -> None:
        if self._connected_once and not restored:
            log.warning("RELAY session was not resumed; pending dials fail")
            self._fail_dials(CLOSED)
        self._connected_once = True

    # -- requests ------------------------------------------------------------------------

    async def execute(self, method: str, params: JsonDict) -> JsonDict:
        """Send a raw JSON-RPC request and return its ``result`` dict unchecked.

        Times out after 10 s (RequestTimeoutError, a RelayError with code -1); queued
        while reconnecting. Raises RelayError(code, message) on a JSON-RPC error response.
        """
        result = await self._connection.request(method, params)
        return result if isinstance(result, dict) else {"result": result}

    async def receive(self, contexts: list[str]) -> JsonDict:
        """Start receiving inbound calls on ``contexts`` (``signalwire.receive``)."""
        result = check_result(await self.execute("signalwire.receive", {"contexts": contexts}))
        self._connection.contexts.extend(c for c in contexts if c not in self.contexts)
        return result

    async def unreceive(self, contexts: list[str]) -> JsonDict:
        """Stop receiving inbound calls on ``contexts`` (``signalwire.unreceive``)."""
        result = check_result(await self.execute("signalwire.unreceive", {"contexts": contexts}))
        self.contexts = [c for c in self.contexts if c not in contexts]
        return result

    async def dial(
        self,
        devices: list[list[JsonDict]],
        *,
        tag: str | None = None,
        max_duration: int | None = None,
        dial_timeout: float = 120.0,
    ) -> Call:
        """Place an outbound call (``calling.dial``) and return the answered leg.

        ``devices`` is serial groups of parallel devices (reference §3.5); ``tag`` defaults
        to a fresh UUID; ``max_duration`` is sent as-is when given; ``dial_timeout`` is in
        seconds. The dial request's own ack may be slow: its timeout does not end the dial,
        only ``dial_timeout`` does. Raises RelayError(-1, "Dial failed (tag=...)") when the
        server reports failure, RelayError(-1, "Dial timed out ...") on timeout, and
        RelayError(code, message) when the request is refused.
        """
        tag = tag or str(uuid.uuid4())
        future: asyncio.Future[Call] = asyncio.get_running_loop().create_future()
        self._dials[tag] = future
        params: JsonDict = {"tag": tag, "devices": devices}
        if max_duration is not None:
            params["max_duration"] = max_duration
        sender = callbacks.spawn(self._send_dial(params, future), name=f"dial {tag}")
        try:
            return await asyncio.wait_for(future, dial_timeout)
        except TimeoutError:
            raise RelayError(-1, f"Dial timed out after {dial_timeout:g} s (tag={tag})") from None
        finally:
            self._dials.pop(tag, None)
            sender.cancel()

    async def _send_dial(self, params: JsonDict, future: asyncio.Future[Call]) -> None:
        try:
            check_result(await self.execute("calling.dial", params))
        except RequestTimeoutError:
            log.warning("calling.dial ack is late; still waiting for tag %s", params["tag"])
        except RelayError as exc:
            if not future.done():
                future.set_exception(exc)

    def _fail_dials(self, message: str) -> None:
        for tag, future in list(self._dials.items()):
            if not future.done():
                future.set_exception(RelayError(-1, f"{message} (tag={tag})"))

    # -- events --------------------------------------------------------------------------

    def _on_event(self, event_type: str, payload: JsonDict, timestamp: float) -> None:
        """Route one event (reference §1.7); events of unknown calls are dropped."""
        if event_type == AUTHORIZATION_STATE:
            return  # stored by the connection
        event = parse_event(event_type, payload, timestamp)
        if event_type == CALL_RECEIVE:
            self._on_receive(event)
        elif isinstance(event, DialEvent):
            self._on_dial(event)
        else:
            self._route(event)

    def _register(self, call: Call) -> Call:
        self._calls[call.call_id] = call
        return call

    def _route(self, event: RelayEvent) -> None:
        call = self._calls.get(event.call_id)
        if call is None and event.event_type == CALL_STATE:
            tag = event.params.get("tag")
            if isinstance(tag, str) and tag in self._dials and event.call_id:
                call = self._register(Call(self, event.params))
        if call is None:
            log.debug("RELAY dropping %s for unknown call %r", event.event_type, event.call_id)
            return
        call._dispatch(event)
        if call.state == "ended":
            self._calls.pop(call.call_id, None)

    def _on_receive(self, event: RelayEvent) -> None:
        known = self._calls.get(event.call_id)
        if known is not None:
            known._dispatch(event)
            return
        if not event.call_id:
            log.warning("RELAY dropping calling.call.receive without call_id")
            return
        if len(self._calls) >= self.max_active_calls:
            log.warning(
                "RELAY dropping inbound call %s: %d active calls (max_active_calls)",
                event.call_id,
                len(self._calls),
            )
            return
        call = self._register(Call(self, event.params))
        if self._call_handler is None:
            log.warning("RELAY inbound call %s but no on_call handler", call.call_id)
            return
        callbacks.invoke(self._call_handler, call)

    def _on_dial(self, event: DialEvent) -> None:
        future = self._dials.get(event.tag)
        if future is None or future.done():
            return
        if event.dial_state == "answered":
            info = event.call
            call_id = str(info.get("call_id", ""))
            call = self._calls.get(call_id)
            if call is None:
                call = self._register(
                    Call(self, {"call_state": "answered", "direction": "outbound", **info})
                )
            future.set_result(call)
        elif event.dial_state == "failed":
            future.set_exception(RelayError(-1, f"Dial failed (tag={event.tag})"))
