"""An ASGI app without a network: its lifespan and WebSockets to it, in the caller's event loop.

For in-process tests (``voxrelay.inprocess``). Both speak the ASGI 3 protocol to any app
(https://asgi.readthedocs.io/en/latest/specs/): ``lifespan(app)`` sends
``lifespan.startup`` on entry and ``lifespan.shutdown`` on exit; ``AsgiWebSocket`` opens a
``websocket`` scope, sends ``websocket.connect`` and text frames as ``websocket.receive``,
and reads what the app sends (``websocket.accept``, ``websocket.send``, ``websocket.close``).
HTTP needs nothing of ours: ``httpx.ASGITransport`` serves requests the same way.

Errors: ``LifespanError`` when the app fails its startup, ``WebSocketClosed`` (with the close
code) when the app refuses or closes the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, MutableMapping, Sequence
from typing import Any

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[MutableMapping[str, Any], Receive, Send], Coroutine[Any, Any, None]]

ASGI_VERSION = {"version": "3.0", "spec_version": "2.3"}
CLIENT = ("127.0.0.1", 50000)  # the peer address the app sees
SERVER = ("testserver", 80)


class LifespanError(RuntimeError):
    """The app's startup (or shutdown) failed; the message is the app's."""


class AppReturned(RuntimeError):
    """The app's coroutine returned while we waited for a message from it."""


class WebSocketClosed(ConnectionError):
    """The app closed the WebSocket (or refused it): ``code`` is its close code."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"WebSocket closed by the app: {code} {reason}".rstrip())
        self.code = code
        self.reason = reason


async def _next(queue: asyncio.Queue[Message], task: asyncio.Task[None]) -> Message:
    """The next message the app sends, or the app's own exception if it ends first."""
    getter = asyncio.ensure_future(queue.get())
    await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
    if getter.done():
        return getter.result()
    getter.cancel()
    task.result()  # raises what the app raised
    raise AppReturned("the app returned without answering")


@contextlib.asynccontextmanager
async def lifespan(app: App) -> AsyncIterator[None]:
    """Run ``app``'s startup on entry and its shutdown on exit (ASGI lifespan protocol).
    Raises LifespanError with the app's message if either fails."""
    to_app: asyncio.Queue[Message] = asyncio.Queue()
    from_app: asyncio.Queue[Message] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": ASGI_VERSION, "state": {}}
    task = asyncio.create_task(app(scope, to_app.get, from_app.put), name="asgi lifespan")
    try:
        await _step(to_app, from_app, task, "startup")
        yield
        await _step(to_app, from_app, task, "shutdown")
        await task
    finally:
        task.cancel()


async def _step(
    to_app: asyncio.Queue[Message],
    from_app: asyncio.Queue[Message],
    task: asyncio.Task[None],
    phase: str,
) -> None:
    await to_app.put({"type": f"lifespan.{phase}"})
    try:
        reply = await _next(from_app, task)
    except AppReturned:
        raise LifespanError(f"the app ended during {phase}") from None
    if reply["type"] != f"lifespan.{phase}.complete":
        raise LifespanError(f"{phase} failed: {reply.get('message', reply['type'])}")


class AsgiWebSocket:
    """A WebSocket client connected to ``app`` in-process (text frames)::

        async with AsgiWebSocket(app, "/") as ws:
            await ws.send_text('{"jsonrpc": "2.0", ...}')
            reply = await ws.receive_text()

    ``receive_text`` raises WebSocketClosed once the app has closed the socket.
    """

    def __init__(self, app: App, path: str = "/", headers: Sequence[tuple[str, str]] = ()) -> None:
        self.app = app
        self.scope: dict[str, Any] = {
            "type": "websocket",
            "asgi": ASGI_VERSION,
            "scheme": "ws",
            "http_version": "1.1",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
            "client": CLIENT,
            "server": SERVER,
            "subprotocols": [],
            "state": {},
        }
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.close_code: int | None = None

    async def __aenter__(self) -> AsgiWebSocket:
        return await self.connect()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> AsgiWebSocket:
        """Open the socket; raises WebSocketClosed if the app refuses it."""
        self._task = asyncio.create_task(
            self.app(self.scope, self._to_app.get, self._app_sends), name="asgi websocket"
        )
        await self._to_app.put({"type": "websocket.connect"})
        first = await _next(self._from_app, self._task)
        if first["type"] != "websocket.accept":
            raise self._closed(first)
        return self

    async def _app_sends(self, message: Message) -> None:
        if message["type"] == "websocket.close":  # the app's reader then sees the disconnect
            self._to_app.put_nowait({"type": "websocket.disconnect", "code": message.get("code")})
        await self._from_app.put(message)

    def _closed(self, message: Message) -> WebSocketClosed:
        self.close_code = int(message.get("code") or 1000)
        return WebSocketClosed(self.close_code, str(message.get("reason") or ""))

    async def send_text(self, text: str) -> None:
        """Deliver one text frame to the app."""
        if self.close_code is not None:
            raise WebSocketClosed(self.close_code)
        await self._to_app.put({"type": "websocket.receive", "text": text})

    async def receive_text(self) -> str:
        """The next text frame the app sent; WebSocketClosed once it closed the socket."""
        if self.close_code is not None:
            raise WebSocketClosed(self.close_code)
        assert self._task is not None, "connect() first"
        while True:
            try:
                message = await _next(self._from_app, self._task)
            except AppReturned:
                message = {"type": "websocket.close", "code": 1006}
            if message["type"] == "websocket.close":
                raise self._closed(message)
            text = message.get("text")
            if text is not None:
                return str(text)

    async def close(self, code: int = 1000) -> None:
        """Close from the client side and wait (up to 5 s) for the app's handler to end."""
        if self._task is None:
            return
        if self.close_code is None:
            self.close_code = code
            await self._to_app.put({"type": "websocket.disconnect", "code": code})
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(self._task, 5.0)
        self._task = None
