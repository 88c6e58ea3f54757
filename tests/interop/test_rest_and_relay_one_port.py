"""The official ``signalwire-sdk``'s RestClient and RelayClient against one ``serve --tls``.

On a loopback host the SDK's RestClient speaks plain ``http://`` while its RelayClient always
dials ``wss://``; one voxrelay port serves both. The client, a black box
(``clients/py_rest_and_relay.py`` with PyPI ``signalwire-sdk`` in ``.venv-interop``), REST-dials
a number of its RELAY context and answers that call over RELAY; then a virtual phone
(``voxrelay.phone.VirtualPhone``, real RTP) calls in, the RelayClient answers, REST plays
speech on the call, the RelayClient sees the play's events, and REST ends the call. Every
JSON line the client prints is checked here, with the phone's view of its call.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.interop.test_full_flows import CLIENTS, HINT, INTEROP_PYTHON, by_name, level_db
from tests.interop.test_full_flows import read_events as read_until
from voxrelay.phone import VirtualPhone
from voxrelay.testing import LocalServer

pytestmark = pytest.mark.interop

CLIENT_TIMEOUT = 45.0
CONTEXT, NUMBER = "office", "+15550100001"
PHONE_NUMBER = "+15551113333"


@pytest.fixture
def server(tls_server: LocalServer) -> Iterator[LocalServer]:
    yield tls_server
    gc.collect()  # closes LocalServer.start()'s lingering health-check client (see interop)


async def start_client(server: LocalServer, tmp_path: Path) -> tuple[Any, Path]:
    if not INTEROP_PYTHON.exists():
        pytest.fail(f"interop venv missing: {INTEROP_PYTHON} not found; {HINT}", pytrace=False)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(
        SIGNALWIRE_RELAY_CA_FILE=str(server.ca_file),  # the RelayClient's wss:// only
        RELAY_HOST=server.host,
        RELAY_PROJECT=server.project,
        RELAY_TOKEN=server.token,
        RELAY_CONTEXT=CONTEXT,
        RELAY_NUMBER=NUMBER,
        RELAY_TIMEOUT=str(CLIENT_TIMEOUT),
    )
    env.pop("SIGNALWIRE_REST_CA_FILE", None)
    stderr_path = tmp_path / "rest-and-relay.stderr"
    with stderr_path.open("w") as stderr:
        process = await asyncio.create_subprocess_exec(
            str(INTEROP_PYTHON),
            "-u",
            str(CLIENTS / "py_rest_and_relay.py"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
            cwd=tmp_path,
        )
    return process, stderr_path


async def test_official_rest_and_relay_clients_share_one_tls_port(
    server: LocalServer, tmp_path: Path
) -> None:
    assert server.tls
    process, stderr_path = await start_client(server, tmp_path)
    events: list[dict[str, Any]] = []

    def describe() -> str:
        lines = "\n".join(json.dumps(e) for e in events)
        tail = stderr_path.read_text(errors="replace")[-4000:]
        return f"exit {process.returncode}\nevents:\n{lines}\nstderr:\n{tail}"

    try:
        await read_until(process, "dial_ended", 30, events)
        assert events and events[-1]["event"] == "dial_ended", describe()
        phone = VirtualPhone(server.http_url, server.project, server.token, verify=server.ca_file)
        call = phone.call(CONTEXT, PHONE_NUMBER, NUMBER, hangup_after=30)
        report, _ = await asyncio.gather(
            call, read_until(process, "done", CLIENT_TIMEOUT + 5, events)
        )
        code = await asyncio.wait_for(process.wait(), 10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    names = [e["event"] for e in events]
    assert names == [
        "ready",
        "rest_dial", "dial_received", "dial_answered", "rest_complete", "dial_ended",
        "received", "answered", "rest_play", "play_done", "rest_end", "ended",
        "done",
    ], describe()  # fmt: skip
    assert code == 0, describe()
    got = by_name(events)

    # 1. REST (http) dialled into the context; RELAY (wss) received, answered, saw it end.
    leg = got["rest_dial"]
    assert leg["to"] == NUMBER and leg["status"] in ("created", "ringing"), leg
    dialled = got["dial_received"]
    assert (dialled["from"], dialled["to"]) == ("+15557770001", NUMBER), dialled
    assert got["dial_answered"]["state"] == "answered"
    assert got["rest_complete"]["id"] == leg["id"]
    assert got["dial_ended"]["call_id"] == dialled["call_id"]
    assert got["dial_ended"]["state"] == "ended"
    assert server.call_state(leg["id"])["call_state"] == "ended"

    # 2. The phone's call: REST played on it and RELAY saw that play, then REST ended it.
    call_id = report.call_id
    assert got["received"]["call_id"] == call_id
    assert (got["received"]["from"], got["received"]["to"]) == (PHONE_NUMBER, NUMBER)
    assert got["answered"]["state"] == "answered"
    control_id = got["rest_play"]["control_id"]
    assert control_id and got["play_done"]["control_ids"] == [control_id], got["play_done"]
    assert got["play_done"]["states"] == ["playing", "finished"], got["play_done"]
    assert got["rest_end"]["id"] == call_id
    assert got["ended"]["call_id"] == call_id and got["ended"]["state"] == "ended"
    assert report.answered and report.states[-1].call_state == "ended"
    assert level_db(report.heard_after_answer()) > -50, "the caller heard nothing of the play"
    final = server.call_state(call_id)
    assert final["call_state"] == "ended" and final["end_reason"] == "hangup", final
