"""calling.dial: tag correlation, serial/parallel devices, first answer wins, failures."""

from __future__ import annotations

from tests.server.test_calls import connected
from tests.wire import WireClient
from voxrelay.testing import LocalServer


def phone(to: str, timeout: int = 30) -> dict[str, object]:
    return {
        "type": "phone",
        "params": {"from_number": "+15553334444", "to_number": to, "timeout": timeout},
    }


def dial_events(client: WireClient, tag: str) -> list[str]:
    return [
        e["params"]["dial_state"]
        for e in client.events
        if e["event_type"] == "calling.call.dial" and e["params"]["tag"] == tag
    ]


async def test_parallel_dial_first_answer_wins(relay_server: LocalServer) -> None:
    caller = await connected(relay_server, [])
    office = await connected(relay_server, ["office"])
    sales = await connected(relay_server, ["sales"])
    reply = await caller.request(
        "calling.dial", {"tag": "t-1", "devices": [[phone("+15550100001"), phone("+15550100002")]]}
    )
    assert reply["result"]["code"] == "200" and "call_id" not in reply["result"]

    sales_offer = await sales.wait_event("calling.call.receive")
    office_offer = await office.wait_event("calling.call.receive")
    assert sales_offer["params"]["device"]["params"]["from_number"] == "+15553334444"
    await sales.request("calling.answer", {"call_id": sales_offer["params"]["call_id"]})

    answered = await caller.wait_event("calling.call.dial", dial_state="answered")
    winner = answered["params"]["call"]
    assert winner["dial_winner"] is True and winner["tag"] == "t-1"
    assert winner["device"]["params"]["to_number"] == "+15550100002"
    assert dial_events(caller, "t-1") == ["dialing", "answered"]

    created = [
        e["params"]
        for e in caller.events
        if e["event_type"] == "calling.call.state" and e["params"]["call_state"] == "created"
    ]
    assert len(created) == 2
    assert all(
        c["tag"] == "t-1" and c["created_by"] == "dial" and c["direction"] == "outbound"
        for c in created
    )
    loser = next(c["call_id"] for c in created if c["call_id"] != winner["call_id"])
    assert caller.states(winner["call_id"]) == ["created", "ringing", "answered"]
    assert caller.states(loser) == ["created", "ringing", "ending", "ended"]
    lost = await caller.wait_event("calling.call.state", call_id=loser, call_state="ended")
    assert lost["params"]["end_reason"] == "cancel"
    cancelled = await office.wait_event(
        "calling.call.state", call_id=office_offer["params"]["call_id"], call_state="ended"
    )
    assert cancelled["params"]["end_reason"] == "cancel"

    # hanging up the dialled leg ends the far side too
    await caller.request("calling.end", {"call_id": winner["call_id"]})
    far = await sales.wait_event(
        "calling.call.state", call_id=sales_offer["params"]["call_id"], call_state="ended"
    )
    assert far["params"]["end_reason"] == "hangup"
    for c in (caller, office, sales):
        await c.close()


async def test_serial_dial_moves_to_the_next_step(relay_server: LocalServer) -> None:
    caller = await connected(relay_server, [])
    support = await connected(relay_server, ["support"])
    await caller.request(
        "calling.dial",
        {"tag": "t-2", "devices": [[phone("+19999999999")], [phone("+15550100003")]]},
    )
    offer = await support.wait_event("calling.call.receive")
    await support.request("calling.answer", {"call_id": offer["params"]["call_id"]})
    answered = await caller.wait_event("calling.call.dial", dial_state="answered")
    assert answered["params"]["call"]["device"]["params"]["to_number"] == "+15550100003"
    assert dial_events(caller, "t-2") == ["dialing", "answered"]
    await caller.close()
    await support.close()


async def test_dial_fails_when_nobody_answers(relay_server: LocalServer) -> None:
    caller = await connected(relay_server, [])
    await caller.request("calling.dial", {"tag": "t-3", "devices": [[phone("+19999999999")]]})
    failed = await caller.wait_event("calling.call.dial", dial_state="failed")
    assert failed["params"]["reason"] == "not_found"
    office = await connected(relay_server, ["office"])
    await caller.request("calling.dial", {"tag": "t-4", "devices": [[phone("+15550100001", 1)]]})
    await office.wait_event("calling.call.receive")
    failed = await caller.wait_event("calling.call.dial", dial_state="failed", tag="t-4")
    assert failed["params"]["reason"] == "noAnswer"
    await caller.close()
    await office.close()


async def test_sip_device_reaches_a_number_by_its_user_part(relay_server: LocalServer) -> None:
    caller = await connected(relay_server, [])
    office = await connected(relay_server, ["office"])
    await caller.request(
        "calling.dial",
        {
            "tag": "t-5",
            "devices": [
                [
                    {
                        "type": "sip",
                        "params": {
                            "from": "sip:me@example.com",
                            "to": "sip:+15550100001@voxrelay.local",
                        },
                    }
                ]
            ],
        },
    )
    offer = await office.wait_event("calling.call.receive")
    assert offer["params"]["device"]["type"] == "sip"
    await office.request("calling.answer", {"call_id": offer["params"]["call_id"]})
    await caller.wait_event("calling.call.dial", dial_state="answered")
    await caller.close()
    await office.close()


async def test_dial_params_are_validated(relay_server: LocalServer) -> None:
    caller = await connected(relay_server, [])
    reply = await caller.request("calling.dial", {"tag": "x", "devices": []})
    assert reply["result"]["code"] == "400" and "devices" in reply["result"]["message"]
    reply = await caller.request("calling.dial", {"devices": [[{"params": {}}]]})
    assert reply["result"]["code"] == "400" and "devices.0.0.type" in reply["result"]["message"]
    await caller.close()
