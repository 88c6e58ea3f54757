"""DTMF across the whole stack: phone -> app (detect) and app -> phone (send_digits)."""

from __future__ import annotations

import asyncio

from tests.test_play_e2e import answer_next, phone_for
from tests.wire import WireClient
from voxrelay.phone import VirtualPhone
from voxrelay.testing import LocalServer


def detected(app: WireClient, control_id: str) -> list[str]:
    return [
        e["params"]["detect"]["params"]["event"]
        for e in app.events
        if e["event_type"] == "calling.call.detect" and e["params"]["control_id"] == control_id
    ]


async def test_digits_both_ways(relay_server: LocalServer) -> None:
    app = WireClient(relay_server.ws_url)
    await app.connect(relay_server.project, relay_server.token, ["default"])
    phone = asyncio.create_task(
        phone_for(relay_server).call("default", digits="12#9", digits_at=1.0, hangup_after=4.0)
    )
    call_id = await answer_next(app)
    reply = await app.request(
        "calling.detect",
        {
            "call_id": call_id,
            "control_id": "d1",
            "timeout": 2.5,
            "detect": {"type": "digit", "params": {"digits": "0123456789#*"}},
        },
    )
    assert reply["result"]["code"] == "200"
    reply = await app.request(
        "calling.send_digits", {"call_id": call_id, "control_id": "s1", "digits": "4w5*"}
    )
    assert reply["result"]["message"] == "Sending Digits"
    await app.wait_event("calling.call.send_digits", control_id="s1", state="finished")
    await app.wait_event("calling.call.detect", timeout=5, control_id="d1")
    report = await asyncio.wait_for(phone, 15)
    assert detected(app, "d1") == ["1", "2", "#", "9", "finished"]
    assert report.digits_sent == "12#9"
    assert report.digits_heard == "45*"
    await app.close()


async def test_in_band_dtmf_without_telephone_event(relay_server: LocalServer) -> None:
    app = WireClient(relay_server.ws_url)
    await app.connect(relay_server.project, relay_server.token, ["default"])
    phone = VirtualPhone(
        relay_server.http_url, relay_server.project, relay_server.token, telephone_event=None
    )
    call = asyncio.create_task(phone.call("default", hangup_after=3.0))
    call_id = await answer_next(app)
    await app.request(
        "calling.send_digits", {"call_id": call_id, "control_id": "s", "digits": "159#"}
    )
    await app.wait_event("calling.call.send_digits", control_id="s", state="finished", timeout=5)
    report = await asyncio.wait_for(call, 15)
    assert report.digits_heard == "159#"
    reply = await app.request(
        "calling.detect",
        {"call_id": call_id, "control_id": "m", "detect": {"type": "machine", "params": {}}},
    )
    assert reply["result"]["code"] in ("400", "410")
    await app.close()
