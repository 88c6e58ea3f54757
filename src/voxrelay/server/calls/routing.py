"""Inbound routing: offering calls to the sessions subscribed to their context.

A call to a context is offered (``calling.call.receive``) to one subscribed session, chosen
round-robin. ``calling.pass`` offers it to the next session that has not had it. While no
session is free the call waits, and is offered as soon as one subscribes. A call nobody
answers within the ring timeout ends with ``noAnswer``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from voxrelay.protocol.events import CALL_RECEIVE
from voxrelay.protocol.states import CallState, Direction, EndReason
from voxrelay.server.calls.call import Call, FarEnd
from voxrelay.server.calls.registry import CallRegistry
from voxrelay.server.session import Session
from voxrelay.server.sessions import SessionRegistry


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


Scheduler = Callable[[float, Callable[[], None]], TimerHandle]


def asyncio_scheduler(delay: float, fn: Callable[[], None]) -> TimerHandle:
    """Run ``fn`` after ``delay`` seconds on the running event loop."""
    return asyncio.get_running_loop().call_later(delay, fn)


class CallRouter:
    """Creates calls, offers inbound ones to sessions, and cleans up when calls end."""

    def __init__(
        self,
        sessions: SessionRegistry,
        calls: CallRegistry,
        *,
        node_id: str,
        ring_timeout: float = 30.0,
        schedule: Scheduler = asyncio_scheduler,
    ) -> None:
        self.sessions = sessions
        self.calls = calls
        self.node_id = node_id
        self.ring_timeout = ring_timeout
        self._schedule = schedule
        self._waiting: dict[tuple[str, str], list[Call]] = {}
        self._ring_timers: dict[str, TimerHandle] = {}

    # -- creating calls -----------------------------------------------------------------

    def new_call(
        self, project: str, direction: Direction, device: dict[str, Any], **kw: Any
    ) -> Call:
        """Register a new call leg; it is forgotten by the registry once ended."""
        call = Call(project=project, node_id=self.node_id, direction=direction, device=device, **kw)
        call.watchers.append(self._on_state)
        self.calls.add(call)
        return call

    def inbound(
        self,
        project: str,
        context: str,
        device: dict[str, Any],
        far_end: FarEnd | None = None,
        ring_timeout: float | None = None,
    ) -> Call:
        """A call arriving for ``context`` (from a phone, a dial to one of our numbers...)."""
        call = self.new_call(project, Direction.INBOUND, device, context=context)
        call.far_end = far_end
        self.ring(call, ring_timeout)
        return call

    def ring(self, call: Call, timeout: float | None = None) -> None:
        """Start the ring timer (seconds; default the router's) and offer the call."""
        timeout = self.ring_timeout if timeout is None else timeout
        self._ring_timers[call.call_id] = self._schedule(timeout, lambda: self._no_answer(call))
        self.offer(call)

    # -- offering ------------------------------------------------------------------------

    def offer(self, call: Call) -> Session | None:
        """Offer ``call`` to the next subscribed session, or park it until one subscribes."""
        assert call.context is not None
        session = self.sessions.next_subscriber(call.project, call.context, call.offered_to)
        if session is None:
            call.controller = None
            self._waiting.setdefault((call.project, call.context), []).append(call)
            return None
        call.controller = session
        call.offered_to.add(session.id)
        session.emit(CALL_RECEIVE, call.describe())
        if call.state is CallState.CREATED:
            call.transition(CallState.RINGING)
        return session

    def subscribed(self, session: Session, contexts: list[str]) -> None:
        """``session`` now receives ``contexts``: offer it the calls waiting there."""
        for ctx in contexts:
            waiting = self._waiting.pop((session.project, ctx), [])
            for call in waiting:
                if call.active and call.state is not CallState.ANSWERED:
                    self.offer(call)

    def pass_call(self, call: Call) -> None:
        """``calling.pass``: give the call back to routing for the next session."""
        self.offer(call)

    def answered(self, call: Call) -> None:
        call.transition(CallState.ANSWERED)

    # -- sessions going away ---------------------------------------------------------------

    def session_gone(self, session: Session) -> None:
        """A session expired: re-offer calls it was only offered, hang up those it answered."""
        for call in self.calls.active(session.project):
            if call.controller is not session:
                continue
            if call.state is CallState.ANSWERED or call.direction is Direction.OUTBOUND:
                call.hang_up(EndReason.HANGUP)
            elif call.active:
                self.offer(call)

    # -- internals ----------------------------------------------------------------------

    def _no_answer(self, call: Call) -> None:
        self._ring_timers.pop(call.call_id, None)
        if call.active and call.state is not CallState.ANSWERED:
            call.hang_up(EndReason.NO_ANSWER)

    def _on_state(self, call: Call) -> None:
        if call.state in (CallState.ANSWERED, CallState.ENDING, CallState.ENDED):
            timer = self._ring_timers.pop(call.call_id, None)
            if timer is not None:
                timer.cancel()
        if call.ended:
            self.calls.forget(call)
            if call.context is not None:
                waiting = self._waiting.get((call.project, call.context))
                if waiting and call in waiting:
                    waiting.remove(call)
