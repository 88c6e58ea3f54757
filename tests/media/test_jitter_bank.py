"""The banked jitter buffer behaves exactly like the scalar reference model, stream by stream,
whether its streams are fed one packet per call or many streams' packets in one call."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.media.jitter_model import ScalarJitterBuffer
from voxrelay.media.jitterbuffer import Arrivals, JitterBank
from voxrelay.media.rtp import RtpPacket

# a packet: (stream, frame offset from now, ssrc, arrival jitter in samples). Offsets stay
# within the ring (64 frames): the model held any 64 packets, the ring holds 64 frame times
# (packets more than 48 frames ahead restart playout in both).
packet = st.tuples(
    st.integers(0, 2), st.integers(-3, 45), st.sampled_from([1, 1, 1, 1, 2]), st.integers(0, 900)
)
ticks = st.lists(st.lists(packet, max_size=6), min_size=1, max_size=80)


@settings(max_examples=150, deadline=None)
@given(ticks)
def test_bank_matches_the_scalar_model(schedule: list[list[tuple[int, int, int, int]]]) -> None:
    streams = 3
    models = [ScalarJitterBuffer() for _ in range(streams)]
    bank = JitterBank(rows=1)
    rows = np.array([bank.add() for _ in range(streams)])
    base = [0, 4_294_960_000, 123_456]  # one stream wraps its timestamps
    for tick, arrivals in enumerate(schedule):
        now = tick * 160
        batch = []
        for stream, offset, ssrc, late_by in arrivals:
            frame = tick + offset
            ts = (base[stream] + 160 * frame) & 0xFFFFFFFF
            payload = bytes([frame % 256]) * 160
            models[stream].put(RtpPacket(0, frame & 0xFFFF, ts, ssrc, payload), now + late_by)
            batch.append((rows[stream], ssrc, ts, now + late_by, frame & 0xFFFF, payload))
        if batch:
            bank.put(
                Arrivals(
                    np.array([b[0] for b in batch]),
                    np.array([b[1] for b in batch]),
                    np.array([b[2] for b in batch]),
                    np.array([b[3] for b in batch]),
                    np.array([b[4] for b in batch]),
                    np.zeros(len(batch), dtype=bool),
                    np.zeros(len(batch), dtype=np.int64),
                    np.frombuffer(b"".join(b[5] for b in batch), dtype=np.uint8).reshape(-1, 160),
                    np.full(len(batch), 160),
                )
            )
        hit, slot = bank.get(rows)
        for stream, model in enumerate(models):
            expected = model.get()
            row = rows[stream]
            assert bool(hit[stream]) == (expected is not None), (tick, stream)
            if expected is not None:
                assert bank.ring_seq[row, slot[stream]] == expected.sequence
                assert bank.ring_payload[row, slot[stream], 0] == expected.payload[0]
            for name in ("received", "played", "lost", "late", "duplicate", "skipped", "resyncs"):
                assert getattr(bank, name)[row] == getattr(model.stats, name), (tick, name)
            assert bank.target[row] == model.target
            assert abs(bank.jitter[row] - model.jitter) < 1e-6
