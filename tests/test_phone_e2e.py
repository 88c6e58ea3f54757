"""An app dials a virtual phone registered (SIP REGISTER) for a number; they talk over real
SIP and RTP."""

from __future__ import annotations

import asyncio

import numpy as np

from tests.test_play_e2e import phone_for
from tests.wire import WireClient
from voxrelay.testing import LocalServer

NUMBER = "+15550109999"


async def test_an_app_dials_a_waiting_virtual_phone(relay_server: LocalServer) -> None:
    app = WireClient(relay_server.ws_url)
    await app.connect(relay_server.project, relay_server.token, [])
    ready = asyncio.Event()
    phone = asyncio.create_task(
        phone_for(relay_server).answer_calls(
            NUMBER, answer_after=0.5, say="Hello, this is the virtual phone.", on_ready=ready.set
        )
    )
    await asyncio.wait_for(ready.wait(), 10)
    await app.request(
        "calling.dial",
        {
            "tag": "vp",
            "devices": [
                [
                    {
                        "type": "phone",
                        "params": {
                            "from_number": "+15553334444",
                            "to_number": NUMBER,
                            "timeout": 10,
                        },
                    }
                ]
            ],
        },
    )
    answered = await app.wait_event("calling.call.dial", dial_state="answered", timeout=10)
    call_id = answered["params"]["call"]["call_id"]
    assert app.states(call_id) == ["created", "ringing", "answered"]
    await app.request("calling.send_digits", {"call_id": call_id, "control_id": "k", "digits": "7"})
    rec = await app.request(
        "calling.record",
        {
            "call_id": call_id,
            "control_id": "r",
            "record": {"audio": {"format": "wav", "end_silence_timeout": 0}},
        },
    )
    assert rec["result"]["code"] == "200"
    await asyncio.sleep(3.0)
    await app.request("calling.end", {"call_id": call_id})
    done = await app.wait_event("calling.call.record", control_id="r", state="finished")
    (report,) = await asyncio.wait_for(phone, 10)
    assert report.answered and report.digits_heard == "7"
    with relay_server.http() as http:
        import io

        import soundfile

        audio, _ = soundfile.read(
            io.BytesIO(http.get(done["params"]["url"]).content), dtype="int16"
        )
    voiced = np.abs(audio.reshape(-1, 160)).max(axis=1) > 1000
    assert voiced.sum() > 50  # the phone's greeting is in the app's recording
    await app.close()


async def test_no_answer_then_nobody_waiting(relay_server: LocalServer) -> None:
    app = WireClient(relay_server.ws_url)
    await app.connect(relay_server.project, relay_server.token, [])
    ready = asyncio.Event()
    phone = asyncio.create_task(
        phone_for(relay_server).answer_calls(
            NUMBER, answer_after=60, max_duration=2.0, on_ready=ready.set
        )
    )
    await asyncio.wait_for(ready.wait(), 10)
    await app.request(
        "calling.dial",
        {
            "tag": "na",
            "devices": [
                [
                    {
                        "type": "phone",
                        "params": {"from_number": "+1", "to_number": NUMBER, "timeout": 1},
                    }
                ]
            ],
        },
    )
    failed = await app.wait_event("calling.call.dial", dial_state="failed", tag="na", timeout=10)
    assert failed["params"]["reason"] == "noAnswer"
    await asyncio.wait_for(phone, 10)
    await app.request(
        "calling.dial",
        {
            "tag": "gone",
            "devices": [[{"type": "phone", "params": {"from_number": "+1", "to_number": NUMBER}}]],
        },
    )
    failed = await app.wait_event("calling.call.dial", dial_state="failed", tag="gone")
    assert failed["params"]["reason"] == "not_found"  # unregistered (Expires: 0) on leaving
    await app.close()
