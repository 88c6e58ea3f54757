"""The REST play seed against ``voxrelay serve``, on a live call from a virtual phone.

A RELAY app answers the phone's call and stays its controller; the seed (a separate
process, only its import, address and call id changed) plays TTS over REST, and the app
still gets the play events. Then play_pause/resume/volume/stop over REST act on what the
phone hears, and the play's status_url gets its events as webhooks.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.rest.conftest import WebhookSite
from tests.test_play_e2e import (
    answer_next,
    audio_site,  # noqa: F401  (fixture)
    dominant_hz,
    level_db,
    phone_for,
    tone_runs,
    window,
)
from tests.wire import WireClient
from voxrelay.rest import AsyncRestClient
from voxrelay.testing import LocalServer

SEED = Path(__file__).parent / "seeds" / "seed_002_rest_play.py"


def test_seed_only_the_import_changed() -> None:
    source = SEED.read_text()
    compile(source, str(SEED), "exec")
    assert "from voxrelay.rest import RestClient" in source
    assert "signalwire" not in source.replace("for signalwire.rest.", "")


async def run_seed(server: LocalServer, call_id: str) -> str:
    env = {**os.environ, "VOXRELAY_SEED_HOST": server.host, "VOXRELAY_SEED_CALL_ID": call_id}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SEED),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, out.decode()
    return out.decode()


async def test_rest_seed_and_play_controls_on_a_live_call(
    audio_site: str,  # noqa: F811
    webhook_site: WebhookSite,
) -> None:
    with LocalServer(project="your-project-id", token="your-api-token") as server:
        app = WireClient(server.ws_url)
        await app.connect(server.project, server.token, ["default"])
        phone = asyncio.create_task(phone_for(server).call("default", max_duration=40))
        call_id = await answer_next(app)

        # 1. the seed, unchanged but for import/address/call id: TTS plays to the caller
        output = await run_seed(server, call_id)
        seed_control = output.split("control_id ", 1)[1].split()[0]
        finished = await app.wait_event(
            "calling.call.play", control_id=seed_control, state="finished", timeout=15
        )
        assert finished["params"]["call_id"] == call_id  # the RELAY controller got them

        # 2. REST controls on music the phone hears
        async with AsyncRestClient("your-project-id", "your-api-token", server.host) as rest:
            result = await rest.calling.play(
                call_id,
                play=[{"type": "audio", "url": f"{audio_site}/music.wav"}],
                loop=3,
                status_url=webhook_site.url,
            )
            control_id = result["control_id"]
            assert result["id"] == call_id and result["status"] == "answered"
            await app.wait_event("calling.call.play", control_id=control_id, state="playing")
            await asyncio.sleep(1.0)
            await rest.calling.play_pause(call_id, control_id=control_id)
            await asyncio.sleep(1.0)
            await rest.calling.play_resume(call_id, control_id=control_id)
            await asyncio.sleep(0.8)
            await rest.calling.play_volume(call_id, control_id=control_id, volume=-6.0)
            await asyncio.sleep(0.8)
            await rest.calling.play_stop(call_id, control_id=control_id)
            await app.wait_event("calling.call.play", control_id=control_id, state="finished")
            await asyncio.sleep(0.8)
            ended = await rest.calling.end(call_id)
            assert ended["id"] == call_id
        report = await asyncio.wait_for(phone, 20)
        await app.close()

    assert report.answered and report.end_reason == "hangup"
    heard = report.heard_after_answer()
    # the seed's TTS: speech before the music
    (music_start, paused_at), (resumed_at, stopped_at) = tone_runs(heard, 600.0)
    assert level_db(window(heard, 0.0, music_start)) > -40
    # paused: silence; resumed: the 600 Hz music, 6 dB quieter after the volume change (at
    # least 0.8 s after the resume, and 0.8 s before the stop)
    assert level_db(window(heard, paused_at + 0.1, resumed_at - 0.1)) < -60
    before = window(heard, resumed_at + 0.15, resumed_at + 0.7)
    after = window(heard, stopped_at - 0.7, stopped_at - 0.1)
    assert abs(dominant_hz(before) - 600) < 15 and abs(dominant_hz(after) - 600) < 15
    assert abs((level_db(before) - level_db(after)) - 6.0) < 1.0
    # stopped: silence until the hang-up (0.8 s later)
    assert level_db(window(heard, stopped_at + 0.1, stopped_at + 0.7)) < -60
    # the webhook got the play's events, in the RELAY event shape
    for _ in range(50):
        if any(e["state"] == "finished" for e in webhook_site.events("calling.call.play")):
            break
        await asyncio.sleep(0.1)
    states = [e["state"] for e in webhook_site.events("calling.call.play")]
    assert states == ["playing", "paused", "playing", "finished"], webhook_site.bodies
    body = webhook_site.bodies[0]
    assert body["project_id"] == "your-project-id"
    assert body["params"]["control_id"] == control_id and body["params"]["call_id"] == call_id
