"""The Blade dialect's sans-I/O translation (reference §1.7, §1.9)."""

from __future__ import annotations

import pytest

from voxrelay.protocol import blade


def test_execute_unwraps_and_result_wraps() -> None:
    ex = blade.unwrap_execute(
        {"protocol": "p", "method": "calling.answer", "params": {"call_id": "c"}}
    )
    assert (ex.protocol, ex.method, ex.params, ex.is_setup) == (
        "p",
        "calling.answer",
        {"call_id": "c"},
        False,
    )
    assert blade.unwrap_execute(blade.setup_params()).is_setup
    wrapped = blade.execute_result({"code": "200"}, requester_nodeid="a", responder_nodeid="b")
    assert wrapped == {"requester_nodeid": "a", "responder_nodeid": "b", "result": {"code": "200"}}
    assert blade.unwrap_execute_result(wrapped) == {"code": "200"}


@pytest.mark.parametrize(
    "params", [{}, {"protocol": "p"}, {"protocol": "p", "method": "m", "params": [1]}]
)
def test_bad_execute_is_refused(params: dict[str, object]) -> None:
    with pytest.raises(blade.BladeError):
        blade.unwrap_execute(params)


def test_subscription_grants_the_channels() -> None:
    result = blade.subscription_result(
        {"command": "add", "protocol": "p", "channels": ["notifications"]}
    )
    assert result == {
        "command": "add",
        "failed_channels": [],
        "protocol": "p",
        "subscribe_channels": ["notifications"],
    }
    with pytest.raises(blade.BladeError):
        blade.subscription_result({"command": "add", "channels": "notifications"})


def test_broadcast_round_trip() -> None:
    request = blade.broadcast(
        "calling.call.state",
        {"call_id": "c", "call_state": "ringing"},
        timestamp=12.5,
        protocol="signalwire_x",
        node_id="n",
        project_id="proj",
    )
    assert request.method == "blade.broadcast" and request.id
    params = request.params
    assert (params["channel"], params["event"], params["protocol"]) == (
        "notifications",
        "queuing.relay.events",
        "signalwire_x",
    )
    assert params["params"]["event_channel"] == "signalwire_x"
    assert blade.unwrap_broadcast(params) == (
        "signalwire_x",
        "calling.call.state",
        {"call_id": "c", "call_state": "ringing", "timestamp": 12.5},
        12.5,
    )
    assert blade.unwrap_broadcast({"params": "nope"}) is None
