"""The official 2.x client (PyPI ``signalwire`` 2.1.1) pauses, resumes, turns up and stops a
play, and its PlayAction ends ``finished``, completed and successful (issue 13, 5a); a
prompt it stops ends too.

The 2.x SDK completes a play on any state but ``playing`` (reference §5.3), so a Blade
session must never be sent ``paused``: before the fix the action ended in state ``paused``,
unsuccessful. ``clients/v2_play_controls.py`` runs with the official SDK from
``.venv-interop-v2`` (a black box) and, with only its import changed, with ``voxrelay.v2``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.interop.test_v2_clients import (  # noqa: F401  (server: a fixture)
    read_events,
    server,
    start_flow,
    stderr_of,
)
from tests.test_play_e2e import CHUNK, level_db
from voxrelay.phone import VirtualPhone
from voxrelay.testing import LocalServer

pytestmark = pytest.mark.interop

PROGRAM = Path(__file__).parent / "clients" / "v2_play_controls.py"


@pytest.mark.parametrize("kind", ["official", "voxrelay"])
async def test_paused_resumed_louder_stopped_play_ends_finished_and_successful(
    kind: str,
    server: LocalServer,  # noqa: F811  (the fixture imported above)
    tmp_path: Path,
) -> None:
    process = await start_flow(kind, server, "office", tmp_path, PROGRAM)
    try:
        ready = await read_events(process, "ready", 20)
        assert ready and ready[-1]["event"] == "ready", (ready, stderr_of(tmp_path, kind, "office"))
        phone = VirtualPhone(server.http_url, server.project, server.token, verify=server.ca_file)
        call = phone.call("office", "+15551112222", "+15550100001", hangup_after=30)
        report, events = await asyncio.gather(call, read_events(process, "done", 40))
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
    got = {e["event"]: e for e in events}
    where = f"{kind}: {events} {stderr_of(tmp_path, kind, 'office')}"
    assert "error" not in got and "done" in got, where
    assert report.answered and report.end_reason == "hangup", where  # the app hung up
    heard = report.heard_after_answer()
    loud = [level_db(heard[i : i + CHUNK]) > -40 for i in range(0, len(heard) - CHUNK, CHUNK)]
    assert sum(loud) >= 5, where  # the caller heard the announcement (and the prompt) speak
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
    # a stopped prompt ends too (2.x reads a result from every collect event)
    prompt = got["prompt_stop"]
    assert prompt["successful"] is True and prompt["completed"] is True, where
    assert prompt["result_successful"] is False and prompt["state"] == "no_input", where
