"""The media tick's own work per leg, without sockets: what ``media_bench.py`` measures minus
the kernel's UDP work.

    .venv/bin/python bench/tick_bench.py                    # 1,000 legs, 1,000 ticks
    .venv/bin/python bench/tick_bench.py --legs 200,1000 --ticks 500 --repeat 3

N legs as in ``media_bench.py`` (PCMU with telephone-event, each playing a looping WAV and
recording both directions to a WAV in a temporary directory) are ticked by one ``Engine``
in this process, as fast as it goes. Its socket set is a stand-in: each tick's ``poll``
returns one 20 ms PCMU packet per leg, with the arrival bunching of a real network
(``--bunch``: the share of legs whose packet comes a tick late, with the next one, so they
have two on odd ticks and none on even ones: "even / odd tick ms"), and ``send_rows`` drops
the packets. The time the stand-in takes to make the packets is left out. So the figure is
the engine's Python and numpy work per leg and tick (parsing, jitter buffers, RFC 3550
statistics, players, G.711, RTP packets, recorders, RTCP), the part of ``media_bench.py``'s
µs/leg/tick that is not socket I/O. It settles in seconds, so changes to the tick can be
compared quickly; on a shared machine compare alternating runs (BENCHMARKS.md). The
legs-per-core figure stays ``media_bench.py``'s.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from media_bench import _make_wav  # noqa: E402

from voxrelay.media.batch import ROOM  # noqa: E402
from voxrelay.media.codecs import PCMU  # noqa: E402
from voxrelay.media.engine import Engine  # noqa: E402
from voxrelay.media.leg import Leg  # noqa: E402
from voxrelay.media.player import Player  # noqa: E402
from voxrelay.media.recorder import Recorder  # noqa: E402
from voxrelay.media.rtp import Datagrams  # noqa: E402
from voxrelay.media.sources import decode_audio  # noqa: E402


class Feed:
    """The socket set's stand-in: ``poll`` gives each tick's packets, ``send_rows`` drops."""

    def __init__(self, legs: list[Leg], bunch: float, seed: int = 1) -> None:
        self.legs = legs
        self.capacity = len(legs)
        self.tick = 0
        self.sent = 0
        self.spent = 0.0  # seconds spent making packets (left out of the tick's time)
        rng = np.random.default_rng(seed)
        self.ssrc = rng.integers(1, 2**32 - 1, len(legs))
        self.late = rng.random(len(legs)) < bunch  # these legs' even packets come late
        payload = np.full(160, 0x9F, dtype=np.uint8)
        self.payload = np.where(np.arange(160) % 8 < 4, payload, payload ^ 0x80)

    def poll(self) -> tuple[np.ndarray[Any, Any], Datagrams]:
        started = time.perf_counter()
        try:
            return self._packets()
        finally:
            self.spent += time.perf_counter() - started

    def _packets(self) -> tuple[np.ndarray[Any, Any], Datagrams]:
        n, self.tick = self.tick, self.tick + 1
        now = time.monotonic()
        on_time = ~self.late if n % 2 == 0 else np.ones(len(self.legs), dtype=bool)
        packets: list[tuple[int, int]] = []  # (leg, packet number)
        for i in np.flatnonzero(on_time).tolist():
            if n % 2 == 1 and self.late[i]:
                packets.append((i, n - 1))
            packets.append((i, n))
        data = np.zeros((len(packets), ROOM), dtype=np.uint8)
        legs = np.array([leg for leg, _ in packets], dtype=np.int64)
        number = np.array([k for _, k in packets], dtype=np.int64)
        data[:, 0] = 0x80
        data[:, 2:4] = _be(number & 0xFFFF, 2)
        data[:, 4:8] = _be((number * 160) & 0xFFFFFFFF, 4)
        data[:, 8:12] = _be(self.ssrc[legs], 4)
        data[:, 12:] = self.payload
        size = np.full(len(packets), ROOM, dtype=np.int64)
        return legs, Datagrams(data, size, np.full(len(packets), now))

    def receiver_of(self, slot: int) -> Leg:
        return self.legs[slot]

    def flush(self) -> int:
        return 0

    def slots_of(self, legs: list[Any]) -> list[int]:
        index = {id(leg): i for i, leg in enumerate(self.legs)}
        return [index.get(id(leg), -1) for leg in legs]

    def send_rows(self, slots: np.ndarray[Any, Any], packets: np.ndarray[Any, Any]) -> int:
        self.sent += len(slots)
        return len(slots)


def _be(values: np.ndarray[Any, Any], width: int) -> np.ndarray[Any, Any]:
    shifts = np.arange(width - 1, -1, -1) * 8
    return ((values[:, None] >> shifts) & 0xFF).astype(np.uint8)


async def run(n: int, ticks: int, bunch: float, wav: Path, out: Path) -> dict[str, Any]:
    samples = decode_audio(wav)
    legs: list[Leg] = []
    recorders: list[Recorder] = []
    batch = Engine()  # legs join it before their components, as the server's do
    for i in range(n):
        leg = Leg(PCMU, telephone_event=101, inactivity_timeout=0, name=f"leg{i}")
        batch.add(leg)
        leg.add_player(Player(f"play{i}", [samples[(i * 160) % len(samples) :], samples], loop=0))
        recorder = Recorder(
            f"rec{i}", out / f"leg{i}.wav", direction="both", initial_timeout=0,
            end_silence_timeout=0, terminators="",
        )  # fmt: skip
        leg.add_listener(recorder)
        legs.append(leg)
        recorders.append(recorder)
    feed = Feed(legs, bunch)
    for leg in legs:
        leg.send = lambda data: None  # RTCP reports: dropped, as the feed drops RTP
    batch.io = feed
    for k in range(50):  # warm up: jitter buffers fill, plans are made
        batch.tick(k)
    spans = []
    for k in range(50, 50 + ticks):
        t0, feeding = time.perf_counter(), feed.spent
        batch.tick(k)
        spans.append(time.perf_counter() - t0 - (feed.spent - feeding))
    played = sum(leg.jitter.stats.played for leg in legs)
    lost = sum(leg.jitter.stats.lost for leg in legs)
    await asyncio.gather(*(r.aclose() for r in recorders))
    seconds = sum(r.duration for r in recorders)
    return {
        "n": n,
        "us_per_leg": 1e6 * statistics.mean(spans) / n,
        "us_per_leg_median": 1e6 * statistics.median(spans) / n,
        "tick_ms_p99": 1e3 * float(np.percentile(spans, 99)),
        "even_odd_ms": (1e3 * statistics.mean(spans[0::2]), 1e3 * statistics.mean(spans[1::2])),
        "sent": feed.sent,
        "played": played,
        "lost": lost,
        "recorded_s": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--legs", default="1000")
    p.add_argument("--ticks", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--bunch", type=float, default=0.05)
    args = p.parse_args()
    print(
        "| N | µs/leg/tick mean / median | tick p99 ms | even / odd tick ms | sent "
        "| played / lost | recorded s | peak RSS MB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as work:
        wav = Path(work) / "prompt.wav"
        _make_wav(wav)
        for _ in range(args.repeat):
            for n in [int(x) for x in args.legs.split(",")]:
                out = Path(tempfile.mkdtemp(dir=work))
                r = asyncio.run(run(n, args.ticks, args.bunch, wav, out))
                print(
                    f"| {n} | {r['us_per_leg']:.2f} / {r['us_per_leg_median']:.2f} | "
                    f"{r['tick_ms_p99']:.2f} | {r['even_odd_ms'][0]:.2f} / {r['even_odd_ms'][1]:.2f} | "
                    f"{r['sent']} | {r['played']} / {r['lost']} | "
                    f"{r['recorded_s']:.0f} | {r['peak_rss_mb']:.0f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
