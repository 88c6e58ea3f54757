"""Hypothesis fuzz of RELAY frames: every frame gets an answer or is an ack; nothing crashes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import ClientConnection, connect

from voxrelay.server.dispatch import METHODS
from voxrelay.testing import LocalServer

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
methods = st.sampled_from([*METHODS, "signalwire.connect", "nope", ""]) | st.text(max_size=30)
params = (
    st.dictionaries(
        st.sampled_from(
            [
                "call_id",
                "node_id",
                "contexts",
                "reason",
                "devices",
                "tag",
                "timestamp",
                "version",
                "authentication",
                "protocol",
                "x",
            ]
        ),
        json_values,
        max_size=5,
    )
    | json_values
)
requests = st.fixed_dictionaries(
    {
        "jsonrpc": st.sampled_from(["2.0", "2.0", "1.0", None]),
        "id": st.uuids().map(str) | st.integers() | st.none() | json_values,
        "method": methods,
        "params": params,
    }
)
frames = requests.map(json.dumps) | st.text(max_size=200) | json_values.map(json.dumps)


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[LocalServer]:
    yield from LocalServer.fixture()


@pytest.fixture(scope="module")
def socket(fuzz_server: LocalServer) -> Iterator[ClientConnection]:
    with connect(fuzz_server.ws_url, max_size=None) as ws:
        ws.send(
            json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": "c",
                    "method": "signalwire.connect",
                    "params": {
                        "version": {"major": 2},
                        "event_acks": True,
                        "authentication": {
                            "project": fuzz_server.project,
                            "token": fuzz_server.token,
                        },
                    },
                }
            )
        )
        assert "result" in json.loads(ws.recv(5))
        yield ws


def _answer_to(ws: ClientConnection, frame: str) -> dict[str, Any] | None:
    """Send ``frame``, then a probe ping; return the reply to ``frame`` (None if it was a reply)."""
    ws.send(frame)
    ws.send(json.dumps({"jsonrpc": "2.0", "id": "probe", "method": "signalwire.ping"}))
    replies = []
    while True:
        msg = json.loads(ws.recv(5))
        if msg.get("method"):  # server request (event, ping): ack it
            ws.send(json.dumps({"jsonrpc": "2.0", "id": msg.get("id"), "result": {}}))
            continue
        if msg.get("id") == "probe" and "result" in msg:
            return replies[0] if replies else None
        replies.append(msg)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(frame=frames)
def test_every_frame_is_answered_and_the_server_survives(
    socket: ClientConnection, frame: str
) -> None:
    reply = _answer_to(socket, frame)
    if reply is None:
        return  # a response-shaped frame (ack) needs no answer
    assert reply.get("jsonrpc") == "2.0"
    if "error" in reply:
        assert isinstance(reply["error"]["code"], int) and reply["error"]["message"]
    else:
        result = reply["result"]
        assert isinstance(result, dict)
        if "code" in result:
            assert result["code"] != "500", (frame, reply)


def test_server_is_healthy_after_fuzzing(fuzz_server: LocalServer) -> None:
    with fuzz_server.http() as http:
        assert http.get("/healthz").json()["ok"] is True
    assert fuzz_server.process is not None and fuzz_server.process.poll() is None
