"""``Relay.Client`` of the 2.x API (reference §5.1).

``from voxrelay.v2.client import Client`` replaces ``from signalwire.relay.client import
Client``. ``connect()`` blocks, running the session (reconnecting by itself) until
``disconnect()`` or SIGINT/SIGTERM; ``on("ready", handler)`` runs ``handler(client)`` after
each successful connect.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import signal
from collections.abc import Callable
from typing import Any

import voxrelay
from voxrelay.relay.address import DEFAULT_HOST, ssl_context, websocket_url
from voxrelay.relay.connection import Timings
from voxrelay.v2.calling import Calling
from voxrelay.v2.connection import BladeConnection

log = logging.getLogger("voxrelay.v2")

JsonDict = dict[str, Any]
AGENT = f"voxrelay-python-v2/{voxrelay.__version__}"


class Client:
    """A Blade RELAY session: ``calling``, ``on``/``off``, ``connect``, ``execute``.

    ``host`` forms as for :class:`voxrelay.relay.RelayClient` (loopback hosts default to
    ``ws://``); it falls back to ``SIGNALWIRE_SPACE``, then ``relay.signalwire.com``.
    """

    def __init__(
        self,
        project: str,
        token: str,
        host: str | None = None,
        *,
        contexts: list[str] | None = None,
        timings: Timings | None = None,
    ) -> None:
        if not project or not token:
            raise ValueError("project and token are required")
        self.project = project
        self.token = token
        self.host = host or os.environ.get("SIGNALWIRE_SPACE") or DEFAULT_HOST
        url = websocket_url(self.host)
        self.contexts: list[str] = list(contexts or [])
        self.calling = Calling(self)
        self._handlers: dict[str, list[Callable[..., Any]]] = {}
        self._stop: asyncio.Event | None = None
        self.connection = BladeConnection(
            url,
            {"project": project, "token": token},
            self.contexts,
            lambda event_type, payload, ts: self.calling.on_event(event_type, payload),
            agent=AGENT,
            timings=timings or Timings(ping_interval=10.0),
            ssl_context=ssl_context(url),
            on_connected=self._on_connected,
        )

    # -- properties ----------------------------------------------------------------------

    @property
    def protocol(self) -> str | None:
        return self.connection.protocol

    @property
    def session_id(self) -> str | None:
        value = self.connection.connect_result.get("sessionid")
        return str(value) if value else None

    @property
    def signature(self) -> str | None:
        auth = self.connection.connect_result.get("authorization") or {}
        value = auth.get("signature") if isinstance(auth, dict) else None
        return str(value) if value else None

    @property
    def connected(self) -> bool:
        return self.connection.connected

    # -- events --------------------------------------------------------------------------

    def on(self, event: str, handler: Callable[..., Any]) -> Client:
        """``ready`` is the event user code needs: ``handler(client)`` (sync or async)."""
        self._handlers.setdefault(event, []).append(handler)
        return self

    def off(self, event: str, handler: Callable[..., Any] | None = None) -> Client:
        if handler is None:
            self._handlers.pop(event, None)
        elif handler in self._handlers.get(event, []):
            self._handlers[event].remove(handler)
        return self

    def _on_connected(self, restored: bool) -> None:
        asyncio.get_running_loop().call_soon(self._emit, "ready")

    def _emit(self, event: str) -> None:
        for handler in list(self._handlers.get(event, [])):
            out = handler(self)
            if inspect.isawaitable(out):
                self.calling.spawn(out)

    # -- session -------------------------------------------------------------------------

    async def execute(self, method: str, params: JsonDict) -> Any:
        """Run RELAY ``method`` inside ``blade.execute``; returns the inner result."""
        return await self.connection.execute(method, params)

    async def open(self) -> None:
        """Connect and authenticate (voxrelay extension; ``connect()`` blocks instead)."""
        await self.connection.open(persistent=True)

    async def disconnect(self) -> None:
        if self._stop is not None:
            self._stop.set()
        await self.connection.close()

    def connect(self) -> None:
        """Run the session until ``disconnect()`` or SIGINT/SIGTERM (blocking)."""
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(self.run_async())

    async def run_async(self) -> None:
        """Connect, then wait until ``disconnect()`` or a stop signal."""
        self._stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self._stop.set)
        try:
            await self.open()
            await self._stop.wait()
        finally:
            await self.connection.close()
