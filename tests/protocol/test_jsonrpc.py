"""The sans-I/O core: frames in, typed messages out, with no event loop or socket."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxrelay.protocol import (
    ErrorCode,
    ErrorResponse,
    ProtocolError,
    Request,
    Response,
    encode,
    is_success,
    parse_message,
)
from voxrelay.protocol.events import build_event, unwrap_event
from voxrelay.protocol.models import ConnectParams, DialParams, InvalidParams, validate


def test_request_round_trip() -> None:
    req = Request("calling.answer", {"call_id": "c1", "node_id": "n1"}, "r1")
    assert parse_message(encode(req)) == req


def test_responses_and_errors_are_told_apart() -> None:
    assert parse_message('{"jsonrpc":"2.0","id":"a","result":{}}') == Response("a", {})
    err = parse_message('{"jsonrpc":"2.0","id":"a","error":{"code":-32002,"message":"no"}}')
    assert err == ErrorResponse("a", -32002, "no")


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{oops", ErrorCode.PARSE_ERROR),
        ("[1,2]", ErrorCode.INVALID_REQUEST),
        ('{"jsonrpc":"1.0","id":"x","method":"m"}', ErrorCode.INVALID_REQUEST),
        ('{"jsonrpc":"2.0","id":"x","method":5}', ErrorCode.INVALID_REQUEST),
        ('{"jsonrpc":"2.0","id":"x","method":"m","params":[1]}', ErrorCode.INVALID_PARAMS),
        ('{"jsonrpc":"2.0","id":{"a":1},"method":"m"}', ErrorCode.INVALID_REQUEST),
        ('{"jsonrpc":"2.0","id":"x"}', ErrorCode.INVALID_REQUEST),
    ],
)
def test_bad_frames_raise_protocol_error_with_the_jsonrpc_code(frame: str, code: int) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_message(frame)
    assert info.value.code == code and info.value.message


def test_the_id_of_a_bad_request_is_kept_for_the_error_reply() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_message('{"jsonrpc":"2.0","id":"keep-me","method":""}')
    assert info.value.id == "keep-me"


@given(st.text(max_size=300) | st.binary(max_size=300))
def test_parse_never_raises_anything_but_protocol_error(data: str | bytes) -> None:
    with contextlib.suppress(ProtocolError):
        parse_message(data)


def test_result_codes() -> None:
    assert is_success({"code": "200", "message": "ok"})
    assert is_success({"code": "204"})
    assert is_success({"protocol": "x"})  # connect results carry no code
    assert not is_success({"code": "404"})
    assert not is_success({"code": "-32001"})


def test_event_envelope_puts_the_payload_in_params_params() -> None:
    req = build_event(
        "calling.call.state",
        {"call_id": "c1", "call_state": "answered"},
        timestamp=1700000000.5,
        channel="signalwire_s_u_p",
        project_id="p",
    )
    frame = json.loads(encode(req))
    outer = frame["params"]
    assert frame["method"] == "signalwire.event" and frame["id"]
    assert outer["event_type"] == "calling.call.state" and outer["timestamp"] == 1700000000.5
    assert outer["params"]["call_state"] == "answered"
    assert outer["params"]["timestamp"] == 1700000000.5  # the Python SDK reads it there
    assert unwrap_event(outer) == ("calling.call.state", outer["params"], 1700000000.5)


def test_invalid_params_name_the_field() -> None:
    with pytest.raises(InvalidParams) as info:
        validate(DialParams, {"devices": [[{"type": "phone", "params": []}]]})
    assert info.value.field == "devices.0.0.params"
    with pytest.raises(InvalidParams) as info:
        validate(ConnectParams, {"version": {"major": 2}})
    assert info.value.field == "authentication"


def test_unknown_keys_are_kept() -> None:
    params = validate(
        ConnectParams,
        {"version": {"major": 3}, "authentication": {"project": "p"}, "eventing": ["x"]},
    )
    assert params.model_extra == {"eventing": ["x"]}
