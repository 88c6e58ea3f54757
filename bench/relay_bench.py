"""voxrelay RELAY benchmarks: command round trip and event throughput.

1. ``rtt``: ``calling.answer`` -> its result, closed loop, against a real ``voxrelay serve``
   (uvloop). Each session is its own WebSocket, subscribed to its own context, with a call
   placed into it over ``POST /api/virtual/calls``; after ``calling.call.receive`` it answers
   once, warms up, then times repeated ``calling.answer`` on the answered call.
2. ``events``: events/s one session receives and acks, against ``bench/event_server.py`` (the
   real app with one synthetic event source). Two end points: the last event received, and
   the server's session holding zero unacknowledged events.

The server is pinned to one core (``taskset -c 0``), this load generator to another. Every loop
and wait is bounded. Prints a table and writes JSON to ``bench/results/relay.json``::

    .venv/bin/python bench/relay_bench.py            # full run
    .venv/bin/python bench/relay_bench.py --quick    # smoke run, well under 20 s
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import math
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
PROJECT = "bench-project"
TOKEN = "PTbench-token"
RATE_LIMITED = -32004
ANSWER_FRAME = (
    '{"jsonrpc":"2.0","id":"%s","method":"calling.answer","params":{"call_id":"%s","node_id":"%s"}}'
)


# -- processes and CPU -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int, int]:
    """(busy, steal, total) jiffies of the whole machine, from /proc/stat."""
    vals = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = vals[3] + vals[4]
    steal = vals[7] if len(vals) > 7 else 0
    total = sum(vals[:8])
    return total - idle, steal, total


def self_cpu() -> float:
    t = os.times()
    return t.user + t.system


class CpuMeter:
    """CPU seconds of the server process and of this client over one interval."""

    def __init__(self, server_pid: int) -> None:
        self.pid = server_pid
        self.wall = time.monotonic()
        self.server = proc_cpu(server_pid)
        self.client = self_cpu()
        self.ticks = machine_ticks()

    def read(self, ops: int) -> dict[str, float]:
        """``ops``: operations (requests or events) done in the interval, for CPU per op."""
        wall = time.monotonic() - self.wall
        server = proc_cpu(self.pid) - self.server
        client = self_cpu() - self.client
        busy, steal, total = (b - a for a, b in zip(self.ticks, machine_ticks(), strict=True))
        ncpu = os.cpu_count() or 1
        ours = (server + client) * os.sysconf("SC_CLK_TCK")
        return {
            "wall_s": round(wall, 4),
            "server_cpu_s": round(server, 3),
            "client_cpu_s": round(client, 3),
            "server_cpu_pct": round(100 * server / wall, 1) if wall else 0.0,
            "client_cpu_pct": round(100 * client / wall, 1) if wall else 0.0,
            # CPU cost per operation and what one dedicated core could sustain at that cost;
            # less sensitive than wall-clock rates to other load on a shared machine
            "server_us_per_op": round(1e6 * server / ops, 1) if ops else 0.0,
            "client_us_per_op": round(1e6 * client / ops, 1) if ops else 0.0,
            "server_capacity_per_s": round(ops / server) if server else 0,
            # the rest of the machine meanwhile (other processes, hypervisor steal), in cores
            "other_load_cores": round(max(0.0, busy - ours) / total * ncpu, 2) if total else 0,
            "steal_cores": round(steal / total * ncpu, 2) if total else 0.0,
        }


def taskset_prefix(cpu: int | None) -> list[str]:
    if cpu is None or shutil.which("taskset") is None:
        return []
    return ["taskset", "-c", str(cpu)]


@contextlib.contextmanager
def server_process(
    args: list[str], port: int, cpu: int | None, log_path: Path, timeout: float = 20.0
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server subprocess (pinned), wait for /healthz, stop it on exit."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [*taskset_prefix(cpu), sys.executable, *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"server exited early:\n{log_path.read_text()}")
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start:\n{log_path.read_text()}")
                time.sleep(0.05)
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)


# -- a minimal RELAY client ------------------------------------------------------------------


@dataclass
class Conn:
    """One RELAY session on its own socket; acks every server request like the SDK does."""

    url: str
    compression: str | None
    ws: ClientConnection | None = None
    reader: asyncio.Task[None] | None = None
    responses: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    receives: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    protocol: str = ""
    pending: asyncio.Future[dict[str, Any]] | None = None
    rate_limited: int = 0
    other_errors: int = 0
    events: int = 0
    _ids: int = 0

    async def open(self, contexts: list[str]) -> None:
        self.ws = await websockets.connect(
            self.url,
            max_size=10 * 1024 * 1024,
            ping_interval=None,
            compression="deflate" if self.compression == "deflate" else None,
        )
        self.reader = asyncio.create_task(self._read())
        params: dict[str, Any] = {
            "version": {"major": 2, "minor": 0, "revision": 0},
            "agent": "voxrelay-bench",
            "event_acks": True,
            "authentication": {"project": PROJECT, "token": TOKEN},
        }
        if contexts:
            params["contexts"] = contexts
        reply = await self.request("signalwire.connect", params)
        self.protocol = reply["result"]["protocol"]

    def next_id(self) -> str:
        self._ids += 1
        return f"b{id(self):x}-{self._ids}"

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        assert self.ws is not None
        rid = self.next_id()
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.responses[rid] = fut
        await self.ws.send(
            json.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        )
        return await asyncio.wait_for(fut, 10)

    async def timed_answer(self, frame_fmt: str) -> int | None:
        """One closed-loop round trip in ns; None when the server rate-limited the frame."""
        assert self.ws is not None
        rid = self.next_id()
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending = fut
        self.responses[rid] = fut
        frame = frame_fmt % rid
        t0 = time.perf_counter_ns()
        await self.ws.send(frame)
        reply = await fut
        t1 = time.perf_counter_ns()
        self.pending = None
        self.responses.pop(rid, None)
        if "error" in reply:
            if reply["error"].get("code") == RATE_LIMITED:
                self.rate_limited += 1
                return None
            raise RuntimeError(f"calling.answer failed: {reply}")
        if reply["result"].get("code") != "200":
            raise RuntimeError(f"calling.answer failed: {reply}")
        return t1 - t0

    async def _read(self) -> None:
        assert self.ws is not None
        ws = self.ws
        try:
            async for raw in ws:
                msg = json.loads(raw)
                if "method" in msg:  # event, ping or disconnect: ack as the SDK does
                    await ws.send(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": {}}))
                    if msg["method"] == "signalwire.event":
                        self.events += 1
                        if msg["params"].get("event_type") == "calling.call.receive":
                            self.receives.put_nowait(msg["params"]["params"])
                    continue
                rid = msg.get("id")
                fut = self.responses.pop(rid, None) if rid is not None else None
                if fut is None and rid is None and self.pending is not None:
                    fut = self.pending  # id-less error (rate limit): it was our one request
                elif fut is None:
                    self.other_errors += 1
                    continue
                if not fut.done():
                    fut.set_result(msg)
        except websockets.ConnectionClosed:
            pass
        finally:
            for fut in self.responses.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("socket closed"))

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self.reader, 5)


# -- statistics ------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[k]


def latency_summary(samples_ns: list[int]) -> dict[str, float]:
    ms = sorted(s / 1e6 for s in samples_ns)
    return {
        "count": len(ms),
        "p50_ms": round(percentile(ms, 0.50), 4),
        "p90_ms": round(percentile(ms, 0.90), 4),
        "p99_ms": round(percentile(ms, 0.99), 4),
        "max_ms": round(ms[-1], 4) if ms else float("nan"),
        "mean_ms": round(statistics.fmean(ms), 4) if ms else float("nan"),
    }


# -- 1. command round trip -------------------------------------------------------------------


async def rtt_scenario(
    base: str,
    server_pid: int,
    sessions: int,
    requests: int,
    warmup: int,
    compression: str | None,
    timeout: float,
) -> dict[str, Any]:
    conns = [Conn(f"ws://{base}", compression) for _ in range(sessions)]
    tag = f"{time.monotonic_ns():x}"
    sem = asyncio.Semaphore(50)

    async def setup(i: int, conn: Conn, http: httpx.AsyncClient) -> str:
        context = f"bench-{tag}-{i}"
        async with sem:
            await conn.open([context])
            resp = await http.post(
                "/api/virtual/calls",
                json={
                    "context": context,
                    "from": "+15550001111",
                    "to": "+15550002222",
                    "ring_timeout": 600,
                },
            )
            resp.raise_for_status()
            call_id: str = resp.json()["call_id"]
            offer = await asyncio.wait_for(conn.receives.get(), 10)
            assert offer["call_id"] == call_id, offer
            reply = await conn.request(
                "calling.answer", {"call_id": call_id, "node_id": offer["node_id"]}
            )
            assert reply["result"]["code"] == "200", reply
            return ANSWER_FRAME % ("%s", call_id, offer["node_id"])

    async with asyncio.timeout(timeout):
        async with httpx.AsyncClient(
            base_url=f"http://{base}", auth=(PROJECT, TOKEN), timeout=10
        ) as http:
            frames = await asyncio.gather(*(setup(i, c, http) for i, c in enumerate(conns)))

        async def loop(
            conn: Conn, frame: str, n: int, out: list[int] | None, go: asyncio.Event | None
        ) -> None:
            if go is not None:
                await go.wait()
            for _ in range(n):
                ns = await conn.timed_answer(frame)
                if ns is None:
                    await asyncio.sleep(0.002)  # rate-limited: back off, do not time it
                elif out is not None:
                    out.append(ns)

        await asyncio.gather(
            *(loop(c, f, warmup, None, None) for c, f in zip(conns, frames, strict=True))
        )
        limited_in_warmup = sum(c.rate_limited for c in conns)
        for c in conns:
            c.rate_limited = 0
        per_conn: list[list[int]] = [[] for _ in conns]
        go = asyncio.Event()
        tasks = [
            asyncio.create_task(loop(c, f, requests, out, go))
            for c, f, out in zip(conns, frames, per_conn, strict=True)
        ]
        await asyncio.sleep(0.05)
        meter = CpuMeter(server_pid)
        go.set()
        await asyncio.gather(*tasks)
        samples = [s for out in per_conn for s in out]
        cpu = meter.read(len(samples))
        result = {
            "sessions": sessions,
            "requests_per_session": requests,
            "warmup_per_session": warmup,
            **latency_summary(samples),
            "throughput_rps": round(len(samples) / cpu["wall_s"], 1),
            "rate_limited": sum(c.rate_limited for c in conns),
            "rate_limited_in_warmup": limited_in_warmup,
            **cpu,
        }
        await asyncio.gather(*(c.close() for c in conns))
    return result


def run_rtt(args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    port = free_port()
    cfg = tmp / "voxrelay.toml"
    cfg.write_text(f'[[projects]]\nid = "{PROJECT}"\ntoken = "{TOKEN}"\n')
    serve = [
        "-m",
        "voxrelay",
        "serve",
        "--port",
        str(port),
        "--config",
        str(cfg),
        "--data-dir",
        str(tmp / "data"),
        "--log-level",
        "warning",
    ]
    results = []
    with server_process(serve, port, args.server_cpu, tmp / "serve.log") as proc:
        pin_client(args.client_cpu)
        for sessions, requests, warmup in args.rtt_plan:
            print(
                f"rtt: {sessions} session(s) x {requests} requests (+{warmup} warm-up) ...",
                flush=True,
            )
            res = run_async(
                rtt_scenario(
                    f"127.0.0.1:{port}",
                    proc.pid,
                    sessions,
                    requests,
                    warmup,
                    args.compression,
                    args.timeout,
                )
            )
            res["server"] = "voxrelay serve"
            results.append(res)
    return results


# -- 2. events per second --------------------------------------------------------------------


async def events_scenario(
    base: str, server_pid: int, n: int, batch: int, compression: str | None, timeout: float
) -> dict[str, Any]:
    conn = Conn(f"ws://{base}", compression)
    async with asyncio.timeout(timeout + 15):
        await conn.open([])
        await asyncio.sleep(0.05)  # let the authorization.state event in and get acked
        baseline = conn.events
        assert conn.ws is not None
        ws = conn.ws
        if conn.reader is not None:  # swap in a lean reader for the hot path
            conn.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await conn.reader
        counts = {"events": 0, "errors": 0}
        t_last: list[float] = [0.0]
        done = asyncio.Event()

        async def reader() -> None:  # the hot path: parse, ack, count (as the SDK does)
            with contextlib.suppress(websockets.ConnectionClosed):
                async for raw in ws:
                    msg = json.loads(raw)
                    if "method" in msg:
                        await ws.send(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": {}}))
                        if msg["params"].get("event_type") == "calling.call.state":
                            counts["events"] += 1
                            if counts["events"] == n:
                                t_last[0] = time.monotonic()
                                done.set()
                    else:
                        counts["errors"] += 1  # e.g. an ack refused by the rate limit

        read_task = asyncio.create_task(reader())
        async with httpx.AsyncClient(base_url=f"http://{base}", timeout=timeout + 10) as http:
            q = {"protocol": conn.protocol}
            meter = CpuMeter(server_pid)
            t_trigger = time.monotonic()
            resp = await http.post("/bench/emit", params={**q, "n": n, "batch": batch})
            resp.raise_for_status()
            drained = (await http.get("/bench/wait", params={**q, "timeout": timeout})).json()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 1.0)
            cpu = meter.read(counts["events"])
        read_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await read_task
        await conn.close()

    received = counts["events"]
    t_recv = t_last[0] - t_trigger if received == n else None
    t_drain = drained["t_drained"] - t_trigger if drained["t_drained"] else None
    return {
        "events": n,
        "batch": batch,
        "received": received,
        "events_before": baseline,
        "error_replies": counts["errors"],
        "emit_s": round(drained["t_emitted"] - t_trigger, 4) if drained["t_emitted"] else None,
        "recv_s": round(t_recv, 4) if t_recv else None,
        "drain_s": round(t_drain, 4) if t_drain else None,
        "recv_eps": round(n / t_recv) if t_recv else None,
        "drain_eps": round(n / t_drain) if t_drain else None,
        "unacked_at_end": drained["unacked"],
        "dropped_events": drained["dropped_events"],
        **cpu,
    }


def run_events(args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    results = []
    for limit in args.event_limits:
        port = free_port()
        launcher = [
            str(BENCH_DIR / "event_server.py"),
            "--port",
            str(port),
            "--project",
            PROJECT,
            "--token",
            TOKEN,
            "--data-dir",
            str(tmp / "data"),
        ]
        if limit != "default":
            launcher += ["--rate-limit", "0"]
        with server_process(launcher, port, args.server_cpu, tmp / f"events-{limit}.log") as p:
            pin_client(args.client_cpu)
            for run in range(args.event_runs):
                print(
                    f"events: {args.events} events, rate limit {limit}, run {run + 1} ...",
                    flush=True,
                )
                res = run_async(
                    events_scenario(
                        f"127.0.0.1:{port}",
                        p.pid,
                        args.events,
                        args.batch,
                        args.compression,
                        args.drain_timeout,
                    )
                )
                res["rate_limit"] = limit
                res["run"] = run + 1
                results.append(res)
    return results


# -- driver ----------------------------------------------------------------------------------


def run_async(coro: Any) -> Any:
    """Run ``coro`` on a fresh uvloop loop (plain asyncio when uvloop is missing)."""
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro)


def pin_client(cpu: int | None) -> None:
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        for line in subprocess.run(
            ["lscpu"], capture_output=True, text=True, check=False
        ).stdout.splitlines():
            if line.startswith("Model name"):
                model = line.split(":", 1)[1].strip()
    versions = {}
    for mod in ("uvloop", "uvicorn", "websockets", "starlette"):
        with contextlib.suppress(Exception):
            versions[mod] = __import__(mod).__version__
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        **versions,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def print_tables(out: dict[str, Any]) -> None:
    if out.get("rtt"):
        print(
            "\ncalling.answer round trip (closed loop; server on CPU "
            f"{out['config']['server_cpu']}, client on CPU {out['config']['client_cpu']})"
        )
        print(
            f"{'sessions':>8} {'n':>7} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
            f"{'max ms':>8} {'req/s':>8} {'srv cpu':>8} {'cli cpu':>8} {'srv us/op':>9} "
            f"{'other':>5} {'ratelim':>7}"
        )
        for r in out["rtt"]:
            print(
                f"{r['sessions']:>8} {r['count']:>7} {r['p50_ms']:>8.3f} {r['p90_ms']:>8.3f} "
                f"{r['p99_ms']:>8.3f} {r['max_ms']:>8.3f} {r['throughput_rps']:>8.0f} "
                f"{r['server_cpu_pct']:>7.0f}% {r['client_cpu_pct']:>7.0f}% "
                f"{r['server_us_per_op']:>9.1f} {r['other_load_cores']:>5.2f} "
                f"{r['rate_limited'] + r['rate_limited_in_warmup']:>7}"
            )
        print("targets: p50 <= 1 ms, p99 <= 5 ms; other = cores busy with other processes")
    if out.get("events"):
        print("\nevents one session receives and acks (trigger -> last event / -> 0 unacked)")
        print(
            f"{'limit':>8} {'run':>3} {'events':>7} {'recv ev/s':>10} {'drain ev/s':>10} "
            f"{'srv cpu':>8} {'cli cpu':>8} {'srv us/ev':>9} {'cli us/ev':>9} {'other':>5} "
            f"{'err':>6} {'unacked':>7}"
        )
        for r in out["events"]:

            def fmt(v: Any) -> str:
                return f"{v:>10}" if v is not None else f"{'-':>10}"

            print(
                f"{r['rate_limit']:>8} {r['run']:>3} {r['received']:>7} {fmt(r['recv_eps'])} "
                f"{fmt(r['drain_eps'])} {r['server_cpu_pct']:>7.0f}% "
                f"{r['client_cpu_pct']:>7.0f}% {r['server_us_per_op']:>9.1f} "
                f"{r['client_us_per_op']:>9.1f} {r['other_load_cores']:>5.2f} "
                f"{r['error_replies']:>6} "
                f"{r['unacked_at_end']:>7}"
            )
        print("target: >= 20,000 events/s")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="voxrelay RELAY benchmarks")
    p.add_argument("--quick", action="store_true", help="smoke run: small counts, one run")
    p.add_argument("--only", choices=["rtt", "events"], help="run one benchmark only")
    p.add_argument("--server-cpu", type=int, default=0, help="CPU for the server (-1: no pin)")
    p.add_argument("--client-cpu", type=int, default=1, help="CPU for this client (-1: no pin)")
    p.add_argument("--requests", type=int, default=2000, help="timed requests, 1 session")
    p.add_argument("--sessions", type=int, default=200, help="concurrent sessions")
    p.add_argument("--requests-many", type=int, default=100, help="timed requests per session")
    p.add_argument("--warmup", type=int, default=200, help="warm-up requests per session, 1")
    p.add_argument("--warmup-many", type=int, default=10, help="warm-up requests per session")
    p.add_argument("--events", type=int, default=100_000, help="events per run")
    p.add_argument("--batch", type=int, default=100, help="events per emit batch")
    p.add_argument("--event-runs", type=int, default=3)
    p.add_argument(
        "--event-limits",
        default="default,unlimited",
        help="server rate-limit configs: default (product), unlimited",
    )
    p.add_argument(
        "--compression",
        choices=["deflate", "none"],
        default="deflate",
        help="permessage-deflate as the official SDK negotiates (default) or none",
    )
    p.add_argument("--timeout", type=float, default=300.0, help="bound on each rtt scenario")
    p.add_argument("--drain-timeout", type=float, default=30.0, help="bound on each event run")
    p.add_argument("--out", type=Path, default=BENCH_DIR / "results" / "relay.json")
    args = p.parse_args(argv)
    if args.quick:
        args.requests, args.warmup = 300, 50
        args.sessions, args.requests_many, args.warmup_many = 20, 20, 5
        args.events, args.event_runs, args.drain_timeout = 5_000, 1, 5.0
        args.timeout = 30.0
        if args.out == BENCH_DIR / "results" / "relay.json":
            args.out = BENCH_DIR / "results" / "relay-quick.json"
    if (os.cpu_count() or 1) < 2:
        args.server_cpu = args.client_cpu = -1
    args.server_cpu = None if args.server_cpu < 0 else args.server_cpu
    args.client_cpu = None if args.client_cpu < 0 else args.client_cpu
    args.compression = None if args.compression == "none" else args.compression
    args.rtt_plan = [
        (1, args.requests, args.warmup),
        (args.sessions, args.requests_many, args.warmup_many),
    ]
    args.event_limits = [x.strip() for x in args.event_limits.split(",") if x.strip()]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out: dict[str, Any] = {
        "machine": machine(),
        "config": {
            "quick": args.quick,
            "server_cpu": args.server_cpu,
            "client_cpu": args.client_cpu,
            "compression": args.compression,
            "batch": args.batch,
            "argv": sys.argv[1:],
        },
    }
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="voxrelay-bench-") as tmpdir:
        tmp = Path(tmpdir)
        if args.only in (None, "rtt"):
            out["rtt"] = run_rtt(args, tmp)
        if args.only in (None, "events"):
            out["events"] = run_events(args, tmp)
    out["elapsed_s"] = round(time.monotonic() - started, 1)
    print_tables(out)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(
        f"\nwrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}"
        f" in {out['elapsed_s']} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
