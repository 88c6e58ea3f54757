"""Unit tests of voxrelay.media.dtmf: generator, detector API and timing, RFC 4733 payloads."""

from __future__ import annotations

import numpy as np
import pytest

from tests.media.dtmf_cases import framed, ours_detect, ours_events, silence
from tests.media.spandsp import AVAILABLE, spandsp_detect, spandsp_generate
from voxrelay.media.dtmf import (
    DIGITS,
    DtmfDetector,
    DtmfEvent,
    TelephoneEvent,
    TelephoneEventReceiver,
    dbm0_to_peak,
    digits_to_audio,
    dtmf_tone,
    telephone_event_packets,
)

needs_spandsp = pytest.mark.skipif(not AVAILABLE, reason="libspandsp2 not installed")

# --------------------------------------------------------------------------- generator


def test_tone_length_level_and_frequencies() -> None:
    tone = dtmf_tone("6", 1000, level_dbm0=-10, twist_db=3)
    assert tone.dtype == np.int16 and tone.shape == (8000,)
    spectrum = np.abs(np.fft.rfft(tone.astype(float))) / 4000  # 1 Hz bins: sine peak amplitude
    assert set(np.argsort(spectrum)[-2:]) == {770, 1477}
    assert spectrum[770] == pytest.approx(dbm0_to_peak(-10), rel=0.01)
    assert spectrum[1477] == pytest.approx(dbm0_to_peak(-13), rel=0.01)
    assert dtmf_tone("1", 40.06).size == 320


def test_tone_frequency_offset() -> None:
    tone = dtmf_tone("1", 1000, freq_offset=0.02)
    spectrum = np.abs(np.fft.rfft(tone.astype(float)))
    assert sorted(np.argsort(spectrum)[-2:]) == [round(697 * 1.02), round(1209 * 1.02)]


@pytest.mark.parametrize(
    ("args", "message"),
    [(("x", 40), "not a DTMF key"), (("1", -1), "duration"), (("1", 40, 3.0), "clip")],
)
def test_tone_errors(args: tuple[str, float, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dtmf_tone(*args)


def test_digits_to_audio_pauses() -> None:
    audio = digits_to_audio("1w2W3", on_ms=50, off_ms=50)
    assert audio.size == 3 * 800 + 4000 + 8000
    assert not audio[800:4800].any() and not audio[5600:13600].any()
    assert ours_detect(audio) == "123"
    with pytest.raises(ValueError):
        digits_to_audio("1x")


# --------------------------------------------------------------------------- detector


@pytest.mark.parametrize("digit", list(DIGITS))
def test_round_trip_every_key_40ms(digit: str) -> None:
    assert ours_detect(framed(digits_to_audio(digit * 3, 40, 40))) == digit * 3


def test_round_trip_lowercase_keys() -> None:
    assert ours_detect(framed(digits_to_audio("abcd", 60, 60))) == "ABCD"


def test_event_timing_within_5ms() -> None:
    audio = np.concatenate([silence(237), dtmf_tone("7", 73), silence(91), dtmf_tone("#", 155)])
    events = ours_events(audio)
    assert [e.digit for e in events] == ["7", "#"]
    assert events[0].start_ms == pytest.approx(237, abs=5)
    assert events[0].duration_ms == pytest.approx(73, abs=5)
    assert events[1].start_ms == pytest.approx(237 + 73 + 91, abs=5)
    assert events[1].duration_ms == pytest.approx(155, abs=5)


def test_any_chunk_size_gives_the_same_events() -> None:
    audio = framed(digits_to_audio("159D", 45, 45))
    reference = ours_events(audio)
    detector = DtmfDetector()
    events: list[DtmfEvent] = []
    for start in range(0, audio.size, 37):
        events.extend(detector.feed(audio[start : start + 37]))
    events.extend(detector.feed(silence(100)))
    assert events + detector.flush() == reference


def test_current_and_flush_report_a_held_key_once() -> None:
    detector = DtmfDetector()
    tone = dtmf_tone("8", 200)
    assert detector.feed(tone[:160]) == [] and detector.current is None
    assert detector.feed(tone[160:]) == []
    assert detector.current == "8"
    (event,) = detector.flush()
    assert event.digit == "8" and event.duration_ms == pytest.approx(200, abs=5)
    assert detector.current is None and detector.flush() == []


def test_a_10ms_break_does_not_split_a_digit() -> None:
    """Q.24: a short interruption of one tone must not be seen as two key presses."""
    tone = dtmf_tone("3", 120)
    tone[480:560] = 0
    assert ours_detect(framed(tone)) == "3"


def test_key_change_without_pause_reports_both() -> None:
    audio = framed(np.concatenate([dtmf_tone("1", 80), dtmf_tone("2", 80)]))
    assert ours_detect(audio) == "12"


def test_single_tones_and_low_level_rejected_but_minus_30_dbm0_detected() -> None:
    t = np.arange(800) / 8000
    single = (dbm0_to_peak(-10) * np.sin(2 * np.pi * 697 * t)).astype(np.int16)
    assert ours_detect(framed(single)) == ""
    assert ours_detect(framed(dtmf_tone("4", 60, level_dbm0=-30))) == "4"
    assert ours_detect(framed(dtmf_tone("4", 60, level_dbm0=-45))) == ""


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        DtmfDetector().feed(np.zeros(160, dtype=np.float32))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        DtmfDetector().feed(np.zeros((2, 160), dtype=np.int16))


@needs_spandsp
def test_spandsp_generated_digits() -> None:
    """An independent generator (spandsp dtmf_tx, 50 ms on / 55 ms off) into our detector."""
    audio = spandsp_generate("0123456789*#ABCD" * 2)
    assert ours_detect(audio) == "0123456789*#ABCD" * 2
    assert spandsp_detect(audio) == "0123456789*#ABCD" * 2


# --------------------------------------------------------------------------- RFC 4733


def test_pack_parse() -> None:
    event = TelephoneEvent.for_digit("#", end=True, volume=10, duration=1280)
    assert event.event == 11 and event.digit == "#"
    assert event.pack() == bytes([11, 0x80 | 10, 0x05, 0x00])
    assert TelephoneEvent.parse(event.pack()) == event
    with_r_bit = bytes([5, 0x4A, 0, 160])
    assert TelephoneEvent.parse(with_r_bit) == TelephoneEvent(5, False, 10, 160)
    assert TelephoneEvent(16).digit is None  # flash


@pytest.mark.parametrize("payload", [b"", b"\x01\x02\x03", b"\x01\x02\x03\x04\x05"])
def test_parse_rejects_wrong_length(payload: bytes) -> None:
    with pytest.raises(ValueError, match="4 octets"):
        TelephoneEvent.parse(payload)


@pytest.mark.parametrize(
    "fields", [{"event": 256}, {"event": 1, "volume": 64}, {"event": 1, "duration": 65536}]
)
def test_field_ranges(fields: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        TelephoneEvent(**fields)


def test_sender_sequence() -> None:
    packets = [TelephoneEvent.parse(p) for p in telephone_event_packets("5", 100, ptime_ms=20)]
    assert [p.duration for p in packets] == [160, 320, 480, 640, 800, 800, 800]
    assert [p.end for p in packets] == [False] * 4 + [True] * 3
    assert {p.digit for p in packets} == {"5"}
    assert len(list(telephone_event_packets("1", 10))) == 3
    with pytest.raises(ValueError):
        list(telephone_event_packets("1", 9000))


def test_receiver_one_digit_per_event_with_redundant_ends() -> None:
    rx = TelephoneEventReceiver()
    got: list[DtmfEvent] = []
    for ts, digit in ((1000, "1"), (5000, "2"), (9000, "2")):
        for payload in telephone_event_packets(digit, 100):
            got.extend(rx.feed(ts, payload))
    assert got == [DtmfEvent("1", 1000, 800), DtmfEvent("2", 5000, 800), DtmfEvent("2", 9000, 800)]
    assert rx.flush() == []


def test_receiver_drops_retransmissions_and_late_packets() -> None:
    rx = TelephoneEventReceiver()
    packets = list(telephone_event_packets("9", 60))
    assert rx.feed(100, packets[0]) == []
    assert rx.feed(100, packets[0]) == []  # duplicate update
    assert rx.feed(100, packets[-1]) == [DtmfEvent("9", 100, 480)]
    assert rx.feed(100, packets[-1]) == []  # redundant end
    assert rx.feed(100, packets[1]) == []  # late update of a finished event
    assert rx.feed(900, TelephoneEvent.for_digit("4", duration=160).pack()) == []
    assert rx.feed(100, packets[-1]) == []  # late end of the old event, after a new one began


def test_receiver_lost_end_packets() -> None:
    rx = TelephoneEventReceiver()
    assert rx.feed(0, TelephoneEvent.for_digit("7", duration=320).pack()) == []
    assert rx.feed(2000, TelephoneEvent.for_digit("8", duration=160).pack()) == [
        DtmfEvent("7", 0, 320)
    ]
    assert rx.flush() == [DtmfEvent("8", 2000, 160)]


def test_receiver_ignores_non_dtmf_events() -> None:
    rx = TelephoneEventReceiver()
    assert rx.feed(0, TelephoneEvent(16, end=True, duration=800).pack()) == []
    assert rx.flush() == []
