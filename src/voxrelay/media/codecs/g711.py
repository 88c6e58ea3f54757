"""G.711 PCMU (µ-law) and PCMA (A-law), ITU-T G.711 (11/88) §§2-3, RTP payload types 0 and 8
(RFC 3551 §4.5.14).

Encoding uses a 65,536-entry table indexed by the 16-bit sample and decoding a 256-entry
table, both computed once at import from the G.711 segment rules, so a 160-sample frame costs
one numpy ``take`` each way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.int16]

_ULAW_BIAS = 0x84


def _bit_length(values: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    out = np.zeros_like(values)
    positive = values > 0
    out[positive] = np.floor(np.log2(values[positive])).astype(np.int32) + 1
    return out


def _ulaw_encode_table() -> npt.NDArray[np.uint8]:
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 2  # 14-bit
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    mag = np.minimum(np.abs(pcm), 8159) + (_ULAW_BIAS >> 2)
    segment = np.clip(_bit_length(mag) - 6, 0, 8)
    code = (np.minimum(segment, 7) << 4) | ((mag >> (segment + 1)) & 0x0F)
    code = np.where(segment >= 8, 0x7F, code)
    return np.roll((code ^ mask).astype(np.uint8), -32768)  # index by the sample's uint16 view


def _ulaw_decode_table() -> Samples:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    mag = (((mantissa << 3) + _ULAW_BIAS) << exponent) - _ULAW_BIAS
    return np.where(u & 0x80, -mag, mag).astype(np.int16)


def _alaw_encode_table() -> npt.NDArray[np.uint8]:
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 3  # 13-bit
    negative = pcm < 0
    mask = np.where(negative, 0x55, 0xD5)
    pcm = np.where(negative, -pcm - 1, pcm)
    segment = np.clip(_bit_length(pcm) - 5, 0, 8)
    shift = np.where(segment < 2, 1, segment)
    code = (np.minimum(segment, 7) << 4) | ((pcm >> shift) & 0x0F)
    code = np.where(segment >= 8, 0x7F, code)
    return np.roll((code ^ mask).astype(np.uint8), -32768)


def _alaw_decode_table() -> Samples:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    t = (a & 0x0F) << 4
    segment = (a & 0x70) >> 4
    t = np.where(segment == 0, t + 8, t + 0x108)
    t = np.where(segment > 1, t << np.maximum(segment - 1, 0), t)
    return np.where(a & 0x80, t, -t).astype(np.int16)


ULAW_ENCODE = _ulaw_encode_table()
ULAW_DECODE = _ulaw_decode_table()
ALAW_ENCODE = _alaw_encode_table()
ALAW_DECODE = _alaw_decode_table()
for _table in (ULAW_ENCODE, ULAW_DECODE, ALAW_ENCODE, ALAW_DECODE):
    _table.flags.writeable = False  # shared by every leg: read-only


@dataclass(frozen=True, slots=True)
class Codec:
    """A narrowband codec: ``encode`` int16 samples (8 kHz mono) to payload bytes and back.
    ``silence`` is 20 ms (160 samples) of digital silence encoded (idle legs send it)."""

    name: str
    payload_type: int
    clock_rate: int
    encode_table: npt.NDArray[np.uint8]
    decode_table: Samples
    silence: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "silence", self.encode(np.zeros(160, dtype=np.int16)))

    def encode(self, samples: Samples) -> bytes:
        """int16 samples (any length, 8 kHz mono) -> one byte per sample."""
        return bytes(self.encode_table.take(samples.view(np.uint16)))

    def decode(self, payload: bytes) -> Samples:
        """Payload bytes -> int16 samples, one per byte."""
        return self.decode_table.take(np.frombuffer(payload, dtype=np.uint8))


PCMU = Codec("PCMU", 0, 8000, ULAW_ENCODE, ULAW_DECODE)
PCMA = Codec("PCMA", 8, 8000, ALAW_ENCODE, ALAW_DECODE)
_BY_NAME = MappingProxyType({c.name: c for c in (PCMU, PCMA)})
_BY_PT = MappingProxyType({c.payload_type: c for c in (PCMU, PCMA)})


def codec_by_name(name: str) -> Codec:
    """PCMU or PCMA (case-insensitive). Raises KeyError for any other name."""
    return _BY_NAME[name.upper()]


def codec_by_payload_type(payload_type: int) -> Codec:
    """The static payload type 0 or 8. Raises KeyError for any other."""
    return _BY_PT[payload_type]
