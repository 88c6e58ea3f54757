"""State vocabularies of calls, dials and connects (reference §1.11)."""

from __future__ import annotations

from enum import StrEnum


class CallState(StrEnum):
    """``call_state``: created -> ringing -> answered -> ending -> ended."""

    CREATED = "created"
    RINGING = "ringing"
    ANSWERED = "answered"
    ENDING = "ending"
    ENDED = "ended"

    @property
    def rank(self) -> int:
        """Position in the lifecycle, so ``a.rank >= b.rank`` means a is at or past b."""
        return _CALL_ORDER.index(self)


_CALL_ORDER = list(CallState)


class EndReason(StrEnum):
    """``end_reason`` of an ended call."""

    HANGUP = "hangup"
    CANCEL = "cancel"
    BUSY = "busy"
    NO_ANSWER = "noAnswer"
    DECLINE = "decline"
    ERROR = "error"
    ABANDONED = "abandoned"
    MAX_DURATION = "max_duration"
    NOT_FOUND = "not_found"


class Direction(StrEnum):
    """``direction`` of a call leg."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class DialState(StrEnum):
    """``dial_state`` of a ``calling.call.dial`` event."""

    DIALING = "dialing"
    ANSWERED = "answered"
    FAILED = "failed"


class ConnectState(StrEnum):
    """``connect_state`` of a ``calling.call.connect`` event."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    FAILED = "failed"
