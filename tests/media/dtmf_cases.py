"""DTMF conformance inputs shared by tests/media/test_dtmf_conformance.py and bench/dtmf_bench.py.

Each case is 8 kHz int16 audio with the digits a Q.24 receiver must report (`expected`), or
None where the spec leaves the outcome open (the result is only recorded). Parameters are the
ITU-T Q.24 receiver figures (frequency tolerance, twist, minimum duration, S/N) as spandsp and
Asterisk restate them.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from voxrelay.media.dtmf import (
    DIGITS,
    FRAME_SAMPLES,
    SAMPLE_RATE,
    DtmfDetector,
    DtmfEvent,
    dbm0_to_peak,
    digits_to_audio,
    dtmf_tone,
)

Audio = npt.NDArray[np.int16]
ALLISON = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
ESPEAK_SENTENCES = (
    "Thank you for calling. Please press one for sales, two for support, or stay on the line.",
    "Your account balance is four hundred and twelve dollars and sixty three cents.",
    "The quick brown fox jumps over the lazy dog while the band plays a melody.",
    "Please enter your PIN followed by the pound key, then wait for the tone.",
    "All of our agents are busy. Your call is important to us, so please hold.",
    "She sells sea shells by the sea shore; peter piper picked a peck of pickled peppers.",
)
ESPEAK_VOICES = ("en-us", "en+f3", "en+m3", "en-gb+f4", "en-us+m7")


@dataclass(frozen=True)
class Case:
    """One conformance input: `expected` digits (None: outcome not defined by the spec)."""

    category: str
    name: str
    audio: Audio
    expected: str | None


def silence(ms: float) -> Audio:
    """`ms` milliseconds of digital silence."""
    return np.zeros(round(ms * SAMPLE_RATE / 1000), dtype=np.int16)


def framed(tone: Audio) -> Audio:
    """A tone between 100 ms silences (the tone starts at sample 800)."""
    return np.concatenate([silence(100), tone, silence(100)])


def ours_events(audio: Audio) -> list[DtmfEvent]:
    """voxrelay's detector over `audio` in 20 ms frames, then 100 ms of silence and flush."""
    detector = DtmfDetector()
    padded = np.concatenate([audio, silence(100)])
    padded = np.concatenate([padded, np.zeros(-padded.size % FRAME_SAMPLES, dtype=np.int16)])
    events: list[DtmfEvent] = []
    for start in range(0, padded.size, FRAME_SAMPLES):
        events.extend(detector.feed(padded[start : start + FRAME_SAMPLES]))
    return events + detector.flush()


def ours_detect(audio: Audio) -> str:
    """The digits voxrelay's detector reports in `audio`."""
    return "".join(event.digit for event in ours_events(audio))


def frequency_cases(duration_ms: float = 60.0) -> Iterator[Case]:
    """Every key with both tones off by +-1.0/1.5 % (must operate) and +-3.5 % (must not)."""
    for offset in (-3.5, -1.5, -1.0, 1.0, 1.5, 3.5):
        for digit in DIGITS:
            audio = framed(dtmf_tone(digit, duration_ms, freq_offset=offset / 100))
            yield Case(
                "frequency", f"{digit} {offset:+.1f}%", audio, digit if abs(offset) <= 1.5 else ""
            )


def twist_cases(duration_ms: float = 60.0) -> Iterator[Case]:
    """Every key with normal twist 0/4/8 dB and reverse twist 2/4 dB (operate) and 10 dB normal
    / 6 dB reverse (must not). Low group at -10 dBm0, high group at -10 - twist."""
    for twist in (-6.0, -4.0, -2.0, 0.0, 4.0, 8.0, 10.0):
        expect_ok = -4.0 <= twist <= 8.0
        kind = "normal" if twist >= 0 else "reverse"
        for digit in DIGITS:
            audio = framed(dtmf_tone(digit, duration_ms, twist_db=twist))
            yield Case(
                "twist", f"{digit} {kind} {abs(twist):g} dB", audio, digit if expect_ok else ""
            )


def duration_cases() -> Iterator[Case]:
    """Every key at 40 ms (operate) and 20/25 ms (must not); 30/35 ms only recorded.
    Each at 4 alignments against the 20 ms frame grid (0, 5, 10, 15 ms)."""
    for duration in (20, 25, 30, 35, 40):
        for digit in DIGITS:
            expected = digit if duration >= 40 else "" if duration <= 25 else None
            for shift_ms in (0, 5, 10, 15):
                audio = framed(np.concatenate([silence(shift_ms), dtmf_tone(digit, duration)]))
                yield Case("duration", f"{digit} {duration} ms +{shift_ms}", audio, expected)


def string_cases() -> Iterator[Case]:
    """Multi-digit strings at 40 ms on / 40 ms off, including repeated keys."""
    for digits in ("0123456789*#ABCD", "1111", "55#55#", "123A456B789C*0#D", "9009"):
        yield Case("40/40 strings", digits, framed(digits_to_audio(digits, 40, 40)), digits)


def noise_digits(count: int = 500, seed: int = 4733) -> str:
    """A fixed random digit string for the S/N test."""
    rng = np.random.default_rng(seed)
    return "".join(rng.choice(list(DIGITS), size=count))


def with_white_noise(
    audio: Audio, snr_db: float, level_dbm0: float = -10.0, seed: int = 24
) -> Audio:
    """`audio` plus white Gaussian noise (0-4 kHz) `snr_db` below a tone pair at `level_dbm0`
    per tone (signal power = two sines' power)."""
    signal_power = 2 * dbm0_to_peak(level_dbm0) ** 2 / 2
    sigma = np.sqrt(signal_power / 10 ** (snr_db / 10))
    noise = np.random.default_rng(seed).normal(0.0, sigma, audio.size)
    return np.clip(np.round(audio + noise), -32768, 32767).astype(np.int16)


def noise_cases(snr_db: float = 15.0) -> Iterator[Case]:
    """500 random digits at 50/50 ms and at 40/40 ms with white noise at `snr_db` S/N."""
    digits = noise_digits()
    for on_ms in (50, 40):
        audio = with_white_noise(framed(digits_to_audio(digits, on_ms, on_ms)), snr_db)
        yield Case(
            "S/N", f"{len(digits)} digits {on_ms}/{on_ms} ms, S/N {snr_db:g} dB", audio, digits
        )


def all_tone_cases() -> list[Case]:
    """Every synthetic conformance case."""
    return [
        *frequency_cases(),
        *twist_cases(),
        *duration_cases(),
        *string_cases(),
        *noise_cases(),
    ]


# --------------------------------------------------------------------------- speech corpus


def read_8k(path: Path) -> Audio:
    """A sound file as 8 kHz mono int16 (resampled with soxr when needed)."""
    import soundfile
    import soxr

    data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    mono = data.mean(axis=1)
    if rate != SAMPLE_RATE:
        mono = soxr.resample(mono, rate, SAMPLE_RATE)
    return np.clip(np.round(mono * 32767), -32768, 32767).astype(np.int16)


def allison_prompts() -> list[Path]:
    """Every Asterisk core prompt (en_US_f_Allison, recursive), sorted."""
    return sorted(ALLISON.rglob("*.wav"))


@cache
def espeak_speech() -> tuple[tuple[str, Audio], ...]:
    """espeak-ng speaking ESPEAK_SENTENCES in ESPEAK_VOICES, at 8 kHz: (name, audio) pairs."""
    if shutil.which("espeak-ng") is None:
        return ()
    out: list[tuple[str, Audio]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for voice in ESPEAK_VOICES:
            for index, sentence in enumerate(ESPEAK_SENTENCES):
                path = Path(tmp) / f"{voice}-{index}.wav"
                subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), sentence], check=True)
                out.append((f"espeak {voice} #{index}", read_8k(path)))
    return tuple(out)
