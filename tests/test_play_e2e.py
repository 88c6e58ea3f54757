"""A virtual phone calls in over real RTP; the app plays; the phone's recording is checked."""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.wire import WireClient
from voxrelay.media.frames import RATE, Frame
from voxrelay.media.sources import tone
from voxrelay.phone import VirtualPhone
from voxrelay.testing import LocalServer


def phone_for(server: LocalServer) -> VirtualPhone:
    return VirtualPhone(server.http_url, server.project, server.token)


def level_db(samples: Frame) -> float:
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if len(samples) else 0.0
    return 20 * np.log10(max(rms, 1e-9) / 32768)


def window(audio: Frame, start: float, end: float) -> Frame:
    return audio[int(start * RATE) : int(end * RATE)]


def dominant_hz(samples: Frame) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(float) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / RATE)[int(np.argmax(spectrum))])


CHUNK = RATE // 10  # 100 ms


def tone_runs(audio: Frame, *hz: float, min_chunks: int = 3) -> list[tuple[float, float]]:
    """``(start, end)`` seconds of each stretch of ``audio`` where a tone of ``hz`` is heard
    (at least ``min_chunks`` 100 ms chunks in a row louder than -40 dBFS, one of ``hz``
    dominant): where a play was heard, found in the audio rather than by the test's clock."""
    chunks = [audio[i : i + CHUNK] for i in range(0, len(audio) - CHUNK + 1, CHUNK)]
    hits = [
        level_db(c) > -40 and min(abs(dominant_hz(c) - f) for f in hz) < 15 for c in chunks
    ]
    runs, start = [], None
    for i, hit in enumerate([*hits, False]):
        if hit and start is None:
            start = i
        elif not hit and start is not None:
            if i - start >= min_chunks:
                runs.append((start / 10, i / 10))
            start = None
    return runs


@pytest.fixture
def audio_site(tmp_path: Path) -> Iterator[str]:
    """A local HTTP server with a 3 s 600 Hz MP3 and WAV: the music of the test."""
    music = tone((600.0,), 3.0, level_dbfs=-12)
    soundfile.write(str(tmp_path / "music.wav"), music, RATE, subtype="PCM_16")
    soundfile.write(
        str(tmp_path / "music.mp3"), music.astype(np.float32) / 32768, RATE, format="MP3"
    )
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(  # noqa: E731
        *a, directory=str(tmp_path)
    )
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


async def answer_next(app: WireClient) -> str:
    offer = await app.wait_event("calling.call.receive", timeout=10)
    call_id: str = offer["params"]["call_id"]
    await app.request("calling.answer", {"call_id": call_id})
    return call_id


async def test_tts_then_mp3_with_pause_resume_and_volume(
    relay_server: LocalServer, audio_site: str
) -> None:
    app = WireClient(relay_server.ws_url)
    await app.connect(relay_server.project, relay_server.token, ["default"])
    phone = asyncio.create_task(phone_for(relay_server).call("default", hangup_after=9.0))
    call_id = await answer_next(app)
    reply = await app.request(
        "calling.play",
        {
            "call_id": call_id,
            "control_id": "p1",
            "play": [
                {"type": "tts", "params": {"text": "Hello, this is a test of voxrelay."}},
                {
                    "type": "audio",
                    "url": f"{audio_site}/music.mp3",
                },  # flat form, folded by the server
            ],
        },
    )
    assert reply["result"] == {
        "code": "200",
        "message": "Playing",
        "call_id": call_id,
        "control_id": "p1",
    }
    await app.wait_event("calling.call.play", control_id="p1", state="playing")
    await asyncio.sleep(3.5)  # speech (~2.5 s), then into the music
    await app.request("calling.play.pause", {"call_id": call_id, "control_id": "p1"})
    await app.wait_event("calling.call.play", control_id="p1", state="paused")
    await asyncio.sleep(1.0)
    await app.request("calling.play.resume", {"call_id": call_id, "control_id": "p1"})
    await asyncio.sleep(0.6)
    await app.request(
        "calling.play.volume", {"call_id": call_id, "control_id": "p1", "volume": -6.0}
    )
    finished = await app.wait_event(
        "calling.call.play", control_id="p1", state="finished", timeout=10
    )
    assert finished["params"]["call_id"] == call_id
    report = await asyncio.wait_for(phone, 20)
    assert report.answered and report.end_reason == "hangup"
    heard = report.heard_after_answer()
    # the 600 Hz music, heard in two stretches: before the pause and after the resume
    (music_start, paused_at), (resumed_at, music_end) = tone_runs(heard, 600.0)
    # speech first, before the music
    assert level_db(window(heard, 0.0, music_start)) > -40
    # while paused: silence
    assert level_db(window(heard, paused_at + 0.1, resumed_at - 0.1)) < -60
    # the volume change came at least 0.6 s after the resume, and 1.4 s of music then remained
    before = window(heard, resumed_at + 0.1, resumed_at + 0.5)
    after = window(heard, music_end - 0.6, music_end - 0.1)
    assert abs(dominant_hz(before) - 600) < 15 and abs(dominant_hz(after) - 600) < 15
    assert abs((level_db(before) - level_db(after)) - 6.0) < 1.0
    await app.close()


async def test_play_errors_are_reported(relay_server: LocalServer, audio_site: str) -> None:
    app = WireClient(relay_server.ws_url)
    await app.connect(relay_server.project, relay_server.token, ["default"])
    phone = asyncio.create_task(phone_for(relay_server).call("default", hangup_after=3.0))
    call_id = await answer_next(app)
    await app.request(
        "calling.play",
        {
            "call_id": call_id,
            "control_id": "bad",
            "play": [{"type": "audio", "params": {"url": f"{audio_site}/missing.mp3"}}],
        },
    )
    await app.wait_event("calling.call.play", control_id="bad", state="error")
    reply = await app.request(
        "calling.play",
        {"call_id": call_id, "control_id": "x", "play": [{"type": "audio", "params": {}}]},
    )
    assert reply["result"]["code"] == "400" and "play.0" in reply["result"]["message"]
    reply = await app.request(
        "calling.play",
        {
            "call_id": call_id,
            "control_id": "y",
            "play": [{"type": "audio", "params": {"url": "file:///etc/passwd"}}],
        },
    )
    await app.wait_event("calling.call.play", control_id="y", state="error")
    reply = await app.request("calling.play.pause", {"call_id": call_id, "control_id": "nope"})
    assert reply["result"]["code"] == "404"
    await asyncio.wait_for(phone, 10)
    await app.close()


async def test_file_urls_inside_a_media_dir_play(tmp_path: Path) -> None:
    soundfile.write(
        str(tmp_path / "hold.wav"), tone((800.0,), 1.0, level_dbfs=-12), RATE, subtype="PCM_16"
    )
    with LocalServer(extra_args=["--media-dir", str(tmp_path)]) as server:
        app = WireClient(server.ws_url)
        await app.connect(server.project, server.token, ["default"])
        phone = asyncio.create_task(phone_for(server).call("default", hangup_after=2.5))
        call_id = await answer_next(app)
        await app.request(
            "calling.play",
            {
                "call_id": call_id,
                "control_id": "f",
                "play": [{"type": "audio", "params": {"url": f"file://{tmp_path}/hold.wav"}}],
            },
        )
        await app.wait_event("calling.call.play", control_id="f", state="finished", timeout=5)
        await app.request(
            "calling.play",
            {
                "call_id": call_id,
                "control_id": "g",
                "play": [{"type": "audio", "params": {"url": f"file://{tmp_path}/../hold.wav"}}],
            },
        )
        await app.wait_event("calling.call.play", control_id="g", state="error", timeout=5)
        report = await asyncio.wait_for(phone, 10)
        assert abs(dominant_hz(report.heard_after_answer()[:RATE]) - 800) < 15
        await app.close()


async def test_media_quality_is_exposed_per_call(relay_server: LocalServer) -> None:
    app = WireClient(relay_server.ws_url)
    await app.connect(relay_server.project, relay_server.token, ["default"])
    phone = asyncio.create_task(phone_for(relay_server).call("default", max_duration=60))
    call_id = await answer_next(app)
    with relay_server.http() as http:
        for _ in range(300):  # until the phone's first RTCP report (every 5 s) came in
            media = http.get(f"/api/calls/{call_id}").json()["media"]
            if media["remote_jitter_ms"] is not None:
                break
            await asyncio.sleep(0.1)
        ((other, token),) = relay_server.other_projects.items()
        assert http.get(f"/api/calls/{call_id}", auth=(other, token)).status_code == 404
    await app.request("calling.end", {"call_id": call_id})
    assert media["codec"] == "PCMU"
    assert media["packets_received"] > 0 and media["packets_sent"] > 0
    assert media["packets_lost"] == 0 and media["jitter_ms"] >= 0  # nothing lost on loopback
    assert media["remote_fraction_lost"] == 0 and media["remote_jitter_ms"] >= 0
    await asyncio.wait_for(phone, 10)
    await app.close()


async def test_a_command_result_comes_before_the_events_it_causes(
    relay_server: LocalServer,
) -> None:
    app = WireClient(relay_server.ws_url)
    await app.connect(relay_server.project, relay_server.token, ["default"])
    phone = asyncio.create_task(phone_for(relay_server).call("default", hangup_after=3.0))
    call_id = await answer_next(app)
    await app.request(
        "calling.play",
        {
            "call_id": call_id,
            "control_id": "o",
            "play": [{"type": "silence", "params": {"duration": 2}}],
        },
    )
    app.events.remove(await app.wait_event("calling.call.play", control_id="o", state="playing"))
    for command, state in (("pause", "paused"), ("resume", "playing"), ("stop", "finished")):
        reply = await app.request(
            f"calling.play.{command}", {"call_id": call_id, "control_id": "o"}
        )
        event = await app.wait_event("calling.call.play", control_id="o", state=state)
        by_id = {id(f): i for i, f in enumerate(app.frames)}
        outer = next(f for f in app.frames if f.get("params") is event)
        assert (
            by_id[id(next(f for f in app.frames if f.get("id") == reply["id"]))] < by_id[id(outer)]
        ), command
        app.events.remove(event)
    await asyncio.wait_for(phone, 10)
    await app.close()
