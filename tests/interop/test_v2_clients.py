"""The 2.x API against ``voxrelay serve`` over the Blade dialect, with a virtual phone calling in.

``clients/v2_flow.py`` is one user program written for PyPI ``signalwire`` 2.x
(``Relay.Consumer``). It runs twice: with the official SDK 2.1.1 in ``.venv-interop-v2``
(installed by ``scripts/install-interop``; a black box), and with only its import line changed
to ``voxrelay.v2`` in voxrelay's own venv. Both must answer, play TTS and pause/resume/volume/
stop it, collect the digits the phone presses, record what the phone says and hang up; every
result field is printed by the program and checked here.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.interop.test_official_clients import (  # noqa: F401  (start_client: a fixture)
    assert_handled,
    originate,
    start_client,
)
from voxrelay.phone import PhoneReport, VirtualPhone
from voxrelay.testing import LocalServer

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]
FLOW = Path(__file__).parent / "clients" / "v2_flow.py"
COMMON = [FLOW.with_name(n) for n in ("v2_common.py", "flow_common.py")]  # what they share
V2_PYTHON = ROOT / ".venv-interop-v2" / "bin" / "python"
OFFICIAL_IMPORT = "from signalwire.relay.consumer import Consumer"
OUR_IMPORT = "from voxrelay.v2.consumer import Consumer"


@pytest.fixture
def server(tls_server: LocalServer) -> Iterator[LocalServer]:
    yield tls_server
    gc.collect()  # closes LocalServer.start()'s lingering health-check client (see interop)


def flow_command(kind: str, tmp_path: Path, program: Path = FLOW) -> list[str]:
    """Run ``program`` with the official SDK, or a copy importing voxrelay.v2 instead."""
    if kind == "official":
        if not V2_PYTHON.exists():
            pytest.fail(f"{V2_PYTHON} missing: run scripts/install-interop", pytrace=False)
        return [str(V2_PYTHON), "-u", str(program)]
    source = program.read_text()
    assert source.count(OFFICIAL_IMPORT) == 1
    ours = tmp_path / f"{program.stem}_voxrelay.py"
    ours.write_text(source.replace(OFFICIAL_IMPORT, OUR_IMPORT))
    for shared in COMMON:
        shutil.copy(shared, tmp_path)
    return [sys.executable, "-u", str(ours)]


def start_flow(
    kind: str, server: LocalServer, context: str, tmp_path: Path, program: Path = FLOW
) -> Any:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(
        SSL_CERT_FILE=str(server.ca_file),
        RELAY_HOST=f"wss://{server.host}" if kind == "voxrelay" else server.host,
        RELAY_PROJECT=server.project,
        RELAY_TOKEN=server.token,
        RELAY_CONTEXT=context,
        RELAY_TIMEOUT="45",
    )
    stderr = (tmp_path / f"{kind}-{context}.stderr").open("w")
    return asyncio.create_subprocess_exec(
        *flow_command(kind, tmp_path, program),
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=env,
        cwd=tmp_path,
    )


async def read_events(process: Any, until: str, timeout: float) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []

    async def read() -> None:
        async for raw in process.stdout:
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            events.append(event)
            if event.get("event") in (until, "error"):
                return

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(read(), timeout)
    return events


def by_name(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["event"]: e for e in events}


def level_db(samples: Any) -> float:
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if len(samples) else 0.0
    return float(20 * np.log10(max(rms, 1e-9) / 32768))


def check_flow(events: list[dict[str, Any]], report: PhoneReport, where: str) -> None:
    got = by_name(events)
    print(f"{where}:\n" + "\n".join(json.dumps(e) for e in events))
    assert "error" not in got, got.get("error")
    assert got["received"]["call_id"] == report.call_id
    assert got["answered"] == {**got["answered"], "successful": True, "state": "answered"}
    started = got["play_started"]
    assert started["completed"] is False and started["control_id"]
    assert {"call_id", "control_id", "node_id", "play"} <= set(started["payload_keys"])
    for name, kind in (
        ("play_volume", "PlayVolumeResult"),
        ("play_pause", "PlayPauseResult"),
        ("play_resume", "PlayResumeResult"),
        ("play_stop", "StopResult"),
    ):
        assert got[name]["successful"] is True and got[name]["kind"] == kind, got[name]
    # 2.x completes a play on any state but "playing": Blade sessions never see "paused"
    assert got["play_done"]["completed"] is True and got["play_done"]["state"] == "finished"
    assert got["play_done"]["result_successful"] is True
    prompt = got["prompt"]
    assert prompt["successful"] is True and prompt["type"] == "digit", prompt
    assert (prompt["result"], prompt["terminator"]) == ("12", "#"), prompt
    assert prompt["confidence"] is None
    record = got["record"]
    assert record["successful"] is True, record
    assert record["url"].endswith(".wav") and "/recordings/" in record["url"], record
    assert record["duration"] > 0.5 and record["size"] > 1000, record
    assert got["hangup"] == {**got["hangup"], "successful": True, "reason": "hangup"}
    assert got["hangup"]["state"] == "ended"
    assert "done" in got
    assert report.answered and report.states[-1].call_state == "ended"
    assert level_db(report.heard_after_answer()) > -50, "the caller heard nothing"


async def run_flow(kind: str, server: LocalServer, tmp_path: Path, context: str) -> None:
    process = await start_flow(kind, server, context, tmp_path)
    try:
        ready = await read_events(process, "ready", 20)
        assert ready and ready[-1]["event"] == "ready", (ready, stderr_of(tmp_path, kind, context))
        phone = VirtualPhone(server.http_url, server.project, server.token, verify=server.ca_file)
        call = phone.call(
            context,
            "+15551112222",
            {"office": "+15550100001", "sales": "+15550100002"}.get(context, "+15550100003"),
            digits="12#",
            digits_at=4.5,
            say="This is the caller speaking for the recording.",
            play_at=7.5,
            hangup_after=30,
        )
        report, events = await asyncio.gather(call, read_events(process, "done", 45))
        check_flow(ready + events, report, f"{kind} {stderr_of(tmp_path, kind, context)}")
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


def stderr_of(tmp_path: Path, kind: str, context: str) -> str:
    path = tmp_path / f"{kind}-{context}.stderr"
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""


@pytest.mark.parametrize("kind", ["official", "voxrelay"])
async def test_v2_full_flow(kind: str, server: LocalServer, tmp_path: Path) -> None:
    await run_flow(kind, server, tmp_path, "office")


async def test_three_official_clients_at_once_each_get_only_their_own_calls(
    server: LocalServer,
    start_client: Any,  # noqa: F811  (the fixture imported above)
    tmp_path: Path,
) -> None:
    """signalwire-sdk 3.x on office, @signalwire/realtime-api on sales, signalwire 2.x on
    support: all connected at once, each answers only the call to its own context."""
    py = start_client("python", server, "office", linger=1.0)
    node = start_client("node", server, "sales", linger=1.0)
    py.wait_event("ready")
    node.wait_event("ready")
    to_sales = originate(server, "sales", "+15552220002", "+15550100002")
    to_office = originate(server, "office", "+15551110001", "+15550100001")
    await run_flow("official", server, tmp_path, "support")
    assert_handled(py, to_office, "+15551110001", "+15550100001", server)
    assert_handled(node, to_sales, "+15552220002", "+15550100002", server)
    for client in (py, node):
        seen = [e for e in client.events if e["event"] in ("received", "extra_call")]
        assert len(seen) == 1, client.describe()
