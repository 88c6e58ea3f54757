"""Command handlers through the in-process seam (voxrelay.inprocess): the server app in the
test's event loop, a virtual phone calling in over loopback SIP/RTP, no subprocess."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from voxrelay.inprocess import (
    InProcessServer,
    PhoneCall,
    RelayRpcError,
    RelayTestSession,
    WebSocketClosed,
)
from voxrelay.media.frames import RATE, Frame
from voxrelay.media.sources import tone
from voxrelay.server.config import ServerConfig
from voxrelay.testing import InProcessServer as ReExported

PLAY = "calling.call.play"
RECORD = "calling.call.record"
TONES = (500.0, 700.0, 900.0)


@pytest.fixture
def tone_files(tmp_path: Path) -> dict[float, dict[str, Any]]:
    """Play items of 0.6 s tone files (one per frequency of TONES) in ``tmp_path``."""
    items = {}
    for hz in TONES:
        path = tmp_path / f"{int(hz)}.wav"
        soundfile.write(str(path), tone((hz,), 0.6, level_dbfs=-12), RATE, subtype="PCM_16")
        items[hz] = {"type": "audio", "params": {"url": path.as_uri()}}
    return items


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[InProcessServer]:
    """The app in-process; file:// audio may come from ``tmp_path``."""

    def media_dir(cfg: ServerConfig) -> None:
        cfg.media_dirs = [tmp_path]

    async with InProcessServer(config_hook=media_dir) as running:
        yield running


def ringtone(seconds: float) -> list[dict[str, Any]]:
    return [{"type": "ringtone", "params": {"name": "us", "duration": seconds}}]


def states(app: RelayTestSession, event_type: str, control_id: str) -> list[str]:
    return [e.params["state"] for e in app.matching(event_type, control_id=control_id)]


def strongest_of(audio: Frame, candidates: tuple[float, ...]) -> float:
    """Which candidate frequency carries the most energy in ``audio``."""
    spectrum = np.abs(np.fft.rfft(audio.astype(float)))
    bins = np.fft.rfftfreq(len(audio), 1 / RATE)
    return max(candidates, key=lambda hz: spectrum[np.abs(bins - hz) < 15].sum())


def tones_present(audio: Frame, candidates: tuple[float, ...]) -> set[float]:
    """The candidates that are the strongest of some loud 100 ms stretch of ``audio``."""
    found = set()
    for start in range(0, len(audio) - 800, 800):
        chunk = audio[start : start + 800]
        if np.abs(chunk).max() > 2000:
            found.add(strongest_of(chunk, candidates))
    return found


async def answered(server: InProcessServer, **phone: Any) -> tuple[RelayTestSession, PhoneCall]:
    app = await server.session(contexts=["default"])
    return app, await server.call_in(app, **phone)


async def test_the_seam_is_exported_by_voxrelay_testing() -> None:
    assert ReExported is InProcessServer


async def test_play_to_its_end_then_a_play_stopped_midway(
    server: InProcessServer, tone_files: dict[float, dict[str, Any]]
) -> None:
    app, call = await answered(server)
    whole = await app.execute(
        "calling.play", {**call.ids, "control_id": "a", "play": [tone_files[500.0]]}
    )
    assert whole["code"] == "200" and whole["control_id"] == "a"
    await app.wait_event(PLAY, control_id="a", state="finished")
    assert states(app, PLAY, "a") == ["playing", "finished"]

    await app.execute("calling.play", {**call.ids, "control_id": "b", "play": ringtone(30)})
    await app.wait_event(PLAY, control_id="b", state="playing")
    stopped = await app.execute("calling.play.stop", {**call.ids, "control_id": "b"})
    assert stopped["code"] == "200"
    await app.wait_event(PLAY, control_id="b", state="finished")
    assert states(app, PLAY, "b") == ["playing", "finished"]
    await app.execute("calling.end", {**call.ids, "reason": "hangup"})
    report = await call.report()
    assert report.answered and report.end_reason == "hangup"
    assert 500.0 in tones_present(report.heard_after_answer(), TONES)  # the phone heard it


async def test_unknown_control_id_is_404_and_a_duplicate_is_409(server: InProcessServer) -> None:
    app, call = await answered(server)
    first = await app.execute(
        "calling.play", {**call.ids, "control_id": "p1", "play": ringtone(30)}
    )
    assert first["code"] == "200"
    again = await app.execute("calling.play", {**call.ids, "control_id": "p1", "play": ringtone(1)})
    assert again["code"] == "409"
    for method in ("calling.play.pause", "calling.play.stop", "calling.record.stop"):
        missing = await app.execute(method, {**call.ids, "control_id": "no-such-control"})
        assert missing["code"] == "404", (method, missing)
    record = await app.execute("calling.record.pause", {**call.ids, "control_id": "p1"})
    assert record["code"] == "404"  # p1 is a play, not a recording
    gone = await app.execute(
        "calling.play", {"call_id": "no-such-call", "control_id": "x", "play": ringtone(1)}
    )
    assert gone["code"] == "404"
    assert states(app, PLAY, "p1") == ["playing"]  # the refused commands changed nothing


async def test_a_paused_recording_skips_what_was_played_meanwhile(
    server: InProcessServer, tone_files: dict[float, dict[str, Any]]
) -> None:
    """Record what the caller hears: tone A, pause, tone B, resume, tone C. Each play ends
    before the next command, so the order is the events', not the clock's."""
    app, call = await answered(server)
    started = await app.execute(
        "calling.record",
        {
            **call.ids,
            "control_id": "r",
            "record": {"audio": {"format": "wav", "direction": "listen"}},
        },
    )
    assert started["code"] == "200"
    await app.wait_event(RECORD, control_id="r", state="recording")

    async def play(hz: float) -> None:
        control = f"tone-{int(hz)}"
        await app.execute(
            "calling.play", {**call.ids, "control_id": control, "play": [tone_files[hz]]}
        )
        await app.wait_event(PLAY, control_id=control, state="finished")

    await play(TONES[0])
    paused = await app.execute(
        "calling.record.pause", {**call.ids, "control_id": "r", "behavior": "skip"}
    )
    assert paused["code"] == "200"
    await app.wait_event(RECORD, control_id="r", state="paused")
    await play(TONES[1])
    resumed = await app.execute("calling.record.resume", {**call.ids, "control_id": "r"})
    assert resumed["code"] == "200"
    await play(TONES[2])
    await app.execute("calling.record.stop", {**call.ids, "control_id": "r"})
    done = await app.wait_event(RECORD, control_id="r", state="finished")
    assert states(app, RECORD, "r") == ["recording", "paused", "recording", "finished"]

    async with server.http() as http:
        resp = await http.get(done.params["url"])
        assert resp.status_code == 200
        other, token = list(server.projects.items())[1]
        assert (await http.get(done.params["url"], auth=(other, token))).status_code == 404
    audio, rate = soundfile.read(io.BytesIO(resp.content), dtype="int16")
    assert rate == RATE
    assert tones_present(audio, TONES) == {TONES[0], TONES[2]}  # B was played while paused


async def test_rest_with_basic_auth_sees_the_call_and_plays_on_it(server: InProcessServer) -> None:
    app, call = await answered(server)
    async with server.http() as http:
        state = (await http.get(f"/api/calls/{call.call_id}")).json()
        assert state["call_state"] == "answered"
        resp = await http.post(
            "/api/calling/calls",
            json={"command": "calling.play", "id": call.call_id, "params": {"play": ringtone(1)}},
        )
        assert resp.status_code == 200, resp.text
        control_id = resp.json()["control_id"]
        wrong = await http.get(f"/api/calls/{call.call_id}", auth=(server.project, "PTwrong"))
        assert wrong.status_code == 401
    await app.wait_event(PLAY, control_id=control_id, state="finished")  # the session sees it
    assert states(app, PLAY, control_id) == ["playing", "finished"]


async def test_a_blade_session_collects_the_digits_the_phone_presses(
    server: InProcessServer,
) -> None:
    app = await server.session(contexts=["default"], dialect="blade")
    call = await server.call_in(app, answer=False, digits="42#", digits_at=0.5, hangup_after=10)
    collect = await app.execute(
        "calling.collect",
        {
            **call.ids,
            "control_id": "c",
            "initial_timeout": 10.0,
            "digits": {"max": 3, "terminators": "#", "digit_timeout": 5.0},
        },
    )
    assert collect["code"] == "200"
    await app.execute("calling.answer", call.ids)  # the phone presses its keys once answered
    got = await app.wait_event("calling.call.collect", control_id="c")
    assert got.params["result"] == {"type": "digit", "params": {"digits": "42", "terminator": "#"}}
    await app.execute("calling.end", {**call.ids, "reason": "hangup"})
    assert (await call.report()).digits_sent == "42#"


async def test_a_refused_connect_is_answered_then_the_server_closes_the_socket(
    server: InProcessServer,
) -> None:
    app = await server.open_session()
    with pytest.raises(RelayRpcError) as refused:
        await app.connect(server.project, "PTwrong", ["default"])
    assert refused.value.code == -32002
    with pytest.raises(WebSocketClosed) as closed:
        await app.request("signalwire.connect", {})
    assert closed.value.code == 4001 and app.close_code == 4001
    assert len(server.node.sessions) == 0


async def test_a_closed_blade_session_is_gone_from_the_server_and_calls_go_elsewhere(
    server: InProcessServer,
) -> None:
    first = await server.session(contexts=["default"], dialect="blade")
    second = await server.session(contexts=["default"])
    await first.close()
    assert first.close_code == 1000
    assert server.node.sessions.get(first.protocol) is None  # the server's handler ended
    call = await server.call_in(second, hangup_after=1.0)  # the only subscriber left
    assert (await call.report()).answered
    assert first.matching("calling.call.receive") == []


async def test_a_server_shutting_down_closes_sessions_and_refuses_new_sockets(
    server: InProcessServer,
) -> None:
    app = await server.session(contexts=["default"])
    await server.node.shutdown()
    with pytest.raises(WebSocketClosed) as closed:
        await app.request("signalwire.connect", {})
    assert closed.value.code == 1001  # going away (RFC 6455 §7.4.1)
    with pytest.raises(WebSocketClosed) as refused:
        await server.open_session()
    assert refused.value.code == 1012
