"""G.711 against the independent implementation in CPython's audioop (3.11)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from voxrelay.media.codecs import PCMA, PCMU, codec_by_name, codec_by_payload_type

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

ALL = np.arange(-32768, 32768, dtype=np.int16)


@pytest.mark.parametrize(
    ("codec", "lin2x", "x2lin"),
    [
        (PCMU, audioop.lin2ulaw, audioop.ulaw2lin),
        (PCMA, audioop.lin2alaw, audioop.alaw2lin),
    ],
)
def test_every_sample_and_code_match_audioop(codec, lin2x, x2lin) -> None:  # type: ignore[no-untyped-def]
    assert codec.encode(ALL) == lin2x(ALL.tobytes(), 2)
    codes = bytes(range(256))
    assert codec.decode(codes).tobytes() == x2lin(codes, 2)


def test_a_tone_survives_a_round_trip_within_g711_noise() -> None:
    t = np.arange(160) / 8000
    tone = (8000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    for codec in (PCMU, PCMA):
        back = codec.decode(codec.encode(tone))
        snr = 10 * np.log10(
            np.sum(tone.astype(float) ** 2) / np.sum((back - tone).astype(float) ** 2)
        )
        assert snr > 30
        assert len(codec.encode(tone)) == 160


def test_lookup() -> None:
    assert codec_by_name("pcmu") is PCMU and codec_by_payload_type(8) is PCMA
    with pytest.raises(KeyError):
        codec_by_name("G729")
