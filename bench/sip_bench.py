"""SIP load: SIPp calls a real ``voxrelay serve``; a RELAY app answers every call over WebSocket.

    .venv/bin/python bench/sip_bench.py                          # setup rates + 600 RTP calls
    .venv/bin/python bench/sip_bench.py --only setup --rates 200,300,400
    .venv/bin/python bench/sip_bench.py --only rtp --concurrent 600 --cps 50 --hold 30
    .venv/bin/python bench/sip_bench.py --quick                  # smoke run, ~30 s

The server (``voxrelay serve``, all threads pinned to CPU 0 with ``taskset -a -p``) routes every
INVITE to context ``default``. The app (a lean websocket client in this process, pinned to
CPU 1) acks every event and sends ``calling.answer`` for every ``calling.call.receive``; SIPp
(``taskset -c 1``) sees the 200 OK only after that round trip.

* ``setup``: ``tests/sip/scenarios/uac_basic.xml`` (INVITE, 200, ACK, BYE right away) at
  ``-r RATE`` for ``RATE * --seconds`` calls: successful/failed calls, the achieved rate,
  SIPp's INVITE -> 200 response time, server CPU.
* ``rtp``: ``bench/scenarios/uac_rtp_hold.xml``: calls at ``--cps`` up to ``--concurrent``,
  each streaming a WAV as PCMU (rtp_stream, looped, 50 pps) for ``--hold`` s, and the server
  sending its own RTP back. Reports the plateau (calls up at once), failed calls, server
  CPU during the plateau, and media stats of sampled calls (``GET /api/calls/{id}``).

CPU figures come from ``/proc/<pid>/stat`` (server: every thread) and ``/proc/stat`` (other
load on the machine: busy cores not spent by the server, SIPp or this process).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import websockets

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))

from voxrelay.testing import LocalServer, free_port  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
BASIC = ROOT / "tests" / "sip" / "scenarios" / "uac_basic.xml"
RTP_HOLD = HERE / "scenarios" / "uac_rtp_hold.xml"
SERVER_CPU = 0  # set from --server-cpu


# -- measurements ---------------------------------------------------------------------------


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process, all threads; children not included."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_busy(cpu: str = "cpu") -> tuple[float, float]:
    """(busy, total) seconds of all CPUs (or of ``cpuN``) from /proc/stat."""
    line = next(ln for ln in Path("/proc/stat").read_text().splitlines() if ln.split()[0] == cpu)
    parts = [int(x) for x in line.split()[1:]]
    idle = parts[3] + parts[4]
    total = sum(parts[:8])
    return (total - idle) / CLK_TCK, total / CLK_TCK


class Meter:
    """CPU of the server, SIPp, this process and everything else over a window."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.sipp_pid = 0
        self.start()

    def _sample(self) -> tuple[float, float, float, float, float, float, float]:
        busy, _ = machine_busy()
        return (
            time.monotonic(),
            proc_cpu(self.server_pid),
            proc_cpu(self.sipp_pid) if self.sipp_pid else 0.0,
            _children_cpu(),
            proc_cpu(os.getpid()),
            busy,
            machine_busy(f"cpu{SERVER_CPU}")[0],
        )

    def start(self) -> None:
        self.t0 = self._sample()

    def stop(self) -> dict[str, float]:
        t1 = self._sample()
        wall = t1[0] - self.t0[0]
        server, sipp_alive, children, me, busy, core = (t1[i] - self.t0[i] for i in range(1, 7))
        sipp = max(sipp_alive, children)  # an exited SIPp is counted in RUSAGE_CHILDREN
        return {
            "wall_s": round(wall, 2),
            "server_cpu": round(server / wall, 3),  # cores (1.0 = one core saturated)
            "sipp_cpu": round(sipp / wall, 3),
            "app_cpu": round(me / wall, 3),
            "other_cores": round(max(0.0, busy - server - sipp - me) / wall, 3),
            # the server's core: busy fraction, and the part not spent by the server
            "server_core_busy": round(core / wall, 3),
            "server_core_other": round(max(0.0, core - server) / wall, 3),
        }


# -- the RELAY app --------------------------------------------------------------------------


class App:
    """A lean RELAY consumer: acks every event, answers every offered call."""

    def __init__(self, server: LocalServer) -> None:
        self.server = server
        self.ws: Any = None
        self.offered = 0
        self.answered: list[str] = []
        self.answer_errors = 0
        self.ended: set[str] = set()
        self.end_reasons: dict[str, int] = {}
        self._pending: dict[str, str] = {}
        self._mine: set[str] = set()  # calls offered since the last reset()
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.ws = await websockets.connect(self.server.ws_url, max_size=None, compression=None)
        rid = str(uuid.uuid4())
        await self.ws.send(
            json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": rid,
                    "method": "signalwire.connect",
                    "params": {
                        "version": {"major": 2, "minor": 0, "revision": 0},
                        "agent": "sip-bench",
                        "event_acks": True,
                        "authentication": {
                            "project": self.server.project,
                            "token": self.server.token,
                        },
                        "contexts": ["default"],
                    },
                }
            )
        )
        reply = json.loads(await self.ws.recv())
        assert "result" in reply, reply
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                msg = json.loads(raw)
                if msg.get("method") == "signalwire.event":
                    await self.ws.send(
                        json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": {}})
                    )
                    self._event(msg["params"])
                elif msg.get("method"):
                    await self.ws.send(
                        json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": {}})
                    )
                else:
                    call_id = self._pending.pop(str(msg.get("id")), None)
                    if call_id is not None:
                        if "result" in msg:
                            self.answered.append(call_id)
                        else:
                            self.answer_errors += 1

    def _event(self, outer: dict[str, Any]) -> None:
        kind, p = outer["event_type"], outer["params"]
        if kind == "calling.call.receive":
            self.offered += 1
            self._mine.add(p["call_id"])
            rid = str(uuid.uuid4())
            self._pending[rid] = p["call_id"]
            msg = {
                "jsonrpc": "2.0",
                "id": rid,
                "method": "calling.answer",
                "params": {"call_id": p["call_id"]},
            }
            asyncio.get_running_loop().create_task(self.ws.send(json.dumps(msg)))
        elif (
            kind == "calling.call.state"
            and p.get("call_state") == "ended"
            and (p["call_id"] in self._mine)
        ):
            self.ended.add(p["call_id"])
            reason = str(p.get("end_reason"))
            self.end_reasons[reason] = self.end_reasons.get(reason, 0) + 1

    def reset(self) -> None:
        """Zero the counters between runs (one session serves every run: a closed session
        stays subscribed for the resume grace and would be offered calls round-robin)."""
        self.offered, self.answer_errors = 0, 0
        self.answered, self.ended, self.end_reasons = [], set(), {}
        self._mine = set()

    @property
    def up(self) -> int:
        return len(self.answered) - len(self.ended.intersection(self.answered))

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 5)


# -- SIPp -----------------------------------------------------------------------------------


def sipp_stats(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    rows = list(csv.DictReader(path.read_text().splitlines(), delimiter=";"))
    return rows[-1] if rows else {}


def ms(value: str) -> float | None:
    """SIPp's 'HH:MM:SS:uuuuuu' -> milliseconds."""
    try:
        h, m, s, us = (int(x) for x in value.split(":"))
    except (ValueError, AttributeError):
        return None
    return round((h * 3600 + m * 60 + s) * 1000 + us / 1000, 2)


async def run_sipp(
    server: LocalServer,
    scenario: Path,
    work: Path,
    args: list[str],
    timeout: float,
    meter: Meter | None = None,
    cpu: int = 1,
) -> tuple[int, dict[str, str], str]:
    sipp = shutil.which("sipp")
    assert sipp, "sipp (Debian sip-tester) is not installed"
    stats = work / f"{scenario.stem}-{time.monotonic_ns()}.csv"
    cmd = [
        "taskset", "-c", str(cpu), sipp, f"127.0.0.1:{server.sip_port}",
        "-sf", str(scenario), "-s", "+15551234567", "-key", "caller", "+15550009999",
        "-i", "127.0.0.1", "-mi", "127.0.0.1", "-p", str(free_port()),
        "-nostdin", "-timeout", f"{int(timeout)}s", "-timeout_error",
        "-trace_stat", "-stf", str(stats), "-fd", "1",
        "-trace_err", "-error_file", str(work / "sipp-errors.log"),
        *args,
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=work,
    )
    if meter is not None:
        meter.sipp_pid = proc.pid
    try:
        _, err = await asyncio.wait_for(proc.communicate(), timeout + 15)
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, sipp_stats(stats), err.decode(errors="replace")[-500:]


# -- runs -----------------------------------------------------------------------------------


async def setup_rate(
    server: LocalServer, app: App, rate: int, seconds: float, work: Path
) -> dict[str, Any]:
    app.reset()
    calls = int(rate * seconds)
    meter = Meter(server.process.pid if server.process else 0)
    rc, stats, err = await run_sipp(
        server,
        BASIC,
        work,
        ["-r", str(rate), "-m", str(calls), "-l", str(max(rate * 4, 200)), "-d", "0"],
        timeout=seconds * 4 + 30,
        meter=meter,
    )
    cpu = meter.stop()
    await asyncio.sleep(1.0)
    ok = int(stats.get("SuccessfulCall(C)", 0) or 0)
    failed = int(stats.get("FailedCall(C)", 0) or 0)
    elapsed = cpu["wall_s"]
    return {
        "target_cps": rate,
        "calls": calls,
        "successful": ok,
        "failed": failed,
        "achieved_cps": round(ok / elapsed, 1) if elapsed else None,
        "app_offered": app.offered,
        "app_answered": len(app.answered),
        "answer_errors": app.answer_errors,
        "setup_ms_mean": ms(stats.get("ResponseTimesetup(C)", "")),
        "setup_ms_stdev": ms(stats.get("ResponseTimesetupStDev(C)", "")),
        "retransmissions": int(stats.get("Retransmissions(C)", 0) or 0),
        "sipp_rc": rc,
        "sipp_stderr": err if rc else "",
        **cpu,
        "server_us_per_call": round(cpu["server_cpu"] * elapsed / max(ok, 1) * 1e6),
    }


async def sample_media(server: LocalServer, call_ids: list[str]) -> dict[str, dict[str, Any]]:
    """call_id -> its media stats (``GET /api/calls/{id}``), for the calls that answered."""
    out: dict[str, dict[str, Any]] = {}
    async with httpx.AsyncClient(
        base_url=server.http_url, auth=(server.project, server.token), timeout=10
    ) as http:
        for call_id in call_ids:
            with contextlib.suppress(httpx.HTTPError):
                resp = await http.get(f"/api/calls/{call_id}")
                if resp.status_code == 200 and "media" in resp.json():
                    out[call_id] = resp.json()["media"]
    return out


async def rtp_calls(
    server: LocalServer, app: App, concurrent: int, cps: int, hold: float, work: Path
) -> dict[str, Any]:
    import numpy as np
    import soundfile

    wav = work / "load.wav"
    t = np.arange(8000 * 5) / 8000
    soundfile.write(str(wav), 0.2 * np.sin(2 * np.pi * 440 * t), 8000, subtype="ULAW")
    scenario = work / RTP_HOLD.name
    scenario.write_text(RTP_HOLD.read_text().replace("@WAV@", str(wav)))
    app.reset()
    meter = Meter(server.process.pid if server.process else 0)
    plateau: dict[str, float] = {}
    samples: list[dict[str, Any]] = []
    peak = 0
    ramp = concurrent / cps
    sipp = asyncio.create_task(
        run_sipp(
            server,
            scenario,
            work,
            [
                "-r", str(cps), "-m", str(concurrent), "-l", str(concurrent),
                "-d", str(int(hold * 1000)), "-mp", str(free_port() // 2 * 2),
            ],
            timeout=ramp + hold + 60,
            meter=meter,
        )
    )  # fmt: skip
    try:
        # the plateau: from the last call up (ramp + setup) to a little before the first ends
        await asyncio.sleep(ramp + 3)
        peak = app.up
        live = [c for c in app.answered if c not in app.ended]
        chosen = live[-20:]  # the newest calls: still up when the plateau ends
        first = await sample_media(server, chosen)
        t_first = time.monotonic()
        window = Meter(server.process.pid if server.process else 0)
        window.sipp_pid = meter.sipp_pid
        plateau_len = max(2.0, hold - 3 - 4)
        await asyncio.sleep(plateau_len)
        plateau = window.stop()
        peak = max(peak, app.up)
        later = [c for c in chosen if c not in app.ended]
        second = await sample_media(server, later)
        span = time.monotonic() - t_first
        for call_id, end in second.items():
            start = first.get(call_id)
            if start is None:
                continue
            samples.append(
                {
                    **end,  # totals at the end of the plateau, and packets/s over the plateau
                    "rx_pps": round(
                        (end["packets_received"] - start["packets_received"]) / span, 1
                    ),
                    "tx_pps": round((end["packets_sent"] - start["packets_sent"]) / span, 1),
                }
            )
        rc, stats, err = await sipp
        total = meter.stop()
        await asyncio.sleep(1.0)
    finally:
        if not sipp.done():
            sipp.cancel()

    def agg(key: str) -> dict[str, float] | None:
        values = [float(s[key]) for s in samples if s.get(key) is not None]
        if not values:
            return None
        return {"min": min(values), "mean": round(sum(values) / len(values), 2), "max": max(values)}

    return {
        "concurrent_target": concurrent,
        "cps": cps,
        "hold_s": hold,
        "successful": int(stats.get("SuccessfulCall(C)", 0) or 0),
        "failed": int(stats.get("FailedCall(C)", 0) or 0),
        "app_answered": len(app.answered),
        "answer_errors": app.answer_errors,
        "end_reasons": app.end_reasons,
        "peak_up": peak,
        "setup_ms_mean": ms(stats.get("ResponseTimesetup(C)", "")),
        "plateau": plateau,
        "whole_run": total,
        "sampled_calls": len(samples),
        "media_sample": {
            k: agg(k)
            for k in (
                "rx_pps",
                "tx_pps",
                "packets_received",
                "packets_sent",
                "packets_lost",
                "jitter_ms",
                "late_packets",
            )
        },
        "sipp_rc": rc,
        "sipp_stderr": err if rc else "",
    }


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    sipp_v = subprocess.run(["sipp", "-v"], capture_output=True, text=True).stdout
    return {
        "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "sipp": next((ln.strip() for ln in sipp_v.splitlines() if "SIPp" in ln), ""),
        "commit": commit,
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        "host": socket.gethostname(),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["setup", "rtp"])
    parser.add_argument("--rates", default="100,200,300")
    parser.add_argument("--seconds", type=float, default=15.0, help="per setup rate")
    parser.add_argument("--concurrent", type=int, default=600)
    parser.add_argument("--cps", type=int, default=50)
    parser.add_argument("--hold", type=float, default=30.0)
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.quick:
        args.rates, args.seconds, args.concurrent, args.cps, args.hold = "50", 4.0, 50, 25, 8.0
    out = args.out or HERE / "results" / ("sip-quick.json" if args.quick else "sip.json")
    global SERVER_CPU
    SERVER_CPU = args.server_cpu
    os.sched_setaffinity(0, {args.client_cpu})
    results: dict[str, Any] = {"machine": machine(), "setup": [], "rtp": None}
    work = Path(tempfile.mkdtemp(prefix="sip-bench-"))
    server = LocalServer(extra_args=["--log-level", "warning"])
    server.start()
    try:
        assert server.process is not None
        subprocess.run(
            ["taskset", "-a", "-p", "-c", str(args.server_cpu), str(server.process.pid)],
            check=True,
            capture_output=True,
        )
        app = App(server)
        await app.start()
        if args.only in (None, "setup"):
            for rate in (int(r) for r in args.rates.split(",")):
                row = await setup_rate(server, app, rate, args.seconds, work)
                print(json.dumps(row), flush=True)
                results["setup"].append(row)
                await asyncio.sleep(2)
        if args.only in (None, "rtp"):
            row = await rtp_calls(server, app, args.concurrent, args.cps, args.hold, work)
            print(json.dumps(row), flush=True)
            results["rtp"] = row
        await app.close()
    finally:
        server.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    results["machine"]["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())
