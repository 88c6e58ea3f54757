"""Collecting what a caller presses and says, across real RTP."""

from __future__ import annotations

import asyncio

import numpy as np

from tests.test_play_e2e import answer_next, phone_for
from tests.wire import WireClient
from voxrelay.media.sources import silence, synthesize
from voxrelay.testing import LocalServer


async def started(server: LocalServer, **phone_kw: object) -> tuple[WireClient, str, asyncio.Task]:  # type: ignore[type-arg]
    app = WireClient(server.ws_url)
    await app.connect(server.project, server.token, ["default"])
    phone = asyncio.create_task(phone_for(server).call("default", **phone_kw))  # type: ignore[arg-type]
    return app, await answer_next(app), phone


async def test_prompt_with_barge_in_collects_digits(relay_server: LocalServer) -> None:
    app, call_id, phone = await started(
        relay_server, digits="1234#", digits_at=1.5, hangup_after=6.0
    )
    reply = await app.request(
        "calling.play_and_collect",
        {
            "call_id": call_id,
            "control_id": "menu",
            "play": [
                {
                    "type": "tts",
                    "params": {
                        "text": "Please enter your account number, followed by the pound key. " * 3
                    },
                }
            ],
            "collect": {
                "initial_timeout": 5.0,
                "digits": {"max": 8, "terminators": "#", "digit_timeout": 3.0},
            },
        },
    )
    assert reply["result"] == {
        "code": "200",
        "message": "Collecting",
        "call_id": call_id,
        "control_id": "menu",
    }
    result = await app.wait_event("calling.call.collect", control_id="menu", timeout=10)
    assert result["params"]["result"] == {
        "type": "digit",
        "params": {"digits": "1234", "terminator": "#"},
    }
    plays = [
        (e["params"]["state"], app.events.index(e))
        for e in app.events
        if e["event_type"] == "calling.call.play" and e["params"]["control_id"] == "menu"
    ]
    assert [state for state, _ in plays] == ["playing", "finished"]
    assert plays[-1][1] < app.events.index(result)  # the prompt stopped at the first key
    report = await asyncio.wait_for(phone, 15)
    # barge-in: the long prompt (about 12 s) stopped soon after the first key at 1.5 s
    heard = report.heard_after_answer()
    heard = heard[: len(heard) // 160 * 160]
    voiced = np.abs(heard.reshape(-1, 160)).max(axis=1) > 1000
    assert voiced[:60].any() and not voiced[150:].any()
    await app.close()


async def test_digit_timeout_and_no_input(relay_server: LocalServer) -> None:
    app, call_id, phone = await started(relay_server, digits="12", digits_at=0.5, hangup_after=6.0)
    await app.request(
        "calling.collect",
        {
            "call_id": call_id,
            "control_id": "c1",
            "initial_timeout": 3.0,
            "digits": {"max": 4, "digit_timeout": 1.0},
        },
    )
    got = await app.wait_event("calling.call.collect", control_id="c1", timeout=6)
    assert got["params"]["result"] == {"type": "digit", "params": {"digits": "12"}}
    await app.request(
        "calling.collect",
        {"call_id": call_id, "control_id": "c2", "initial_timeout": 1.0, "digits": {"max": 4}},
    )
    got = await app.wait_event("calling.call.collect", control_id="c2", timeout=6)
    assert got["params"]["result"] == {"type": "no_input"}  # when: tests/media/test_collector
    await asyncio.wait_for(phone, 15)
    await app.close()


async def test_speech_is_recognised_with_hints(relay_server: LocalServer) -> None:
    words = np.concatenate([synthesize("sales", voice="espeak.en-us+f2"), silence(2.0)])
    app, call_id, phone = await started(relay_server, audio=words, play_at=0.8, hangup_after=6.0)
    await app.request(
        "calling.collect",
        {
            "call_id": call_id,
            "control_id": "sp",
            "initial_timeout": 4.0,
            "send_start_of_input": True,
            "speech": {"end_silence_timeout": 0.8, "hints": ["sales", "support", "billing"]},
        },
    )
    first = await app.wait_event("calling.call.collect", control_id="sp", timeout=8)
    assert first["params"]["result"]["type"] == "start_of_input"
    final = await app.wait_event("calling.call.collect", control_id="sp", final=True, timeout=8)
    result = final["params"]["result"]
    assert result["type"] == "speech" and result["params"]["text"] == "sales"
    assert 0 <= result["params"]["confidence"] <= 100
    await asyncio.wait_for(phone, 15)
    await app.close()


async def test_stop_and_bad_params(relay_server: LocalServer) -> None:
    app, call_id, phone = await started(relay_server, hangup_after=3.0)
    reply = await app.request("calling.collect", {"call_id": call_id, "control_id": "x"})
    assert reply["result"]["code"] == "400" and "digits, speech" in reply["result"]["message"]
    await app.request(
        "calling.collect",
        {"call_id": call_id, "control_id": "s", "start_input_timers": False, "digits": {"max": 2}},
    )
    await asyncio.sleep(0.5)
    reply = await app.request("calling.collect.stop", {"call_id": call_id, "control_id": "s"})
    assert reply["result"]["code"] == "200"
    stopped = await app.wait_event("calling.call.collect", control_id="s")
    assert stopped["params"]["state"] == "finished"
    await asyncio.wait_for(phone, 10)
    await app.close()
