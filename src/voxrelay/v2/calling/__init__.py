"""``client.calling`` of the 2.x API: inbound calls by context, outbound calls, event routing.

Events are routed by ``call_id``; a ``calling.call.state`` for a call being placed by
``Call.dial()`` whose ``call_id`` is not known yet is matched by its ``tag``. Component events
go to the call, then to the component by ``control_id``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from voxrelay.v2.calling.call import Call, DialResult

log = logging.getLogger("voxrelay.v2")

JsonDict = dict[str, Any]
CallHandler = Callable[[Call], Awaitable[Any] | Any]

__all__ = ["Call", "Calling", "DialResult"]


class Session(Protocol):
    """What the calling namespace needs from its :class:`voxrelay.v2.client.Client`."""

    contexts: list[str]

    @property
    def connected(self) -> bool: ...

    async def execute(self, method: str, params: JsonDict) -> Any: ...


class Calling:
    """The calling namespace of a :class:`voxrelay.v2.client.Client`."""

    def __init__(self, client: Session) -> None:
        self.client = client
        self.calls: dict[str, Call] = {}
        self._handlers: dict[str, CallHandler] = {}
        self._dialing: dict[str, Call] = {}
        self._tasks: set[asyncio.Future[Any]] = set()

    async def receive(self, contexts: list[str], handler: CallHandler) -> bool:
        """Offer inbound calls on ``contexts`` to ``handler(call)``; True when accepted."""
        fresh = [c for c in contexts if c not in self.client.contexts]
        for context in contexts:
            self._handlers[context] = handler
        self.client.contexts.extend(fresh)
        if not fresh or not self.client.connected:
            return True
        result = await self.client.execute("signalwire.receive", {"contexts": fresh})
        return isinstance(result, dict) and str(result.get("code")) == "200"

    def new_call(
        self,
        *,
        call_type: str = "phone",
        from_number: str,
        to_number: str,
        timeout: int | None = None,
    ) -> Call:
        return Call(
            self, call_type=call_type, from_number=from_number, to_number=to_number, timeout=timeout
        )

    async def dial(
        self,
        *,
        call_type: str = "phone",
        from_number: str,
        to_number: str,
        timeout: int | None = None,
    ) -> DialResult:
        call = self.new_call(
            call_type=call_type, from_number=from_number, to_number=to_number, timeout=timeout
        )
        return await call.dial()

    async def execute(self, method: str, params: JsonDict) -> Any:
        """Run RELAY ``method`` on the client's session; the inner result."""
        return await self.client.execute(method, params)

    def spawn(self, awaitable: Awaitable[Any]) -> None:
        """Run a handler coroutine, keeping a reference and logging its failure."""
        task = asyncio.ensure_future(awaitable)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("call handler failed", exc_info=task.exception())

    def _register(self, call: Call) -> None:
        if call.id:
            self.calls[call.id] = call

    def on_event(self, event_type: str, payload: JsonDict) -> None:
        if event_type == "calling.call.receive":
            self._on_receive(payload)
            return
        call = self.calls.get(str(payload.get("call_id")))
        if call is None and event_type == "calling.call.state":
            call = self._dialing.get(str(payload.get("tag")))
            if call is not None:
                call._load({"call_id": payload.get("call_id"), "node_id": payload.get("node_id")})
                self._register(call)
        if call is None:
            return
        if event_type == "calling.call.state":
            call._on_state(payload)
            if call.ended and call.id:
                self.calls.pop(call.id, None)
        else:
            call._on_component_event(event_type, payload)

    def _on_receive(self, payload: JsonDict) -> None:
        call = Call(self, payload=payload)
        self._register(call)
        handler = self._handlers.get(str(call.context))
        if handler is None:
            log.warning("no handler for inbound call on context %r", call.context)
            return
        out = handler(call)
        if asyncio.iscoroutine(out) or isinstance(out, asyncio.Future):
            self.spawn(out)
