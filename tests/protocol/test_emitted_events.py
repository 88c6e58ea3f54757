"""Every event a real server emits is in the vocabulary table, and every component's last
event is one of its terminal states (issue 13: the table is the contract).

One call from a VirtualPhone runs each served component and its controls; the events a
RELAY session receives are then checked against ``voxrelay.protocol.components``.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from tests.test_play_e2e import answer_next, phone_for
from tests.wire import WireClient
from voxrelay.protocol.components import CALL_EVENTS, by_event, event_state
from voxrelay.testing import LocalServer

TTS = [{"type": "tts", "params": {"text": "A sentence long enough to be paused. " * 4}}]


async def run_components(app: WireClient, call_id: str) -> None:
    async def request(method: str, **params: Any) -> None:
        reply = await app.request(method, {"call_id": call_id, **params})
        assert reply["result"]["code"] == "200", (method, reply)

    await request("calling.play", control_id="p", play=TTS)
    await app.wait_event("calling.call.play", control_id="p", state="playing")
    for verb, extra in (("pause", {}), ("resume", {}), ("volume", {"volume": 4.0})):
        await request(f"calling.play.{verb}", control_id="p", **extra)
    await request("calling.play.stop", control_id="p")
    await request("calling.record", control_id="r", record={"audio": {"format": "wav"}})
    await request("calling.record.pause", control_id="r", behavior="silence")
    await request("calling.record.resume", control_id="r")
    await request("calling.record.stop", control_id="r")
    collect = {"initial_timeout": 0.5, "digits": {"max": 2}}
    await request("calling.play_and_collect", control_id="pc", play=TTS[:1], collect=collect)
    await request("calling.play_and_collect.volume", control_id="pc", volume=-3.0)
    await request("calling.collect", control_id="c", digits={"max": 2}, start_input_timers=False)
    await request("calling.collect.stop", control_id="c")
    await request(
        "calling.detect", control_id="d", detect={"type": "digit", "params": {}}, timeout=1
    )
    await request("calling.send_digits", control_id="s", digits="12")
    await app.wait_event("calling.call.detect", control_id="d", timeout=10)
    await app.wait_event("calling.call.send_digits", control_id="s", timeout=10)
    await app.wait_event("calling.call.collect", control_id="pc", timeout=30)
    for _ in range(50):  # the detector's timeout ends it
        if any(
            e["params"].get("detect", {}).get("params", {}).get("event") == "finished"
            for e in app.events
            if e["event_type"] == "calling.call.detect"
        ):
            break
        await asyncio.sleep(0.1)
    await request("calling.end", reason="hangup")
    await app.wait_event("calling.call.state", call_state="ended", timeout=10)


async def test_every_emitted_event_and_state_is_in_the_table(relay_server: LocalServer) -> None:
    app = WireClient(relay_server.ws_url)
    await app.connect(relay_server.project, relay_server.token, ["default"])
    phone = asyncio.create_task(phone_for(relay_server).call("default", hangup_after=40))
    try:
        call_id = await answer_next(app)
        await run_components(app, call_id)
    finally:
        await app.close()
        phone.cancel()
    by_control: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for event in app.events:
        name, payload = event["event_type"], event["params"]
        if not name.startswith("calling."):
            continue
        rows = by_event(name)
        assert rows or name in CALL_EVENTS, f"{name} is not in the table"
        state = event_state(name, payload)
        states = rows[0].states if rows else CALL_EVENTS[name].states
        assert state in states, (name, payload)
        if rows:
            by_control[payload["control_id"]].append((name, state))
        if name == "calling.call.collect":  # 2.x reads a result from every collect event
            assert isinstance(payload.get("result"), dict), payload
    assert set(by_control) == {"p", "r", "pc", "c", "d", "s"}
    for control_id, seen in by_control.items():
        name, state = seen[-1]
        assert any(state in row.terminal for row in by_event(name)), (control_id, seen)
        ends = [i for i, (n, s) in enumerate(seen) if n == name and s in by_event(n)[0].terminal]
        assert ends == [len(seen) - 1], (control_id, seen)  # one end, and it is last
    assert ("calling.call.play", "paused") in by_control["p"]
    assert by_control["pc"][-1][0] == "calling.call.collect"  # its prompt's events first
