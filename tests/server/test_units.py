"""Server pieces that need no socket: the call state machine, sessions, the token bucket."""

from __future__ import annotations

import pytest

from voxrelay.protocol.states import CallState, Direction, EndReason
from voxrelay.server.calls import Call, IllegalTransition
from voxrelay.server.ratelimit import TokenBucket
from voxrelay.server.session import Session


def new_call() -> Call:
    return Call(project="p", node_id="n", direction=Direction.INBOUND, device={"type": "phone"})


def test_states_only_move_forward() -> None:
    call = new_call()
    assert call.transition(CallState.ANSWERED)
    assert not call.transition(CallState.ANSWERED)
    with pytest.raises(IllegalTransition):
        call.transition(CallState.RINGING)
    assert call.hang_up(EndReason.BUSY)
    assert call.state is CallState.ENDED and call.end_reason is EndReason.BUSY
    assert not call.hang_up(EndReason.HANGUP)
    with pytest.raises(IllegalTransition):
        call.transition(CallState.ANSWERED)


def test_session_keeps_unacked_events_in_order_while_detached() -> None:
    session = Session("p", "sig", node_id="n", event_acks=True, max_unacked=3)
    ids = [session.emit("calling.call.state", {"n": i}) for i in range(5)]
    sent: list[str] = []
    session.attach(sent.append)
    assert len(sent) == 3 and session.dropped_events == 2
    assert [f'"n":{i}' in frame for i, frame in zip(range(2, 5), sent, strict=True)] == [True] * 3
    for event_id in ids:
        session.ack(event_id)
    assert session.unacked == 0


def test_session_without_acks_forgets_what_it_wrote() -> None:
    session = Session("p", "sig", node_id="n", event_acks=False)
    sent: list[str] = []
    session.attach(sent.append)
    session.emit("calling.call.state", {})
    assert len(sent) == 1 and session.unacked == 0


def test_token_bucket() -> None:
    bucket = TokenBucket(rate=10, burst=2)
    stamp = bucket._stamp
    assert bucket.take(stamp) and bucket.take(stamp)
    assert not bucket.take(stamp)
    assert bucket.take(stamp + 0.15)  # 1.5 tokens back
