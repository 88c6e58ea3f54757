"""`voxrelay call` and `voxrelay serve` as a user runs them."""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.wire import WireClient
from voxrelay.cli.endpoints import http_base_url, trust
from voxrelay.server.tls import ensure_local_ca
from voxrelay.testing import LocalServer, free_port


def voxrelay_env(server: LocalServer, **more: str) -> dict[str, str]:
    """The SDK's variables for ``server`` (its scheme-less ``host:port``), no CA file."""
    env = {k: v for k, v in os.environ.items() if k != "SIGNALWIRE_RELAY_CA_FILE"}
    return {
        **env,
        "SIGNALWIRE_PROJECT_ID": server.project,
        "SIGNALWIRE_API_TOKEN": server.token,
        "SIGNALWIRE_SPACE": server.host,
        **more,
    }


def voxrelay_call(
    server: LocalServer, *args: str, **env_more: str
) -> asyncio.Task[subprocess.CompletedProcess[str]]:
    env = voxrelay_env(server, **env_more)
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


def test_host_to_base_url(relay_server: LocalServer, tls_server: LocalServer) -> None:
    assert http_base_url("wss://example.com/") == "https://example.com"
    assert http_base_url("ws://10.0.0.5:8773") == "http://10.0.0.5:8773"
    assert http_base_url("example.com:8773") == "https://example.com:8773"
    assert http_base_url(relay_server.host) == f"http://{relay_server.host}"  # no CA: no probe
    probe = trust(tls_server.ca_file)
    assert http_base_url(tls_server.host, probe) == f"https://{tls_server.host}"
    assert http_base_url(relay_server.host, probe) == f"http://{relay_server.host}"  # not TLS
    assert http_base_url("127.0.0.1", probe) == "http://127.0.0.1"  # no port: nothing to probe


@pytest.fixture
def tls_only_server() -> Iterator[LocalServer]:
    yield from LocalServer.fixture(tls=True, extra_args=["--tls-only"])


async def test_call_reaches_a_tls_server_trusting_its_data_dirs_ca(
    tls_only_server: LocalServer,
) -> None:
    server = tls_only_server  # plain http would be refused: the call must go over https
    app = WireClient(server.ws_url, ssl=ssl.create_default_context(cafile=str(server.ca_file)))
    await app.connect(server.project, server.token, ["desk"])
    run = voxrelay_call(
        server,
        "--context",
        "desk",
        "--hangup-after",
        "0.5",
        VOXRELAY_DATA_DIR=str(server.data_dir),
    )
    offer = await app.wait_event("calling.call.receive", timeout=15)
    await app.request("calling.answer", {"call_id": offer["params"]["call_id"]})
    done = await run
    assert done.returncode == 0, done.stdout + done.stderr
    states = [line.split()[1] for line in done.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert states[-1] == "ended" and "answered" in states, done.stdout
    await app.close()


async def test_call_trusts_a_ca_file_and_refuses_an_untrusted_tls_server(
    tls_only_server: LocalServer, tmp_path: Path
) -> None:
    elsewhere = str(tmp_path)  # a data dir without the server's CA
    trusted = await voxrelay_call(
        tls_only_server,
        "--ca",
        str(tls_only_server.ca_file),
        "--context",
        "nobody",
        "--ring-timeout",
        "0.5",
        VOXRELAY_DATA_DIR=elsewhere,
    )
    assert trusted.returncode == 1, trusted.stdout + trusted.stderr  # reached, not answered
    assert "not answered: noAnswer" in trusted.stdout
    other_ca = ensure_local_ca(tmp_path / "other").ca_cert  # some other server's CA
    untrusted = await voxrelay_call(
        tls_only_server, "--ca", str(other_ca), VOXRELAY_DATA_DIR=elsewhere
    )
    assert untrusted.returncode == 2, untrusted.stdout + untrusted.stderr
    assert "not trusted" in untrusted.stdout and "--ca" in untrusted.stdout
    # no CA at all: plain http, which the TLS-only server refuses, saying why
    plain = await voxrelay_call(tls_only_server, VOXRELAY_DATA_DIR=elsewhere)
    assert plain.returncode == 2, plain.stdout + plain.stderr
    assert "HTTP 400" in plain.stdout and "TLS connections only" in plain.stdout
    for done in (untrusted, plain):
        assert "Traceback" not in done.stdout + done.stderr


async def voxrelay_phone(server: LocalServer, *args: str) -> asyncio.subprocess.Process:
    """``voxrelay phone ARGS`` for ``server``, its output (stderr included) piped."""
    return await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "voxrelay", "phone", *args),
        env=voxrelay_env(server),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def test_phone_registers_with_a_tls_server(tls_only_server: LocalServer) -> None:
    data_dir = str(tls_only_server.data_dir)
    proc = await voxrelay_phone(tls_only_server, "--number", "+15550108888", "--data-dir", data_dir)
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 15)
        assert b"waiting for calls to +15550108888" in line  # found SIP over https, registered
    finally:
        proc.terminate()
        await proc.wait()


async def test_phone_waits_on_a_number_and_records_the_app(
    relay_server: LocalServer, tmp_path: Path
) -> None:
    heard = tmp_path / "phone.wav"
    proc = await voxrelay_phone(
        relay_server, "--number", "+15550107777", "--answer-after", "0.3", "--record", str(heard)
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
