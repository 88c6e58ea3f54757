"""`voxrelay call` and `voxrelay serve` as a user runs them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile

from tests.wire import WireClient
from voxrelay.testing import LocalServer, free_port


def voxrelay_call(
    server: LocalServer, *args: str
) -> asyncio.Task[subprocess.CompletedProcess[str]]:
    env = {
        **os.environ,
        "SIGNALWIRE_PROJECT_ID": server.project,
        "SIGNALWIRE_API_TOKEN": server.token,
        "SIGNALWIRE_SPACE": server.host,
    }
    argv = [sys.executable, "-m", "voxrelay", "call", *args]
    return asyncio.create_task(
        asyncio.to_thread(subprocess.run, argv, capture_output=True, text=True, timeout=30, env=env)
    )


async def test_call_prints_the_progress_and_exits_0_when_answered(
    relay_server: LocalServer, tmp_path: Path
) -> None:
    app = WireClient(relay_server.ws_url)
    await app.connect(relay_server.project, relay_server.token, ["desk"])
    heard = tmp_path / "heard.wav"
    run = voxrelay_call(
        relay_server,
        "--context",
        "desk",
        "--from",
        "+15551230000",
        "--to",
        "+15559870000",
        "--hangup-after",
        "1.5",
        "--record",
        str(heard),
    )
    offer = await app.wait_event("calling.call.receive", timeout=15)
    assert offer["params"]["device"]["params"] == {
        "from_number": "+15551230000",
        "to_number": "+15559870000",
    }
    call_id = offer["params"]["call_id"]
    await app.request("calling.answer", {"call_id": call_id})
    await app.request(
        "calling.play",
        {
            "call_id": call_id,
            "control_id": "ring",
            "play": [{"type": "ringtone", "params": {"name": "us", "duration": 1.0}}],
        },
    )
    ended = await app.wait_event("calling.call.state", call_state="ended", timeout=15)
    assert ended["params"]["end_reason"] == "hangup"  # the caller hung up after 1.5 s
    done = await run
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line.split()[1:] for line in done.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert lines == [
        ["created"],
        ["ringing"],
        ["answered"],
        ["ending", "(hangup)"],
        ["ended", "(hangup)"],
    ]
    audio, rate = soundfile.read(str(heard), dtype="int16")
    assert rate == 8000
    tones = np.abs(audio.reshape(-1, 160)).max(axis=1) > 1000
    assert 40 <= tones.sum() <= 55  # the 1 s US ringtone (440+480 Hz), nothing else
    await app.close()


async def test_call_exits_1_when_nobody_answers(relay_server: LocalServer) -> None:
    done = await voxrelay_call(relay_server, "--context", "nobody", "--ring-timeout", "0.5")
    assert done.returncode == 1
    assert "not answered: noAnswer" in done.stdout


async def test_call_with_bad_credentials_exits_2(relay_server: LocalServer) -> None:
    env = {**os.environ, "SIGNALWIRE_API_TOKEN": "wrong"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "voxrelay",
            "call",
            "--host",
            relay_server.host,
            "--project",
            relay_server.project,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )
    assert done.returncode == 2 and "401" in done.stdout


def test_call_and_phone_refuse_a_malformed_sip_address_with_a_message() -> None:
    for command in (["call"], ["phone", "--number", "+15550003333"]):
        done = subprocess.run(
            [sys.executable, "-m", "voxrelay", *command, "--project", "p", "--token", "t",
             "--sip", "host:port:extra"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert done.returncode == 2, done.stdout + done.stderr
        assert "--sip" in done.stdout and "Traceback" not in done.stdout + done.stderr


def test_serve_without_flags_makes_and_keeps_local_credentials(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "VOXRELAY_DATA_DIR": str(tmp_path), "VOXRELAY_PORT": str(port)}
    for _ in range(2):
        proc = subprocess.Popen(
            [sys.executable, "-m", "voxrelay", "serve"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            banner = ""
            assert proc.stdout is not None
            while "SDK env" not in banner:
                line = proc.stdout.readline()
                assert line, banner
                banner += line
        finally:
            proc.terminate()
            proc.wait(10)
        assert f"ws://127.0.0.1:{port}/" in banner
        assert str(tmp_path) in banner
    credentials = (tmp_path / "credentials.json").read_text()
    assert credentials.count("PT") == 1
    assert oct((tmp_path / "credentials.json").stat().st_mode & 0o777) == "0o600"


async def test_tls_serves_wss_with_a_kept_local_ca(tls_server: LocalServer) -> None:
    import ssl

    ca = tls_server.ca_file
    assert ca.exists()
    first = ca.read_bytes()
    context = ssl.create_default_context(cafile=str(ca))
    client = WireClient(tls_server.ws_url, ssl=context)
    reply = await client.connect(tls_server.project, tls_server.token, ["default"])
    assert reply["result"]["session_restored"] is False
    with tls_server.http() as http:  # https on the same port
        assert http.get("/healthz").status_code == 200
    await client.close()
    tls_server.stop()
    tls_server.start()
    assert ca.read_bytes() == first  # made once, kept


async def test_phone_waits_on_a_number_and_records_the_app(
    relay_server: LocalServer, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "SIGNALWIRE_PROJECT_ID": relay_server.project,
        "SIGNALWIRE_API_TOKEN": relay_server.token,
        "SIGNALWIRE_SPACE": relay_server.host,
    }
    heard = tmp_path / "phone.wav"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "voxrelay",
        "phone",
        "--number",
        "+15550107777",
        "--answer-after",
        "0.3",
        "--record",
        str(heard),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 15)
    assert b"waiting for calls to +15550107777" in line
    app = WireClient(relay_server.ws_url)
    await app.connect(relay_server.project, relay_server.token, [])
    await app.request(
        "calling.dial",
        {
            "tag": "cli",
            "devices": [
                [
                    {
                        "type": "phone",
                        "params": {"from_number": "+15553334444", "to_number": "+15550107777"},
                    }
                ]
            ],
        },
    )
    answered = await app.wait_event("calling.call.dial", dial_state="answered", timeout=10)
    call_id = answered["params"]["call"]["call_id"]
    await app.request(
        "calling.play",
        {
            "call_id": call_id,
            "control_id": "t",
            "play": [{"type": "ringtone", "params": {"name": "uk", "duration": 1.0}}],
        },
    )
    await app.wait_event("calling.call.play", control_id="t", state="finished", timeout=5)
    await app.request("calling.end", {"call_id": call_id})
    output = (await asyncio.wait_for(proc.stdout.read(), 15)).decode()
    assert await proc.wait() == 0, output
    assert "answered" in output and "ended" in output
    audio, _ = soundfile.read(str(heard), dtype="int16")
    on = np.abs(audio.reshape(-1, 160)).max(axis=1) > 1000
    assert 30 <= on.sum() <= 45  # the UK cadence: 0.4 s on, 0.2 off, 0.4 on within 1 s
    await app.close()
