"""Session resume: a client that reconnects with its protocol keeps its calls and gets every
event it missed, once and in order; an expired or foreign protocol starts a fresh session."""

from __future__ import annotations

import asyncio

from tests.server.test_calls import connected
from tests.wire import WireClient, until
from voxrelay.testing import LocalServer


async def test_resume_replays_missed_events_in_order(relay_server: LocalServer) -> None:
    app = await connected(relay_server, ["default"])
    protocol = app.protocol
    call_id = relay_server.originate("default")
    await app.wait_event("calling.call.receive", call_id=call_id)
    await app.request("calling.answer", {"call_id": call_id})
    await app.wait_event("calling.call.state", call_id=call_id, call_state="answered")
    seen_before = list(app.event_ids)

    await app.drop()
    # while the client is away: the caller hangs up, and a second call arrives
    relay_server.hang_up(call_id)
    second = relay_server.originate("default")
    await asyncio.sleep(0.3)

    back = WireClient(relay_server.ws_url)
    reply = await back.connect(relay_server.project, relay_server.token, protocol=protocol)
    result = reply["result"]
    assert result["session_restored"] is True
    assert result["protocol"] == protocol
    await back.wait_event("calling.call.receive", call_id=second)
    await back.wait_event("signalwire.authorization.state")
    missed = [
        (e["event_type"], e["params"].get("call_id"), e["params"].get("call_state"))
        for e in back.events
        if e["event_type"] != "signalwire.authorization.state"
    ]
    assert missed == [
        ("calling.call.state", call_id, "ending"),
        ("calling.call.state", call_id, "ended"),
        ("calling.call.receive", second, "created"),
        ("calling.call.state", second, "ringing"),
    ]
    assert not set(back.event_ids) & set(seen_before)
    # the resumed session still controls its calls
    reply = await back.request("calling.answer", {"call_id": second})
    assert reply["result"]["code"] == "200"
    await back.close()


async def test_unacknowledged_events_are_sent_again(relay_server: LocalServer) -> None:
    app = WireClient(relay_server.ws_url, auto_ack=False)
    await app.connect(relay_server.project, relay_server.token, ["default"])
    call_id = relay_server.originate("default")
    offer = await app.wait_event("calling.call.receive", call_id=call_id)
    unacked = list(app.event_ids)
    await app.drop()
    back = WireClient(relay_server.ws_url)
    await back.connect(relay_server.project, relay_server.token, protocol=app.protocol)
    await back.wait_event("calling.call.receive", call_id=call_id)
    await until(lambda: len(back.event_ids) >= len(unacked))
    assert back.event_ids[: len(unacked)] == unacked
    assert offer["params"]["call_id"] == call_id
    await back.close()


async def test_protocol_of_another_project_is_not_resumed(relay_server: LocalServer) -> None:
    app = await connected(relay_server, ["default"])
    await app.drop()
    ((other_project, other_token),) = relay_server.other_projects.items()
    thief = WireClient(relay_server.ws_url)
    reply = await thief.connect(other_project, other_token, protocol=app.protocol)
    assert reply["result"]["session_restored"] is False
    assert reply["result"]["protocol"] != app.protocol
    await thief.close()


async def test_session_expires_after_the_grace_period(relay_server: LocalServer) -> None:
    # relay_server runs with --resume-grace 5
    app = await connected(relay_server, ["default"])
    call_id = relay_server.originate("default")
    await app.wait_event("calling.call.receive", call_id=call_id)
    await app.request("calling.answer", {"call_id": call_id})
    await app.drop()
    await asyncio.sleep(6.5)
    state = relay_server.call_state(call_id)
    assert state["call_state"] == "ended"
    late = WireClient(relay_server.ws_url)
    reply = await late.connect(relay_server.project, relay_server.token, protocol=app.protocol)
    assert reply["result"]["session_restored"] is False
    await late.close()


async def test_a_second_socket_takes_the_session_over(relay_server: LocalServer) -> None:
    first = await connected(relay_server, ["default"])
    second = WireClient(relay_server.ws_url)
    reply = await second.connect(relay_server.project, relay_server.token, protocol=first.protocol)
    assert reply["result"]["session_restored"] is True
    await asyncio.wait_for(first.closed.wait(), 5)
    call_id = relay_server.originate("default")
    await second.wait_event("calling.call.receive", call_id=call_id)
    await second.close()


async def test_a_request_resent_after_resume_is_not_executed_twice(
    relay_server: LocalServer,
) -> None:
    caller = await connected(relay_server, [])
    office = await connected(relay_server, ["office"])
    dial = {
        "jsonrpc": "2.0",
        "id": "dial-once",
        "method": "calling.dial",
        "params": {
            "tag": "t-once",
            "devices": [
                [
                    {
                        "type": "phone",
                        "params": {"from_number": "+15553334444", "to_number": "+15550100001"},
                    }
                ]
            ],
        },
    }
    await caller.send(dial)
    await office.wait_event("calling.call.receive")
    await caller.drop()
    back = WireClient(relay_server.ws_url)
    await back.connect(relay_server.project, relay_server.token, protocol=caller.protocol)
    fut = asyncio.get_running_loop().create_future()
    back._responses["dial-once"] = fut
    await back.send(dial)
    reply = await asyncio.wait_for(fut, 5)
    assert reply["result"]["code"] == "200"
    await asyncio.sleep(0.5)
    offers = [e for e in office.events if e["event_type"] == "calling.call.receive"]
    assert len(offers) == 1
    await back.close()
    await office.close()


async def test_new_calls_go_to_connected_sessions_before_one_that_is_away(
    relay_server: LocalServer,
) -> None:
    away = await connected(relay_server, ["shared"])
    here = await connected(relay_server, ["shared"])
    await away.drop()
    calls = [relay_server.originate("shared") for _ in range(3)]
    for call_id in calls:
        await here.wait_event("calling.call.receive", call_id=call_id)
    await here.close()
