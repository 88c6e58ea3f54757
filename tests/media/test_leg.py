"""Two legs on real UDP sockets, one media clock: what one plays, the other hears."""

from __future__ import annotations

import asyncio

import numpy as np

from tests.wire import until
from voxrelay.media.clock import MediaClock
from voxrelay.media.codecs import PCMA, PCMU, Codec
from voxrelay.media.engine import Engine
from voxrelay.media.frames import RATE, Frame
from voxrelay.media.leg import Leg
from voxrelay.media.player import Player, PlayState
from voxrelay.media.sources import ringtone, silence, tone
from voxrelay.media.transport import open_transport


class Tape:
    control_id = "tape"

    def __init__(self) -> None:
        self.heard: list[Frame] = []

    def on_frame(self, heard: Frame, said: Frame) -> None:
        self.heard.append(heard)

    def audio(self) -> Frame:
        return np.concatenate(self.heard)


def dominant_hz(samples: Frame) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(float) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / RATE)[int(np.argmax(spectrum))])


def engine_of(*legs: Leg) -> Engine:
    """An engine ticking ``legs``."""
    engine = Engine()
    for leg in legs:
        engine.add(leg)
    return engine


async def pair(codec: Codec) -> tuple[Leg, Leg, MediaClock, list[object]]:
    a, b = Leg(codec, name="a"), Leg(codec, name="b")
    ta = await open_transport(a, "127.0.0.1")
    tb = await open_transport(b, "127.0.0.1", remote=ta.local)
    ta.remote = tb.local
    clock = MediaClock()
    clock.subscribe(engine_of(a, b).tick)
    clock.start()
    return a, b, clock, [ta, tb]


async def test_a_tone_crosses_rtp_and_arrives_intact() -> None:
    for codec in (PCMU, PCMA):
        a, b, clock, transports = await pair(codec)
        tape = Tape()
        b.add_listener(tape)
        states: list[str] = []
        a.add_player(
            Player("p", [tone((1000.0,), 1.0)], on_state=lambda p, s=states: s.append(p.state))
        )
        await until(lambda s=states: bool(s), timeout=20)  # the player sent its last frame
        sent = len(tape.heard)
        await until(lambda n=sent, t=tape: len(t.heard) >= n + 10, timeout=20)  # and it arrived
        await clock.stop()
        for t in transports:
            t.close()  # type: ignore[attr-defined]
        heard = tape.audio()
        assert states == [PlayState.FINISHED]
        assert abs(dominant_hz(heard) - 1000) < 10
        # the whole 1 s tone: 50 frames of it (a frame or two may be concealed), nothing else
        loud = np.abs(heard.reshape(-1, 160)).max(axis=1) > 1000
        assert 48 <= loud.sum() <= 51, loud.sum()


def test_player_pause_volume_loop_without_a_network() -> None:
    beep = tone((440.0,), 0.2, level_dbfs=-20)
    player = Player("p", [beep, silence(0.1)], loop=2)
    frames = [player.next_frame() for _ in range(5)]
    assert all(f is not None for f in frames)
    player.pause()
    paused = player.next_frame()
    assert paused is not None and not paused.any()
    player.resume()
    player.set_volume(6.0)
    louder = player.next_frame()
    assert louder is not None
    assert 1.9 < np.abs(louder).max() / np.abs(beep[:160]).max() < 2.1
    rest = []
    while (f := player.next_frame()) is not None:
        rest.append(f)
    assert 5 + 1 + len(rest) == 30  # two rounds of 15 frames; the paused tick played nothing
    assert player.state is PlayState.FINISHED


def test_ringtones_have_their_cadence() -> None:
    us = ringtone("us", 6.0)
    on = np.abs(us.reshape(-1, 160)).max(axis=1) > 0
    assert on[:100].all() and not on[100:300].any()  # 2 s on, 4 s off
    uk = ringtone("uk", None)
    assert len(uk) == int(3.0 * RATE)


class Keys:
    control_id = "keys"

    def __init__(self) -> None:
        self.digits = ""

    def on_digit(self, digit: str) -> None:
        self.digits += digit


async def test_dtmf_crosses_as_rfc4733_and_in_band() -> None:
    from voxrelay.media.digitsender import DigitSender
    from voxrelay.media.dtmf import DtmfDetector, digits_to_audio

    a, b, clock, transports = await pair(PCMU)
    keys = Keys()
    b.add_digit_listener(keys)
    done: list[str] = []
    a.add_digit_sender(DigitSender("d", "12w#*A", on_done=lambda s: done.append(s.digits)))
    await asyncio.sleep(2.3)
    assert keys.digits == "12#*A" and done == ["12w#*A"]
    # a peer without telephone-event: in-band tones through a player, detected by Goertzel
    b.inband = DtmfDetector()
    b.telephone_event = None
    keys.digits = ""
    a.add_player(Player("inband", [digits_to_audio("905")]))
    await asyncio.sleep(1.0)
    await clock.stop()
    for t in transports:
        t.close()  # type: ignore[attr-defined]
    assert keys.digits == "905"


def test_a_player_removed_by_its_own_end_callback_does_not_break_the_leg() -> None:
    leg = Leg(PCMU)
    leg.add_player(Player("p", [silence(0.02)], on_state=lambda p: leg.remove("p")))
    leg.add_player(Player("q", [tone((440.0,), 0.1)]))
    engine = engine_of(leg)
    for n in range(8):
        engine.tick(n)  # must not raise
    assert leg.players == []


def test_inactivity_counts_from_the_legs_first_tick_not_the_clocks_start() -> None:
    # a leg attached when the node's media clock has run for minutes (tick 100000)
    leg = Leg(PCMU, inactivity_timeout=1.0)
    leg.send = lambda data: None
    fired: list[int] = []
    now = [0]
    leg.on_inactive = lambda: fired.append(now[0])
    engine = engine_of(leg)
    for n in range(100_000, 100_050):
        now[0] = n
        engine.tick(n)
    assert fired == []  # before the fix it hung up on its first tick
    for n in range(100_050, 100_060):
        now[0] = n
        engine.tick(n)
    assert fired == [100_051] and leg.silent_ticks() == 8
