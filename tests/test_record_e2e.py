"""Recordings made by an app hold what the phone said; they are finalised and served safely."""

from __future__ import annotations

import asyncio
import io

import numpy as np
import soundfile

from tests.test_play_e2e import answer_next, dominant_hz, level_db, phone_for
from tests.wire import WireClient
from voxrelay.media.frames import RATE
from voxrelay.media.sources import silence, tone
from voxrelay.testing import LocalServer


async def test_voicemail_holds_what_the_phone_said(relay_server: LocalServer) -> None:
    await check_voicemail(relay_server)
    # scripts/setup builds the native RTP I/O library, so the server batches socket I/O
    assert "RTP socket I/O: native batched" in relay_server.log_path.read_text()


async def test_voicemail_with_event_loop_rtp_transports() -> None:
    """The fallback when the native RTP I/O library is not built: one transport per leg."""
    with LocalServer(extra_args=["--rtp-io", "asyncio"]) as server:
        await check_voicemail(server)
        assert "RTP socket I/O: asyncio transports" in server.log_path.read_text()


async def check_voicemail(relay_server: LocalServer) -> None:
    app = WireClient(relay_server.ws_url)
    await app.connect(relay_server.project, relay_server.token, ["default"])
    message = np.concatenate([tone((700.0,), 2.0, level_dbfs=-14), silence(3.0)])
    phone = asyncio.create_task(
        phone_for(relay_server).call("default", audio=message, play_at=1.0, hangup_after=8.0)
    )
    call_id = await answer_next(app)
    reply = await app.request(
        "calling.record",
        {
            "call_id": call_id,
            "control_id": "vm",
            "record": {
                "audio": {
                    "beep": True,
                    "format": "wav",
                    "direction": "speak",
                    "end_silence_timeout": 1.0,
                    "initial_timeout": 5.0,
                }
            },
        },
    )
    url = reply["result"]["url"]
    assert reply["result"]["code"] == "200" and url.endswith(".wav")
    await app.wait_event("calling.call.record", control_id="vm", state="recording")
    done = await app.wait_event(
        "calling.call.record", control_id="vm", state="finished", timeout=10
    )
    p = done["params"]
    assert p["url"] == url and p["record"]["url"] == url
    with relay_server.http() as http:
        resp = http.get(url)
        assert resp.status_code == 200 and resp.headers["content-type"] == "audio/wav"
        assert len(resp.content) == p["size"]
        ((other, token),) = relay_server.other_projects.items()
        assert http.get(url, auth=(other, token)).status_code == 404
        assert http.get(url.replace(".wav", ".mp3")).status_code == 404
        assert (
            http.get(f"{relay_server.http_url}/recordings/..%2Fcredentials.json").status_code == 404
        )
    audio, rate = soundfile.read(io.BytesIO(resp.content), dtype="int16")
    assert rate == RATE
    assert abs(len(audio) / rate - p["duration"]) < 0.05  # the event tells the file's length
    loud = np.abs(audio.reshape(-1, 160)).max(axis=1) > 2000
    assert 95 <= loud.sum() <= 105  # the 2 s tone, nothing of the beep the caller heard
    assert abs(dominant_hz(audio) - 700) < 10
    # it ended on the 1 s of end silence after the tone (counted in media frames), long
    # before the phone's 3 s of silence were over
    assert 40 <= len(loud) - 1 - np.flatnonzero(loud)[-1] <= 60
    report = await asyncio.wait_for(phone, 15)
    heard = report.heard_after_answer()
    assert abs(dominant_hz(heard[: int(0.5 * RATE)]) - 1000) < 15  # the phone heard the beep
    await app.close()


async def test_a_recording_survives_the_caller_hanging_up(relay_server: LocalServer) -> None:
    app = WireClient(relay_server.ws_url)
    await app.connect(relay_server.project, relay_server.token, ["default"])
    speech = tone((500.0,), 5.0, level_dbfs=-14)
    phone = asyncio.create_task(
        phone_for(relay_server).call("default", audio=speech, hangup_after=2.0)
    )
    call_id = await answer_next(app)
    reply = await app.request(
        "calling.record",
        {"call_id": call_id, "control_id": "r", "record": {"audio": {"format": "mp3"}}},
    )
    url = reply["result"]["url"]
    done = await app.wait_event("calling.call.record", control_id="r", state="finished", timeout=10)
    await asyncio.wait_for(phone, 10)
    ended = await app.wait_event("calling.call.state", call_id=call_id, call_state="ended")
    assert app.events.index(done) < app.events.index(ended)  # finalised before "ended"
    with relay_server.http() as http:
        resp = http.get(url)
    audio, rate = soundfile.read(io.BytesIO(resp.content), dtype="int16")
    assert abs(len(audio) / rate - done["params"]["duration"]) < 0.1
    assert level_db(audio) > -30 and abs(dominant_hz(audio) - 500) < 10  # what the phone said
    await app.close()


async def test_pause_skip_and_stop(relay_server: LocalServer) -> None:
    app = WireClient(relay_server.ws_url)
    await app.connect(relay_server.project, relay_server.token, ["default"])
    phone = asyncio.create_task(
        phone_for(relay_server).call(
            "default", audio=tone((400.0,), 8.0, level_dbfs=-14), hangup_after=6.0
        )
    )
    call_id = await answer_next(app)
    await app.request(
        "calling.record",
        {"call_id": call_id, "control_id": "r", "record": {"audio": {"format": "wav"}}},
    )
    await asyncio.sleep(1.0)
    await app.request(
        "calling.record.pause", {"call_id": call_id, "control_id": "r", "behavior": "skip"}
    )
    await app.wait_event("calling.call.record", control_id="r", state="paused")
    await asyncio.sleep(1.0)
    await app.request("calling.record.resume", {"call_id": call_id, "control_id": "r"})
    await asyncio.sleep(1.0)
    reply = await app.request("calling.record.stop", {"call_id": call_id, "control_id": "r"})
    assert reply["result"]["code"] == "200"
    done = await app.wait_event("calling.call.record", control_id="r", state="finished")
    states = [e["params"]["state"] for e in app.events if e["event_type"] == "calling.call.record"]
    assert states == ["recording", "paused", "recording", "finished"]
    await asyncio.wait_for(phone, 10)
    with relay_server.http() as http:
        audio, _ = soundfile.read(io.BytesIO(http.get(done["params"]["url"]).content), dtype="int16")
    # the phone talked all along: with the paused second skipped, not filled with silence,
    # the file is the tone from end to end
    assert abs(len(audio) / RATE - done["params"]["duration"]) < 0.05
    loud = np.abs(audio[: len(audio) // 160 * 160].reshape(-1, 160)).max(axis=1) > 2000
    assert loud[1:-1].all(), np.flatnonzero(~loud)
    await app.close()
