"""voxrelay RELAY benchmarks: command round trip and event throughput.

1. ``rtt``: ``calling.answer`` -> its result against a real ``voxrelay serve`` (uvloop,
   ``--rate-limit`` from ``--rate-limit``, default 1e6 so the limiter never interferes). Each
   session is its own WebSocket, subscribed to its own context, with a call placed into it
   over ``POST /api/virtual/calls``; after ``calling.call.receive`` it answers once, then:

   - closed loop (saturation throughput): next request when the previous reply is in,
     1 session and ``--sessions`` sessions;
   - open loop (latency at a given load): all ``--sessions`` sessions connected, each
     sending at ``--open-rates`` requests/s with a random phase for ``--open-duration`` s,
     whatever the replies.
2. ``events``: events/s one session receives and acks, against ``bench/event_server.py`` (the
   real app with one synthetic event source, uvicorn configured like ``voxrelay serve``). Two
   end points: the last event received, and the server's session holding zero unacknowledged
   events. Clients: ``lean`` (raw socket, no JSON per event) and ``sdk`` (websockets + json,
   like the official SDK). ``--pyspy PATH`` records the server with py-spy meanwhile.

The server is pinned to one core (``taskset -c 0``), this load generator to another. Every loop
and wait is bounded. Prints tables and writes JSON to ``bench/results/relay.json``::

    .venv/bin/python bench/relay_bench.py --event-client lean,sdk   # full run, ~2 min
    .venv/bin/python bench/relay_bench.py --quick                   # smoke run, ~10 s
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime
import json
import math
import os
import platform
import random
import shutil
import signal
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
import orjson
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
    extensions: str = ""
    # open loop: request id -> (perf_counter_ns at send, timed?) and the timed latencies
    sent: dict[str, tuple[int, bool]] = field(default_factory=dict)
    latencies: list[int] = field(default_factory=list)
    bad_replies: int = 0
    _ids: int = 0

    async def open(self, contexts: list[str]) -> None:
        self.ws = await websockets.connect(
            self.url,
            max_size=10 * 1024 * 1024,
            ping_interval=None,
            compression="deflate" if self.compression == "deflate" else None,
        )
        # what the server accepted (voxrelay serve no longer accepts permessage-deflate)
        response = self.ws.response
        ext = response.headers.get("Sec-WebSocket-Extensions", "") if response else ""
        self.extensions = ext or ""
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
        """One closed-loop round trip in ns; None when the server rate-limited the request."""
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
                if self.sent:  # open loop: time the reply here, no future per request
                    entry = self.sent.pop(msg.get("id"), None)
                    if entry is not None:
                        t1 = time.perf_counter_ns()
                        if msg.get("result", {}).get("code") != "200":
                            self.bad_replies += 1
                            if msg.get("error", {}).get("code") == RATE_LIMITED:
                                self.rate_limited += 1
                        elif entry[1]:
                            self.latencies.append(t1 - entry[0])
                        continue
                if "method" in msg:  # event, ping or disconnect: ack as the SDK does
                    await ws.send(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": {}}))
                    if msg["method"] == "signalwire.event":
                        self.events += 1
                        if msg["params"].get("event_type") == "calling.call.receive":
                            self.receives.put_nowait(msg["params"]["params"])
                    continue
                rid = msg.get("id")
                fut = self.responses.pop(rid, None) if rid is not None else None
                if fut is None:  # the server now answers every request with its id
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


# -- a lean client for the event benchmark ---------------------------------------------------


ACK_PREFIX = b'{"jsonrpc":"2.0","id":"'
ACK_SUFFIX = b'","result":{}}'
ZERO_MASK = b"\x00\x00\x00\x00"


def client_frame(payload: bytes) -> bytes:
    """A masked client text frame. The mask key is zero (legal, and XOR with it is a no-op):
    a bench shortcut so that masking costs nothing; a real client uses a random key."""
    n = len(payload)
    if n < 126:
        head = bytes((0x81, 0x80 | n))
    elif n < 65536:
        head = bytes((0x81, 0xFE)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x81, 0xFF)) + n.to_bytes(8, "big")
    return head + ZERO_MASK + payload


# the frame header of an ack for a 36-character (UUID) event id
ACK_HEAD_36 = (
    bytes((0x81, 0x80 | (len(ACK_PREFIX) + 36 + len(ACK_SUFFIX)))) + ZERO_MASK + ACK_PREFIX
)


class LeanRelayClient(asyncio.Protocol):
    """One RELAY session on a raw socket, as cheap per event as Python allows.

    Per incoming chunk: walk the WebSocket frames in the buffer; for each text frame find the
    top-level id with ``bytes.find`` (the server writes ``{"jsonrpc":..,"id":"..","method"|
    "result"..}``), ack every server request with a pre-built frame header plus that id, and
    write all the chunk's acks with one ``transport.write``. No JSON parsing, no dict, no
    per-event Python object beyond the id slice and its ack. Responses (only during setup) are
    parsed with orjson. Control frames: ping -> pong, close -> close.
    """

    def __init__(self, target: int = 0) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.handshake: asyncio.Future[bytes] | None = None
        self.responses: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.events = 0  # calling.call.state events received
        self.requests = 0  # all server requests acked
        self.other = 0
        self.target = target
        self.t_last = 0.0
        self.done: asyncio.Event = asyncio.Event()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's TCPTransport

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        for fut in self.responses.values():
            if not fut.done():
                fut.set_exception(ConnectionError("socket closed"))

    def data_received(self, data: bytes) -> None:
        if self.handshake is not None and not self.handshake.done():
            self.buf += data
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                head, self.buf = self.buf[: end + 4], self.buf[end + 4 :]
                self.handshake.set_result(head)
                if self.buf:
                    data, self.buf = self.buf, b""
                    self.data_received(data)
            return
        buf = self.buf + data if self.buf else data
        pos, size = 0, len(buf)
        acks: list[bytes] = []
        find = buf.find
        while size - pos >= 2:
            n = buf[pos + 1] & 0x7F
            if n < 126:
                start = pos + 2
            elif n == 126:
                if size - pos < 4:
                    break
                n = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                start = pos + 4
            else:
                if size - pos < 10:
                    break
                n = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                start = pos + 10
            end = start + n
            if end > size:
                break
            op = buf[pos] & 0x0F
            pos = end
            if op == 1:
                i = find(b'"id":"', start, end)
                j = find(b'"', i + 6, end) if i >= 0 else -1
                if j >= 0 and buf.startswith(b',"method":', j + 1):
                    rid = buf[i + 6 : j]
                    if j - i - 6 == 36:
                        acks.append(ACK_HEAD_36 + rid + ACK_SUFFIX)
                    else:
                        acks.append(client_frame(ACK_PREFIX + rid + ACK_SUFFIX))
                    self.requests += 1
                    if find(b'"calling.call.state"', j, end) >= 0:
                        self.events += 1
                        if self.events == self.target:
                            self.t_last = time.monotonic()
                            self.done.set()
                else:
                    self._response(buf[start:end])
            elif op == 9 and self.transport is not None:  # ping
                self.transport.write(bytes((0x8A, 0x80 | n)) + ZERO_MASK + buf[start:end])
            elif op == 8 and self.transport is not None:  # close
                self.transport.write(bytes((0x88, 0x80)) + ZERO_MASK)
                self.transport.close()
        self.buf = buf[pos:] if pos < size else b""
        if acks and self.transport is not None:
            self.transport.write(b"".join(acks))

    def _response(self, raw: bytes) -> None:
        msg = orjson.loads(raw)
        fut = self.responses.pop(str(msg.get("id")), None)
        if fut is None:
            self.other += 1
        elif not fut.done():
            fut.set_result(msg)

    async def request(self, method: str, params: dict[str, Any], rid: str) -> dict[str, Any]:
        assert self.transport is not None
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.responses[rid] = fut
        body = {"jsonrpc": "2.0", "id": rid, "method": method, "params": params}
        self.transport.write(client_frame(orjson.dumps(body)))
        return await asyncio.wait_for(fut, 10)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(bytes((0x88, 0x82)) + ZERO_MASK + (1000).to_bytes(2, "big"))


async def lean_connect(host: str, port: int, target: int) -> tuple[LeanRelayClient, str]:
    """Open a socket, do the WebSocket handshake and ``signalwire.connect`` (event_acks)."""
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(lambda: LeanRelayClient(target), host, port)
    assert client.transport is not None
    client.handshake = loop.create_future()
    key = base64.b64encode(os.urandom(16)).decode()
    client.transport.write(
        (
            f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = await asyncio.wait_for(client.handshake, 10)
    if b" 101 " not in head.split(b"\r\n", 1)[0]:
        raise RuntimeError(f"handshake refused: {head!r}")
    reply = await client.request(
        "signalwire.connect",
        {
            "version": {"major": 2, "minor": 0, "revision": 0},
            "agent": "voxrelay-bench-lean",
            "event_acks": True,
            "authentication": {"project": PROJECT, "token": TOKEN},
        },
        "lean-connect-1",
    )
    return client, str(reply["result"]["protocol"])


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


async def connect_sessions(
    base: str, sessions: int, compression: str | None
) -> tuple[list[Conn], list[str]]:
    """``sessions`` RELAY sessions, each with one answered call; returns the answer frames."""
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

    async with httpx.AsyncClient(
        base_url=f"http://{base}", auth=(PROJECT, TOKEN), timeout=10
    ) as http:
        frames = await asyncio.gather(*(setup(i, c, http) for i, c in enumerate(conns)))
    return conns, list(frames)


async def rtt_scenario(
    base: str,
    server_pid: int,
    sessions: int,
    requests: int,
    warmup: int,
    compression: str | None,
    timeout: float,
) -> dict[str, Any]:
    """Closed loop: each session sends its next request when the previous reply is in."""
    async with asyncio.timeout(timeout):
        conns, frames = await connect_sessions(base, sessions, compression)

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
            "mode": "closed",
            "sessions": sessions,
            "requests_per_session": requests,
            "warmup_per_session": warmup,
            **latency_summary(samples),
            "throughput_rps": round(len(samples) / cpu["wall_s"], 1),
            "rate_limited": sum(c.rate_limited for c in conns),
            "rate_limited_in_warmup": limited_in_warmup,
            "ws_extensions": conns[0].extensions,
            **cpu,
        }
        await asyncio.gather(*(c.close() for c in conns))
    return result


async def open_loop_scenario(
    base: str,
    server_pid: int,
    sessions: int,
    rates: list[float],
    duration: float,
    warmup_s: float,
    compression: str | None,
    timeout: float,
    seed: int = 1,
) -> list[dict[str, Any]]:
    """Open loop: every session sends ``calling.answer`` at a fixed rate, whatever the replies.

    All ``sessions`` stay connected (each with its answered call). For each per-session rate
    ``r``, session ``i`` sends at ``t0 + phase_i + k / r`` (``phase_i`` uniform in
    ``[0, 1/r)``, so the aggregate is ``sessions * r`` req/s spread evenly), for
    ``warmup_s + duration`` seconds; only requests sent after the warm-up are timed, from just
    before ``ws.send()`` to the reply being parsed. Requests do not wait for earlier replies,
    so latency here is the server's response time at that load, not queueing behind
    a closed loop. ``sched_lag`` is how late this client sent compared with the schedule
    (a check that the load generator kept up).
    """
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        conns, frames = await connect_sessions(base, sessions, compression)
        loop = asyncio.get_running_loop()
        for rate in rates:
            period = 1.0 / rate
            for c in conns:
                c.latencies, c.bad_replies, c.rate_limited, c.sent = [], 0, 0, {}
            lags: list[float] = []
            counts = {"sent": 0, "timed_sent": 0}
            t0 = loop.time() + 0.2
            t_measure = t0 + warmup_s
            t_end = t_measure + duration

            async def sender(
                conn: Conn,
                frame: str,
                phase: float,
                t0: float,
                t_measure: float,
                t_end: float,
                period: float,
                lags: list[float],
                counts: dict[str, int],
            ) -> None:
                assert conn.ws is not None
                ws = conn.ws
                k = 0
                while True:
                    due = t0 + phase + k * period
                    if due >= t_end:
                        return
                    now = loop.time()
                    if due > now:
                        await asyncio.sleep(due - now)
                    rid = conn.next_id()
                    timed = due >= t_measure
                    data = frame % rid
                    t_send = time.perf_counter_ns()
                    conn.sent[rid] = (t_send, timed)
                    await ws.send(data)
                    if timed:
                        lags.append(loop.time() - due)
                        counts["timed_sent"] += 1
                    counts["sent"] += 1
                    k += 1

            tasks = [
                asyncio.create_task(
                    sender(c, f, rng.uniform(0, period), t0, t_measure, t_end, period, lags, counts)
                )
                for c, f in zip(conns, frames, strict=True)
            ]
            await asyncio.sleep(max(0.0, t_measure - loop.time()))
            meter = CpuMeter(server_pid)
            await asyncio.gather(*tasks)
            cpu = meter.read(counts["timed_sent"])
            deadline = loop.time() + 5.0
            while any(c.sent for c in conns) and loop.time() < deadline:
                await asyncio.sleep(0.01)
            samples = [s for c in conns for s in c.latencies]
            lag_ms = sorted(x * 1e3 for x in lags)
            out.append(
                {
                    "mode": "open",
                    "sessions": sessions,
                    "rate_per_session": rate,
                    "offered_rps": round(sessions * rate, 1),
                    "duration_s": duration,
                    "warmup_s": warmup_s,
                    "timed_sent": counts["timed_sent"],
                    **latency_summary(samples),
                    "achieved_rps": round(counts["timed_sent"] / cpu["wall_s"], 1),
                    "unanswered": sum(len(c.sent) for c in conns),
                    "bad_replies": sum(c.bad_replies for c in conns),
                    "rate_limited": sum(c.rate_limited for c in conns),
                    "sched_lag_p50_ms": round(percentile(lag_ms, 0.5), 3),
                    "sched_lag_p99_ms": round(percentile(lag_ms, 0.99), 3),
                    "sched_lag_max_ms": round(lag_ms[-1], 3) if lag_ms else None,
                    **cpu,
                }
            )
            for c in conns:
                c.sent = {}
        await asyncio.gather(*(c.close() for c in conns))
    return out


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
        "--rate-limit",
        str(args.rate_limit),
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
            res["server_rate_limit"] = args.rate_limit
            results.append(res)
        if args.open_rates:
            print(
                f"open loop: {args.sessions} sessions at "
                f"{', '.join(f'{r:g}' for r in args.open_rates)} req/s each, "
                f"{args.open_duration:g} s (+{args.open_warmup:g} s warm-up) each ...",
                flush=True,
            )
            for res in run_async(
                open_loop_scenario(
                    f"127.0.0.1:{port}",
                    proc.pid,
                    args.sessions,
                    args.open_rates,
                    args.open_duration,
                    args.open_warmup,
                    args.compression,
                    args.timeout + len(args.open_rates) * (args.open_duration + 10),
                )
            ):
                res["server"] = "voxrelay serve"
                res["server_rate_limit"] = args.rate_limit
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
        "client": "sdk",
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


async def events_scenario_lean(
    base: str, server_pid: int, n: int, batch: int, timeout: float
) -> dict[str, Any]:
    host, port = base.rsplit(":", 1)
    async with asyncio.timeout(timeout + 15):
        client, protocol = await lean_connect(host, int(port), n)
        await asyncio.sleep(0.05)  # let the authorization.state event in and get acked
        baseline = client.requests
        async with httpx.AsyncClient(base_url=f"http://{base}", timeout=timeout + 10) as http:
            q = {"protocol": protocol}
            meter = CpuMeter(server_pid)
            t_trigger = time.monotonic()
            resp = await http.post("/bench/emit", params={**q, "n": n, "batch": batch})
            resp.raise_for_status()
            drained = (await http.get("/bench/wait", params={**q, "timeout": timeout})).json()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(client.done.wait(), 1.0)
            cpu = meter.read(client.events)
        client.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(client.closed), 2.0)
        if client.transport is not None:
            client.transport.close()

    received = client.events
    t_recv = client.t_last - t_trigger if received == n else None
    t_drain = drained["t_drained"] - t_trigger if drained["t_drained"] else None
    return {
        "client": "lean",
        "events": n,
        "batch": batch,
        "received": received,
        "events_before": baseline,
        "error_replies": client.other,
        "emit_s": round(drained["t_emitted"] - t_trigger, 4) if drained["t_emitted"] else None,
        "recv_s": round(t_recv, 4) if t_recv else None,
        "drain_s": round(t_drain, 4) if t_drain else None,
        "recv_eps": round(n / t_recv) if t_recv else None,
        "drain_eps": round(n / t_drain) if t_drain else None,
        "unacked_at_end": drained["unacked"],
        "dropped_events": drained["dropped_events"],
        **cpu,
    }


def start_pyspy(pid: int, out: Path, cpu: int | None) -> subprocess.Popen[bytes] | None:
    """``py-spy record`` on the server (raw collapsed stacks), pinned next to the client."""
    exe = shutil.which("py-spy") or next(
        (p for p in ("/tmp/pyspy/bin/py-spy", str(ROOT / ".venv/bin/py-spy")) if Path(p).exists()),
        None,
    )
    if exe is None:
        print("py-spy not found: no profile", flush=True)
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [exe, "record", "--pid", str(pid), "--rate", "250", "--nonblocking"]
    return subprocess.Popen(
        [*taskset_prefix(cpu), *cmd, "--format", "raw", "--output", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_pyspy(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


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
            spy = start_pyspy(p.pid, args.pyspy, args.client_cpu) if args.pyspy else None
            try:
                for client in args.event_clients:
                    for run in range(args.event_runs):
                        print(
                            f"events: {args.events} events, rate limit {limit}, "
                            f"{client} client, run {run + 1} ...",
                            flush=True,
                        )
                        if client == "lean":
                            coro = events_scenario_lean(
                                f"127.0.0.1:{port}",
                                p.pid,
                                args.events,
                                args.batch,
                                args.drain_timeout,
                            )
                        else:
                            coro = events_scenario(
                                f"127.0.0.1:{port}",
                                p.pid,
                                args.events,
                                args.batch,
                                args.compression,
                                args.drain_timeout,
                            )
                        res = run_async(coro)
                        res["rate_limit"] = limit
                        res["run"] = run + 1
                        results.append(res)
            finally:
                stop_pyspy(spy)
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
    closed = [r for r in out.get("rtt", []) if r.get("mode", "closed") == "closed"]
    opened = [r for r in out.get("rtt", []) if r.get("mode") == "open"]
    if closed:
        print(
            "\ncalling.answer round trip, CLOSED loop = saturation throughput (server on CPU "
            f"{out['config']['server_cpu']}, client on CPU {out['config']['client_cpu']})"
        )
        print(
            f"{'sessions':>8} {'n':>7} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
            f"{'max ms':>8} {'req/s':>8} {'srv cpu':>8} {'cli cpu':>8} {'srv us/op':>9} "
            f"{'other':>5} {'ratelim':>7}"
        )
        for r in closed:
            print(
                f"{r['sessions']:>8} {r['count']:>7} {r['p50_ms']:>8.3f} {r['p90_ms']:>8.3f} "
                f"{r['p99_ms']:>8.3f} {r['max_ms']:>8.3f} {r['throughput_rps']:>8.0f} "
                f"{r['server_cpu_pct']:>7.0f}% {r['client_cpu_pct']:>7.0f}% "
                f"{r['server_us_per_op']:>9.1f} {r['other_load_cores']:>5.2f} "
                f"{r['rate_limited'] + r['rate_limited_in_warmup']:>7}"
            )
    if opened:
        print("\ncalling.answer round trip, OPEN loop (all sessions connected, fixed rate each)")
        print(
            f"{'sessions':>8} {'r/sess':>6} {'offered':>8} {'achieved':>8} {'n':>7} "
            f"{'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'srv cpu':>8} "
            f"{'srv us/op':>9} {'lag p99':>7} {'other':>5} {'bad':>4} {'lost':>4}"
        )
        for r in opened:
            print(
                f"{r['sessions']:>8} {r['rate_per_session']:>6g} {r['offered_rps']:>8.0f} "
                f"{r['achieved_rps']:>8.0f} {r['count']:>7} {r['p50_ms']:>8.3f} "
                f"{r['p90_ms']:>8.3f} {r['p99_ms']:>8.3f} {r['max_ms']:>8.3f} "
                f"{r['server_cpu_pct']:>7.0f}% {r['server_us_per_op']:>9.1f} "
                f"{r['sched_lag_p99_ms']:>7.2f} {r['other_load_cores']:>5.2f} "
                f"{r['bad_replies']:>4} {r['unanswered']:>4}"
            )
    if closed or opened:
        print("targets: p50 <= 1 ms, p99 <= 5 ms; other = cores busy with other processes")
    if out.get("events"):
        print("\nevents one session receives and acks (trigger -> last event / -> 0 unacked)")
        print(
            f"{'client':>6} {'limit':>8} {'run':>3} {'events':>7} {'recv ev/s':>10} "
            f"{'drain ev/s':>10} {'srv cpu':>8} {'cli cpu':>8} {'srv us/ev':>9} "
            f"{'cli us/ev':>9} {'ceiling':>8} {'other':>5} {'err':>6} {'unacked':>7} {'dropped':>7}"
        )
        for r in out["events"]:

            def fmt(v: Any) -> str:
                return f"{v:>10}" if v is not None else f"{'-':>10}"

            print(
                f"{r.get('client', 'sdk'):>6} {r['rate_limit']:>8} {r['run']:>3} "
                f"{r['received']:>7} {fmt(r['recv_eps'])} "
                f"{fmt(r['drain_eps'])} {r['server_cpu_pct']:>7.0f}% "
                f"{r['client_cpu_pct']:>7.0f}% {r['server_us_per_op']:>9.1f} "
                f"{r['client_us_per_op']:>9.1f} {r['server_capacity_per_s']:>8} "
                f"{r['other_load_cores']:>5.2f} {r['error_replies']:>6} "
                f"{r['unacked_at_end']:>7} {r['dropped_events']:>7}"
            )
        print("target: >= 20,000 events/s; ceiling = 1e6 / server us per event")


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
        default="default",
        help="server rate-limit configs, comma-separated: default (product), unlimited"
        " (acks no longer count against the limit, so the two should not differ)",
    )
    p.add_argument(
        "--compression",
        choices=["deflate", "none"],
        default="deflate",
        help="permessage-deflate as the official SDK negotiates (default) or none",
    )
    p.add_argument(
        "--rate-limit",
        type=float,
        default=1_000_000.0,
        help="voxrelay serve --rate-limit for the command benchmarks (requests/s per connection;"
        " default high enough that the closed loop never meets it; product default 500)",
    )
    p.add_argument(
        "--open-rates",
        default="5,10,20",
        help="open loop: requests/s per session, comma-separated ('' to skip)",
    )
    p.add_argument("--open-duration", type=float, default=20.0, help="timed seconds per rate")
    p.add_argument("--open-warmup", type=float, default=2.0, help="untimed seconds per rate")
    p.add_argument(
        "--event-client",
        default="lean",
        help="event bench client(s), comma-separated: lean (raw socket, no JSON parsing) and/or"
        " sdk (websockets + json per event, like the official SDK)",
    )
    p.add_argument("--pyspy", type=Path, help="record the event server with py-spy into PATH")
    p.add_argument("--timeout", type=float, default=300.0, help="bound on each rtt scenario")
    p.add_argument("--drain-timeout", type=float, default=30.0, help="bound on each event run")
    p.add_argument("--out", type=Path, default=BENCH_DIR / "results" / "relay.json")
    args = p.parse_args(argv)
    if args.quick:
        args.requests, args.warmup = 300, 50
        args.sessions, args.requests_many, args.warmup_many = 20, 20, 5
        args.events, args.event_runs, args.drain_timeout = 5_000, 1, 5.0
        args.timeout = 30.0
        args.open_rates, args.open_duration, args.open_warmup = "5", 3.0, 1.0
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
    args.open_rates = [float(x) for x in args.open_rates.split(",") if x.strip()]
    args.event_clients = [x.strip() for x in args.event_client.split(",") if x.strip()]
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
            "rtt_server_rate_limit": args.rate_limit,
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
