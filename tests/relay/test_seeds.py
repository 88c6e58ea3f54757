"""The documentation seeds in tests/relay/seeds/ run against a real ``voxrelay serve``.

Each seed is the docs example with only its import line and server address changed; the
server is configured with the seed's own placeholder credentials. A seed runs as its own
process (``client.run()`` blocks until SIGTERM) with the SDK's debug log on stdout, so the
test can read every frame it sent and received. A VirtualPhone is the caller (real RTP).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from voxrelay.phone import PhoneReport, VirtualPhone
from voxrelay.testing import LocalServer

SEEDS = Path(__file__).parent / "seeds"
SEED_FILES = sorted(SEEDS.glob("seed_*.py"))
RUNNER = (
    "import logging, runpy, sys;"
    "logging.basicConfig(level=logging.WARNING, stream=sys.stdout, format='%(message)s');"
    "logging.getLogger('voxrelay.relay').setLevel(logging.DEBUG);"
    "runpy.run_path(sys.argv[1], run_name='__main__')"
)


@pytest.mark.parametrize("path", SEED_FILES, ids=lambda p: p.stem)
def test_seed_compiles_and_only_the_import_changed(path: Path) -> None:
    source = path.read_text()
    compile(source, str(path), "exec")
    assert "from voxrelay.relay import RelayClient" in source
    assert "signalwire.relay" not in source.replace("for signalwire.relay.", "")


@pytest.fixture
def seed_server() -> Iterator[LocalServer]:
    yield from LocalServer.fixture(project="your-project-id", token="your-api-token")


class SeedProcess:
    """A running seed: its output lines, and the RELAY frames it logged."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def frames(self, direction: str) -> list[dict[str, Any]]:
        """JSON-RPC frames sent (``"->"``) or received (``"<-"``), in order."""
        prefix = f"RELAY {direction} "
        return [json.loads(line[len(prefix) :]) for line in self.lines if line.startswith(prefix)]

    def sent(self, prefix: str = "calling.") -> list[tuple[str, dict[str, Any]]]:
        return [
            (f["method"], f["params"])
            for f in self.frames("->")
            if str(f.get("method", "")).startswith(prefix)
        ]

    def events(self, event_type: str) -> list[dict[str, Any]]:
        return [
            f["params"]["params"]
            for f in self.frames("<-")
            if f.get("method") == "signalwire.event" and f["params"]["event_type"] == event_type
        ]

    async def expect(self, text: str, timeout: float = 15.0) -> None:
        async with asyncio.timeout(timeout):
            while not any(text in line for line in self.lines):
                if self.process.returncode is not None:
                    raise AssertionError(f"seed exited early:\n{self.output}")
                await asyncio.sleep(0.02)

    def assert_clean(self) -> None:
        bad = [ln for ln in self.lines if "Traceback" in ln or " failed" in ln]
        assert not bad, self.output


@contextlib.asynccontextmanager
async def run_seed(path: Path, server: LocalServer) -> AsyncIterator[SeedProcess]:
    env = {**os.environ, "VOXRELAY_SEED_HOST": server.host, "PYTHONUNBUFFERED": "1"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        RUNNER,
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
    )
    seed = SeedProcess(process)
    try:
        await seed.expect("RELAY connected")
        yield seed
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        await asyncio.wait_for(seed._reader, 5)
    assert process.returncode == 0, seed.output


def phone_call(server: LocalServer, hangup_after: float) -> asyncio.Task[PhoneReport]:
    phone = VirtualPhone(server.http_url, server.project, server.token)
    return asyncio.create_task(phone.call("default", hangup_after=hangup_after))


async def test_seed_000_play_action_controls(seed_server: LocalServer) -> None:
    async with run_seed(SEEDS / "seed_000_play_action.py", seed_server) as seed:
        phone = phone_call(seed_server, hangup_after=4.0)
        await seed.expect('"method":"calling.play.stop"')
        report = await asyncio.wait_for(phone, 20)
        await seed.expect('"call_state":"ended"')
    assert report.answered
    seed.assert_clean()
    call_id = report.call_id
    sent = seed.sent()
    control_id = sent[1][1]["control_id"]
    ref = {"node_id": sent[0][1]["node_id"], "call_id": call_id}
    ctl = {**ref, "control_id": control_id}
    assert sent == [
        ("calling.answer", ref),
        (
            "calling.play",
            {
                **ctl,
                "play": [
                    {"type": "audio", "params": {"url": "https://example.com/hold-music.mp3"}}
                ],
                "volume": -5.0,
                "loop": 0,
            },
        ),
        ("calling.play.pause", ctl),
        ("calling.play.resume", ctl),
        ("calling.play.volume", {**ctl, "volume": 10.0}),
        ("calling.play.stop", ctl),
    ]
    # without network the URL cannot be fetched (error); with it, stop ends it (finished)
    states = [e["state"] for e in seed.events("calling.call.play")]
    assert states and states[-1] in ("finished", "error"), states


async def test_seed_003_call_play_tts_and_wait(seed_server: LocalServer) -> None:
    async with run_seed(SEEDS / "seed_003_call.py", seed_server) as seed:
        phone = phone_call(seed_server, hangup_after=6.0)
        await seed.expect("Play state: finished")
        report = await asyncio.wait_for(phone, 20)
        await seed.expect(f"Call ended: {report.call_id}")
    seed.assert_clean()
    printed = [ln for ln in seed.lines if ln.startswith(("Play state:", "Call ended:"))]
    assert printed == [
        "Play state: playing",
        "Play state: finished",
        f"Call ended: {report.call_id}",
    ]
    plays = [p for m, p in seed.sent() if m == "calling.play"]
    assert [p["play"] for p in plays] == [
        [{"type": "tts", "params": {"text": "Hello from RELAY!"}}]
    ]
