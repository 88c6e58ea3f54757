"""The official 3.x/4.x RELAY clients run a full call flow against ``voxrelay serve``.

A virtual phone (``voxrelay.phone.VirtualPhone``, real RTP) calls in; the client, a black box
(``clients/py_flow.py`` with PyPI ``signalwire-sdk`` in ``.venv-interop``,
``clients/node_flow.mjs`` with npm ``@signalwire/realtime-api`` in ``tests/interop/node``;
both installed by ``scripts/install-interop``), answers, plays TTS and changes its volume,
pauses, resumes and stops it, prompts for the digits the phone presses, records what the
phone says, hangs up and sees the call end. Each client prints its result fields as JSON
lines and every field is checked here; the recording is downloaded with Basic auth.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import json
import os
import shutil
import ssl
import subprocess
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from voxrelay.phone import PhoneReport, VirtualPhone
from voxrelay.testing import LocalServer

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CLIENTS = HERE / "clients"
INTEROP_PYTHON = ROOT / ".venv-interop" / "bin" / "python"
NODE_SDK = HERE / "node" / "node_modules" / "@signalwire" / "realtime-api"
HINT = "run scripts/install-interop (from the repo root) to install the official clients"

CLIENT_TIMEOUT = 45.0  # the scripts stop themselves after this
READ_TIMEOUT = CLIENT_TIMEOUT + 10  # we stop reading (and kill them) after this
DIGITS = "12#"
SAID = "This is the caller speaking for the recording."
RECORD_SECONDS = 5.0  # node_flow.mjs stops its recording after this


@pytest.fixture
def server(tls_server: LocalServer) -> Iterator[LocalServer]:
    yield tls_server
    gc.collect()  # closes LocalServer.start()'s lingering health-check client (see interop)


def flow_command(kind: str) -> list[str]:
    """The command line for ``kind``'s flow script, or a clear failure saying how to install."""
    if kind == "python":
        if not INTEROP_PYTHON.exists():
            pytest.fail(f"interop venv missing: {INTEROP_PYTHON} not found; {HINT}", pytrace=False)
        return [str(INTEROP_PYTHON), "-u", str(CLIENTS / "py_flow.py")]
    node = shutil.which("node")
    if node is None:
        pytest.fail(f"node not found on PATH (need Node >= 18); then {HINT}", pytrace=False)
    if not NODE_SDK.exists():
        pytest.fail(
            f"@signalwire/realtime-api missing: {NODE_SDK} not found; {HINT}", pytrace=False
        )
    return [node, str(CLIENTS / "node_flow.mjs")]


async def read_events(process: Any, until: str, timeout: float, into: list[dict[str, Any]]) -> None:
    """Append the client's JSON lines to ``into`` until ``until``/``error``, EOF or timeout."""

    async def read() -> None:
        async for raw in process.stdout:
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(event, dict) or "event" not in event:
                continue
            into.append(event)
            if event["event"] in (until, "error"):
                return

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(read(), timeout)


def by_name(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["event"]: e for e in events}


def level_db(samples: Any) -> float:
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if len(samples) else 0.0
    return float(20 * np.log10(max(rms, 1e-9) / 32768))


def check_recording(server: LocalServer, url: str, size: int, duration: float) -> None:
    """The recording downloads with the project's Basic auth (only with it), is a WAV of
    ``size`` bytes and ``duration`` seconds, and holds the caller's speech."""
    assert url.startswith(server.http_url), (url, server.http_url)
    with httpx.Client(
        verify=ssl.create_default_context(cafile=str(server.ca_file)), timeout=10
    ) as http:
        assert http.get(url).status_code == 401
        resp = http.get(url, auth=(server.project, server.token))
    assert resp.status_code == 200, (resp.status_code, resp.text[:200])
    assert resp.content[:4] == b"RIFF" and resp.content[8:12] == b"WAVE", resp.content[:16]
    assert len(resp.content) == size, (len(resp.content), size)
    with wave.open(io.BytesIO(resp.content)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2), wav.getparams()
        assert abs(wav.getnframes() / wav.getframerate() - duration) < 0.1, wav.getparams()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    assert level_db(samples) > -50, "the recording is silent"


def check_flow(
    kind: str, events: list[dict[str, Any]], report: PhoneReport, server: LocalServer
) -> None:
    got = by_name(events)
    assert "error" not in got, got.get("error")
    names = [e["event"] for e in events]
    expected = [
        "ready", "received", "answered", "play_started", "play_volume", "play_pause",
        "play_resume", "play_stop", "play_done", "prompt", "record", "hangup", "ended", "done",
    ]  # fmt: skip
    assert names == expected, names

    call_id = report.call_id
    assert got["received"]["call_id"] == call_id
    assert (got["received"]["from"], got["received"]["to"]) == ("+15551112222", "+15550100001")
    assert got["answered"]["state"] == "answered"

    started = got["play_started"]
    control_id = started["control_id"]
    assert control_id
    play_done = got["play_done"]
    assert play_done["control_id"] == control_id
    assert play_done["state"] == "finished", play_done
    # every state the play went through, in order: started, paused, resumed, stopped
    assert play_done["states"] == ["playing", "paused", "playing", "finished"], play_done

    prompt = got["prompt"]
    assert prompt["type"] == "digit", prompt
    assert (prompt["digits"], prompt["terminator"]) == (DIGITS[:-1], DIGITS[-1]), prompt
    assert prompt["control_id"] and prompt["control_id"] != control_id

    record = got["record"]
    assert record["state"] == "finished", record
    assert record["control_id"] not in (control_id, prompt["control_id"])
    url = record["url"]
    assert url.endswith(".wav") and "/recordings/" in url, record
    if kind == "python":  # ended by end_silence_timeout (1.5 s) after the caller spoke
        assert 2.0 < record["duration"] < 12, record
    else:  # stopped by the client RECORD_SECONDS after it started
        assert record["duration"] > RECORD_SECONDS - 0.5, record  # not ended before that
    # 8 kHz 16-bit mono: 16 kB/s, plus a header
    assert record["size"] > 16_000 * record["duration"] * 0.9, record
    check_recording(server, url, record["size"], record["duration"])

    assert got["ended"]["call_id"] == call_id and got["ended"]["state"] == "ended"
    assert report.answered and report.states[-1].call_state == "ended"
    final = server.call_state(call_id)
    assert final["call_state"] == "ended" and final["end_reason"] == "hangup", final
    assert level_db(report.heard_after_answer()) > -50, "the caller heard nothing"
    if kind == "python":
        for name in ("play_volume", "play_pause", "play_resume", "play_stop", "hangup"):
            assert got[name]["code"] == "200", got[name]
        assert got["answered"]["code"] == "200"


async def run_flow(kind: str, server: LocalServer, tmp_path: Path, context: str) -> None:
    command = flow_command(kind)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(
        SIGNALWIRE_RELAY_CA_FILE=str(server.ca_file),  # Python SDK
        NODE_EXTRA_CA_CERTS=str(server.ca_file),  # Node runtime
        RELAY_HOST=server.host,
        RELAY_PROJECT=server.project,
        RELAY_TOKEN=server.token,
        RELAY_CONTEXT=context,
        RELAY_TIMEOUT=str(CLIENT_TIMEOUT),
        RELAY_RECORD_SECONDS=str(RECORD_SECONDS),
    )
    stderr_path = tmp_path / f"{kind}-flow.stderr"
    events: list[dict[str, Any]] = []
    with stderr_path.open("w") as stderr:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
            cwd=tmp_path,
        )

    def describe() -> str:
        tail = stderr_path.read_text(errors="replace")[-4000:]
        lines = "\n".join(json.dumps(e) for e in events)
        return f"{kind} client, exit {process.returncode}\nevents:\n{lines}\nstderr:\n{tail}"

    try:
        await read_events(process, "ready", 20, events)
        assert events and events[-1]["event"] == "ready", describe()
        phone = VirtualPhone(server.http_url, server.project, server.token, verify=server.ca_file)
        call = phone.call(
            context,
            "+15551112222",
            "+15550100001",
            digits=DIGITS,
            digits_at=4.5,
            say=SAID,
            play_at=7.5,
            hangup_after=40,
        )
        report, _ = await asyncio.gather(call, read_events(process, "done", READ_TIMEOUT, events))
        try:
            code = await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            code = None
        print(describe())
        check_flow(kind, events, report, server)
        assert code == 0, describe()
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


@pytest.mark.parametrize("kind", ["python", "node"])
async def test_official_client_full_flow(kind: str, server: LocalServer, tmp_path: Path) -> None:
    await run_flow(kind, server, tmp_path, "office")
