"""A live call under this client's control (reference §2.1, §2.12).

Calls are created by :class:`~voxrelay.relay.client.RelayClient` (inbound offers and dial
legs), never by user code. The client feeds each Call its events in wire order; the Call
updates its state, fires listeners, resolves waiters, then routes component events to the
:class:`~voxrelay.relay.action.Action` registered under the event's ``control_id``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from voxrelay.protocol import CallState, ResultCode, is_success
from voxrelay.relay import callbacks
from voxrelay.relay.action import Action, ActionT
from voxrelay.relay.call_media import MediaMethods
from voxrelay.relay.errors import RelayError
from voxrelay.relay.event import CallStateEvent, RelayEvent

log = logging.getLogger("voxrelay.relay")

JsonDict = dict[str, Any]
Handler = Callable[[RelayEvent], Any]
Predicate = Callable[[RelayEvent], bool]

CALL_STATE = "calling.call.state"
_GONE = frozenset({ResultCode.NOT_FOUND.value, ResultCode.GONE.value})


class Executor(Protocol):
    """What a Call needs from its client: send one request, get its raw ``result``."""

    async def execute(self, method: str, params: JsonDict) -> JsonDict: ...


@dataclass(slots=True)
class _Waiter:
    event_type: str
    predicate: Predicate | None
    future: asyncio.Future[RelayEvent]


def _rank(state: str) -> int:
    try:
        return CallState(state).rank
    except ValueError:
        return -1


def check_result(result: JsonDict) -> JsonDict:
    """Return ``result`` if it is a success; ``{}`` if the call is gone (404/410).

    Raises RelayError(int(code), message) for any other non-2xx code (reference §1.3).
    """
    if is_success(result):
        return result
    code = str(result.get("code"))
    if code in _GONE:
        return {}
    try:
        number = int(code)
    except ValueError:
        number = -1
    raise RelayError(number, str(result.get("message", "")))


class Call(MediaMethods):
    """A RELAY call.

    Properties mirror the wire: ``call_id``, ``node_id``, ``project_id``, ``context``,
    ``tag``, ``direction``, ``device`` (``{"type", "params"}``), ``state``, ``segment_id``,
    plus ``end_reason`` once ended. ``context`` is the context the call arrived on (the
    official SDK puts the session's protocol string there; voxrelay keeps the real name).

    Media methods (play, record, collect, detect, send_digits) come from
    :class:`~voxrelay.relay.call_media.MediaMethods`.
    """

    def __init__(self, client: Executor, payload: Mapping[str, Any]) -> None:
        self._client = client
        self.call_id: str = str(payload.get("call_id", ""))
        self.node_id: str = ""
        self.project_id: str = ""
        self.context: str = ""
        self.tag: str = ""
        self.direction: str = ""
        self.device: JsonDict = {}
        self.state: str = CallState.CREATED.value
        self.segment_id: str = ""
        self.end_reason: str = ""
        self._listeners: dict[str, list[Handler]] = {}
        self._waiters: list[_Waiter] = []
        self._actions: dict[str, Action] = {}
        self._state_event: RelayEvent | None = None
        self._update(payload)

    def _update(self, payload: Mapping[str, Any]) -> None:
        """Refresh the properties present (and non-empty) in an event payload."""
        for attr in ("node_id", "project_id", "tag", "direction", "segment_id", "end_reason"):
            value = payload.get(attr)
            if value:
                setattr(self, attr, str(value))
        context = payload.get("context") or payload.get("protocol")
        if context:
            self.context = str(context)
        device = payload.get("device")
        if isinstance(device, dict) and device:
            self.device = device
        state = payload.get("call_state")
        if state:
            self.state = str(state)

    # -- events --------------------------------------------------------------------------

    def on(self, event_type: str, handler: Handler) -> None:
        """Call ``handler(event)`` (sync or async) for every ``event_type`` event of this call."""
        self._listeners.setdefault(event_type, []).append(handler)

    def off(self, event_type: str, handler: Handler | None = None) -> None:
        """Remove one listener, or all listeners of ``event_type`` when ``handler`` is None."""
        if handler is None:
            self._listeners.pop(event_type, None)
        elif handler in self._listeners.get(event_type, []):
            self._listeners[event_type].remove(handler)

    async def wait_for(
        self,
        event_type: str,
        predicate: Predicate | None = None,
        timeout: float | None = None,
    ) -> RelayEvent:
        """Wait for the next ``event_type`` event of this call matching ``predicate``.

        ``timeout`` in seconds (None: forever); raises ``TimeoutError`` when it expires.
        """
        future: asyncio.Future[RelayEvent] = asyncio.get_running_loop().create_future()
        waiter = _Waiter(event_type, predicate, future)
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _current_state_event(self) -> RelayEvent:
        if self._state_event is not None:
            return self._state_event
        payload = {"call_id": self.call_id, "node_id": self.node_id, "call_state": self.state}
        return CallStateEvent._build(CALL_STATE, payload, 0.0)

    async def _wait_for_state(self, state: CallState, timeout: float | None) -> RelayEvent:
        if _rank(self.state) >= state.rank:
            return self._current_state_event()
        return await self.wait_for(
            CALL_STATE,
            lambda e: _rank(str(e.params.get("call_state", ""))) >= state.rank,
            timeout,
        )

    async def wait_for_ringing(self, timeout: float | None = None) -> RelayEvent:
        """Wait until the call is ringing or later and return the state event that got it
        there; if it already is, return at once with the latest state event.

        ``timeout`` in seconds (None: forever); raises ``TimeoutError`` when it expires.
        """
        return await self._wait_for_state(CallState.RINGING, timeout)

    async def wait_for_answered(self, timeout: float | None = None) -> RelayEvent:
        """Wait until the call is answered or later (see :meth:`wait_for_ringing`)."""
        return await self._wait_for_state(CallState.ANSWERED, timeout)

    async def wait_for_ending(self, timeout: float | None = None) -> RelayEvent:
        """Wait until the call is ending or ended (see :meth:`wait_for_ringing`)."""
        return await self._wait_for_state(CallState.ENDING, timeout)

    async def wait_for_ended(self, timeout: float | None = None) -> RelayEvent:
        """Wait until the call has ended (see :meth:`wait_for_ringing`)."""
        return await self._wait_for_state(CallState.ENDED, timeout)

    def _dispatch(self, event: RelayEvent) -> None:
        """Apply one event of this call: state, listeners, waiters, then its action."""
        if isinstance(event, CallStateEvent):
            self._update(event.params)
            self._state_event = event
        for handler in list(self._listeners.get(event.event_type, [])):
            callbacks.invoke(handler, event)
        self._resolve_waiters(event)
        control_id = event.params.get("control_id")
        action = self._actions.get(control_id) if isinstance(control_id, str) else None
        if action is not None:
            action._handle_event(event)
            if action.completed:
                self._actions.pop(action.control_id, None)
        if self.state == CallState.ENDED:
            self._end_actions()

    def _resolve_waiters(self, event: RelayEvent) -> None:
        for waiter in list(self._waiters):
            if waiter.future.done() or waiter.event_type != event.event_type:
                continue
            if waiter.predicate is not None:
                try:
                    if not waiter.predicate(event):
                        continue
                except Exception as exc:
                    waiter.future.set_exception(exc)
                    continue
            waiter.future.set_result(event)

    def _end_actions(self) -> None:
        actions, self._actions = self._actions, {}
        for action in actions.values():
            action._resolve_gone()

    # -- commands ------------------------------------------------------------------------

    async def _execute(self, method: str, extra: JsonDict | None = None) -> JsonDict:
        """Send ``calling.<method>`` with ``{node_id, call_id, **extra}`` and return the result.

        ``method`` may be given with or without its ``calling.`` prefix. Returns ``{}`` when
        the server says the call is gone (404/410); raises RelayError for any other non-2xx
        code and for transport failures (see RelayClient.execute).
        """
        name = method if method.startswith("calling.") else f"calling.{method}"
        params: JsonDict = {"node_id": self.node_id, "call_id": self.call_id, **(extra or {})}
        return check_result(await self._client.execute(name, params))

    async def _start_action(self, action: ActionT, method: str, params: JsonDict) -> ActionT:
        """Register ``action`` by its control_id, then send ``method`` with
        ``{control_id, **params}``; return the action.

        The action completes at once with an empty event when the call has already ended
        or the server answers 404/410. A non-empty result is handed to ``action._accepted``.
        """
        if self.state == CallState.ENDED:
            action._resolve_gone()
            return action
        self._actions[action.control_id] = action
        try:
            result = await self._execute(method, {"control_id": action.control_id, **params})
        except BaseException:
            self._actions.pop(action.control_id, None)
            raise
        if not result:
            self._actions.pop(action.control_id, None)
            action._resolve_gone()
        else:
            action._accepted(result)
        return action

    async def answer(self, **kwargs: Any) -> JsonDict:
        """Answer an inbound call (``calling.answer``); extra kwargs (e.g. ``max_duration``
        in seconds) go to the wire as-is. Returns the result dict, ``{}`` if the call is gone."""
        return await self._execute("answer", kwargs)

    async def hangup(self, reason: str = "hangup") -> JsonDict:
        """End the call (``calling.end``) with ``reason``: hangup, cancel, busy, noAnswer,
        decline or error. The call then goes through ``ending`` and ``ended``."""
        return await self._execute("end", {"reason": reason})

    async def pass_(self) -> JsonDict:
        """Decline control of an inbound call (``calling.pass``); the server offers it to
        another client on the same context."""
        return await self._execute("pass")

    def __repr__(self) -> str:
        return f"<Call {self.call_id} {self.direction or '?'} {self.state}>"
