"""The Blade session of the 2.x API: the RELAY connection machinery, Blade on the wire.

Reuses :class:`voxrelay.relay.connection.Connection` (request timeouts, offline queue,
reconnect with backoff) and swaps the dialect (reference §1.9): the handshake is
``blade.connect``, ``blade.execute`` setup (which names the session's protocol),
``blade.subscription`` to ``notifications`` and ``signalwire.receive`` for the contexts; every
RELAY method goes inside ``blade.execute``; events arrive as ``blade.broadcast`` and are not
acknowledged; keepalive is ``blade.ping``. Blade has no resume: each socket is a new session.
"""

from __future__ import annotations

import logging
from typing import Any

from websockets.asyncio.client import ClientConnection

from voxrelay.protocol import ErrorCode, ErrorResponse, Request, Response, blade
from voxrelay.relay.connection import Connection
from voxrelay.relay.errors import RelayError

log = logging.getLogger("voxrelay.v2")

JsonDict = dict[str, Any]


class BladeConnection(Connection):
    """A RELAY session in the Blade dialect (see the module docstring)."""

    ping_method = blade.PING

    async def _handshake(self) -> None:
        auth = self._authentication
        params = blade.connect_params(str(auth.get("project")), str(auth.get("token")), self._agent)
        result = await self._call(
            blade.CONNECT, params, timeout=None, resumable=False, handshake=True
        )
        self.connect_result = result if isinstance(result, dict) else {}
        self.session_restored = False
        setup = await self._call(
            blade.EXECUTE, blade.setup_params(), timeout=None, resumable=False, handshake=True
        )
        inner = blade.unwrap_execute_result(setup)
        protocol = inner.get("protocol") if isinstance(inner, dict) else None
        if not isinstance(protocol, str) or not protocol:
            raise RelayError(-1, f"Blade setup gave no protocol: {setup!r}")
        self.protocol = protocol
        await self._call(
            blade.SUBSCRIPTION,
            {"command": "add", "protocol": protocol, "channels": [blade.CHANNEL]},
            timeout=None,
            resumable=False,
            handshake=True,
        )
        if self.contexts:
            await self._execute("signalwire.receive", {"contexts": list(self.contexts)}, True)

    async def execute(self, method: str, params: JsonDict) -> Any:
        """Run RELAY ``method`` inside ``blade.execute``; returns the inner result."""
        return await self._execute(method, params, False)

    async def _execute(self, method: str, params: JsonDict, handshake: bool) -> Any:
        if self.protocol is None:
            raise RelayError(-1, "Not connected")
        result = await self._call(
            blade.EXECUTE,
            blade.execute_params(self.protocol, method, params),
            timeout=None,
            resumable=False,
            handshake=handshake,
        )
        return blade.unwrap_execute_result(result)

    async def _on_request(self, ws: ClientConnection, request: Request) -> None:
        method = request.method
        if method == blade.BROADCAST:
            self._on_broadcast(request.params)
        elif method == blade.PING:
            await self._reply(ws, Response(request.id, {}))
        elif method == blade.DISCONNECT:
            await self._reply(ws, Response(request.id, {}))
            self._on_server_disconnect(ws, True)
        elif request.id is not None:
            error = ErrorResponse(request.id, ErrorCode.METHOD_NOT_FOUND, "Method not found")
            await self._reply(ws, error)

    def _on_broadcast(self, params: JsonDict) -> None:
        unwrapped = blade.unwrap_broadcast(params)
        if unwrapped is None:
            return
        protocol, event_type, payload, timestamp = unwrapped
        if protocol and protocol != self.protocol:  # not ours (reference §1.7)
            return
        try:
            self._on_event(event_type, payload, timestamp)
        except Exception:
            log.exception("event handler failed for %s", event_type)
