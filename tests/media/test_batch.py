"""The batched media tick does exactly what ticking each leg alone does.

Two identical sets of legs get the same RTP packets; one set ticks leg by leg
(an ``Engine`` each), the other through one ``Engine``. Every datagram sent, every digit heard and
every recording written must be identical: same bytes, same WAV samples.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile

from voxrelay.media.codecs import PCMA, PCMU, Codec
from voxrelay.media.digitsender import DigitSender
from voxrelay.media.engine import Engine
from voxrelay.media.frames import FRAME, Frame, gain, scale
from voxrelay.media.leg import Leg
from voxrelay.media.player import Player
from voxrelay.media.recorder import Recorder
from voxrelay.media.rtp import Datagrams, RtpStream, is_rtcp
from voxrelay.media.sources import tone

TICKS = 620  # past the recorder's 500-frame blocks


def speechlike(seconds: float, seed: int) -> Frame:
    """Tone bursts at changing pitch and level with gaps (a stand-in for speech)."""
    rng = np.random.default_rng(seed)
    parts = []
    for _ in range(int(seconds / 0.25)):
        hz = float(rng.uniform(200, 1500))
        level = float(rng.uniform(-30, -6))
        parts.append(tone((hz,), 0.2, level_dbfs=level))
        parts.append(np.zeros(int(0.05 * 8000), dtype=np.int16))
    out: Frame = np.concatenate(parts)
    return out


Setup = Callable[[Leg, Path, int], list[Recorder]]


def plain(leg: Leg, folder: Path, i: int) -> list[Recorder]:
    leg.add_player(Player("p", [speechlike(3, i)], loop=0))
    return []


def quieter_and_recorded(leg: Leg, folder: Path, i: int) -> list[Recorder]:
    leg.add_player(Player("p", [speechlike(2, i)], volume=-9.5, loop=0))
    both = Recorder(
        "r1",
        folder / f"both{i}.wav",
        direction="both",
        initial_timeout=0,
        end_silence_timeout=0,
        terminators="",
    )
    stereo = Recorder(
        "r2",
        folder / f"stereo{i}.wav",
        direction="listen",
        stereo=True,
        initial_timeout=0,
        end_silence_timeout=0,
        terminators="",
    )
    leg.add_listener(both)
    leg.add_listener(stereo)
    return [both, stereo]


def two_players_louder(leg: Leg, folder: Path, i: int) -> list[Recorder]:
    leg.add_player(Player("a", [speechlike(1, i)], volume=12.0, loop=2))
    leg.add_player(Player("b", [tone((440.0,), 5.0, level_dbfs=-10)], volume=-3.0))
    speak = Recorder(
        "r",
        folder / f"speak{i}.wav",
        direction="speak",
        initial_timeout=0,
        end_silence_timeout=1.0,
        terminators="#",
    )
    leg.add_listener(speak)
    return [speak]


def muted(leg: Leg, folder: Path, i: int) -> list[Recorder]:
    leg.add_player(Player("p", [speechlike(1, i)]))
    leg.muted = True
    return []


def keys_then_pause(leg: Leg, folder: Path, i: int) -> list[Recorder]:
    leg.add_player(Player("p", [speechlike(2, i)], loop=0))
    leg.add_digit_sender(DigitSender("d", "12w#"))
    rec = Recorder(
        "r",
        folder / f"paused{i}.wav",
        direction="both",
        initial_timeout=0,
        end_silence_timeout=0,
        terminators="",
    )
    leg.add_listener(rec)
    rec.pause("silence")
    return [rec]


def silent_listener(leg: Leg, folder: Path, i: int) -> list[Recorder]:
    rec = Recorder(
        "r", folder / f"silent{i}.wav", initial_timeout=0, end_silence_timeout=0, terminators=""
    )
    leg.add_listener(rec)
    return [rec]


SETUPS: list[tuple[Codec, int | None, Setup]] = [
    (PCMU, 101, plain),
    (PCMA, 101, quieter_and_recorded),
    (PCMU, 101, two_players_louder),
    (PCMA, 101, muted),
    (PCMU, 101, keys_then_pause),
    (PCMU, None, silent_listener),  # no telephone-event: in-band DTMF detection
    (PCMU, 101, lambda leg, folder, i: []),  # idle: encoded silence
]


def build(folder: Path) -> tuple[list[Leg], list[list[bytes]], list[list[str]], list[Recorder]]:
    legs, sent, digits, recorders = [], [], [], []
    for i, (codec, event, setup) in enumerate(SETUPS):
        leg = Leg(codec, telephone_event=event, inactivity_timeout=0, name=f"leg{i}")
        leg.stream.ssrc, leg.stream.sequence, leg.stream.timestamp = 1000 + i, 7 * i, 99 * i
        leg.rtcp_interval_ticks = 0  # RTCP carries wall-clock times: not comparable
        out: list[bytes] = []
        leg.send = out.append
        heard: list[str] = []
        leg.on_digit = heard.append
        recorders += setup(leg, folder, i)
        legs.append(leg)
        sent.append(out)
        digits.append(heard)
    return legs, sent, digits, recorders


def inbound(codec: Codec, i: int) -> list[bytes]:
    """What leg i receives: speech-like audio, with DTMF 5 in band for a second."""
    audio = speechlike(TICKS * 0.02, 100 + i)
    audio[8000:16000] = tone((770.0, 1336.0), 1.0, level_dbfs=-10)
    stream = RtpStream(ssrc=500 + i, sequence=0, timestamp=0)
    packets = []
    for k in range(TICKS):
        packets.append(
            stream.pack(codec.encode(audio[k * FRAME : (k + 1) * FRAME]), codec.payload_type)
        )
        stream.advance(FRAME)
    return packets


def run(folder: Path, batched: bool) -> tuple[list[list[bytes]], list[str], list[Recorder]]:
    folder.mkdir()
    legs, sent, digits, recorders = build(folder)
    feeds = [inbound(leg.codec, i) for i, leg in enumerate(legs)]
    batch = Engine()
    alone = [Engine() for _ in legs]
    for leg, own in zip(legs, alone, strict=True):
        (batch if batched else own).add(leg)
    for n in range(1, TICKS + 1):
        for leg, feed in zip(legs, feeds, strict=True):
            if n < 200 or n % 97 != 0:  # some loss on every leg, after the DTMF key
                leg.receive(feed[n - 1])
        if batched:
            batch.tick(n)
        else:
            for own in alone:
                own.tick(n)
    for rec in recorders:
        rec.close()
    return sent, ["".join(d) for d in digits], recorders


def test_batched_tick_sends_records_and_detects_exactly_what_single_ticks_do(
    tmp_path: Path,
) -> None:
    single_sent, single_digits, single_recs = run(tmp_path / "single", batched=False)
    batch_sent, batch_digits, batch_recs = run(tmp_path / "batch", batched=True)

    for i, (a, b) in enumerate(zip(single_sent, batch_sent, strict=True)):
        assert len(a) >= TICKS, f"leg {i} sent {len(a)} packets"
        assert a == b, f"leg {i} sent different packets"
    assert single_digits == batch_digits
    for i, volume in ((0, 0.0), (1, -9.5)):  # what the player plays, at its volume
        codec = SETUPS[i][0]
        audio = speechlike(3 if i == 0 else 2, i)
        expected = [
            codec.encode(scale(audio[k * FRAME : (k + 1) * FRAME], gain(volume))) for k in range(50)
        ]
        assert [packet[12:] for packet in batch_sent[i][:50]] == expected
    assert single_digits[5] == "5"  # the in-band key was heard (no telephone-event leg)
    for mine, theirs in zip(single_recs, batch_recs, strict=True):
        assert mine.state == theirs.state and mine.frames_recorded == theirs.frames_recorded
        one, _ = soundfile.read(mine.path, dtype="int16")
        two, _ = soundfile.read(theirs.path, dtype="int16")
        assert one.shape == two.shape and np.array_equal(one, two), mine.path.name
    recorded = {r.path.name: r for r in batch_recs}
    assert recorded["both1.wav"].frames_recorded == TICKS
    assert recorded["paused4.wav"].frames_recorded == TICKS  # silence while paused
    stereo, _ = soundfile.read(recorded["stereo1.wav"].path, dtype="int16")
    assert not stereo[:, 0].any() and stereo[:, 1].any()  # listen only: right channel


def test_legs_leave_and_join_the_batch() -> None:
    batch = Engine()
    a, b = Leg(PCMU), Leg(PCMA)
    sent: dict[str, list[bytes]] = {"a": [], "b": []}
    a.send, b.send = sent["a"].append, sent["b"].append
    batch.add(a)
    batch.tick(1)
    batch.add(b)
    batch.tick(2)
    batch.discard(a)
    batch.tick(3)
    audio = {name: [d for d in data if not is_rtcp(d)] for name, data in sent.items()}
    assert (len(audio["a"]), len(audio["b"])) == (2, 2)  # RTCP may come at any tick
    assert a not in batch and b in batch and len(batch) == 1


class _OrderedIO:
    """A socket set that notes the order of the tick's calls (sends, then reads)."""

    capacity = 1

    def __init__(self, leg: Leg) -> None:
        self.leg, self.calls = leg, []

    def poll(self) -> tuple[np.ndarray, Datagrams]:
        self.calls.append("poll")
        empty = np.zeros(0, dtype=np.int64)
        return empty, Datagrams(np.zeros((0, 172), np.uint8), empty, np.zeros(0))

    def receiver_of(self, slot: int) -> Leg:
        return self.leg

    def flush(self) -> int:
        return 0

    def slots_of(self, legs: list[Leg]) -> list[int]:
        return [0 if leg is self.leg else -1 for leg in legs]

    def send_rows(self, slots: np.ndarray, packets: np.ndarray) -> int:
        self.calls.append("send")
        return len(slots)


def test_a_batch_sends_before_it_reads_the_sockets() -> None:
    """The send times must not wait for reading the sockets (RTP send jitter); a batch with
    no legs still reads them, for the legs ticked elsewhere."""
    leg = Leg(PCMU)
    leg.send = lambda data: None  # as a socket set's handle does
    io = _OrderedIO(leg)
    batch = Engine(io)
    batch.tick(0)
    assert io.calls == ["poll"]
    batch.add(leg)
    batch.tick(1)
    batch.tick(2)
    assert io.calls == ["poll", "send", "poll", "send", "poll"]


def test_changes_made_while_a_batch_runs_take_effect_at_the_next_tick(tmp_path: Path) -> None:
    """The batch keeps a plan of who sends, plays and listens between ticks: muting, a new
    player, another codec, an added or removed recorder must still show in what is sent."""
    leg = Leg(PCMU, telephone_event=101, inactivity_timeout=0)
    leg.rtcp_interval_ticks = 0
    sent: list[bytes] = []
    leg.send = sent.append
    batch = Engine()
    batch.add(leg)
    beep = tone((1000.0,), 1.0, level_dbfs=-10)

    def tick(n: int) -> bytes:
        batch.tick(n)
        return sent[-1]

    assert tick(0)[12:] == PCMU.encode(np.zeros(FRAME, np.int16))  # nothing to say: silence
    leg.add_player(Player("p", [beep]))
    assert tick(1)[12:] == PCMU.encode(beep[:FRAME])
    leg.muted = True
    assert tick(2)[12:] == PCMU.encode(np.zeros(FRAME, np.int16))
    leg.muted = False
    leg.codec = PCMA
    packet = tick(3)
    assert packet[1] & 0x7F == PCMA.payload_type and packet[12:] == PCMA.encode(
        beep[2 * FRAME : 3 * FRAME]
    )
    recorder = Recorder(
        "r", tmp_path / "r.wav", direction="listen", initial_timeout=0, end_silence_timeout=0
    )
    leg.add_listener(recorder)
    tick(4)
    tick(5)
    leg.remove("r")
    tick(6)
    assert recorder.frames_recorded == 2
    leg.send = None
    batch.tick(7)
    assert len(sent) == 7  # no send after the transport went away
