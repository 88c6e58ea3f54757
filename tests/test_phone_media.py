"""The virtual phone applies the negotiated SDP to its leg as the server does (``Leg.apply``):
a far end whose answer has no telephone-event gets in-band DTMF both ways (detected, and
the phone's keys sent as tones), and an answer that says the phone is not to send
(sendonly on the far end) mutes it.

The far end is a real SIP user agent of our own stack with a real RTP leg on loopback, which
the phone calls directly (``sip=``): its answer is what each test needs.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import numpy as np

from voxrelay.media.clock import MediaClock
from voxrelay.media.codecs import PCMU
from voxrelay.media.dtmf import digits_to_audio
from voxrelay.media.engine import Engine
from voxrelay.media.frames import SILENCE, Frame
from voxrelay.media.leg import Leg
from voxrelay.media.player import Player
from voxrelay.media.sources import tone
from voxrelay.media.transport import open_transport
from voxrelay.phone import PhoneReport, VirtualPhone
from voxrelay.sip import offeranswer
from voxrelay.sip.invite import InviteSession as SipCall
from voxrelay.sip.useragent import UserAgent


@dataclass
class FarEnd:
    """What the far end heard, and whether it had a call."""

    port: int
    leg: Leg
    heard: list[Frame] = field(default_factory=list)
    digits: str = ""
    answered: bool = False

    control_id = "far-tape"

    def on_frame(self, heard: Frame, said: Frame) -> None:
        self.heard.append(heard.copy())


@contextlib.asynccontextmanager
async def far_end(direction: str, audio: Frame | None) -> AsyncIterator[FarEnd]:
    """A UA on loopback answering one call: PCMU without telephone-event, ``direction`` in
    its answer, playing ``audio`` once answered."""
    ua = UserAgent("127.0.0.1", 0)
    await ua.start()
    leg = Leg(PCMU, telephone_event=None, inactivity_timeout=0)
    transport = await open_transport(leg, "127.0.0.1")
    engine = Engine()
    engine.add(leg)
    clock = MediaClock()
    clock.subscribe(engine.tick)
    far = FarEnd(ua.endpoint.port, leg)
    leg.add_listener(far)
    leg.on_digit = lambda digit: setattr(far, "digits", far.digits + digit)  # in-band

    def incoming(call: SipCall) -> None:
        host, port = transport.local
        neg = offeranswer.answer(
            call.remote_sdp,
            host,
            port,
            supported=("PCMU",),
            direction=direction,
            telephone_event=False,
        )
        leg.apply(neg, transport)
        call.answer(neg.answer_sdp)
        far.answered = True
        if audio is not None:
            leg.add_player(Player("far-play", [audio]))
        clock.start()

    ua.on_incoming = incoming
    try:
        yield far
    finally:
        await clock.stop()
        transport.close()
        await ua.stop()


async def call_far_end(
    far: FarEnd, hangup_after: float, audio: Frame | None = None, digits: str | None = None
) -> PhoneReport:
    """A default phone (telephone-event 101 offered) calls the far end directly."""
    phone = VirtualPhone("http://127.0.0.1:1", "p", "t", sip=f"127.0.0.1:{far.port}")
    return await phone.call(
        "default", audio=audio, digits=digits, digits_at=0.2, hangup_after=hangup_after
    )


async def test_the_phone_hears_in_band_dtmf_from_a_far_end_without_telephone_event() -> None:
    keys = np.concatenate([SILENCE, SILENCE, digits_to_audio("159#")])
    async with far_end("sendrecv", keys) as far:
        report = await call_far_end(far, hangup_after=2.5)
    assert far.answered and report.answered
    assert report.digits_heard == "159#"


async def test_the_phone_sends_silence_when_the_answer_says_it_is_not_to_send() -> None:
    loud = tone((1000.0,), 2.0, level_dbfs=-10)
    async with far_end("sendonly", loud) as far:  # the far end only sends: we only receive
        report = await call_far_end(far, audio=loud, hangup_after=2.0)
    assert report.answered
    assert far.leg.received > 25  # the phone's RTP came (encoded silence), ...
    assert not np.concatenate(far.heard).any()  # ... and none of its tone
    assert np.abs(report.heard_after_answer()).max() > 1000  # while it heard the far end


async def test_the_phone_presses_keys_in_band_to_a_far_end_without_telephone_event() -> None:
    async with far_end("sendrecv", None) as far:
        report = await call_far_end(far, hangup_after=2.5, digits="42*")
    assert report.digits_sent == "42*"
    assert far.digits == "42*"
