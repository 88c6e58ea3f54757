"""DTMF receiver conformance (ITU-T Q.24 figures as restated by spandsp/Asterisk), each input also
run through libspandsp's dtmf_rx for comparison (recorded as the `spandsp` property).

Frequency: +-1.0/1.5 % must operate, +-3.5 % must not. Twist: normal (low group stronger) up to
8 dB and reverse up to 4 dB operate; 10 dB normal / 6 dB reverse must not. Duration: 40 ms
operates (also as 40 ms on / 40 ms off strings); 20 and 25 ms must not. S/N: 15 dB white noise,
every one of 500 digits. Talk-off: zero digits on every Asterisk core prompt and on espeak-ng.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.media import dtmf_cases
from tests.media.dtmf_cases import Case, ours_detect
from tests.media.spandsp import AVAILABLE, spandsp_detect
from voxrelay.media.dtmf import dtmf_tone

CASES = dtmf_cases.all_tone_cases()


def _spandsp(audio: dtmf_cases.Audio) -> str | None:
    return spandsp_detect(audio) if AVAILABLE else None


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.expected is not None], ids=lambda c: f"{c.category}: {c.name}"
)
def test_spec_case(case: Case, record_property: pytest.RecordProperty) -> None:
    record_property("spandsp", _spandsp(case.audio))
    assert ours_detect(case.audio) == case.expected


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.expected is None], ids=lambda c: f"{c.category}: {c.name}"
)
def test_undefined_region_reports_at_most_the_key(
    case: Case, record_property: pytest.RecordProperty
) -> None:
    """30-35 ms lies between Q.24's must-reject and must-accept: either outcome, never another key."""
    record_property("spandsp", _spandsp(case.audio))
    assert ours_detect(case.audio) in ("", case.name[0])


def test_duration_threshold_is_monotonic() -> None:
    """Across 20..45 ms in 1 ms steps, once a duration is always detected, longer ones are too."""
    always = [
        all(
            ours_detect(dtmf_cases.framed(_tone(key, ms, shift))) == key
            for key in "15#D"
            for shift in (0, 7, 13)
        )
        for ms in range(20, 46)
    ]
    first = always.index(True)
    assert all(always[first:]), always
    assert 25 < 20 + first <= 40


def _tone(key: str, ms: int, shift_ms: int) -> dtmf_cases.Audio:
    return np.concatenate([dtmf_cases.silence(shift_ms), dtmf_tone(key, ms)])


@pytest.mark.skipif(
    not dtmf_cases.ALLISON.is_dir(), reason="asterisk-core-sounds-en-wav not installed"
)
def test_no_talk_off_on_asterisk_prompts(record_property: pytest.RecordProperty) -> None:
    false_ours: dict[str, str] = {}
    false_spandsp: dict[str, str] = {}
    paths = dtmf_cases.allison_prompts()
    assert len(paths) > 500
    for path in paths:
        audio = dtmf_cases.read_8k(path)
        if found := ours_detect(audio):
            false_ours[path.name] = found
        if AVAILABLE and (theirs := spandsp_detect(audio)):
            false_spandsp[path.name] = theirs
    record_property("spandsp_false_digits", sum(map(len, false_spandsp.values())))
    assert false_ours == {}


def test_no_talk_off_on_espeak(record_property: pytest.RecordProperty) -> None:
    speech = dtmf_cases.espeak_speech()
    if not speech:
        pytest.skip("espeak-ng not installed")
    found = {name: ours_detect(audio) for name, audio in speech}
    record_property("spandsp_false_digits", sum(len(_spandsp(a) or "") for _, a in speech))
    assert {name: digits for name, digits in found.items() if digits} == {}
