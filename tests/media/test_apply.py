"""``Leg.apply``: what an SDP offer/answer agreed, set on a leg (the server and the virtual
phone both use it)."""

from __future__ import annotations

from dataclasses import dataclass

from voxrelay.media.codecs import PCMA, PCMU
from voxrelay.media.engine import Engine
from voxrelay.media.leg import RTCP_INTERVAL_TICKS, Leg
from voxrelay.media.player import Player
from voxrelay.media.rtp import is_rtcp
from voxrelay.media.sources import tone


@dataclass
class Agreed:
    """The attributes ``voxrelay.sip.offeranswer.Negotiated`` has, and nothing else."""

    codec: str = "PCMA"
    telephone_event: int | None = 101
    remote_host: str = "192.0.2.7"
    remote_port: int = 40000
    rtcp_mux: bool = True
    sends: bool = True


@dataclass
class Link:
    remote: tuple[str, int] | None = None


def test_apply_sets_codec_events_rtcp_and_the_far_ends_address() -> None:
    leg, link = Leg(PCMU, telephone_event=None), Link()
    assert leg.inband is not None  # made without telephone-event: in-band detection
    leg.apply(Agreed(telephone_event=96, rtcp_mux=False), link)
    assert leg.codec is PCMA and leg.telephone_event == 96 and leg.inband is None
    assert leg.rtcp_interval_ticks == 0 and not leg.muted
    assert link.remote == ("192.0.2.7", 40000)
    leg.apply(Agreed(telephone_event=None))
    assert leg.telephone_event is None and leg.inband is not None
    assert leg.rtcp_interval_ticks == RTCP_INTERVAL_TICKS


def test_a_leg_told_not_to_send_sends_encoded_silence_until_told_again() -> None:
    leg = Leg(PCMU, inactivity_timeout=0)
    sent: list[bytes] = []
    leg.send = sent.append
    engine = Engine()
    engine.add(leg)
    leg.add_player(Player("p", [tone((1000.0,), 1.0, level_dbfs=-10)]))
    leg.apply(Agreed(codec="PCMU", sends=False))
    for n in range(5):
        engine.tick(n)
    leg.apply(Agreed(codec="PCMU", sends=True))
    for n in range(5, 10):
        engine.tick(n)
    audio = [packet[12:] for packet in sent if not is_rtcp(packet)]
    assert audio[:5] == [PCMU.silence] * 5
    assert all(payload != PCMU.silence for payload in audio[5:])
