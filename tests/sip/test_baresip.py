"""baresip, a real softphone, against voxrelay's SIP stack: calls in, registers, is dialled.

Each test makes a network namespace (see tests/sip/baresip.py): baresip runs inside it on
127.x.y.1 and voxrelay binds SIP and RTP on 127.x.y.2 at the other end of a veth pair.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import soundfile

from tests.test_play_e2e import answer_next, dominant_hz, level_db
from tests.wire import WireClient
from voxrelay.baresip import Baresip, Netns, available
from voxrelay.media.frames import RATE
from voxrelay.media.sources import silence, tone
from voxrelay.testing import LocalServer

pytestmark = pytest.mark.skipif(available() is not None, reason=str(available()))

ALICE = {"password": "wonderland-7", "number": "+15550107777"}
CAROL = {"password": "right-one", "number": "+15550108888"}


@pytest.fixture
def netns() -> Iterator[Netns]:
    ns = Netns()
    try:
        yield ns.create()
    finally:
        ns.delete()


@pytest.fixture
def beep_file(tmp_path: Path) -> Path:
    """A 1.5 s 1 kHz tone the app plays (file:// from --media-dir)."""
    path = tmp_path / "media" / "beep1k.wav"
    path.parent.mkdir()
    soundfile.write(str(path), tone((1000.0,), 1.5, level_dbfs=-12), RATE, subtype="PCM_16")
    return path


@pytest.fixture
def sip_server(netns: Netns, beep_file: Path) -> Iterator[LocalServer]:
    yield from LocalServer.fixture(
        sip_host=netns.outer,
        rtp_host=netns.outer,
        sip_users={"alice": ALICE, "carol": CAROL},
        # baresip 1.0 (libre 1.1) gives up on a 401 whose first challenge is SHA-256
        sip_settings={"digest_algorithms": ["MD5"]},
        extra_args=["--media-dir", str(beep_file.parent)],
    )


@pytest.fixture
async def app(sip_server: LocalServer) -> AsyncIterator[WireClient]:
    client = WireClient(sip_server.ws_url)
    await client.connect(sip_server.project, sip_server.token, ["default"])
    try:
        yield client
    finally:
        await client.close()


def frames_loud(audio: npt.NDArray[np.int16], threshold: int = 1000) -> npt.NDArray[np.bool_]:
    """Per 20 ms frame: does it hold more than near-silence?"""
    audio = audio[: len(audio) // 160 * 160]
    result: npt.NDArray[np.bool_] = np.abs(audio.reshape(-1, 160)).max(axis=1) > threshold
    return result


def runs(mask: npt.NDArray[np.bool_], min_gap: int = 10) -> list[tuple[int, int]]:
    """(first, end) frame index of loud stretches, gaps shorter than ``min_gap`` bridged."""
    found: list[tuple[int, int]] = []
    for i in np.flatnonzero(mask):
        if found and i - found[-1][1] < min_gap:
            found[-1] = (found[-1][0], int(i) + 1)
        else:
            found.append((int(i), int(i) + 1))
    return found


async def recording(server: LocalServer, event: dict[str, Any]) -> npt.NDArray[np.int16]:
    with server.http() as http:
        resp = http.get(event["params"]["url"])
    resp.raise_for_status()
    audio, rate = soundfile.read(io.BytesIO(resp.content), dtype="int16")
    assert rate == RATE
    return np.asarray(audio, dtype=np.int16)


async def test_baresip_calls_an_app_that_plays_collects_and_records(
    netns: Netns,
    sip_server: LocalServer,
    app: WireClient,
    beep_file: Path,
    tmp_path: Path,
) -> None:
    # baresip says: 1.5 s of silence, then 3 s of 700 Hz (then silence)
    says = np.concatenate([silence(1.5), tone((700.0,), 3.0, level_dbfs=-14)])
    phone = Baresip(netns, tmp_path, user="bob", audio=says)
    try:
        await phone.start()
        reply = await phone.dial(f"sip:default@{netns.outer}:{sip_server.sip_port}")
        assert reply["ok"], reply
        call_id = await answer_next(app)
        offer = next(e for e in app.events if e["event_type"] == "calling.call.receive")
        assert offer["params"]["context"] == "default"
        assert offer["params"]["device"]["type"] == "sip"
        assert offer["params"]["device"]["params"]["from"].startswith(f"sip:bob@{netns.inner}")
        await phone.wait_event("CALL_ESTABLISHED", timeout=5)
        rec = await app.request(
            "calling.record",
            {
                "call_id": call_id,
                "control_id": "rec",
                "record": {"audio": {"format": "wav", "direction": "speak"}},
            },
        )
        assert rec["result"]["code"] == "200", rec
        play = await app.request(
            "calling.play",
            {
                "call_id": call_id,
                "control_id": "p",
                "play": [
                    {"type": "audio", "params": {"url": beep_file.as_uri()}},
                    {"type": "silence", "params": {"duration": 0.5}},
                    {
                        "type": "tts",
                        "params": {"text": "Hello from voxrelay. Please enter three digits."},
                    },
                ],
            },
        )
        assert play["result"]["code"] == "200", play
        await app.wait_event("calling.call.play", control_id="p", state="finished", timeout=15)
        collect = await app.request(
            "calling.collect",
            {
                "call_id": call_id,
                "control_id": "c",
                "initial_timeout": 8.0,
                "digits": {"max": 3, "digit_timeout": 3.0},
            },
        )
        assert collect["result"]["code"] == "200", collect
        await phone.sndcode("123")
        got = await app.wait_event("calling.call.collect", control_id="c", timeout=10)
        assert got["params"]["result"] == {"type": "digit", "params": {"digits": "123"}}
        await app.request("calling.record.stop", {"call_id": call_id, "control_id": "rec"})
        done = await app.wait_event(
            "calling.call.record", control_id="rec", state="finished", timeout=10
        )
        await app.request("calling.end", {"call_id": call_id})
        closed = await phone.wait_event("CALL_CLOSED", timeout=10)
        assert closed["direction"] == "outgoing"
        await app.wait_event("calling.call.state", call_id=call_id, call_state="ended")
    finally:
        await phone.stop()

    # the app's recording holds baresip's 700 Hz tone: about 3 s of it, nothing else loud
    heard_by_app = await recording(sip_server, done)
    loud = runs(frames_loud(heard_by_app))
    assert len(loud) == 1, loud
    first, end = loud[0]
    assert 140 <= end - first <= 160, loud  # 3 s of 20 ms frames
    tone_part = heard_by_app[first * 160 : end * 160]
    assert abs(dominant_hz(tone_part) - 700) < 10
    assert level_db(tone_part) > -20

    # baresip's recording holds the 1 kHz beep, then half a second later the speech
    heard = phone.heard()
    loud = runs(frames_loud(heard))
    assert len(loud) >= 2, loud
    (b0, b1), (s0, _) = loud[0], loud[1]
    assert 70 <= b1 - b0 <= 80, loud  # 1.5 s of beep
    beep = heard[b0 * 160 : b1 * 160]
    assert abs(dominant_hz(beep) - 1000) < 10 and level_db(beep) > -18
    assert 20 <= s0 - b1 <= 35, loud  # the 0.5 s of silence
    speech = heard[s0 * 160 : loud[-1][1] * 160]
    assert len(speech) > 1.5 * RATE and level_db(speech) > -35
    # speech, not a tone: energy spread over the voice band rather than one bin
    spectrum = np.abs(np.fft.rfft(speech.astype(float)))
    assert spectrum.max() < 5 * spectrum.sum() / np.sqrt(len(spectrum))  # a tone: 70+


async def exchange_audio(
    server: LocalServer, app: WireClient, call_id: str, beep_file: Path, tag: str
) -> npt.NDArray[np.int16]:
    """The app records the softphone for 2 s while playing it the beep; the recording."""
    await app.request(
        "calling.record",
        {
            "call_id": call_id,
            "control_id": f"r{tag}",
            "record": {"audio": {"format": "wav", "direction": "speak"}},
        },
    )
    await app.request(
        "calling.play",
        {
            "call_id": call_id,
            "control_id": f"p{tag}",
            "play": [{"type": "audio", "params": {"url": beep_file.as_uri()}}],
        },
    )
    await app.wait_event("calling.call.play", control_id=f"p{tag}", state="finished", timeout=10)
    await app.request("calling.record.stop", {"call_id": call_id, "control_id": f"r{tag}"})
    done = await app.wait_event(
        "calling.call.record", control_id=f"r{tag}", state="finished", timeout=10
    )
    await app.request("calling.end", {"call_id": call_id})
    await app.wait_event("calling.call.state", call_id=call_id, call_state="ended", timeout=10)
    return await recording(server, done)


async def test_registered_softphone_is_dialled_and_a_wrong_password_is_refused(
    netns: Netns,
    sip_server: LocalServer,
    app: WireClient,
    beep_file: Path,
    tmp_path: Path,
) -> None:
    registrar = f"{netns.outer}:{sip_server.sip_port}"
    says = tone((700.0,), 30.0, level_dbfs=-14)
    alice = Baresip(
        netns, tmp_path, user="alice", registrar=registrar, password=ALICE["password"],
        answermode="auto", audio=says,
    )  # fmt: skip
    mallory = Baresip(
        netns, tmp_path, user="carol", registrar=registrar, password="guessed",
        answermode="auto", audio=says,
    )  # fmt: skip
    try:
        await alice.start()
        await mallory.start()
        await alice.wait_event("REGISTER_OK", timeout=10)
        failed = await mallory.wait_event("REGISTER_FAIL", timeout=10)
        assert "403" in str(failed.get("param")) or "401" in str(failed.get("param")), failed
        assert "REGISTER_OK" not in mallory.types()

        # by number: the phone device reaches the softphone registered for it
        await app.request(
            "calling.dial",
            {
                "tag": "by-number",
                "devices": [
                    [
                        {
                            "type": "phone",
                            "params": {
                                "from_number": "+15553334444",
                                "to_number": ALICE["number"],
                                "timeout": 10,
                            },
                        }
                    ]
                ],
            },
        )
        answered = await app.wait_event(
            "calling.call.dial", tag="by-number", dial_state="answered", timeout=10
        )
        call_id = answered["params"]["call"]["call_id"]
        incoming = await alice.wait_event("CALL_ESTABLISHED", timeout=5)
        assert incoming["direction"] == "incoming"
        heard_by_app = await exchange_audio(sip_server, app, call_id, beep_file, "1")
        await alice.wait_event("CALL_CLOSED", timeout=10)
        assert level_db(heard_by_app) > -25 and abs(dominant_hz(heard_by_app) - 700) < 10
        heard = alice.heard()
        loud = runs(frames_loud(heard))
        assert len(loud) == 1 and 70 <= loud[0][1] - loud[0][0] <= 80, loud
        assert abs(dominant_hz(heard[loud[0][0] * 160 : loud[0][1] * 160]) - 1000) < 10

        # by SIP URI at the server: the registered contact is INVITEd
        await app.request(
            "calling.dial",
            {
                "tag": "by-uri",
                "devices": [
                    [
                        {
                            "type": "sip",
                            "params": {
                                "from": f"sip:app@{netns.outer}",
                                "to": f"sip:alice@{registrar}",
                                "timeout": 10,
                            },
                        }
                    ]
                ],
            },
        )
        answered = await app.wait_event(
            "calling.call.dial", tag="by-uri", dial_state="answered", timeout=10
        )
        heard_by_app = await exchange_audio(
            sip_server, app, answered["params"]["call"]["call_id"], beep_file, "2"
        )
        assert level_db(heard_by_app) > -25 and abs(dominant_hz(heard_by_app) - 700) < 10
        assert alice.types().count("CALL_ESTABLISHED") == 2

        # carol never registered (wrong password): dialling her number fails
        await app.request(
            "calling.dial",
            {
                "tag": "carol",
                "devices": [
                    [
                        {
                            "type": "phone",
                            "params": {"from_number": "+15553334444", "to_number": CAROL["number"]},
                        }
                    ]
                ],
            },
        )
        await app.wait_event("calling.call.dial", tag="carol", dial_state="failed", timeout=10)
        assert "CALL_INCOMING" not in mallory.types()
    finally:
        await alice.stop()
        await mallory.stop()


async def test_a_sip_device_is_invited_at_its_uri_and_hangs_up(
    netns: Netns, sip_server: LocalServer, app: WireClient, tmp_path: Path
) -> None:
    phone = Baresip(netns, tmp_path, user="dave", audio=tone((700.0,), 10.0, level_dbfs=-14))
    try:
        await phone.start()
        await app.request(
            "calling.dial",
            {
                "tag": "direct",
                "devices": [
                    [
                        {
                            "type": "sip",
                            "params": {
                                "from": f"sip:app@{netns.outer}",
                                "to": phone.uri,
                                "timeout": 10,
                            },
                        }
                    ]
                ],
            },
        )
        incoming = await phone.wait_event("CALL_INCOMING", timeout=10)
        assert incoming["peeruri"] == f"sip:app@{netns.outer}"
        await app.wait_event("calling.call.state", call_state="ringing", timeout=5)
        assert (await phone.accept())["ok"]
        answered = await app.wait_event(
            "calling.call.dial", tag="direct", dial_state="answered", timeout=10
        )
        call_id = answered["params"]["call"]["call_id"]
        await phone.wait_event("CALL_ESTABLISHED", timeout=5)
        assert (await phone.hangup())["ok"]
        ended = await app.wait_event(
            "calling.call.state", call_id=call_id, call_state="ended", timeout=10
        )
        assert ended["params"]["end_reason"] == "hangup"
        await phone.wait_event("CALL_CLOSED", timeout=5)
    finally:
        await phone.stop()
