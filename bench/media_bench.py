"""Media legs per core: how many legs one core runs, each playing a file and recording.

    .venv/bin/python bench/media_bench.py                      # ramp 100..1200, 10 s each
    .venv/bin/python bench/media_bench.py --legs 800,1000 --measure 10 --repeat 2
    .venv/bin/python bench/media_bench.py --legs 1000 --pyspy /tmp/media-pyspy.txt
    .venv/bin/python bench/media_bench.py --floor --legs 500,1000   # the I/O floor

The server side (``media_bench.py server``, started by the driver under ``taskset -c 0``) runs
the real media engine on uvloop, with the GC tuned as ``voxrelay serve`` tunes it: N ``Leg``s
(PCMU, telephone-event 101), each on its own UDP socket, read and written in batches by the
``RtpSocketSet`` of ``media.rtpio`` (``--io native``, the server's default) or through one
uvloop transport per leg (``--io uvloop``), ticked by one ``Engine`` on one
``MediaClock``; each leg has a ``Player`` looping a WAV
file (decoded by ``sources.decode_audio``) and a ``Recorder`` (direction ``both``, WAV, in a
temporary directory, finalised at the end; timeouts off so it records the whole run).

The load generator (``bench/rtpload.c``, compiled with gcc at bench time, ``taskset -c 1``)
opens one socket per leg, sends 20 ms PCMU packets at 50 pps with phases spread over the
frame, receives each leg's packets and measures, during the window, loss (sequence gaps) and
the deviation of each inter-arrival time from 20 ms (kernel receive timestamps).

``--floor-native`` is that floor with the sockets read and written by ``bench/rtpio.c`` (a
prototype loaded with ctypes): one C call per tick reads every socket with data (epoll,
``recvfrom``), one sends a packet on every socket, and numpy advances all the RTP headers.
It measures what per-datagram Python costs.

``--floor`` runs the same sockets, clock, transports (``--io``) and generator with no media
work: each leg counts what arrives and sends one fixed packet per tick. What it costs is the least any
engine on this event loop and socket layout can cost.

Per N the driver samples both processes' CPU (``/proc/<pid>/stat``) and the other load on the
machine (``/proc/stat``) at the window's start and end, and the server reports its media clock
(late / dropped ticks, lateness) and the time spent inside the tick for the window. Pass:
late == 0, dropped == 0, loss < 0.1 % both ways, p99 send jitter < 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- server side -------------------------------------------------------------------------------


def _watch_gc() -> dict[str, float]:
    """Counts of the garbage collections from now on, by generation, and the longest (ms):
    a full collection over many legs' objects is one cause of a late tick."""
    import gc

    seen: dict[str, float] = {"gen0": 0, "gen1": 0, "gen2": 0, "max_ms": 0.0}
    began = [0.0]

    def watch(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
            seen[f"gen{info['generation']}"] += 1
        else:
            seen["max_ms"] = max(seen["max_ms"], 1e3 * (time.perf_counter() - began[0]))

    gc.callbacks.append(watch)
    return seen


async def _serve(args: argparse.Namespace) -> None:
    import numpy as np

    from voxrelay.cli.serve import tune_gc
    from voxrelay.media.clock import MediaClock
    from voxrelay.media.codecs import PCMU
    from voxrelay.media.engine import Engine
    from voxrelay.media.leg import Leg
    from voxrelay.media.player import Player
    from voxrelay.media.recorder import Recorder
    from voxrelay.media.rtpio import RtpSocketSet
    from voxrelay.media.sources import decode_audio
    from voxrelay.media.transport import open_transport

    samples = decode_audio(args.wav)
    out = Path(args.outdir)
    clock = MediaClock()
    legs: list[Any] = []
    transports: list[Any] = []
    recorders: list[Recorder] = []
    sockets = RtpSocketSet(capacity=args.n + 16) if args.io == "native" else None

    async def open_rtp(leg: Any) -> Any:
        if sockets is not None:
            return sockets.open(leg, args.host, None, (20000, 60000), attempts=200)
        return await open_transport(leg, args.host, None, (20000, 60000), attempts=200)

    if args.floor:  # the I/O floor: the same sockets and clock, no media work at all
        for _ in range(args.n):
            null = _NullLeg()
            transports.append(await open_rtp(null))
            legs.append(null)
    ports: list[int] = []
    native: _NativeFloor | None = None
    if args.rtpio:  # the floor with batched native I/O: one C call reads, one sends
        native = _NativeFloor(args.rtpio, args.n, args.host)
        legs.append(native)
        ports = native.ports
    batch = Engine(sockets)  # legs join it before their components, as the server's do
    for i in range(0 if args.floor or native else args.n):
        leg = Leg(PCMU, telephone_event=101, inactivity_timeout=0, name=f"leg{i}")
        batch.add(leg)
        transport = await open_rtp(leg)
        player = Player(f"play{i}", [samples[(i * 160) % len(samples) :], samples], loop=0)
        recorder = Recorder(
            f"rec{i}",
            out / f"leg{i}.wav",
            direction="both",
            initial_timeout=0,
            end_silence_timeout=0,
            terminators="",
            max_length=args.max_length,
        )
        leg.add_player(player)
        leg.add_listener(recorder)
        legs.append(leg)
        transports.append(transport)
        recorders.append(recorder)

    tick_spans: list[float] = []
    started = [0.0]

    def tick_begin(n: int) -> None:
        started[0] = time.perf_counter()

    def tick_end(n: int) -> None:
        tick_spans.append(time.perf_counter() - started[0])

    clock.subscribe(tick_begin)
    if native is not None:
        clock.subscribe(native.tick)
    elif args.floor:

        def floor_tick(n: int) -> None:
            if sockets is not None:
                sockets.deliver()
            for null in legs:
                null.tick(n)
            if sockets is not None:
                sockets.flush()

        clock.subscribe(floor_tick)
    else:
        clock.subscribe(batch.tick)
    clock.subscribe(tick_end)
    tune_gc()  # as `voxrelay serve` does
    collections = _watch_gc()
    clock.start()
    ports += [t.local[1] for t in transports]
    print("PORTS " + json.dumps(ports), flush=True)

    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    mark: dict[str, Any] = {}

    def snapshot() -> dict[str, Any]:
        s = clock.stats
        return {
            "ticks": s.ticks,
            "late": s.late,
            "dropped": s.dropped,
            "spans": len(tick_spans),
            "received": sum(leg.received + len(getattr(leg, "inbox", ())) for leg in legs),
            "jb_lost": sum(leg.jitter.stats.lost for leg in legs),
            "jb_late": sum(leg.jitter.stats.late for leg in legs),
            "sent": sum(leg.stream.packets for leg in legs),
        }

    def on_stdin() -> None:
        line = sys.stdin.readline().strip()
        if line == "MARK":
            mark.update(snapshot())
        elif line in ("STOP", ""):
            loop.remove_reader(sys.stdin.fileno())
            end = snapshot()
            ticks = end["ticks"] - mark.get("ticks", 0)
            lateness = clock.stats.lateness[-ticks:] if ticks else []
            spans = np.array(tick_spans[mark.get("spans", 0) : end["spans"]]) * 1000
            report = {
                "window": {k: end[k] - mark.get(k, 0) for k in end},
                "total": end,
                "lateness_p99_ms": float(np.percentile(lateness, 99) * 1000) if lateness else 0,
                "lateness_max_ms": float(max(lateness) * 1000) if lateness else 0,
                "tick_ms_p50": float(np.percentile(spans, 50)) if len(spans) else 0,
                "tick_ms_p99": float(np.percentile(spans, 99)) if len(spans) else 0,
                "tick_ms_max": float(spans.max()) if len(spans) else 0,
                "tick_ms_mean": float(spans.mean()) if len(spans) else 0,
                "gc": collections,  # since the legs were set up
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
            # the generator has stopped sending: what it sent last is read in the next ticks,
            # so "received" is counted a few ticks on (loss is what never arrives)
            loop.call_later(0.1, send_report, report)

    def send_report(report: dict[str, Any]) -> None:
        report["total"]["received"] = snapshot()["received"]
        print("STATS " + json.dumps(report), flush=True)
        done.set_result(None)

    loop.add_reader(sys.stdin.fileno(), on_stdin)
    await done
    await clock.stop()
    for t in transports:
        t.close()
    t0 = time.perf_counter()
    await asyncio.gather(*(r.aclose() for r in recorders))
    written = sum(r.size for r in recorders)
    seconds = sum(r.duration for r in recorders)
    print(
        "FINAL "
        + json.dumps(
            {
                "finalize_s": time.perf_counter() - t0,
                "bytes": written,
                "audio_s": seconds,
                "errors": sum(r.error is not None for r in recorders),
            }
        ),
        flush=True,
    )


class _NullLeg:
    """For ``--floor``: counts what arrives and sends one fixed RTP packet per tick."""

    def __init__(self) -> None:
        from types import SimpleNamespace

        from voxrelay.media.rtp import RtpStream

        self.received = 0
        self.stream = RtpStream()
        self.jitter = SimpleNamespace(stats=SimpleNamespace(lost=0, late=0))
        self.send: Any = None
        self.payload = b"\xff" * 160  # PCMU silence

    def deliver(self, data: bytes, arrival: float | None = None) -> None:
        self.received += 1

    def changed(self) -> None:
        """Its socket came or went (nothing to re-plan: no engine ticks it)."""

    def tick(self, n: int) -> None:
        if self.send is not None:
            self.send(self.stream.pack(self.payload, 0))
        self.stream.advance(160)


class _NativeFloor:
    """For ``--floor-native``: every leg's socket read and written by ``rtpio.c`` in one call
    each per tick; RTP headers (sequence, timestamp) advanced with numpy for all legs."""

    def __init__(self, library: str, n: int, host: str) -> None:
        import ctypes
        import socket
        from types import SimpleNamespace

        import numpy as np

        self.np = np
        self.socks = []
        for _ in range(n):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((host, 0))
            sock.setblocking(False)
            self.socks.append(sock)
        self.ports = [s.getsockname()[1] for s in self.socks]
        self.lib = ctypes.CDLL(library)
        pointer = ctypes.c_void_p
        self.lib.rtpio_recv.argtypes = [pointer, pointer, pointer, ctypes.c_int]
        self.lib.rtpio_send.argtypes = [pointer, ctypes.c_int]
        fds = (ctypes.c_int * n)(*[s.fileno() for s in self.socks])
        if self.lib.rtpio_init(fds, n) != 0:
            raise OSError("rtpio_init failed")
        self.n = n
        self.buf = np.zeros(n * 4 * 2048, dtype=np.uint8)
        self.leg = np.zeros(n * 4, dtype=np.int32)
        self.len = np.zeros(n * 4, dtype=np.int32)
        self.packets = np.full((n, 172), 0xFF, dtype=np.uint8)  # PCMU silence payloads
        self.packets[:, 0], self.packets[:, 1] = 0x80, 0
        ssrc = np.arange(1, n + 1, dtype=">u4")
        self.packets[:, 8:12] = ssrc.view(np.uint8).reshape(n, 4)
        self.seq = np.zeros(n, dtype=np.uint16)
        self.ts = np.zeros(n, dtype=np.uint32)
        self.received = 0
        self.stream = SimpleNamespace(packets=0)
        self.jitter = SimpleNamespace(stats=SimpleNamespace(lost=0, late=0))

    def tick(self, n: int) -> None:
        np = self.np
        self.seq += 1
        self.ts += 160
        self.packets[:, 2:4] = self.seq.astype(">u2").view(np.uint8).reshape(self.n, 2)
        self.packets[:, 4:8] = self.ts.astype(">u4").view(np.uint8).reshape(self.n, 4)
        self.stream.packets += self.lib.rtpio_send(self.packets.ctypes.data, 172)
        self.received += self.lib.rtpio_recv(
            self.buf.ctypes.data, self.leg.ctypes.data, self.len.ctypes.data, len(self.leg)
        )


def server_main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="media_bench.py server")
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--wav", required=True)
    p.add_argument("--outdir", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--max-length", type=float, default=0.0)
    p.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    p.add_argument("--floor", action="store_true")
    p.add_argument("--rtpio", help="the compiled rtpio.c: measure the floor with native I/O")
    p.add_argument("--io", choices=("native", "uvloop"), default="native")
    args = p.parse_args(argv)
    from voxrelay.cli.serve import tune_gc

    tune_gc()  # as `voxrelay serve` does
    if args.loop == "uvloop":
        import uvloop

        uvloop.run(_serve(args))
    else:
        asyncio.run(_serve(args))


# -- driver ------------------------------------------------------------------------------------


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def _busy_s() -> float:
    with open("/proc/stat") as fh:
        v = [int(x) for x in fh.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / CLK_TCK  # all but idle and iowait


def _steal_s(cpu: str) -> float:
    """Time the hypervisor ran something else while ``cpu`` (a number) wanted to run."""
    with open("/proc/stat") as fh:
        for line in fh:
            if line.startswith(f"cpu{cpu} "):
                return int(line.split()[8]) / CLK_TCK
    return 0.0


def _loadavg() -> str:
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def _make_wav(path: Path) -> None:
    """4 s of speech-like audio: tone bursts with a changing pitch and level, some pauses."""
    import numpy as np
    import soundfile

    rate = 8000
    t = np.arange(4 * rate) / rate
    pitch = 180 + 60 * np.sin(2 * np.pi * 0.7 * t)
    wave = np.sin(2 * np.pi * np.cumsum(pitch) / rate) + 0.4 * np.sin(
        2 * np.pi * np.cumsum(3 * pitch) / rate
    )
    envelope = (np.sin(2 * np.pi * 2.5 * t) > -0.3) * (0.3 + 0.2 * np.sin(2 * np.pi * 0.3 * t))
    soundfile.write(path, (wave * envelope * 0.5).astype(np.float32), rate, subtype="PCM_16")


def _compile(work: Path) -> Path:
    exe = work / "rtpload"
    subprocess.run(
        ["gcc", "-O2", "-Wall", "-o", str(exe), str(HERE / "rtpload.c"), "-lm"], check=True
    )
    return exe


def _compile_rtpio(work: Path) -> Path:
    lib = work / "rtpio.so"
    if not lib.exists():
        subprocess.run(
            ["gcc", "-O2", "-Wall", "-shared", "-fPIC", "-o", str(lib), str(HERE / "rtpio.c")],
            check=True,
        )
    return lib


def run_one(
    n: int, exe: Path, wav: Path, work: Path, args: argparse.Namespace, pyspy: str | None
) -> dict[str, Any]:
    outdir = Path(tempfile.mkdtemp(prefix=f"rec{n}-", dir=work))
    server = subprocess.Popen(
        [
            "taskset", "-c", args.server_cpu, sys.executable, __file__, "server",
            "--n", str(n), "--wav", str(wav), "--outdir", str(outdir),
            "--max-length", str(args.max_length), "--loop", args.loop, "--io", args.io,
            *(["--floor"] if args.floor else []),
            *(["--rtpio", str(_compile_rtpio(work))] if args.floor_native else []),
        ],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": args.src} if args.src else None,
    )  # fmt: skip
    assert server.stdin is not None and server.stdout is not None
    line = server.stdout.readline()
    if not line.startswith("PORTS "):
        server.kill()
        raise RuntimeError(f"server failed to start: {line!r}")
    ports = json.loads(line[6:])
    ports_file = work / f"ports{n}.txt"
    ports_file.write_text("\n".join(map(str, ports)) + "\n")
    gen = subprocess.Popen(
        ["taskset", "-c", args.client_cpu, str(exe), str(ports_file), str(args.warmup),
         str(args.measure)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert gen.stdout is not None
    load_before = _loadavg()
    spy: subprocess.Popen[bytes] | None = None
    a: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    b = a
    steal = [0.0, 0.0]  # the server's CPU, at the window's start and end
    gen_report: dict[str, Any] = {}
    for raw in gen.stdout:
        text = raw.strip()
        if text == "MEASURE":
            a = (time.monotonic(), _cpu_s(server.pid), _cpu_s(gen.pid), _busy_s())
            steal[0] = _steal_s(args.server_cpu)
            server.stdin.write("MARK\n")
            server.stdin.flush()
            if pyspy:
                spy = subprocess.Popen(
                    ["taskset", "-c", args.client_cpu, args.pyspy_exe, "record", "--pid",
                     str(server.pid), "--duration", str(int(args.measure)), "--rate", "250",
                     "--format", "raw", "--nonblocking", "-o", pyspy],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
        elif text == "END":
            b = (time.monotonic(), _cpu_s(server.pid), _cpu_s(gen.pid), _busy_s())
            steal[1] = _steal_s(args.server_cpu)
            server.stdin.write("STOP\n")
            server.stdin.flush()
        elif text.startswith("{"):
            gen_report = json.loads(text)
    gen.wait()
    stats: dict[str, Any] = {}
    final: dict[str, Any] = {}
    try:
        rest, _ = server.communicate(timeout=120)
    except subprocess.TimeoutExpired:  # a starved server never reads STOP
        server.kill()
        rest, _ = server.communicate()
    for raw in rest.splitlines():
        if raw.startswith("STATS "):
            stats = json.loads(raw[6:])
        elif raw.startswith("FINAL "):
            final = json.loads(raw[6:])
    if not stats:
        raise RuntimeError(f"N={n}: the server did not report (stalled)")
    if spy is not None:
        spy.wait()
    shutil.rmtree(outdir, ignore_errors=True)
    wall = b[0] - a[0]
    srv_cpu = (b[1] - a[1]) / wall
    gen_cpu = (b[2] - a[2]) / wall
    other = (b[3] - a[3]) / wall - srv_cpu - gen_cpu
    win = stats["window"]
    sent_by_gen = gen_report["sent"]
    in_loss = 100.0 * (sent_by_gen - stats["total"]["received"]) / max(1, sent_by_gen)
    ticks = max(1, win["ticks"])
    row = {
        "n": n,
        "load": load_before,
        "late": win["late"],
        "dropped": win["dropped"],
        "ticks": win["ticks"],
        "lateness_p99_ms": stats["lateness_p99_ms"],
        "lateness_max_ms": stats["lateness_max_ms"],
        "tick_ms_mean": stats["tick_ms_mean"],
        "tick_ms_p99": stats["tick_ms_p99"],
        "loss_out_pct": gen_report["rx_loss_pct"],
        "loss_in_pct": in_loss,
        "jitter_p50_ms": gen_report["jitter_p50_ms"],
        "jitter_p99_ms": gen_report["jitter_p99_ms"],
        "jitter_max_ms": gen_report["jitter_max_ms"],
        "server_cpu": srv_cpu,
        "gen_cpu": gen_cpu,
        "other_cpu": other,
        "steal_ms": 1e3 * (steal[1] - steal[0]),  # the hypervisor's, on the server's CPU
        "us_per_leg_tick": 1e6 * (b[1] - a[1]) / (ticks * n),
        "tick_us_per_leg": 1e3 * stats["tick_ms_mean"] / n,
        "gen": gen_report,
        "server": stats,
        "final": final,
    }
    row["pass"] = (
        row["late"] == 0
        and row["dropped"] == 0
        and row["loss_out_pct"] < 0.1
        and row["loss_in_pct"] < 0.1
        and row["jitter_p99_ms"] < 5.0
        and gen_report["legs_heard"] == n
    )
    return row


HEADER = (
    "| N | load (1/5/15) | late | dropped | loss out / in % | jitter p50 / p99 / max ms | "
    "server CPU | gen CPU | other | steal ms | tick mean / p99 ms | us/leg/tick (CPU / in tick) "
    "| pass |"
)


def fmt(r: dict[str, Any]) -> str:
    return (
        f"| {r['n']} | {r['load']} | {r['late']} | {r['dropped']} | "
        f"{r['loss_out_pct']:.3f} / {r['loss_in_pct']:.3f} | "
        f"{r['jitter_p50_ms']:.2f} / {r['jitter_p99_ms']:.2f} / {r['jitter_max_ms']:.1f} | "
        f"{100 * r['server_cpu']:.0f} % | {100 * r['gen_cpu']:.0f} % | {r['other_cpu']:.2f} | "
        f"{r.get('steal_ms', 0):.0f} | "
        f"{r['tick_ms_mean']:.2f} / {r['tick_ms_p99']:.2f} | "
        f"{r['us_per_leg_tick']:.1f} / {r['tick_us_per_leg']:.1f} | "
        f"{'yes' if r['pass'] else 'no'} |"
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "server":
        server_main(sys.argv[2:])
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--legs", default="100,200,400,600,800,1000,1200")
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--measure", type=float, default=10.0)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--max-length", type=float, default=0.0, help="recorder max_length, s")
    p.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    p.add_argument(
        "--io", choices=("native", "uvloop"), default="native",
        help="RTP sockets: the batched set polled by the tick (media.rtpio), or uvloop transports",
    )  # fmt: skip
    p.add_argument("--server-cpu", default="0")
    p.add_argument("--client-cpu", default="1")
    p.add_argument("--pyspy", help="write a py-spy raw profile of the (last) run here")
    p.add_argument("--pyspy-exe", default=shutil.which("py-spy") or "/tmp/pyspy/bin/py-spy")
    p.add_argument("--src", help="run the server on this source tree (a worktree's src/)")
    p.add_argument(
        "--floor", action="store_true",
        help="measure the I/O floor: the same sockets, clock and packets, no media work",
    )  # fmt: skip
    p.add_argument(
        "--floor-native", action="store_true",
        help="the floor with batched native I/O (bench/rtpio.c): one C call reads, one sends",
    )  # fmt: skip
    p.add_argument("--label", default="", help="a name for this run in the results file")
    p.add_argument("--out", default=str(HERE / "results" / "media.json"))
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="media-bench-") as tmp:
        work = Path(tmp)
        exe = _compile(work)
        wav = work / "prompt.wav"
        _make_wav(wav)
        rows = []
        print(HEADER, flush=True)
        for n in (int(x) for x in args.legs.split(",")):
            for _ in range(args.repeat):
                row = run_one(n, exe, wav, work, args, args.pyspy)
                rows.append(row)
                print(fmt(row), flush=True)
    passing = [r["n"] for r in rows if r["pass"]]
    print(f"largest passing N: {max(passing) if passing else None}")
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.exists() else {}
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    label = args.label or time.strftime("%Y-%m-%dT%H:%M:%S")
    results[label] = {"commit": commit, "argv": sys.argv[1:], "rows": rows}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
