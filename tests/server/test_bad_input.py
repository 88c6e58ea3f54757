"""Bad input on the RELAY socket gets a clear error; the server and other sessions stay up."""

from __future__ import annotations

import asyncio
import contextlib
import json

import websockets

from tests.server.test_calls import connected
from tests.wire import WireClient, until
from voxrelay.testing import LocalServer


def errors(client: WireClient) -> list[dict[str, object]]:
    return [r["error"] for r in client.server_requests if "error" in r]


async def assert_alive(server: LocalServer, client: WireClient) -> None:
    reply = await client.request("signalwire.ping", {})
    assert "result" in reply
    with server.http() as http:
        assert http.get("/healthz").json()["ok"] is True


async def test_malformed_json_gets_parse_error(relay_server: LocalServer) -> None:
    client = await connected(relay_server, [])
    for junk in ("{not json", "", "[]", "42", '"str"', "\x00\xff", '{"jsonrpc":"1.0","id":"a"}'):
        await client.send(junk)
    await until(lambda: len(errors(client)) == 7)
    codes = [e["code"] for e in errors(client)]
    assert codes[0] == -32700 and codes[1] == -32700
    assert set(codes[2:]) <= {-32600, -32700}
    assert all(e["message"] for e in errors(client))
    await assert_alive(relay_server, client)


async def test_unknown_method_is_32601(relay_server: LocalServer) -> None:
    client = await connected(relay_server, [])
    reply = await client.request("calling.teleport", {"call_id": "x"})
    assert reply["error"]["code"] == -32601
    assert "calling.teleport" in reply["error"]["message"]


async def test_invalid_params_name_the_field(relay_server: LocalServer) -> None:
    client = await connected(relay_server, [])
    reply = await client.request("calling.answer", {})
    assert reply["result"]["code"] == "400" and "call_id" in reply["result"]["message"]
    reply = await client.request("calling.end", {"call_id": "c", "reason": "boredom"})
    assert reply["result"]["code"] == "400" and "reason" in reply["result"]["message"]
    reply = await client.request("signalwire.receive", {"contexts": "default"})
    assert reply["result"]["code"] == "400" and "contexts" in reply["result"]["message"]
    await client.send({"jsonrpc": "2.0", "id": "p1", "method": "calling.answer", "params": [1]})
    await until(lambda: any(e["code"] == -32602 for e in errors(client)))
    await assert_alive(relay_server, client)


async def test_requests_before_connect_are_refused(relay_server: LocalServer) -> None:
    client = WireClient(relay_server.ws_url)
    await client.open()
    reply = await client.request("calling.answer", {"call_id": "x"})
    assert reply["error"]["code"] == -32001
    assert "signalwire.connect" in reply["error"]["message"]
    reply = await client.request("signalwire.connect", {"authentication": {}})
    assert reply["error"]["code"] == -32602 and "version" in reply["error"]["message"]
    reply = await client.connect(relay_server.project, relay_server.token)
    assert "result" in reply
    again = await client.connect(relay_server.project, relay_server.token)
    assert again["error"]["code"] == -32600


async def test_oversized_frames_are_refused(relay_server: LocalServer) -> None:
    client = await connected(relay_server, [])
    big = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": "big",
            "method": "signalwire.ping",
            "params": {"payload": "x" * (2 * 1024 * 1024)},
        }
    )
    await client.send(big)
    await until(lambda: any(e["code"] == -32003 for e in errors(client)))
    await assert_alive(relay_server, client)
    # a frame beyond the transport limit closes only that socket
    huge = WireClient(relay_server.ws_url)
    await huge.connect(relay_server.project, relay_server.token)
    with contextlib.suppress(websockets.ConnectionClosed):  # closed while still sending
        await huge.send("x" * (17 * 1024 * 1024))
    await asyncio.wait_for(huge.closed.wait(), 10)
    await assert_alive(relay_server, client)


async def test_a_ping_flood_is_rate_limited_without_hurting_others(
    relay_server: LocalServer,
) -> None:
    bystander = await connected(relay_server, ["default"])
    flooder = await connected(relay_server, [])
    frame = json.dumps({"jsonrpc": "2.0", "id": "f", "method": "signalwire.ping", "params": {}})
    assert flooder.ws is not None
    for _ in range(5000):
        await flooder.ws.send(frame)
    await until(lambda: any(e["code"] == -32004 for e in errors(flooder)), timeout=10)
    call_id = relay_server.originate("default")
    await bystander.wait_event("calling.call.receive", call_id=call_id)
    await asyncio.sleep(1.0)
    await assert_alive(relay_server, flooder)
    await assert_alive(relay_server, bystander)
