"""Every event the server emits is in the vocabulary table, every component's last event is
its one terminal event, and a Blade (2.x) session never receives a state 2.x would take as
the end of a component that goes on (issue 13: the table is the contract).

One call from a virtual phone runs each served component and its controls, in process
(``voxrelay.inprocess``), once for a ``signalwire.connect`` session and once for a Blade one;
the events each received are checked against ``voxrelay.protocol.components``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from voxrelay.inprocess import InProcessServer, RelayTestSession
from voxrelay.protocol.components import CALL_EVENTS, by_event, event_state

TTS = [{"type": "tts", "params": {"text": "A sentence long enough to be paused. " * 4}}]


async def run_components(app: RelayTestSession, ids: dict[str, str]) -> None:
    async def request(method: str, **params: Any) -> None:
        result = await app.execute(method, {**ids, **params})
        assert result["code"] == "200", (method, result)

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
    await request("calling.collect.start_input_timers", control_id="c")
    await request("calling.collect.stop", control_id="c")
    detect = {"type": "digit", "params": {}}
    await request("calling.detect", control_id="d", detect=detect, timeout=1)
    await request("calling.send_digits", control_id="s", digits="12")
    await app.wait_event("calling.call.send_digits", control_id="s", timeout=10)
    await app.wait_event("calling.call.collect", control_id="pc", timeout=30)
    await app.wait_event(
        "calling.call.detect",
        control_id="d",
        detect={"type": "digit", "params": {"event": "finished"}},
    )
    await request("calling.end", reason="hangup")
    await app.wait_event("calling.call.state", call_id=ids["call_id"], call_state="ended")


def check(events: list[tuple[str, dict[str, Any]]], dialect: str) -> None:
    by_control: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for name, payload in events:
        if not name.startswith("calling."):
            continue
        rows = by_event(name)
        assert rows or name in CALL_EVENTS, f"{name} is not in the table"
        state = event_state(name, payload)
        states = rows[0].states if rows else CALL_EVENTS[name].states
        assert state in states, (name, payload)
        if rows:
            by_control[payload["control_id"]].append((name, state))
            if dialect == "blade":  # 2.x would end the component on these
                assert all(state not in row.blade_hidden for row in rows), (name, payload)
        if name == "calling.call.collect":  # 2.x reads a result from every collect event
            assert isinstance(payload.get("result"), dict), payload
    assert set(by_control) == {"p", "r", "pc", "c", "d", "s"}
    for control_id, seen in by_control.items():
        name, state = seen[-1]
        assert any(state in row.terminal for row in by_event(name)), (control_id, seen)
        ends = [i for i, (n, s) in enumerate(seen) if n == name and s in by_event(n)[0].terminal]
        assert ends == [len(seen) - 1], (control_id, seen)  # one end, and it is last
    assert by_control["pc"][-1][0] == "calling.call.collect"  # its prompt's events first
    paused = ("calling.call.play", "paused") in by_control["p"]
    assert paused is (dialect == "signalwire"), by_control["p"]


@pytest.mark.parametrize("dialect", ["signalwire", "blade"])
async def test_every_emitted_event_and_state_is_in_the_table(dialect: str) -> None:
    async with InProcessServer() as server:
        app = await server.session(["default"], dialect=dialect)
        call = await server.call_in(app, hangup_after=40)
        await run_components(app, call.ids)
        events = [(e.event_type, e.params) for e in app.events]
    check(events, dialect)
