"""One call leg and its state machine: created -> ringing -> answered -> ending -> ended.

States only move forward (``ringing`` may be skipped, and any live state may go to ``ending``
or straight to ``ended``). Every change is reported as ``calling.call.state`` to the session
controlling the call and to the far end (reference §1.10, §1.11).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from voxrelay.protocol.events import CALL_STATE
from voxrelay.protocol.states import CallState, Direction, EndReason

if TYPE_CHECKING:
    from voxrelay.server.calls.media import CallMedia


class IllegalTransition(Exception):
    """A state change the lifecycle does not allow (e.g. answering an ended call)."""


class EventSink(Protocol):
    """Where a call's events go: the controlling session (``Session.emit``)."""

    def emit(self, event_type: str, payload: dict[str, Any]) -> str: ...


class FarEnd(Protocol):
    """The other side of a leg (a virtual caller, a linked leg, SIP; later WebRTC). A far
    end may also have ``early_media(call)``: see ``Call.early_media``."""

    def on_state(self, call: Call) -> None: ...


class Call:
    """A call leg owned by one project. ``controller`` receives its events."""

    def __init__(
        self,
        *,
        project: str,
        node_id: str,
        direction: Direction,
        device: dict[str, Any],
        context: str | None = None,
        tag: str = "",
        created_by: str | None = None,
        call_id: str | None = None,
    ) -> None:
        self.call_id = call_id or str(uuid.uuid4())
        self.segment_id = str(uuid.uuid4())
        self.project = project
        self.node_id = node_id
        self.direction = direction
        self.device = device
        self.context = context
        self.tag = tag
        self.created_by = created_by
        self.state = CallState.CREATED
        self.end_reason: EndReason | None = None
        self.created_at = time.time()
        self.answered_at: float | None = None
        self.ended_at: float | None = None
        self.controller: EventSink | None = None
        self.far_end: FarEnd | None = None
        self.offered_to: set[str] = set()
        self.peer: dict[str, str] | None = None
        self.watchers: list[Callable[[Call], None]] = []
        # Also see every event of the call (REST status_url webhooks, SWML waiting on components).
        self.event_taps: list[Callable[[str, dict[str, Any]], None]] = []
        self.media: CallMedia | None = None
        # Runs between ending and ended (e.g. to finalise recordings); calls back when done.
        self.end_barrier: Callable[[Callable[[], None]], None] | None = None

    def __repr__(self) -> str:
        return f"<Call {self.call_id} {self.direction} {self.state}>"

    @property
    def ended(self) -> bool:
        return self.state is CallState.ENDED

    @property
    def active(self) -> bool:
        return self.state not in (CallState.ENDING, CallState.ENDED)

    def describe(self) -> dict[str, Any]:
        """The call fields every ``calling.call.*`` lifecycle event carries."""
        info: dict[str, Any] = {
            "call_id": self.call_id,
            "node_id": self.node_id,
            "segment_id": self.segment_id,
            "tag": self.tag,
            "call_state": self.state.value,
            "direction": self.direction.value,
            "device": self.device,
        }
        if self.context is not None:
            info["context"] = self.context
        if self.created_by:
            info["created_by"] = self.created_by
        if self.peer:
            info["peer"] = self.peer
        if self.end_reason is not None:
            info["end_reason"] = self.end_reason.value
        return info

    def emit(self, event_type: str, payload: dict[str, Any]) -> None:
        """Send an event about this call to its controller, if it has one, and its taps."""
        if self.controller is not None:
            self.controller.emit(event_type, payload)
        for tap in list(self.event_taps):
            tap(event_type, payload)

    def transition(self, state: CallState, end_reason: EndReason | None = None) -> bool:
        """Move to ``state``. Returns False when already there; raises IllegalTransition backwards."""
        if state is self.state:
            return False
        if state.rank < self.state.rank:
            raise IllegalTransition(f"call {self.call_id} cannot go from {self.state} to {state}")
        if state in (CallState.ENDING, CallState.ENDED) and self.end_reason is None:
            self.end_reason = end_reason or EndReason.HANGUP
        self.state = state
        if state is CallState.ANSWERED:
            self.answered_at = time.time()
        elif state is CallState.ENDED:
            self.ended_at = time.time()
        self.emit(CALL_STATE, self.describe())
        if self.far_end is not None:
            self.far_end.on_state(self)
        for watcher in list(self.watchers):
            watcher(self)
        return True

    def _ended(self, reason: EndReason) -> None:
        self.transition(CallState.ENDED, reason)

    def early_media(self) -> None:
        """Audio starts going to the far end before the answer (a play on a ringing inbound
        call): a far end that can say so does (SIP: 183 Session Progress with the SDP)."""
        hook = getattr(self.far_end, "early_media", None)
        if hook is not None and self.active and self.state is not CallState.ANSWERED:
            hook(self)

    def hang_up(self, reason: EndReason) -> bool:
        """End the call: ``ending``, then ``ended`` once the end barrier (if any) is through.

        False if the call was already ending or ended.
        """
        if not self.active:
            return False
        self.transition(CallState.ENDING, reason)
        barrier, self.end_barrier = self.end_barrier, None
        if barrier is None:
            self.transition(CallState.ENDED, reason)
        else:
            barrier(lambda: self._ended(reason))
        return True
