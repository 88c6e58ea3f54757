"""signalwire.connect: auth, result shape, protocol string, authorization state, contexts."""

from __future__ import annotations

import asyncio

import pytest

from tests.wire import WireClient
from voxrelay.testing import LocalServer


async def test_connect_result_and_protocol_string(relay_server: LocalServer) -> None:
    client = WireClient(relay_server.ws_url)
    reply = await client.connect(relay_server.project, relay_server.token, ["default"])
    result = reply["result"]
    assert result["session_restored"] is False
    for key in ("sessionid", "nodeid", "master_nodeid", "identity", "protocol"):
        assert isinstance(result[key], str) and result[key]
    prefix, signature, session_uuid, project = result["protocol"].split("_", 3)
    assert prefix == "signalwire"
    assert signature == result["authorization"]["signature"]
    assert session_uuid == result["sessionid"]
    assert project == relay_server.project
    assert result["authorization"]["project"] == relay_server.project
    state = await client.wait_event("signalwire.authorization.state")
    assert ":" in state["params"]["authorization_state"]
    await client.close()


async def test_any_version_is_accepted(relay_server: LocalServer) -> None:
    for version in ({"major": 3, "minor": 0, "revision": 0}, {"major": 2, "minor": 3}):
        client = WireClient(relay_server.ws_url)
        reply = await client.connect(relay_server.project, relay_server.token, version=version)
        assert "result" in reply, reply
        await client.close()


async def test_bad_credentials_get_32002_and_the_socket_closes(relay_server: LocalServer) -> None:
    client = WireClient(relay_server.ws_url)
    reply = await client.connect(relay_server.project, "wrong-token")
    assert reply["error"]["code"] == -32002
    assert "401" in reply["error"]["message"]
    assert "wrong-token" not in str(reply)
    await asyncio.wait_for(client.closed.wait(), 5)


async def test_unknown_project_is_refused_like_a_bad_token(relay_server: LocalServer) -> None:
    client = WireClient(relay_server.ws_url)
    reply = await client.connect("no-such-project", relay_server.token)
    assert reply["error"]["code"] == -32002
    await asyncio.wait_for(client.closed.wait(), 5)


@pytest.mark.filterwarnings(
    "ignore::jwt.warnings.InsecureKeyLengthWarning"
)  # test tokens are short
async def test_jwt_signed_with_the_project_token_authenticates(relay_server: LocalServer) -> None:
    import jwt

    token = jwt.encode(
        {"project": relay_server.project, "scopes": ["calling"]},
        relay_server.token,
        algorithm="HS256",
    )
    client = WireClient(relay_server.ws_url)
    await client.open()
    reply = await client.request(
        "signalwire.connect",
        {
            "version": {"major": 2, "minor": 0, "revision": 0},
            "authentication": {"jwt_token": token},
        },
    )
    assert reply["result"]["authorization"]["scopes"] == ["calling"]
    await client.close()
    forged = jwt.encode({"project": relay_server.project}, "not-the-token", algorithm="HS256")
    bad = WireClient(relay_server.ws_url)
    await bad.open()
    reply = await bad.request(
        "signalwire.connect",
        {
            "version": {"major": 2},
            "authentication": {"jwt_token": forged},
        },
    )
    assert reply["error"]["code"] == -32002


async def test_receive_and_unreceive_contexts(relay_server: LocalServer) -> None:
    client = WireClient(relay_server.ws_url)
    await client.connect(relay_server.project, relay_server.token)
    reply = await client.request("signalwire.receive", {"contexts": ["sales", "support"]})
    assert reply["result"] == {"code": "200", "message": "Receiving events"}
    call_id = relay_server.originate("support")
    await client.wait_event("calling.call.receive", call_id=call_id, context="support")
    reply = await client.request("signalwire.unreceive", {"contexts": ["sales"]})
    assert reply["result"]["code"] == "200"
    parked = relay_server.originate("sales")
    await asyncio.sleep(0.3)
    assert not any(e["params"].get("call_id") == parked for e in client.events)
    await client.close()


async def test_client_ping_is_answered(relay_server: LocalServer) -> None:
    client = WireClient(relay_server.ws_url)
    await client.connect(relay_server.project, relay_server.token)
    reply = await client.request("signalwire.ping", {"timestamp": 123.5})
    assert reply["result"] == {"timestamp": 123.5}
    reply = await client.request("signalwire.ping", {})
    assert isinstance(reply["result"]["timestamp"], float)
    await client.close()
