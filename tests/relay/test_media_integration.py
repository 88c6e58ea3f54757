"""SDK media actions against a real ``voxrelay serve``, with a VirtualPhone calling in over RTP.

Only what the server implements so far: ``calling.play`` and its controls,
``calling.send_digits`` and digit ``calling.detect``.
"""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import soundfile

from voxrelay.media.frames import RATE
from voxrelay.media.sources import tone
from voxrelay.phone import PhoneReport, VirtualPhone
from voxrelay.relay import Call, PlayEvent, RelayClient, RelayEvent, Timings
from voxrelay.testing import LocalServer

FAST = Timings(request_timeout=5.0, reconnect_delay=0.05, reconnect_max_delay=0.2)
WAIT = 10.0


@pytest.fixture
def audio_site(tmp_path: Path) -> Iterator[str]:
    """A loopback HTTP server with a 3 s tone, ``music.wav``."""
    soundfile.write(str(tmp_path / "music.wav"), tone((600.0,), 3.0), RATE, subtype="PCM_16")
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(  # noqa: E731
        *a, directory=str(tmp_path)
    )
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@asynccontextmanager
async def answered(
    server: LocalServer, hangup_after: float, **phone_kw: Any
) -> AsyncIterator[tuple[Call, asyncio.Task[PhoneReport]]]:
    """An SDK client on "default" and an answered call from a VirtualPhone."""
    client = RelayClient(
        server.project, server.token, host=server.host, contexts=["default"], timings=FAST
    )
    calls: asyncio.Queue[Call] = asyncio.Queue()
    client.on_call(calls.put_nowait)
    async with client:
        phone = VirtualPhone(server.http_url, server.project, server.token)
        report = asyncio.create_task(phone.call("default", hangup_after=hangup_after, **phone_kw))
        call = await asyncio.wait_for(calls.get(), WAIT)
        await call.answer()
        await call.wait_for_answered(timeout=WAIT)
        try:
            yield call, report
        finally:
            await asyncio.wait_for(report, 30)


async def test_play_tts_finishes_with_listener_and_on_completed(relay_server: LocalServer) -> None:
    async with answered(relay_server, hangup_after=5.0) as (call, _):
        states: list[str] = []
        done: list[RelayEvent] = []
        call.on("calling.call.play", lambda e: states.append(e.params["state"]))
        action = await call.play([{"type": "tts", "text": "Hello from voxrelay."}])
        result = await action.wait(WAIT)
        assert isinstance(result, PlayEvent) and result.state == "finished"
        assert result.control_id == action.control_id and result.call_id == call.call_id
        await call.play_silence(0.2, on_completed=done.append)
        await asyncio.sleep(1.0)
        assert states == ["playing", "finished", "playing", "finished"]
        assert [e.state for e in done if isinstance(e, PlayEvent)] == ["finished"]


async def test_play_controls_on_a_running_player(
    relay_server: LocalServer, audio_site: str
) -> None:
    async with answered(relay_server, hangup_after=6.0) as (call, _):
        playing = asyncio.ensure_future(
            call.wait_for("calling.call.play", lambda e: e.params["state"] == "playing", WAIT)
        )
        action = await call.play_audio(f"{audio_site}/music.wav", loop=0, volume=-3)
        await playing
        paused = asyncio.ensure_future(
            call.wait_for("calling.call.play", lambda e: e.params["state"] == "paused", WAIT)
        )
        assert (await action.pause())["code"] == "200"
        await paused
        assert (await action.resume())["code"] == "200"
        assert (await action.volume(6))["code"] == "200"
        with pytest.raises(TimeoutError):
            await action.wait(0.3)  # loop=0 plays until stopped; the wait leaves it running
        assert (await action.stop())["code"] == "200"
        assert (await action.wait(WAIT)).params["state"] == "finished"


async def test_stop_right_after_play_ends_it(relay_server: LocalServer, audio_site: str) -> None:
    async with answered(relay_server, hangup_after=4.0) as (call, _):
        action = await call.play_audio(f"{audio_site}/music.wav", loop=0)
        assert (await action.stop())["code"] == "200"
        assert (await action.wait(3.0)).params["state"] in ("finished", "error")


async def test_play_on_a_call_that_is_gone(relay_server: LocalServer) -> None:
    async with answered(relay_server, hangup_after=0.5) as (call, report):
        await call.wait_for_ended(timeout=WAIT)
        await report
        action = await call.play_tts("too late")
        assert action.is_done and (await action.wait(0.1)).params == {}
        assert await action.stop() == {}


async def test_send_digits_reaches_the_phone(relay_server: LocalServer) -> None:
    async with answered(relay_server, hangup_after=3.0) as (call, report):
        finished = asyncio.ensure_future(call.wait_for("calling.call.send_digits", timeout=WAIT))
        result = await call.send_digits("12#", control_id="dtmf-1")
        assert result["code"] == "200"
        event = await finished
        assert event.params["control_id"] == "dtmf-1" and event.params["state"] == "finished"
    assert (await report).digits_heard == "12#"


async def test_detect_digit_completes_on_the_first_digit(relay_server: LocalServer) -> None:
    async with answered(relay_server, hangup_after=3.0, digits="75", digits_at=0.8) as (call, _):
        action = await call.detect_digit(digits="5", timeout=5)
        result = await action.wait(WAIT)
        assert result.params["detect"] == {"type": "digit", "params": {"event": "5"}}
        # the detector keeps listening after its first digit until stopped or timed out
        assert (await action.stop())["code"] == "200"
