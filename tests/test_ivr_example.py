"""The example IVR (examples/ivr.py) run as a user runs it, called by a virtual phone."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile

from voxrelay.media.frames import RATE
from voxrelay.media.sources import silence, synthesize
from voxrelay.phone import VirtualPhone
from voxrelay.testing import LocalServer

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def ivr_server() -> Iterator[LocalServer]:
    yield from LocalServer.fixture(extra_args=["--media-dir", str(EXAMPLES / "audio")])


def voiced_frames(audio: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
    audio = audio[: len(audio) // 160 * 160]
    return np.asarray(np.abs(audio.reshape(-1, 160)).max(axis=1) > 1000)


async def test_ivr_collects_keys_takes_a_voicemail_and_reads_back(
    ivr_server: LocalServer,
) -> None:
    env = {
        **os.environ,
        "SIGNALWIRE_PROJECT_ID": ivr_server.project,
        "SIGNALWIRE_API_TOKEN": ivr_server.token,
        "SIGNALWIRE_SPACE": ivr_server.host,
    }
    app = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLES / "ivr.py"),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        assert app.stdout is not None
        await asyncio.wait_for(app.stdout.readline(), 20)  # "waiting for calls"
        await asyncio.sleep(1.0)
        message = synthesize("This is a test message for the voicemail box.")
        phone = VirtualPhone(ivr_server.http_url, ivr_server.project, ivr_server.token)
        report = await phone.call(
            "default",
            digits="12#",
            digits_at=4.5,
            audio=np.concatenate([message, silence(1.0)]),
            play_at=12.0,
            max_duration=60,
        )
        lines: list[str] = []
        while True:
            try:
                line = await asyncio.wait_for(app.stdout.readline(), 5)
            except TimeoutError:
                break
            if not line:
                break
            lines.append(line.decode())
            if line.startswith(b"IVR-RESULT"):
                break
        output = "".join(lines)
    finally:
        app.terminate()
        await app.wait()
    result = json.loads(next(ln for ln in lines if ln.startswith("IVR-RESULT")).split(" ", 1)[1])
    assert report.answered and report.end_reason == "hangup", output
    assert result["digits"] == "12" and result["speech"] == ""
    assert report.digits_sent == "12#"
    voicemail = result["voicemail"]
    with ivr_server.http() as http:
        audio, rate = soundfile.read(io.BytesIO(http.get(voicemail["url"]).content), dtype="int16")
    assert rate == RATE and abs(len(audio) / rate - voicemail["duration"]) < 0.1
    spoken = voiced_frames(audio).sum() * 0.02
    assert abs(spoken - len(message) / RATE) < 1.0  # the phone's message, all of it
    heard = report.heard_after_answer()
    assert voiced_frames(heard[: 2 * RATE]).sum() > 40  # the greeting, at once
    assert "calling.call.collect" in output and "calling.call.record" in output
