"""Frames: 20 ms of 8 kHz mono audio as int16 arrays of 160 samples, and helpers on them."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FRAME = 160
RATE = 8000
Frame = npt.NDArray[np.int16]
SILENCE: Frame = np.zeros(FRAME, dtype=np.int16)
SILENCE.flags.writeable = False
FRAME_SECONDS = FRAME / RATE
"""One frame's duration (0.02 s): the media clock's period."""


def frames_of(seconds: float) -> int:
    """``seconds`` as a whole number of 20 ms frames, rounded to the nearest (0 or less: 0,
    which every timer counted in frames takes as "never"). The one conversion from seconds
    (RELAY timeouts, ARCHITECTURE.md "Media model") to media time."""
    return max(0, round(seconds / FRAME_SECONDS))


def gain(db: float) -> float:
    """The amplitude factor of ``db`` decibels."""
    return float(10.0 ** (db / 20.0))


def scale(frame: Frame, factor: float) -> Frame:
    """``frame`` times ``factor``, saturated to int16."""
    if factor == 1.0:
        return frame
    out: Frame = np.clip(frame.astype(np.float32) * factor, -32768, 32767).astype(np.int16)
    return out


def mix(frames: list[Frame]) -> Frame:
    """Sum of frames, saturated to int16 (SILENCE when there are none)."""
    if not frames:
        return SILENCE
    if len(frames) == 1:
        return frames[0]
    # int32 accumulator and two in-place ufuncs: np.stack/np.sum/np.clip cost ~6x more per frame
    total = np.add(frames[0], frames[1], dtype=np.int32)
    for frame in frames[2:]:
        total += frame
    np.maximum(total, -32768, out=total)
    np.minimum(total, 32767, out=total)
    out: Frame = total.astype(np.int16)
    return out


def chunk(samples: Frame) -> list[Frame]:
    """Split samples into 160-sample frames, the last one padded with silence."""
    pad = (-len(samples)) % FRAME
    if pad:
        samples = np.concatenate([samples, np.zeros(pad, dtype=np.int16)])
    return list(samples.reshape(-1, FRAME))


def rms_dbfs(samples: Frame) -> float:
    """Root-mean-square level in dB relative to full scale (-inf for digital silence)."""
    if len(samples) == 0:
        return float("-inf")
    wide = samples.astype(np.int64)
    energy = int(np.dot(wide, wide))  # exact sum of squares
    if not energy:
        return float("-inf")
    return 20 * math.log10(math.sqrt(energy / len(samples)) / 32768.0)


def rows_dbfs(rows: npt.NDArray[np.int16]) -> npt.NDArray[np.float64]:
    """``rms_dbfs`` of every row of a (k, n) int16 matrix at once, as k floats (dBFS)."""
    wide = rows.astype(np.float64)
    energy = np.einsum("ij,ij->i", wide, wide)  # exact: int16 squares sum well within 2**53
    with np.errstate(divide="ignore"):
        out: npt.NDArray[np.float64] = 10 * np.log10(energy / rows.shape[1]) - _FULL_SCALE_DB
    return out


_FULL_SCALE_DB = 20 * math.log10(32768.0)
