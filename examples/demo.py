"""The main job: a real phone call into the example IVR, end to end.

``scripts/demo`` runs this. It starts ``voxrelay serve`` (SIP and RTP on a veth address that
a network namespace can reach), the IVR app (``examples/ivr.py``, or ``--app``), and baresip,
an independent SIP softphone, inside that namespace. The phone dials the IVR, listens,
presses ``12#`` during the menu, and leaves a spoken message after the beep; the IVR reads
the keys back and hangs up. While it runs you see a transcript (the IVR's events with their
times, and the phone's); then a summary: the keys the IVR collected, the speech it
recognised, and the voicemail's URL, duration and file. Exit status 0 when the IVR got the
keys and a voicemail of the right length, 1 with the reason otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from voxrelay.baresip import Baresip, Netns, available
from voxrelay.media.frames import RATE
from voxrelay.media.sources import silence, synthesize
from voxrelay.testing import free_port

HERE = Path(__file__).resolve().parent
PROJECT = "demo-project"
TOKEN = "PTdemo-token"
KEYS = "12#"
KEYS_AT = 4.5  # seconds after the phone's call is answered: during the menu prompt
MESSAGE = "Hello, this is the demo caller. Please call me back tomorrow morning."
MESSAGE_AT = 13.0  # seconds after answer: after the jingle and the beep


class Transcript:
    """Prints lines as they happen, with seconds since the demo started."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def say(self, who: str, text: str) -> None:
        print(f"{time.monotonic() - self.start:7.2f}s  {who:<6} {text}", flush=True)


async def pump(stream: asyncio.StreamReader, who: str, log: Transcript, sink: list[str]) -> None:
    while line := await stream.readline():
        text = line.decode(errors="replace").rstrip()
        sink.append(text)
        if not text.startswith("IVR-RESULT"):
            log.say(who, text.removeprefix("[ivr] "))


async def start(
    argv: list[str], env: dict[str, str], who: str, log: Transcript, sink: list[str]
) -> tuple[asyncio.subprocess.Process, asyncio.Task[None]]:
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    assert proc.stdout is not None
    return proc, asyncio.create_task(pump(proc.stdout, who, log, sink))


async def wait_for(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if await check():
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit(f"demo: timed out waiting for {what}")


async def run(app: Path, workdir: Path) -> int:
    log = Transcript()
    port = free_port()
    netns = Netns().create()
    procs: list[asyncio.subprocess.Process] = []
    server_out: list[str] = []
    app_out: list[str] = []
    try:
        sip_port = free_port()
        data_dir = workdir / "data"
        env = {
            **os.environ,
            "SIGNALWIRE_PROJECT_ID": PROJECT,
            "SIGNALWIRE_API_TOKEN": TOKEN,
            "SIGNALWIRE_SPACE": f"127.0.0.1:{port}",
            "PYTHONUNBUFFERED": "1",
        }
        log.say(
            "demo",
            f"starting voxrelay serve: RELAY ws://127.0.0.1:{port}, SIP {netns.outer}:{sip_port}",
        )
        proc, _ = await start(
            [
                sys.executable,
                "-m",
                "voxrelay",
                "serve",
                "--port",
                str(port),
                "--project",
                PROJECT,
                "--token",
                TOKEN,
                "--data-dir",
                str(data_dir),
                "--sip-host",
                netns.outer,
                "--sip-port",
                str(sip_port),
                "--rtp-host",
                netns.outer,
                "--media-dir",
                str(HERE / "audio"),
                "--log-level",
                "warning",
            ],
            env,
            "server",
            log,
            server_out,
        )
        procs.append(proc)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=2.0) as http:
            await wait_for(lambda: _ok(http, "/healthz"), 30, "the server")
            log.say("demo", f"starting the app {app.name}")
            proc, _ = await start([sys.executable, str(app)], env, "ivr", log, app_out)
            procs.append(proc)
            await wait_for(lambda: _sessions(http), 30, "the app to connect")
        message = synthesize(MESSAGE)
        phone = Baresip(
            netns, workdir, user="caller", audio=np.concatenate([silence(MESSAGE_AT), message])
        )
        async with phone:
            log.say("phone", f"baresip dials sip:+15550002222@{netns.outer}:{sip_port}")
            await phone.dial(f"sip:+15550002222@{netns.outer}:{sip_port}")
            await phone.wait_event("CALL_ESTABLISHED", timeout=30)
            log.say("phone", "call established; listening")
            await asyncio.sleep(KEYS_AT)
            log.say("phone", f"presses {KEYS}")
            await phone.sndcode(KEYS)
            await asyncio.sleep(MESSAGE_AT - KEYS_AT - 0.3 * len(KEYS))
            log.say("phone", "speaks its message")
            await phone.wait_event("CALL_CLOSED", timeout=90)
            log.say("phone", "the IVR hung up")
            await asyncio.sleep(0.5)
        result_line = next((ln for ln in app_out if ln.startswith("IVR-RESULT")), None)
        return summary(result_line, data_dir, phone, len(message) / RATE)
    finally:
        for proc in reversed(procs):
            if proc.returncode is None:
                proc.terminate()
        for proc in procs:
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
        netns.delete()


async def _ok(http: httpx.AsyncClient, path: str) -> bool:
    return (await http.get(path)).status_code == 200


async def _sessions(http: httpx.AsyncClient) -> bool:
    return bool((await http.get("/healthz")).json()["sessions"] >= 1)


def summary(result_line: str | None, data_dir: Path, phone: Baresip, spoken: float) -> int:
    print("\n== summary", flush=True)
    if result_line is None:
        print("  FAILED: the IVR did not finish the call (no IVR-RESULT line)")
        return 1
    result = json.loads(result_line.split(" ", 1)[1])
    vm = result["voicemail"]
    name = vm["url"].rsplit("/", 1)[-1]
    path = next(iter((data_dir / "recordings").glob(f"*/{name}")), None)
    heard = phone.recordings("dec")
    print(f"  keys collected     {result['digits'] or '(none)'}  (the phone pressed {KEYS})")
    print(f"  speech recognised  {result['speech'] or '(none: the caller used keys)'}")
    print(f"  voicemail          {vm['url']}")
    print(f"                     {vm['duration']} s, {vm['size']} bytes, file {path}")
    print(f"  the phone heard    {heard[-1] if heard else '(no recording)'}")
    problems = []
    if result["digits"] != KEYS.rstrip("#"):
        problems.append(f"the IVR collected {result['digits']!r}, not {KEYS.rstrip('#')!r}")
    if not vm["duration"] or vm["duration"] < spoken:
        problems.append(f"the voicemail lasts {vm['duration']} s, the message {spoken:.1f} s")
    if path is None:
        problems.append("the voicemail file is missing")
    print(f"  result             {'OK' if not problems else 'FAILED: ' + '; '.join(problems)}")
    return 0 if not problems else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--app", type=Path, default=HERE / "ivr.py", help="the RELAY app to call")
    parser.add_argument("--workdir", type=Path, help="keep files here (default: a temp dir)")
    args = parser.parse_args()
    reason = available()
    if reason:
        print(f"demo: {reason}", file=sys.stderr)
        return 1
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="voxrelay-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(run(args.app.resolve(), workdir))


if __name__ == "__main__":
    raise SystemExit(main())
