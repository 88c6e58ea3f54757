"""A raw RELAY wire client for server tests: frames in, frames out, nothing hidden.

Events are acknowledged as they arrive (unless ``auto_ack`` is off) and collected in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

TIMEOUT = 5.0


class WireClient:
    def __init__(self, url: str, *, auto_ack: bool = True, ssl: Any = None) -> None:
        self.url = url
        self.auto_ack = auto_ack
        self.ssl = ssl
        self.ws: ClientConnection | None = None
        self.events: list[dict[str, Any]] = []  # outer params of every signalwire.event
        self.event_ids: list[str] = []
        self.server_requests: list[dict[str, Any]] = []  # pings, disconnects
        self.frames: list[dict[str, Any]] = []  # everything received, in order
        self._responses: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._new = asyncio.Event()
        self.closed = asyncio.Event()
        self.protocol: str | None = None
        self.connect_result: dict[str, Any] | None = None

    async def open(self) -> WireClient:
        self.ws = await websockets.connect(self.url, ssl=self.ssl, max_size=None)
        self.closed.clear()
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for raw in self.ws:
                msg = json.loads(raw)
                self.frames.append(msg)
                if "method" in msg:
                    self.server_requests.append(msg)
                    if msg["method"] == "signalwire.event":
                        self.events.append(msg["params"])
                        self.event_ids.append(msg["id"])
                    if self.auto_ack:
                        await self.send({"jsonrpc": "2.0", "id": msg["id"], "result": {}})
                    self._new.set()
                else:
                    fut = self._responses.pop(str(msg.get("id")), None)
                    if fut is not None and not fut.done():
                        fut.set_result(msg)
                    else:
                        self.server_requests.append(msg)  # id-less error replies
                        self._new.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed.set()
            self._new.set()

    async def send(self, obj: Any) -> None:
        assert self.ws is not None
        await self.ws.send(obj if isinstance(obj, str | bytes) else json.dumps(obj))

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        rid = str(uuid.uuid4())
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._responses[rid] = fut
        await self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params or {}})
        return await asyncio.wait_for(fut, TIMEOUT)

    async def connect(
        self, project: str, token: str, contexts: list[str] | None = None, **extra: Any
    ) -> dict[str, Any]:
        if self.ws is None:
            await self.open()
        params: dict[str, Any] = {
            "version": {"major": 2, "minor": 0, "revision": 0},
            "agent": "wire-test",
            "event_acks": True,
            "authentication": {"project": project, "token": token},
            **extra,
        }
        if contexts:
            params["contexts"] = contexts
        reply = await self.request("signalwire.connect", params)
        if "result" in reply:
            self.connect_result = reply["result"]
            self.protocol = reply["result"]["protocol"]
        return reply

    async def wait_event(
        self, event_type: str, timeout: float = TIMEOUT, **match: Any
    ) -> dict[str, Any]:
        """The first collected event of that type whose payload has the given key values."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for ev in self.events:
                payload = ev["params"]
                if ev["event_type"] == event_type and all(
                    payload.get(k) == v for k, v in match.items()
                ):
                    return ev
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"no {event_type} {match}; got {self.summary()}")
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), remaining)

    def summary(self) -> list[tuple[str, Any]]:
        return [
            (e["event_type"], e["params"].get("call_state") or e["params"].get("dial_state"))
            for e in self.events
        ]

    def states(self, call_id: str) -> list[str]:
        return [
            e["params"]["call_state"]
            for e in self.events
            if e["event_type"] == "calling.call.state" and e["params"].get("call_id") == call_id
        ]

    async def drop(self) -> None:
        """Cut the TCP connection without a closing handshake (a network failure)."""
        assert self.ws is not None
        self.ws.transport.abort()
        await asyncio.wait_for(self.closed.wait(), TIMEOUT)
        self.ws = None

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
            self.ws = None
        if self._reader is not None:
            await asyncio.wait_for(self._reader, TIMEOUT)


async def until(predicate: Any, timeout: float = TIMEOUT, interval: float = 0.02) -> None:
    """Poll ``predicate()`` until true; raise TimeoutError after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(interval)
