"""Inbound calls: offer, answer, hang up from either side, pass, parking, 404/410."""

from __future__ import annotations

import asyncio

from tests.wire import WireClient, until
from voxrelay.testing import LocalServer


async def connected(server: LocalServer, contexts: list[str]) -> WireClient:
    client = WireClient(server.ws_url)
    reply = await client.connect(server.project, server.token, contexts)
    assert "result" in reply, reply
    return client


async def test_inbound_answer_then_app_hangs_up(relay_server: LocalServer) -> None:
    app = await connected(relay_server, ["default"])
    call_id = relay_server.originate("default", "+15551110000", "+15552220000")
    offer = await app.wait_event("calling.call.receive", call_id=call_id)
    p = offer["params"]
    assert p["call_state"] == "created" and p["direction"] == "inbound"
    assert p["context"] == "default" and p["node_id"]
    assert p["device"] == {
        "type": "phone",
        "params": {"from_number": "+15551110000", "to_number": "+15552220000"},
    }
    assert offer["event_channel"] == app.protocol
    assert relay_server.call_state(call_id)["call_state"] == "ringing"

    reply = await app.request("calling.answer", {"node_id": p["node_id"], "call_id": call_id})
    assert reply["result"] == {"code": "200", "message": "Answered"}
    await app.wait_event("calling.call.state", call_id=call_id, call_state="answered")
    assert relay_server.call_state(call_id)["call_state"] == "answered"

    reply = await app.request("calling.end", {"call_id": call_id, "reason": "hangup"})
    assert reply["result"] == {"code": "200", "message": "Disconnecting call"}
    ended = await app.wait_event("calling.call.state", call_id=call_id, call_state="ended")
    assert ended["params"]["end_reason"] == "hangup"
    assert app.states(call_id) == ["ringing", "answered", "ending", "ended"]
    assert relay_server.call_state(call_id)["call_state"] == "ended"

    gone = await app.request("calling.answer", {"call_id": call_id})
    assert gone["result"]["code"] == "410"
    missing = await app.request("calling.end", {"call_id": "no-such-call"})
    assert missing["result"]["code"] == "404"
    await app.close()


async def test_caller_hangs_up_an_answered_call(relay_server: LocalServer) -> None:
    app = await connected(relay_server, ["default"])
    call_id = relay_server.originate("default")
    await app.wait_event("calling.call.receive", call_id=call_id)
    await app.request("calling.answer", {"call_id": call_id})
    await app.wait_event("calling.call.state", call_id=call_id, call_state="answered")
    relay_server.hang_up(call_id)
    ended = await app.wait_event("calling.call.state", call_id=call_id, call_state="ended")
    assert ended["params"]["end_reason"] == "hangup"
    assert app.states(call_id) == ["ringing", "answered", "ending", "ended"]
    await app.close()


async def test_caller_cancels_before_answer(relay_server: LocalServer) -> None:
    app = await connected(relay_server, ["default"])
    call_id = relay_server.originate("default")
    await app.wait_event("calling.call.receive", call_id=call_id)
    relay_server.hang_up(call_id)
    ended = await app.wait_event("calling.call.state", call_id=call_id, call_state="ended")
    assert ended["params"]["end_reason"] == "cancel"
    await app.close()


async def test_pass_offers_the_call_to_the_next_session(relay_server: LocalServer) -> None:
    first = await connected(relay_server, ["default"])
    second = await connected(relay_server, ["default"])
    call_id = relay_server.originate("default")
    await until(
        lambda: (
            any(c.events and c.events[-1] for c in (first, second))
            and any(
                e["event_type"] == "calling.call.receive" for c in (first, second) for e in c.events
            )
        )
    )
    holder, other = (
        (first, second)
        if any(e["event_type"] == "calling.call.receive" for e in first.events)
        else (second, first)
    )
    reply = await holder.request("calling.pass", {"call_id": call_id})
    assert reply["result"] == {"code": "200", "message": "Passing call"}
    await other.wait_event("calling.call.receive", call_id=call_id)
    # the passing session no longer controls it
    refused = await holder.request("calling.pass", {"call_id": call_id})
    assert refused["result"]["code"] == "409"
    await other.request("calling.answer", {"call_id": call_id})
    await other.wait_event("calling.call.state", call_id=call_id, call_state="answered")
    assert relay_server.call_state(call_id)["call_state"] == "answered"
    await first.close()
    await second.close()


async def test_a_call_waits_for_a_session_then_rings_out(relay_server: LocalServer) -> None:
    call_id = relay_server.originate("later", ring_timeout=30)
    await asyncio.sleep(0.2)
    app = await connected(relay_server, ["later"])
    await app.wait_event("calling.call.receive", call_id=call_id)
    short = relay_server.originate("lonely", ring_timeout=0.5)
    await asyncio.sleep(1.0)
    state = relay_server.call_state(short)
    assert state["call_state"] == "ended" and state["end_reason"] == "noAnswer"
    await app.close()


async def test_calls_are_offered_round_robin(relay_server: LocalServer) -> None:
    apps = [await connected(relay_server, ["rr"]) for _ in range(3)]
    calls = [relay_server.originate("rr") for _ in range(6)]
    await until(
        lambda: (
            sum(
                len([e for e in a.events if e["event_type"] == "calling.call.receive"])
                for a in apps
            )
            == 6
        )
    )
    counts = [len([e for e in a.events if e["event_type"] == "calling.call.receive"]) for a in apps]
    assert counts == [2, 2, 2]
    assert {
        e["params"]["call_id"]
        for a in apps
        for e in a.events
        if e["event_type"] == "calling.call.receive"
    } == set(calls)
    for a in apps:
        await a.close()


async def test_projects_are_isolated(relay_server: LocalServer) -> None:
    mine = await connected(relay_server, ["shared"])
    theirs = WireClient(relay_server.ws_url)
    ((other_project, other_token),) = relay_server.other_projects.items()
    await theirs.connect(other_project, other_token, ["shared"])
    call_id = relay_server.originate("shared")
    await mine.wait_event("calling.call.receive", call_id=call_id)
    for method in ("calling.answer", "calling.end", "calling.pass"):
        reply = await theirs.request(method, {"call_id": call_id})
        assert reply["result"]["code"] == "404", (method, reply)
    await asyncio.sleep(0.2)
    assert not any(e["params"].get("call_id") == call_id for e in theirs.events)
    assert relay_server.call_state(call_id)["call_state"] == "ringing"
    # the other project's HTTP credentials cannot see or hang up the call either
    with relay_server.http(other_project, other_token) as http:
        assert http.get(f"/api/virtual/calls/{call_id}").status_code == 404
        assert http.delete(f"/api/virtual/calls/{call_id}").status_code == 404
    await mine.close()
    await theirs.close()
