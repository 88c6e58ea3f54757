"""Call state, listeners, waiters, action routing and result codes, without a server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.relay.stubs import RecordingExecutor
from voxrelay.relay import Action, Call, RelayError, RelayEvent, parse_event

OFFER: dict[str, Any] = {
    "call_id": "c1",
    "node_id": "n1",
    "project_id": "p1",
    "context": "office",
    "tag": "",
    "segment_id": "seg",
    "call_state": "created",
    "direction": "inbound",
    "device": {"type": "phone", "params": {"from_number": "+1", "to_number": "+2"}},
}


def state(call_state: str, **extra: Any) -> RelayEvent:
    return parse_event("calling.call.state", {"call_id": "c1", "call_state": call_state, **extra})


def test_properties_come_from_the_offer() -> None:
    call = Call(RecordingExecutor(), OFFER)
    assert (call.call_id, call.node_id, call.project_id, call.context) == (
        "c1",
        "n1",
        "p1",
        "office",
    )
    assert (call.tag, call.direction, call.state, call.segment_id) == (
        "",
        "inbound",
        "created",
        "seg",
    )
    assert call.device["params"]["to_number"] == "+2"


async def test_dispatch_updates_state_and_fires_listeners_in_order() -> None:
    call = Call(RecordingExecutor(), OFFER)
    seen: list[str] = []
    call.on("calling.call.state", lambda e: seen.append(e.params["call_state"]))
    for s in ("ringing", "answered", "ending"):
        call._dispatch(state(s))
    call._dispatch(state("ended", end_reason="hangup"))
    assert seen == ["ringing", "answered", "ending", "ended"]
    assert call.state == "ended" and call.end_reason == "hangup"


async def test_wait_for_states_immediate_when_past() -> None:
    call = Call(RecordingExecutor(), OFFER)
    call._dispatch(state("answered"))
    event = await call.wait_for_ringing(timeout=0.01)
    assert event.params["call_state"] == "answered"
    await call.wait_for_answered(timeout=0.01)
    with pytest.raises(TimeoutError):
        await call.wait_for_ending(timeout=0.01)
    assert call._waiters == []


async def test_wait_for_ended_resolves_on_the_event() -> None:
    call = Call(RecordingExecutor(), OFFER)
    waiter = asyncio.ensure_future(call.wait_for_ended(timeout=1))
    ending = asyncio.ensure_future(call.wait_for_ending(timeout=1))
    await asyncio.sleep(0)
    call._dispatch(state("ending"))
    assert (await ending).params["call_state"] == "ending"
    assert not waiter.done()
    call._dispatch(state("ended"))
    assert (await waiter).params["call_state"] == "ended"


async def test_wait_for_with_predicate() -> None:
    call = Call(RecordingExecutor(), OFFER)
    task = asyncio.ensure_future(
        call.wait_for("calling.call.play", lambda e: e.params.get("state") == "finished", 1)
    )
    await asyncio.sleep(0)
    call._dispatch(parse_event("calling.call.play", {"call_id": "c1", "state": "playing"}))
    assert not task.done()
    call._dispatch(parse_event("calling.call.play", {"call_id": "c1", "state": "finished"}))
    assert (await task).params["state"] == "finished"


async def test_component_events_route_to_actions_and_end_completes_them() -> None:
    call = Call(RecordingExecutor(), OFFER)
    a = Action(call, "a", "calling.call.play", {"finished"})
    b = Action(call, "b", "calling.call.record", {"finished"})
    call._actions.update({"a": a, "b": b})
    call._dispatch(
        parse_event("calling.call.play", {"call_id": "c1", "control_id": "a", "state": "finished"})
    )
    assert a.completed and not b.completed and "a" not in call._actions
    call._dispatch(state("ended"))
    assert b.completed and b.result is not None and b.result.params == {}


async def test_execute_sends_node_and_call_and_maps_codes() -> None:
    executor = RecordingExecutor()
    call = Call(executor, OFFER)
    assert await call.answer(max_duration=60) == {"code": "200", "message": "OK"}
    await call.hangup()
    await call.pass_()
    await call._execute("calling.play.stop", {"control_id": "x"})
    ref = {"node_id": "n1", "call_id": "c1"}
    assert executor.sent == [
        ("calling.answer", {**ref, "max_duration": 60}),
        ("calling.end", {**ref, "reason": "hangup"}),
        ("calling.pass", ref),
        ("calling.play.stop", {**ref, "control_id": "x"}),
    ]
    for code in ("404", "410"):
        executor.result = {"code": code, "message": "gone"}
        assert await call.answer() == {}
    executor.result = {"code": "409", "message": "conflict"}
    with pytest.raises(RelayError) as info:
        await call.hangup()
    assert info.value.code == 409 and str(info.value) == "RELAY error 409: conflict"


async def test_start_action_on_ended_call_or_gone_result() -> None:
    executor = RecordingExecutor({"code": "410", "message": "gone"})
    call = Call(executor, OFFER)
    action = await call._start_action(
        Action(call, "x", "calling.call.play", {"finished"}), "play", {"play": []}
    )
    assert action.completed and executor.sent[0][1]["control_id"] == "x"
    call._dispatch(state("ended"))
    late = await call._start_action(
        Action(call, "y", "calling.call.play", {"finished"}), "play", {}
    )
    assert late.completed and len(executor.sent) == 1
