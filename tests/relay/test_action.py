"""Action base and control layering (reference §2.13), without a server."""

from __future__ import annotations

import asyncio

import pytest

from tests.relay.stubs import RecordingExecutor
from voxrelay.relay import (
    Action,
    Call,
    PausableAction,
    PlayEvent,
    RelayEvent,
    StoppableAction,
    VolumeAction,
    parse_event,
)


def make_call(executor: RecordingExecutor | None = None) -> Call:
    return Call(executor or RecordingExecutor(), {"call_id": "c1", "node_id": "n1"})


def play_event(state: str, control_id: str = "ctl") -> RelayEvent:
    return parse_event(
        "calling.call.play", {"call_id": "c1", "control_id": control_id, "state": state}
    )


class PlayLike(VolumeAction):
    prefix = "play"


async def test_wait_timeout_does_not_cancel_the_action() -> None:
    action = Action(make_call(), "ctl", "calling.call.play", {"finished", "error"})
    with pytest.raises(TimeoutError):
        await action.wait(timeout=0.01)
    assert not action.is_done
    action._handle_event(play_event("finished"))
    result = await action.wait(timeout=1)
    assert isinstance(result, PlayEvent) and result.state == "finished"
    assert action.completed and action.is_done and action.result is result


async def test_non_terminal_events_do_not_complete() -> None:
    action = Action(make_call(), "ctl", "calling.call.play", {"finished", "error"})
    action._handle_event(play_event("playing"))
    action._handle_event(parse_event("calling.call.collect", {"control_id": "ctl"}))
    assert not action.completed
    action._handle_event(play_event("error"))
    assert action.completed and action.result is not None
    assert action.result.params["state"] == "error"


async def test_on_completed_sync_and_async_fire_once() -> None:
    seen: list[str] = []
    done = asyncio.Event()

    async def async_cb(event: RelayEvent) -> None:
        seen.append("async:" + event.params["state"])
        done.set()

    a = Action(make_call(), "a", "calling.call.play", {"finished"}, on_completed=async_cb)
    b = Action(
        make_call(),
        "b",
        "calling.call.play",
        {"finished"},
        on_completed=lambda e: seen.append("sync:" + e.params["state"]),
    )
    for action in (a, b):
        action._handle_event(play_event("finished", action.control_id))
        action._handle_event(play_event("finished", action.control_id))
    await asyncio.wait_for(done.wait(), 1)
    assert sorted(seen) == ["async:finished", "sync:finished"]


async def test_resolve_gone_gives_an_empty_event() -> None:
    action = Action(make_call(), "ctl", "calling.call.play", {"finished"})
    action._resolve_gone()
    result = await action.wait(1)
    assert result.params == {} and result.event_type == "calling.call.play"
    assert result.call_id == "c1"


async def test_control_methods_send_prefixed_requests() -> None:
    executor = RecordingExecutor()
    action = PlayLike(make_call(executor), "ctl", "calling.call.play", {"finished"})
    await action.pause()
    await action.pause(behavior="silence")
    await action.resume()
    await action.volume(-3)
    await action.stop()
    base = {"node_id": "n1", "call_id": "c1", "control_id": "ctl"}
    assert executor.sent == [
        ("calling.play.pause", base),
        ("calling.play.pause", {**base, "behavior": "silence"}),
        ("calling.play.resume", base),
        ("calling.play.volume", {**base, "volume": -3.0}),
        ("calling.play.stop", base),
    ]


async def test_layering_and_prefix_required() -> None:
    assert issubclass(VolumeAction, PausableAction)
    assert issubclass(PausableAction, StoppableAction)
    assert issubclass(StoppableAction, Action)
    assert not hasattr(StoppableAction, "pause")
    with pytest.raises(ValueError):
        StoppableAction(make_call(), "c", "calling.call.tap", {"finished"})
    tap = StoppableAction(make_call(), "c", "calling.call.tap", {"finished"}, prefix="tap")
    assert tap._prefix == "tap"


async def test_control_on_gone_call_returns_empty() -> None:
    executor = RecordingExecutor({"code": "404", "message": "call not found"})
    action = PlayLike(make_call(executor), "ctl", "calling.call.play", {"finished"})
    assert await action.stop() == {}
