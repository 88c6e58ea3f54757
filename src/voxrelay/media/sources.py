"""Where played audio comes from: files, speech synthesis, silence and ringtones.

Every function returns int16 samples at 8 kHz mono. They block (decoding, running espeak-ng),
so callers run them off the media clock (``asyncio.to_thread``).
"""

from __future__ import annotations

import io
import math
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
import numpy.typing as npt
import soundfile
import soxr

from voxrelay.media.frames import RATE, Frame


class SourceError(Exception):
    """Audio that cannot be produced: unreadable file, unknown ringtone, TTS failure."""


def to_8k_mono(data: npt.NDArray[np.float32], rate: int) -> Frame:
    """float samples in -1..1 (frames x channels, or mono) at ``rate`` Hz -> int16 8 kHz mono."""
    if data.ndim == 2:
        data = data.mean(axis=1)
    if rate != RATE:
        data = soxr.resample(data, rate, RATE, quality="HQ")
    out: Frame = np.clip(np.round(data * 32767.0), -32768, 32767).astype(np.int16)
    return out


def decode_audio(source: str | Path | bytes) -> Frame:
    """Decode a WAV, FLAC, OGG or MP3 file (path or bytes) to 8 kHz mono int16.

    Raises SourceError when libsndfile cannot read it.
    """
    handle = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        data, rate = soundfile.read(handle, dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as exc:
        raise SourceError(f"cannot decode audio: {exc}") from None
    return to_8k_mono(data, int(rate))


def silence(duration: float) -> Frame:
    """``duration`` seconds of digital silence."""
    return np.zeros(max(0, round(duration * RATE)), dtype=np.int16)


def tone(freqs: tuple[float, ...], duration: float, level_dbfs: float = -16.0) -> Frame:
    """The sum of sine tones at ``freqs`` Hz for ``duration`` s, each at ``level_dbfs``."""
    t = np.arange(round(duration * RATE)) / RATE
    amplitude = 32767 * 10 ** (level_dbfs / 20)
    wave = sum(np.sin(2 * np.pi * f * t) for f in freqs) * amplitude
    out: Frame = np.asarray(np.clip(wave, -32768, 32767), dtype=np.int16)
    return out


@dataclass(frozen=True, slots=True)
class Ringtone:
    """A national ringing tone: frequencies (Hz) and an on/off cadence (seconds)."""

    freqs: tuple[float, ...]
    cadence: tuple[float, ...]

    def render(self, duration: float | None) -> Frame:
        """The tone for ``duration`` s (one full cadence when None)."""
        period = np.concatenate(
            [tone(self.freqs, d) if i % 2 == 0 else silence(d) for i, d in enumerate(self.cadence)]
        )
        if duration is None:
            return period
        reps = math.ceil(duration * RATE / len(period))
        return np.tile(period, reps)[: round(duration * RATE)]


_EU = Ringtone((425,), (1.0, 4.0))
_UK = Ringtone((400, 450), (0.4, 0.2, 0.4, 2.0))
_NA = Ringtone((440, 480), (2.0, 4.0))
RINGTONES: Mapping[str, Ringtone] = MappingProxyType(
    {
        "at": Ringtone((420,), (1.0, 5.0)),
        "au": _UK,
        "bg": _EU,
        "br": _EU,
        "be": Ringtone((425,), (1.0, 3.0)),
        "ch": _EU,
        "cl": Ringtone((400,), (1.0, 3.0)),
        "cn": Ringtone((450,), (1.0, 4.0)),
        "cz": _EU,
        "de": _EU,
        "dk": _EU,
        "ee": _EU,
        "es": Ringtone((425,), (1.5, 3.0)),
        "fi": _EU,
        "fr": Ringtone((440,), (1.5, 3.5)),
        "gr": _EU,
        "hu": Ringtone((425,), (1.25, 3.75)),
        "il": Ringtone((400,), (1.0, 3.0)),
        "in": Ringtone((400, 425), (0.4, 0.2, 0.4, 2.0)),
        "it": _EU,
        "lt": _EU,
        "jp": Ringtone((400,), (1.0, 2.0)),
        "mx": _EU,
        "my": Ringtone((425,), (0.4, 0.2, 0.4, 2.0)),
        "nl": _EU,
        "no": _EU,
        "nz": _UK,
        "ph": Ringtone((425, 480), (1.0, 4.0)),
        "pl": _EU,
        "pt": Ringtone((425,), (1.0, 5.0)),
        "ru": Ringtone((425,), (0.8, 3.2)),
        "se": Ringtone((425,), (1.0, 5.0)),
        "sg": Ringtone((425,), (0.4, 0.2, 0.4, 2.0)),
        "th": Ringtone((420,), (1.0, 5.0)),
        "uk": _UK,
        "us": _NA,
        "tw": Ringtone((440, 480), (1.0, 2.0)),
        "ve": _EU,
        "za": Ringtone((400, 433), (0.4, 0.2, 0.4, 2.0)),
        "ca": _NA,
        "cy": Ringtone((425,), (1.5, 3.0)),
        "dz": Ringtone((425,), (1.5, 3.5)),
        "eg": Ringtone((475, 375), (2.0, 1.0)),
        "ko": Ringtone((440, 480), (1.0, 2.0)),
        "pk": Ringtone((400,), (1.0, 2.0)),
        "ro": Ringtone((425,), (1.85, 4.15)),
        "rs": _EU,
        "sa": Ringtone((425,), (1.2, 4.6)),
        "tr": Ringtone((450,), (2.0, 4.0)),
        "bong": Ringtone((880, 660), (0.4, 0.6)),
    }
)


def ringtone(name: str, duration: float | None) -> Frame:
    """The national ringing tone ``name`` (reference §3.1). Raises SourceError if unknown."""
    spec = RINGTONES.get(name.lower())
    if spec is None:
        raise SourceError(f"unknown ringtone {name!r}; known: {', '.join(sorted(RINGTONES))}")
    return spec.render(duration)


def espeak_voice(language: str, gender: str | None, voice: str | None) -> str:
    """The espeak-ng voice for a BCP-47 ``language`` and ``gender`` (male|female)."""
    if voice and voice.startswith("espeak."):
        return voice.removeprefix("espeak.")
    base = (language or "en-US").lower()
    variant = "+f3" if (gender or "female").lower() == "female" else "+m3"
    return base + variant


def synthesize(
    text: str,
    language: str = "en-US",
    gender: str | None = "female",
    voice: str | None = None,
    timeout: float = 30.0,
) -> Frame:
    """Speak ``text`` with espeak-ng. Raises SourceError if espeak-ng is missing or fails."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SourceError("espeak-ng is not installed (Debian package espeak-ng)")
    if not text.strip():
        raise SourceError("tts text is empty")
    args = [exe, "-v", espeak_voice(language, gender, voice), "--stdout"]
    try:
        done = subprocess.run([*args, text], capture_output=True, timeout=timeout, check=False)
        if done.returncode != 0 or len(done.stdout) < 44:
            base = (language or "en-US").split("-")[0].lower()
            done = subprocess.run(
                [exe, "-v", base, "--stdout", text],
                capture_output=True,
                timeout=timeout,
                check=False,
            )
    except subprocess.TimeoutExpired:
        raise SourceError(f"espeak-ng took longer than {timeout} s") from None
    if done.returncode != 0 or len(done.stdout) < 44:
        raise SourceError(f"espeak-ng failed: {done.stderr.decode(errors='replace').strip()}")
    return decode_audio(done.stdout)
