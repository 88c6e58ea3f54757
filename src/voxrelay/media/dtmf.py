"""DTMF: in-band detection and generation (ITU-T Q.23/Q.24) and RFC 4733 telephone-events.

All audio is the media engine's internal format: 8 kHz mono int16, fed in 20 ms frames of 160
samples. Levels are in dBm0 with the G.711 convention that a full-scale sine (peak 32767) is
+3.14 dBm0, so a 0 dBm0 sine has a peak of about 22790.

In-band detector (`DtmfDetector`)
---------------------------------
Sliding DFT (Goertzel-equivalent single bins) at the 8 DTMF frequencies (Q.23: 697, 770, 852,
941 Hz low group; 1209, 1336, 1477, 1633 Hz high group) and at the high group's 2nd harmonics.
A block is N = 160 samples (20 ms; bin spacing 50 Hz, so adjacent low-group tones 73 Hz apart
sit past the first null); the hop is 40 samples (5 ms), i.e. 4 blocks per 20 ms frame, all four
computed by one (4, 160) x (160, 48) real matrix product giving each block's two 80-sample
half-block DFTs, phase-referred to the block start.

A cheap vectorised pre-screen (energy, and the strongest row + column holding >= 40 % of it)
drops silence and most speech. A surviving block is a *hit* for key (row, col) when:

* each tone's level >= -36 dBm0;
* twist (low minus high group level): normal twist up to 9 dB (low group stronger; Q.24 asks
  for 8 dB), reverse twist up to 5 dB (high group stronger; Q.24 asks for 4 dB);
* each tone is the strongest of its group by 8 dB (relative peak, full block);
* each tone's frequency, measured from the phase advance between the two half-blocks, is
  within 2.5 % of nominal (Q.24: operate at +-1.5 %, must not operate at +-3.5 %);
* the two tones (amplitudes corrected for the measured frequency error) hold >= 75 % of the
  block's energy (talk-off guard; 15 dB S/N gives 92-100 %);
* the high-group tone's 2nd harmonic is >= 16 dB below it (talk-off guard: voiced speech is
  harmonic-rich, DTMF is not; the low group's harmonics, 1394-1882 Hz, fall too close to
  high-group tones to be measured);
* both half-blocks carry each tone within 4 dB of each other, so the tone covers >= ~82 % of
  the block: this is what bounds the duration check to a few ms.

A digit starts after 4 consecutive hits of the same key (tones of >= 33 ms always give 4, tones
of <= 27 ms never do; Q.24 asks to accept 40 ms and reject 20-25 ms) and ends after 6
consecutive blocks without it (a 40 ms pause gives at least 9; a 10 ms break inside a tone at
most 5, so it does not split the digit). Start and end are refined from the half-block
amplitude ratio at the edges (about +-2 ms on clean tones).
"""

from __future__ import annotations

import cmath
import math
import struct
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "DIGITS",
    "FRAME_SAMPLES",
    "SAMPLE_RATE",
    "DtmfDetector",
    "DtmfEvent",
    "TelephoneEvent",
    "TelephoneEventReceiver",
    "digits_to_audio",
    "dtmf_tone",
    "telephone_event_packets",
]

SAMPLE_RATE: Final = 8000
FRAME_SAMPLES: Final = 160
LOW_FREQS: Final = (697, 770, 852, 941)
HIGH_FREQS: Final = (1209, 1336, 1477, 1633)
KEYPAD: Final = ("123A", "456B", "789C", "*0#D")
DIGITS: Final = "0123456789*#ABCD"
"""The 16 DTMF keys in RFC 4733 event-code order (event code = index)."""

FULL_SCALE_DBM0: Final = 3.14
ZERO_DBM0_PEAK: Final = 32767.0 * 10.0 ** (-FULL_SCALE_DBM0 / 20.0)
PAUSES_MS: Final = MappingProxyType({"w": 500, "W": 1000})

_FloatArray = npt.NDArray[np.float64]
_Int16Array = npt.NDArray[np.int16]


def _key_position(digit: str) -> tuple[int, int]:
    """Return (row, col) of `digit` on the keypad; ValueError if it is not a DTMF key."""
    key = digit.upper()
    if len(key) == 1:
        for row, keys in enumerate(KEYPAD):
            if key in keys:
                return row, keys.index(key)
    raise ValueError(f"not a DTMF key: {digit!r} (expected one of {DIGITS})")


def dbm0_to_peak(level_dbm0: float) -> float:
    """Peak int16 amplitude of a sine at `level_dbm0` (full-scale sine = +3.14 dBm0, G.711)."""
    return float(ZERO_DBM0_PEAK * 10.0 ** (level_dbm0 / 20.0))


# --------------------------------------------------------------------------- generation


def dtmf_tone(
    digit: str,
    duration_ms: float,
    level_dbm0: float = -10.0,
    twist_db: float = 0.0,
    freq_offset: float = 0.0,
) -> _Int16Array:
    """One DTMF tone pair (ITU-T Q.23) as 8 kHz mono int16 samples.

    `level_dbm0` is the low-group tone's level; the high-group tone is at `level_dbm0 -
    twist_db` (positive twist = normal twist, low group stronger; negative = reverse twist).
    `freq_offset` is a relative deviation applied to both tones (0.015 = +1.5 %).
    Returns round(duration_ms * 8) samples.

    Raises ValueError for an unknown key, a negative duration or a level that would clip.
    """
    if duration_ms < 0:
        raise ValueError(f"duration_ms must be >= 0, got {duration_ms}")
    row, col = _key_position(digit)
    low_peak = dbm0_to_peak(level_dbm0)
    high_peak = dbm0_to_peak(level_dbm0 - twist_db)
    if low_peak + high_peak > 32767.0:
        raise ValueError(f"level {level_dbm0} dBm0 with twist {twist_db} dB would clip")
    t = np.arange(round(duration_ms * SAMPLE_RATE / 1000)) / SAMPLE_RATE
    scale = 1.0 + freq_offset
    wave = low_peak * np.sin(2 * np.pi * LOW_FREQS[row] * scale * t)
    wave += high_peak * np.sin(2 * np.pi * HIGH_FREQS[col] * scale * t)
    return np.round(wave).astype(np.int16)


def digits_to_audio(
    digits: str, on_ms: float = 100.0, off_ms: float = 100.0, level_dbm0: float = -10.0
) -> _Int16Array:
    """In-band DTMF for a digit string, as RELAY ``send_digits`` plays it: 8 kHz int16.

    Each key is `on_ms` of tone followed by `off_ms` of silence; ``w`` is a 0.5 s pause and
    ``W`` a 1 s pause. Raises ValueError for any other character.
    """
    parts: list[_Int16Array] = []
    for char in digits:
        if char in PAUSES_MS:
            parts.append(np.zeros(PAUSES_MS[char] * SAMPLE_RATE // 1000, dtype=np.int16))
            continue
        parts.append(dtmf_tone(char, on_ms, level_dbm0))
        parts.append(np.zeros(round(off_ms * SAMPLE_RATE / 1000), dtype=np.int16))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)


# --------------------------------------------------------------------------- detection


@dataclass(frozen=True, slots=True)
class DtmfEvent:
    """One key press.

    `start` and `duration` are in 8 kHz samples: for `DtmfDetector`, counted from the first
    sample fed; for `TelephoneEventReceiver`, `start` is the event's RTP timestamp and
    `duration` the RFC 4733 duration field.
    """

    digit: str
    start: int
    duration: int

    @property
    def start_ms(self) -> float:
        """Start in milliseconds."""
        return self.start * 1000.0 / SAMPLE_RATE

    @property
    def duration_ms(self) -> float:
        """Duration in milliseconds."""
        return self.duration * 1000.0 / SAMPLE_RATE


_QUARTER: Final = 40  # hop, samples
_BLOCK: Final = 4 * _QUARTER  # block N, samples
_HALF: Final = 2 * _QUARTER
_QUARTERS_PER_FRAME: Final = FRAME_SAMPLES // _QUARTER
_FREQS: Final = np.array(LOW_FREQS + HIGH_FREQS, dtype=np.float64)
# analysed: the 8 fundamentals, then the 2nd harmonics of the high group (2418-3266 Hz); the
# low group's harmonics (1394-1882 Hz) fall too close to high-group tones to be measured.
_ALL_FREQS: Final = np.concatenate([_FREQS, 2.0 * _FREQS[4:]])
_HISTORY: Final = _BLOCK - _QUARTER  # samples kept from the previous frame
# (160, 48) real DFT basis over one block at the 12 analysed frequencies, phase referred to
# the block's first sample: columns [cos first half | cos second half | -sin first half |
# -sin second half], so one real matmul gives both half-block DFTs of every block.
_N_FREQ: Final = _ALL_FREQS.size
_ARG: Final = 2 * np.pi * np.outer(np.arange(_BLOCK), _ALL_FREQS) / SAMPLE_RATE
_FIRST: Final = (np.arange(_BLOCK) < _HALF)[:, None]
_BLOCK_BASIS: Final = np.concatenate(
    [
        np.cos(_ARG) * _FIRST,
        np.cos(_ARG) * ~_FIRST,
        -np.sin(_ARG) * _FIRST,
        -np.sin(_ARG) * ~_FIRST,
    ],
    axis=1,
)
# sample indices of the 4 blocks ending in each frame, within history + frame (280 samples)
_WINDOWS: Final = np.arange(_QUARTERS_PER_FRAME)[:, None] * _QUARTER + np.arange(_BLOCK)

MIN_LEVEL_DBM0: Final = -36.0
MAX_NORMAL_TWIST_DB: Final = 9.0
MAX_REVERSE_TWIST_DB: Final = 5.0
RELATIVE_PEAK_DB: Final = 8.0
MAX_FREQ_DEVIATION: Final = 0.025
MIN_TONE_ENERGY_FRACTION: Final = 0.75
MAX_HARMONIC_DB: Final = -16.0
MAX_HALF_IMBALANCE_DB: Final = 4.0
ON_BLOCKS: Final = 4
OFF_BLOCKS: Final = 6

_MIN_AMP: Final = dbm0_to_peak(MIN_LEVEL_DBM0)
_MIN_BLOCK_ENERGY: Final = _MIN_AMP**2 * _BLOCK  # two tones at the minimum level
_GATE_FRACTION: Final = 0.4  # pre-screen: MIN_TONE_ENERGY_FRACTION before frequency correction
_HALF_POWER_TO_ENERGY: Final = _BLOCK / _HALF**2
_GATE_RATIO: Final = _GATE_FRACTION / _HALF_POWER_TO_ENERGY
# (48, 8): sums re^2 and im^2 of both halves into the power at each fundamental
_POWER_SUM: Final = np.zeros((4 * _N_FREQ, 8))
for _part in range(4):
    _POWER_SUM[_part * _N_FREQ : _part * _N_FREQ + 8, :] = np.eye(8)
for _table in (_FREQS, _ALL_FREQS, _ARG, _FIRST, _BLOCK_BASIS, _WINDOWS, _POWER_SUM):
    _table.flags.writeable = False  # shared by every detector: read-only


_NORMAL_TWIST: Final = 10 ** (MAX_NORMAL_TWIST_DB / 20)
_REVERSE_TWIST: Final = 10 ** (MAX_REVERSE_TWIST_DB / 20)
_RELATIVE_PEAK: Final = 10 ** (RELATIVE_PEAK_DB / 20)
_HARMONIC: Final = 10 ** (MAX_HARMONIC_DB / 20)
_BALANCE: Final = 10 ** (MAX_HALF_IMBALANCE_DB / 20)
_RADIANS_TO_HZ: Final = SAMPLE_RATE / (2 * math.pi * _HALF)


@dataclass(frozen=True, slots=True)
class _Hit:
    """A block that passed every test: key index 0-15 and the tone's fill of each half."""

    key: int
    lead_fill: float  # fraction of the first half the tone covers (< 1 at a leading edge)
    trail_fill: float  # fraction of the second half the tone covers (< 1 at a trailing edge)


def _gate(parts: _FloatArray, total: _FloatArray) -> npt.NDArray[np.bool_]:
    """Cheap pre-screen of blocks (vectorised): loud enough, and tone-like enough.

    `parts`: (B, 48) real/imaginary half-block DFTs (see _BLOCK_BASIS); `total`: (B,) block
    energies. Rejects silence and most speech before the per-block test.
    """
    power = (parts * parts) @ _POWER_SUM  # (B, 8): both halves' power at each fundamental
    best = power.reshape(-1, 2, 4).max(axis=2).sum(axis=1)  # strongest low + strongest high
    passed: npt.NDArray[np.bool_] = (total >= _MIN_BLOCK_ENERGY) & (best >= _GATE_RATIO * total)
    return passed


def _halves(parts: _FloatArray) -> tuple[list[complex], list[complex]]:
    """Complex DFTs of a block's two halves at the 12 frequencies, from one row of parts."""
    spectrum = (parts[: 2 * _N_FREQ] + 1j * parts[2 * _N_FREQ :]).tolist()
    return spectrum[:_N_FREQ], spectrum[_N_FREQ:]


def _judge_block(halves: tuple[list[complex], list[complex]], total: float) -> _Hit | None:
    """The full test of the module docstring on one block.

    `h1`/`h2`: DFTs of the block's halves at the 12 analysed frequencies, phase referred to
    the block start; `total`: the block's energy (sum of squared samples). Scalar Python: for
    4 blocks of 8 tones it is several times faster than numpy's per-call overhead.
    """
    h1, h2 = halves
    full = [abs(h1[i] + h2[i]) for i in range(8)]
    row = _peak(full[:4])
    col = _peak(full[4:])
    if row < 0 or col < 0:
        return None
    low = _tone_amplitude(h1[row], h2[row], LOW_FREQS[row])
    high = _tone_amplitude(h1[col + 4], h2[col + 4], HIGH_FREQS[col])
    if low is None or high is None or min(low, high) < _MIN_AMP:
        return None
    if low > high * _NORMAL_TWIST or high > low * _REVERSE_TWIST:
        return None
    if (low * low + high * high) * (_BLOCK / 2) < MIN_TONE_ENERGY_FRACTION * total:
        return None
    if math.hypot(abs(h1[col + 8]), abs(h2[col + 8])) > _HARMONIC * math.hypot(
        abs(h1[col + 4]), abs(h2[col + 4])
    ):
        return None
    first = abs(h1[row]) + abs(h1[col + 4])
    second = abs(h2[row]) + abs(h2[col + 4])
    return _Hit(
        key=row * 4 + col,
        lead_fill=min(first / max(second, 1e-9), 1.0),
        trail_fill=min(second / max(first, 1e-9), 1.0),
    )


def _peak(magnitudes: list[float]) -> int:
    """Index of the strongest of a group's 4 tones if it beats the others by RELATIVE_PEAK_DB."""
    best = max(range(4), key=magnitudes.__getitem__)
    runner_up = max(m for i, m in enumerate(magnitudes) if i != best)
    return best if runner_up * _RELATIVE_PEAK <= magnitudes[best] else -1


def _tone_amplitude(x1: complex, x2: complex, freq: float) -> float | None:
    """Peak amplitude of one tone from its two half-block DFT values, or None if off-spec.

    The frequency error is the phase advance from the first half to the second (2*pi*df*80/fs);
    None if it exceeds MAX_FREQ_DEVIATION or the halves differ by more than
    MAX_HALF_IMBALANCE_DB. The half-block reads sinc(df*80/fs) low; that is corrected with a
    Taylor series (error < 0.2 % in the accepted range).
    """
    a1, a2 = abs(x1), abs(x2)
    if a1 > a2 * _BALANCE or a2 > a1 * _BALANCE:
        return None
    dev_hz = cmath.phase(x2 * x1.conjugate()) * _RADIANS_TO_HZ
    if abs(dev_hz) > MAX_FREQ_DEVIATION * freq:
        return None
    y = (math.pi * _HALF / SAMPLE_RATE * dev_hz) ** 2
    gain = 1.0 - y / 6.0 + y * y / 120.0
    return math.sqrt((a1 * a1 + a2 * a2) * 2.0) / (_HALF * gain)


class DtmfDetector:
    """Streaming in-band DTMF receiver (ITU-T Q.24 parameters; see the module docstring).

    Sans-I/O: call `feed` with each received frame (int16 array, 8 kHz mono; normally 160
    samples, any length is accepted and buffered) and `flush` at the end of the stream. Each
    key press is reported once, when it ends, as a `DtmfEvent` whose `start`/`duration` are
    in samples (accurate to about +-5 ms). `current` tells which key is held right now (for
    barge-in on the first 20-30 ms of a tone).
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._pending = np.zeros(0, dtype=np.int16)
        self._samples = 0  # samples analysed so far (multiple of FRAME_SAMPLES)
        self._history = np.zeros(_HISTORY, dtype=np.float64)
        self._cand_key = -1
        self._cand_run = 0
        self._cand_start = 0
        self._active_key = -1
        self._active_start = 0
        self._active_end = 0
        self._misses = 0

    @property
    def current(self) -> str | None:
        """The key being held now (confirmed, not yet released), or None."""
        return None if self._active_key < 0 else KEYPAD[self._active_key // 4][self._active_key % 4]

    def feed(self, frame: npt.NDArray[np.int16]) -> list[DtmfEvent]:
        """Analyse `frame` (1-D int16 samples, 8 kHz mono) and return key presses that ended.

        Raises ValueError if `frame` is not a 1-D int16 array.
        """
        if frame.ndim != 1 or frame.dtype != np.int16:
            raise ValueError(
                f"expected a 1-D int16 array, got {frame.dtype} with shape {frame.shape}"
            )
        data = np.concatenate([self._pending, frame]) if self._pending.size else frame
        events: list[DtmfEvent] = []
        whole = data.size - data.size % FRAME_SAMPLES
        for start in range(0, whole, FRAME_SAMPLES):
            events.extend(self._feed_frame(data[start : start + FRAME_SAMPLES]))
        self._pending = data[whole:].copy()
        return events

    def flush(self) -> list[DtmfEvent]:
        """End of stream: report a key still held, and reset. Buffered partial frames are dropped."""
        events = [self._finish()] if self._active_key >= 0 else []
        self._reset()
        return events

    def _feed_frame(self, frame: npt.NDArray[np.int16]) -> list[DtmfEvent]:
        signal = np.concatenate([self._history, frame])
        self._history = signal[-_HISTORY:]
        windows = signal[_WINDOWS]  # (4, 160): blocks starting every 40 samples
        parts = windows @ _BLOCK_BASIS
        total = np.einsum("bn,bn->b", windows, windows)
        first_block = self._samples - _HISTORY
        self._samples += FRAME_SAMPLES
        passed = _gate(parts, total)
        if not passed.any() and self._cand_run == 0 and self._active_key < 0:
            return []
        events: list[DtmfEvent] = []
        for j in range(_QUARTERS_PER_FRAME):
            hit = _judge_block(_halves(parts[j]), float(total[j])) if passed[j] else None
            event = self._step(hit, first_block + j * _QUARTER)
            if event is not None:
                events.append(event)
        return events

    def _step(self, hit: _Hit | None, block_start: int) -> DtmfEvent | None:
        """Advance the per-block state machine; return a finished key press, if any."""
        key, lead, trail = (hit.key, hit.lead_fill, hit.trail_fill) if hit else (-1, 0.0, 0.0)
        ended: DtmfEvent | None = None
        if key >= 0 and key == self._cand_key:
            self._cand_run += 1
        elif key >= 0:
            self._cand_key, self._cand_run = key, 1
            # the tone starts where it fills the block's first half (lead = filled fraction)
            self._cand_start = block_start + round((1.0 - lead) * _HALF)
        else:
            self._cand_key, self._cand_run = -1, 0
        if self._active_key >= 0:
            if key == self._active_key:
                self._misses = 0
                self._active_end = block_start + _HALF + round(trail * _HALF)
            else:
                self._misses += 1
                if self._misses >= OFF_BLOCKS or self._cand_run >= ON_BLOCKS:
                    ended = self._finish()
        if self._active_key < 0 and self._cand_run >= ON_BLOCKS:
            self._active_key, self._active_start = self._cand_key, self._cand_start
            self._active_end = block_start + _HALF + round(trail * _HALF)
            self._misses = 0
        return ended

    def _finish(self) -> DtmfEvent:
        key = self._active_key
        event = DtmfEvent(
            digit=KEYPAD[key // 4][key % 4],
            start=max(self._active_start, 0),
            duration=self._active_end - max(self._active_start, 0),
        )
        self._active_key, self._misses = -1, 0
        return event


# --------------------------------------------------------------------------- RFC 4733


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    """An RFC 4733 §2.3 telephone-event payload (4 octets).

    `event`: 0-255 (0-15 are the DTMF keys 0-9 * # A-D, RFC 4733 §3.2); `end`: the E bit;
    `volume`: 0-63, the tone power in -dBm0; `duration`: 0-65535 RTP timestamp units since the
    event's timestamp. Raises ValueError on out-of-range fields.
    """

    event: int
    end: bool = False
    volume: int = 10
    duration: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.event <= 255:
            raise ValueError(f"event code out of range 0-255: {self.event}")
        if not 0 <= self.volume <= 63:
            raise ValueError(f"volume out of range 0-63: {self.volume}")
        if not 0 <= self.duration <= 0xFFFF:
            raise ValueError(f"duration out of range 0-65535: {self.duration}")

    @classmethod
    def for_digit(cls, digit: str, **fields: int | bool) -> TelephoneEvent:
        """The event for DTMF key `digit` (RFC 4733 §3.2 code); ValueError for another key."""
        _key_position(digit)
        return cls(DIGITS.index(digit.upper()), **fields)  # type: ignore[arg-type]

    @property
    def digit(self) -> str | None:
        """The DTMF key for codes 0-15, else None."""
        return DIGITS[self.event] if self.event < len(DIGITS) else None

    def pack(self) -> bytes:
        """The 4-octet payload (event, E|R|volume, duration; network byte order)."""
        return struct.pack(
            "!BBH", self.event, (0x80 if self.end else 0) | self.volume, self.duration
        )

    @classmethod
    def parse(cls, payload: bytes) -> TelephoneEvent:
        """Decode a payload; the reserved R bit is ignored (RFC 4733 §2.3.3).

        Raises ValueError unless `payload` is exactly 4 octets.
        """
        if len(payload) != 4:
            raise ValueError(f"telephone-event payload must be 4 octets, got {len(payload)}")
        event, flags, duration = struct.unpack("!BBH", payload)
        return cls(event=event, end=bool(flags & 0x80), volume=flags & 0x3F, duration=duration)


def telephone_event_packets(
    digit: str, duration_ms: float, ptime_ms: float = 20.0, volume: int = 10
) -> Iterator[bytes]:
    """Payloads a sender emits for one key press, one per `ptime_ms` (RFC 4733 §2.5.1).

    All share the event's RTP timestamp (set the marker bit on the first one): updates with
    growing duration every ptime, then the final duration three times with the E bit
    (§2.5.1.4). Duration is in 8 kHz timestamp units. Raises ValueError for an unknown key,
    a non-positive duration or ptime, or a duration over 65535 units (8.19 s; longer events
    need the §2.5.1.3 segmentation, not done here).
    """
    total = round(duration_ms * SAMPLE_RATE / 1000)
    step = round(ptime_ms * SAMPLE_RATE / 1000)
    if total <= 0 or step <= 0:
        raise ValueError("duration_ms and ptime_ms must be positive")
    if total > 0xFFFF:
        raise ValueError(f"duration {duration_ms} ms exceeds one RFC 4733 event (8191 ms)")
    for elapsed in range(step, total, step):
        yield TelephoneEvent.for_digit(digit, volume=volume, duration=elapsed).pack()
    for _ in range(3):
        yield TelephoneEvent.for_digit(digit, end=True, volume=volume, duration=total).pack()


class TelephoneEventReceiver:
    """Turns received RFC 4733 packets into one `DtmfEvent` per key press (sans-I/O).

    Feed every telephone-event packet's RTP timestamp and payload, in arrival order. An event
    is identified by its timestamp (§2.5.2): updates and retransmissions of it are merged, the
    three redundant end packets give one digit, and late packets of an event already reported
    are dropped. A digit is reported when its first end packet arrives, or when a newer event
    starts without one (end packets lost), or on `flush`. Non-DTMF events (codes > 15) are
    ignored. `start` is the RTP timestamp, `duration` the largest duration seen.
    """

    _MEMORY: Final = 64

    def __init__(self) -> None:
        self._seen: deque[int] = deque(maxlen=self._MEMORY)
        self._timestamp: int | None = None
        self._digit = ""
        self._duration = 0

    def feed(self, timestamp: int, payload: bytes) -> list[DtmfEvent]:
        """Process one packet; returns 0, 1 or 2 finished key presses.

        Raises ValueError for a malformed payload (see `TelephoneEvent.parse`).
        """
        event = TelephoneEvent.parse(payload)
        if event.digit is None:
            return []
        if timestamp == self._timestamp:
            self._duration = max(self._duration, event.duration)
            return [self._close()] if event.end else []
        if timestamp in self._seen:
            return []  # retransmission of an event already reported
        done = [self._close()] if self._timestamp is not None else []
        self._seen.append(timestamp)
        self._timestamp, self._digit, self._duration = timestamp, event.digit, event.duration
        if event.end:
            done.append(self._close())
        return done

    def flush(self) -> list[DtmfEvent]:
        """Report an event whose end packets never came (e.g. at hang-up or a timeout)."""
        return [self._close()] if self._timestamp is not None else []

    def _close(self) -> DtmfEvent:
        assert self._timestamp is not None
        done = DtmfEvent(self._digit, self._timestamp, self._duration)
        self._timestamp = None
        return done
