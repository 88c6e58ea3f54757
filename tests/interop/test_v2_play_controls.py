"""The official 2.x client (PyPI ``signalwire`` 2.1.1) pauses, resumes, turns up and stops a
play, and its PlayAction ends ``finished``, completed and successful (issue 13, 5a).

The 2.x SDK completes a play on any state but ``playing`` (reference §5.3), so a Blade
session must never be sent ``paused``: before the fix the action ended in state ``paused``,
unsuccessful. ``clients/v2_play_controls.py`` runs with the official SDK from
``.venv-interop-v2`` (a black box) and, with only its import changed, with ``voxrelay.v2``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.interop.test_v2_clients import read_events, server  # noqa: F401  (a fixture)
from voxrelay.phone import VirtualPhone
from voxrelay.testing import LocalServer

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = Path(__file__).parent / "clients" / "v2_play_controls.py"
V2_PYTHON = ROOT / ".venv-interop-v2" / "bin" / "python"
OFFICIAL_IMPORT = "from signalwire.relay.consumer import Consumer"


def command(kind: str, tmp_path: Path) -> list[str]:
    if kind == "official":
        if not V2_PYTHON.exists():
            pytest.fail(f"{V2_PYTHON} missing: run scripts/install-interop", pytrace=False)
        return [str(V2_PYTHON), "-u", str(PROGRAM)]
    ours = tmp_path / "v2_play_controls_voxrelay.py"
    source = PROGRAM.read_text()
    assert source.count(OFFICIAL_IMPORT) == 1
    ours.write_text(source.replace(OFFICIAL_IMPORT, "from voxrelay.v2.consumer import Consumer"))
    return [sys.executable, "-u", str(ours)]


@pytest.mark.parametrize("kind", ["official", "voxrelay"])
async def test_paused_resumed_louder_stopped_play_ends_finished_and_successful(
    kind: str,
    server: LocalServer,  # noqa: F811  (the fixture imported above)
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(
        SSL_CERT_FILE=str(server.ca_file),
        RELAY_HOST=f"wss://{server.host}" if kind == "voxrelay" else server.host,
        RELAY_PROJECT=server.project,
        RELAY_TOKEN=server.token,
        RELAY_CONTEXT="office",
        RELAY_TIMEOUT="40",
    )
    stderr = tmp_path / "stderr.txt"
    with stderr.open("w") as err:
        process = await asyncio.create_subprocess_exec(
            *command(kind, tmp_path), stdout=subprocess.PIPE, stderr=err, env=env, cwd=tmp_path
        )
    try:
        ready = await read_events(process, "ready", 20)
        assert ready and ready[-1]["event"] == "ready", (ready, stderr.read_text())
        phone = VirtualPhone(server.http_url, server.project, server.token, verify=server.ca_file)
        call = phone.call("office", "+15551112222", "+15550100001", hangup_after=30)
        report, events = await asyncio.gather(call, read_events(process, "done", 40))
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
    got = {e["event"]: e for e in events}
    where = f"{kind}: {events} {stderr.read_text()[-2000:]}"
    assert "error" not in got and "done" in got, where
    assert report.answered, where
    assert got["answered"]["successful"] is True, where
    assert got["started"]["completed"] is False, where
    for step in ("volume", "pause", "resume"):
        assert got[step]["successful"] is True, where
        assert got[step]["completed"] is False, where  # a pause is not the end of the play
    assert got["pause"]["state"] != "paused", where  # 2.x would take "paused" as the end
    stop = got["stop"]
    assert stop["successful"] is True, where
    assert (stop["state"], stop["completed"]) == ("finished", True), where
    assert stop["result_successful"] is True and stop["result_type"] == "PlayResult", where
    states = got["states"]
    assert states["seen"][-1] == "finished" and "paused" not in states["seen"], where
    assert states["state"] == "finished", where
