"""libspandsp (0.0.6, Debian `libspandsp2`) DTMF receiver and generator through ctypes.

A reference implementation to compare voxrelay.media.dtmf against, in tests and bench only;
the product never loads it. Prototypes follow spandsp's public header dtmf.h.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

_LIBRARY = "libspandsp.so.2"
_TONE_REPORT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int)
_I16P = ctypes.POINTER(ctypes.c_int16)


def _load() -> ctypes.CDLL | None:
    try:
        lib = ctypes.CDLL(_LIBRARY)
    except OSError:
        return None
    lib.dtmf_rx_init.restype = ctypes.c_void_p
    lib.dtmf_rx_init.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    lib.dtmf_rx_parms.argtypes = [ctypes.c_void_p] + [ctypes.c_int] * 4
    lib.dtmf_rx_set_realtime_callback.argtypes = [ctypes.c_void_p, _TONE_REPORT, ctypes.c_void_p]
    lib.dtmf_rx.argtypes = [ctypes.c_void_p, _I16P, ctypes.c_int]
    lib.dtmf_rx_get.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    lib.dtmf_rx_get.restype = ctypes.c_size_t
    lib.dtmf_rx_free.argtypes = [ctypes.c_void_p]
    lib.dtmf_tx_init.restype = ctypes.c_void_p
    lib.dtmf_tx_init.argtypes = [ctypes.c_void_p]
    lib.dtmf_tx_set_level.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    lib.dtmf_tx_set_timing.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    lib.dtmf_tx_put.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    lib.dtmf_tx.argtypes = [ctypes.c_void_p, _I16P, ctypes.c_int]
    lib.dtmf_tx_free.argtypes = [ctypes.c_void_p]
    return lib


LIB = _load()
AVAILABLE = LIB is not None


@dataclass
class SpandspTone:
    """A digit as spandsp's realtime callback reported it, in samples (20 ms resolution)."""

    digit: str
    start: int
    end: int | None = None


@dataclass
class SpandspDtmfRx:
    """spandsp's dtmf_rx with its default parameters (or the given twist/threshold).

    Feed int16 frames; `digits` is what dtmf_rx_get returns, `tones` the realtime callback's
    start/stop reports with the sample position of the frame in which they came.
    """

    tones: list[SpandspTone] = field(default_factory=list)
    _samples: int = 0

    def __post_init__(self) -> None:
        if LIB is None:
            raise RuntimeError(f"{_LIBRARY} not installed (Debian package libspandsp2)")
        self._state = LIB.dtmf_rx_init(None, None, None)
        self._callback = _TONE_REPORT(self._report)  # keep a reference while the C side has it
        LIB.dtmf_rx_set_realtime_callback(self._state, self._callback, None)

    def set_parms(
        self, twist_db: int = -1, reverse_twist_db: int = -1, threshold_dbm0: int = -99
    ) -> None:
        """dtmf_rx_parms: acceptable twist, reverse twist (dB) and level threshold (dBm0)."""
        assert LIB is not None
        LIB.dtmf_rx_parms(self._state, -1, twist_db, reverse_twist_db, threshold_dbm0)

    def _report(self, _user: object, code: int, _level: int, _delay: int) -> None:
        if code:
            self.tones.append(SpandspTone(chr(code), self._samples))
        elif self.tones and self.tones[-1].end is None:
            self.tones[-1].end = self._samples

    def feed(self, samples: npt.NDArray[np.int16], frame: int = 160) -> None:
        """Run dtmf_rx over `samples` in chunks of `frame` samples."""
        assert LIB is not None
        data = np.ascontiguousarray(samples, dtype=np.int16)
        for start in range(0, data.size, frame):
            chunk = data[start : start + frame]
            LIB.dtmf_rx(self._state, chunk.ctypes.data_as(_I16P), chunk.size)
            self._samples += chunk.size

    def digits(self) -> str:
        """Drain and return the digits dtmf_rx has queued."""
        assert LIB is not None
        buf = ctypes.create_string_buffer(1024)
        count = LIB.dtmf_rx_get(self._state, buf, 1023)
        return buf.raw[:count].decode()

    def close(self) -> None:
        """Free the C state."""
        if LIB is not None and self._state:
            LIB.dtmf_rx_free(self._state)
            self._state = None


def spandsp_detect(samples: npt.NDArray[np.int16]) -> str:
    """Digits spandsp's receiver (defaults) reports through its realtime callback in `samples`
    (8 kHz int16), followed by 100 ms of silence so a tone at the very end is released.

    (With a realtime callback set, 0.0.6's dtmf_rx_get queue stays empty.)"""
    rx = SpandspDtmfRx()
    try:
        rx.feed(np.concatenate([samples, np.zeros(800, dtype=np.int16)]))
        return "".join(tone.digit for tone in rx.tones)
    finally:
        rx.close()


def spandsp_generate(
    digits: str, level_dbm0: int = -10, twist_db: int = 0, on_ms: int = 50, off_ms: int = 55
) -> npt.NDArray[np.int16]:
    """spandsp's dtmf_tx for `digits`: 8 kHz int16. spandsp's twist is high minus low (dB)."""
    if LIB is None:
        raise RuntimeError(f"{_LIBRARY} not installed (Debian package libspandsp2)")
    tx = LIB.dtmf_tx_init(None)
    try:
        LIB.dtmf_tx_set_level(tx, level_dbm0, twist_db)
        LIB.dtmf_tx_set_timing(tx, on_ms, off_ms)
        LIB.dtmf_tx_put(tx, digits.encode(), -1)
        out: list[npt.NDArray[np.int16]] = []
        buf = (ctypes.c_int16 * 8000)()
        while (count := LIB.dtmf_tx(tx, buf, 8000)) > 0:
            out.append(np.frombuffer(buf, dtype=np.int16)[:count].copy())
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int16)
    finally:
        LIB.dtmf_tx_free(tx)
